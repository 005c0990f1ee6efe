//! Reconciliation checks (node.md §Reconciliation, reconcile.md): sessions this side opens
//! over the channel it shares with the node, on prepared sets around the receipt it just
//! delivered. The node holds that receipt in the channel, so a side holding nothing must
//! learn that it needs it, and a side holding it must find it in neither outcome.

use kvitt_protocol::channel::record_time;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::reconcile::{Initiator, Item, Outcome, Salt, Step};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, ResponseBody};
use kvitt_protocol::{AnyRecord, RecordId, Signed};
use rand_core::{OsRng, RngCore};

use super::link::Link;
use super::messages::{ask, Network};
use super::Report;

const RECONCILIATION: &str = "node.md §Reconciliation";

/// Both prepared sessions.
pub(super) async fn check(link: &Link, network: &Network, receipt: &Signed<Receipt>, report: &mut Report) {
    let id = receipt.id();
    let item = Item { time: record_time(&AnyRecord::Receipt(receipt.clone())), id };
    let result = match session(link, network, &[]).await {
        Ok(outcome) if needs(&outcome, &id) => {
            Ok(format!("need holds {} of {}", id.short(), outcome.need.count()))
        }
        Ok(outcome) => Err(format!("the outcome {outcome:?} does not name the stored receipt as needed")),
        Err(why) => Err(why),
    };
    report.record(RECONCILIATION, "holding nothing, this side needs the stored receipt", result);
    let result = match session(link, network, &[item]).await {
        Ok(outcome) if !needs(&outcome, &id) && !outcome.have.contains(&id) => {
            Ok(format!("in neither outcome (time {})", item.time))
        }
        Ok(outcome) => Err(format!("the outcome {outcome:?} names the receipt both sides hold")),
        Err(why) => Err(why),
    };
    report.record(RECONCILIATION, "holding the receipt at its record time, it is in neither outcome", result);
}

/// Whether the outcome names `id` as needed. This side is the initiator, which learns the
/// ids it needs (reconcile.md §The session).
fn needs(outcome: &Outcome, id: &RecordId) -> bool {
    outcome.need.ids().is_some_and(|ids| ids.contains(id))
}

/// One session as initiator over `items` (ascending), each frame a `reconcile` request.
async fn session(link: &Link, network: &Network, items: &[Item]) -> Result<Outcome, String> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let number = OsRng.next_u64();
    let mut initiator = Initiator::new(items, Salt(salt)).map_err(|error| error.to_string())?;
    let mut frame = initiator.start().map_err(|error| error.to_string())?;
    loop {
        let request = Request {
            directory_version: network.version,
            body: RequestBody::Reconcile { session: number, frame: RecordBytes(frame), window: None },
        };
        let answer = match ask(link, &request).await?.body {
            ResponseBody::Reconcile { frame: Some(RecordBytes(answer)) } => answer,
            other => return Err(format!("expected the node's next frame, got {other:?}")),
        };
        match initiator.receive(&answer).map_err(|error| format!("the node's frame: {error}"))? {
            Step::Send(next) => frame = next,
            Step::Done { last, outcome } => {
                if let Some(last) = last {
                    let request = Request {
                        directory_version: network.version,
                        body: RequestBody::Reconcile {
                            session: number,
                            frame: RecordBytes(last),
                            window: None,
                        },
                    };
                    match ask(link, &request).await?.body {
                        ResponseBody::Reconcile { frame: None } => {}
                        other => return Err(format!("expected no frame after the last, got {other:?}")),
                    }
                }
                return Ok(outcome);
            }
        }
    }
}
