//! A node that lost acknowledged records gets them back before it signs anything new.
//!
//! When a node's start finds its ledger damaged (short of its floor, or one sled cannot
//! open), the driver (crate::store::ledger_start) keeps the damaged ledger aside and
//! notes a [`Recovery`] in the new one, raising every register's serial and every
//! numbering counter to the floor's at once ([`Recovery::begin`]). A core that finds a
//! recovery noted at start refuses to sign anything (`node.recovering`) while its peers send
//! its records back through ordinary reconciliation and delivery (core::relay). The
//! operator's `kvitt recover` has the runtime reconcile with every peer and hands the
//! sessions' outcome to the core ([`ClientRequest::Recover`]): once no peer holds a record
//! this node lacks, the core reports what no peer returned (the serials of this node's
//! registers the floor says were issued and that it does not hold), raises every serial
//! and number above the floor and what came back, and signs again.

use kvitt_protocol::fields::format_time;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, PublicKey};
use serde::{Deserialize, Serialize};

use super::{forbidden, unavailable, Caller, CallerRole, NodeCore, PeerReconciliation, Step};
use crate::ledger::{keys, Floor, Ledger, LedgerError, MAX_SCAN_ENTRIES};
use crate::store::Batch;

/// The metadata name of the recovery in progress (JSON of [`Recovery`]).
const RECOVERY_META: &str = "recovery";

/// The metadata name of the last finished recovery's report (JSON of [`RecoveryReport`]).
const RECOVERED_META: &str = "recovered";

/// Most ranges of lost serials a report lists; the count covers all of them.
pub const MAX_REPORTED_RANGES: usize = 1000;

/// A recovery in progress, as the start that found the damage noted it in the new ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// What the start found.
    pub reason: String,
    /// When (RFC 3339).
    pub since: String,
    /// Where the damaged ledger was moved, if it was.
    pub aside: Option<String>,
    /// The floor kept before the damage, if it could be read: what the node had
    /// acknowledged.
    pub floor: Option<Floor>,
    /// Records the ledger held when the recovery began.
    pub records_at_start: u64,
    /// The serials and counters raised to the floor's when it began.
    pub raised: Vec<Raised>,
}

/// A serial or counter raised to the floor's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised {
    /// `register <name>` or the counter's name (`claim-number`, `voucher/<agency>`).
    pub what: String,
    /// What the ledger held.
    pub from: Option<u64>,
    /// What it holds now: the last one given; the next is one more.
    pub to: u64,
}

/// Serials of a register that the floor says were issued and that no peer returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostSerials {
    /// The register.
    pub register: String,
    /// The first serial of the range.
    pub from: u64,
    /// The last, inclusive.
    pub to: u64,
}

/// What a finished recovery found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// The recovery, as it began.
    pub recovery: Recovery,
    /// When it finished (RFC 3339).
    pub finished: String,
    /// Records the ledger holds now.
    pub records_now: u64,
    /// Receipts this node acknowledged that no peer returned, in all.
    pub lost_receipts: u64,
    /// Those receipts' serials, by register (at most [`MAX_REPORTED_RANGES`] ranges).
    pub lost: Vec<LostSerials>,
    /// Peers that were not reached or still held records this node lacks (a partial
    /// recovery): what they hold comes back by ordinary reconciliation.
    pub unsettled: Vec<String>,
}

/// How a `kvitt recover` request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecoveryStatus {
    /// The node is not recovering; the last recovery's report, if there was one.
    NotRecovering {
        /// The last report.
        last: Option<Box<RecoveryReport>>,
    },
    /// Still recovering: what each peer's session found.
    Recovering {
        /// Why the node recovers.
        recovery: Box<Recovery>,
        /// Records the ledger holds now.
        records_now: u64,
        /// What each peer's session found.
        peers: Vec<PeerProgress>,
    },
    /// This request finished the recovery.
    Finished(Box<RecoveryReport>),
}

/// One peer's part in a recovery round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerProgress {
    /// The peer's organisation number.
    pub org: String,
    /// Records it holds that this node lacks (it sends them now), if the session finished.
    pub lacking: Option<usize>,
    /// Why the session did not finish, if it did not.
    pub error: Option<String>,
}

impl Recovery {
    /// The recovery noted in `ledger`, if one is in progress.
    pub fn stored(ledger: &Ledger) -> Result<Option<Recovery>, LedgerError> {
        read_json(ledger, RECOVERY_META)
    }

    /// Notes this recovery in `ledger` and raises every register's last serial and every
    /// numbering counter to the floor's (recorded in `raised`): from now on nothing at
    /// or below what the node acknowledged before the damage can be signed again,
    /// whatever happens to the recovery.
    pub fn begin(mut self, ledger: &Ledger) -> Result<Batch, LedgerError> {
        let mut batch = Batch::new();
        if let Some(floor) = &self.floor {
            self.raised = raise_to(floor, ledger, &mut batch)?;
        }
        batch.insert(keys::meta(RECOVERY_META), to_json(&self));
        Ok(batch)
    }
}

impl NodeCore {
    /// The recovery in progress, if the node is recovering.
    pub fn recovering(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    /// Refuses to sign while the node recovers.
    pub(super) fn may_sign(&self) -> Result<(), Refusal> {
        let Some(recovery) = &self.recovery else {
            return Ok(());
        };
        Err(Refusal {
            code: RefusalCode::Recovering.into(),
            path: String::new(),
            message: format!(
                "this node lost acknowledged records ({}, since {}) and signs nothing until its \
                 operator has run `kvitt recover`, which fetches them back from its peers",
                recovery.reason, recovery.since
            ),
            retry: true,
        })
    }

    /// `kvitt recover`, after the runtime reconciled with every peer (`sessions`): finishes
    /// the recovery if every peer is settled (or `partial`), else says how it stands.
    pub(super) fn recover(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        partial: bool,
        sessions: &[PeerReconciliation],
    ) -> Result<RecoveryStatus, Refusal> {
        if caller.role != CallerRole::Operator {
            return Err(forbidden(caller, "recover the ledger"));
        }
        let Some(recovery) = self.recovery.clone() else {
            let last = read_json(&step.ledger, RECOVERED_META).map_err(unavailable)?.map(Box::new);
            return Ok(RecoveryStatus::NotRecovering { last });
        };
        let peers: Vec<PeerProgress> = sessions
            .iter()
            .map(|session| match &session.result {
                Ok(summary) => {
                    PeerProgress { org: session.org.clone(), lacking: Some(summary.need), error: None }
                }
                Err(error) => {
                    PeerProgress { org: session.org.clone(), lacking: None, error: Some(error.clone()) }
                }
            })
            .collect();
        let unsettled: Vec<String> =
            peers.iter().filter(|peer| peer.lacking != Some(0)).map(|peer| peer.org.clone()).collect();
        let records_now = count_records(&step.ledger).map_err(unavailable)?;
        let settled = unsettled.is_empty() || (partial && recovery.floor.is_some());
        if !settled {
            if partial {
                return Err(Refusal::new(
                    kvitt_protocol::wire::RefusalCode::BadRequest,
                    format!(
                        "no floor survived the damage, so only the peers can say how far this node's \
                         series went: every peer must be reached and settled ({} is not)",
                        unsettled.join(", ")
                    ),
                ));
            }
            return Ok(RecoveryStatus::Recovering { recovery: Box::new(recovery), records_now, peers });
        }
        let report = self.finish(step, recovery, records_now, unsettled)?;
        Ok(RecoveryStatus::Finished(Box::new(report)))
    }

    fn finish(
        &mut self,
        step: &mut Step,
        recovery: Recovery,
        records_now: u64,
        unsettled: Vec<String>,
    ) -> Result<RecoveryReport, Refusal> {
        let mut batch = Batch::new();
        let mut lost = Vec::new();
        let mut lost_receipts = 0u64;
        if let Some(floor) = &recovery.floor {
            // Raised when the recovery began; again in case that ledger was lost too.
            raise_to(floor, &step.ledger, &mut batch).map_err(unavailable)?;
            for (register, series) in &floor.registers {
                let missing =
                    missing_serials(&step.ledger, &self.identity.key(), register, series.first, series.last)
                        .map_err(unavailable)?;
                for (from, to) in missing {
                    lost_receipts = lost_receipts.saturating_add((to - from).saturating_add(1));
                    if lost.len() < MAX_REPORTED_RANGES {
                        lost.push(LostSerials { register: register.clone(), from, to });
                    }
                }
            }
        }
        let report = RecoveryReport {
            recovery,
            finished: format_time(step.now),
            records_now,
            lost_receipts,
            lost,
            unsettled,
        };
        batch.remove(keys::meta(RECOVERY_META));
        batch.insert(keys::meta(RECOVERED_META), to_json(&report));
        step.write(&batch).map_err(unavailable)?;
        self.recovery = None;
        if report.lost_receipts > 0 {
            let ranges: Vec<String> = report
                .lost
                .iter()
                .map(|lost| format!("{} {}–{}", lost.register, lost.from, lost.to))
                .collect();
            tracing::error!(
                lost = report.lost_receipts,
                serials = %ranges.join(", "),
                "recovery finished: receipts this node acknowledged were not returned by any peer and are lost; \
                 their serials are never issued again"
            );
        } else {
            tracing::warn!(records = records_now, "recovery finished: every acknowledged receipt is back");
        }
        if !report.unsettled.is_empty() {
            tracing::warn!(peers = %report.unsettled.join(", "), "recovery finished without these peers settled");
        }
        Ok(report)
    }

    /// A claim of this node's own numbering back from a peer: the agency's claim counter
    /// goes on after it, never giving its number again. (An SSC's voucher numbers are
    /// raised by vouchers::raise_voucher_count, for bookings and reversals alike.)
    pub(super) fn raise_numbers(
        &self,
        step: &Step,
        record: &AnyRecord,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        if record.signer() != self.identity.key() {
            return Ok(());
        }
        let AnyRecord::Claim(claim) = record else {
            return Ok(());
        };
        let sequence = claim.body().number.rsplit('-').next().and_then(|tail| tail.parse().ok());
        let Some(number) = sequence else {
            return Ok(());
        };
        let name = keys::CLAIM_NUMBER_COUNTER;
        if step.ledger.counter(name).map_err(unavailable)? < number {
            batch.insert(keys::meta(name), number.to_be_bytes().to_vec());
        }
        Ok(())
    }
}

/// Raises the ledger's serials and numbering counters to `floor`'s; what it raised.
fn raise_to(floor: &Floor, ledger: &Ledger, batch: &mut Batch) -> Result<Vec<Raised>, LedgerError> {
    let mut raised = Vec::new();
    for (register, series) in &floor.registers {
        let held = ledger.last_serial(register)?;
        if held.is_none_or(|held| held < series.last) {
            batch.insert(keys::serial(register), series.last.to_be_bytes().to_vec());
            raised.push(Raised { what: format!("register {register}"), from: held, to: series.last });
        }
    }
    for (name, value) in &floor.counters {
        let held = ledger.counter(name)?;
        if held < *value {
            batch.insert(keys::meta(name), value.to_be_bytes().to_vec());
            raised.push(Raised { what: name.clone(), from: Some(held), to: *value });
        }
    }
    Ok(raised)
}

/// The ranges of `first..=last` on `register` that no receipt of `signer` holds.
fn missing_serials(
    ledger: &Ledger,
    signer: &PublicKey,
    register: &str,
    first: u64,
    last: u64,
) -> Result<Vec<(u64, u64)>, LedgerError> {
    let prefix = keys::register_slots(signer, register);
    let mut missing = Vec::new();
    let mut next = first;
    let mut after: Option<Vec<u8>> = None;
    'pages: loop {
        let page = ledger.store().scan(&prefix, after.as_deref(), MAX_SCAN_ENTRIES)?;
        let Some((last_key, _)) = page.last() else { break };
        after = Some(last_key.clone());
        for (key, _) in &page {
            let Some(serial) = key.last_chunk::<8>().map(|bytes| u64::from_be_bytes(*bytes)) else {
                continue;
            };
            if serial > last {
                break 'pages;
            }
            if serial > next {
                missing.push((next, serial - 1));
            }
            next = next.max(serial.saturating_add(1));
        }
    }
    if next <= last {
        missing.push((next, last));
    }
    Ok(missing)
}

/// How many records the ledger holds.
fn count_records(ledger: &Ledger) -> Result<u64, LedgerError> {
    let mut count = 0u64;
    let mut after = None;
    loop {
        let page = ledger.record_ids(after.as_ref(), MAX_SCAN_ENTRIES)?;
        let Some(last) = page.last() else { return Ok(count) };
        count += page.len() as u64;
        after = Some(*last);
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and integers always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

fn read_json<T: for<'de> Deserialize<'de>>(ledger: &Ledger, name: &str) -> Result<Option<T>, LedgerError> {
    let Some(bytes) = ledger.meta(name)? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| LedgerError::Damaged { key: format!("meta/{name}"), why: error.to_string() })
}
