//! The real mode's tills: one thread per merchant pushes its receipts through the
//! merchant node's client API, one at a time as a till does: a sale with only the card
//! payment of the employee's card, which the agency enrolled (`?card=`, spec/routing.md),
//! a refund naming the buyer of its sale; pushing the same receipt
//! again while no answer comes (a killed node, a lost response: the node answers a
//! repeated push with `duplicate: true`), and a watcher that notes when each receipt
//! reaches its agency.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kvitt_protocol::RecordId;
use serde_json::Value;

use super::client::{Answer, Api};
use crate::cast::Cast;
use crate::receipts::{receipt, Sale};
use crate::rng::SimRng;
use crate::workload::{cards, Acknowledged, Route};

/// How long a till goes on pushing one receipt that gets no answer before giving up.
pub const PUSH_PATIENCE: Duration = Duration::from_secs(180);

/// How long a till waits before pushing an unanswered receipt again.
const PUSH_RETRY: Duration = Duration::from_millis(250);

/// One in this many purchases is a refund of the register's last sale.
const REFUND_ONE_IN: u64 = 20;

/// What the tills did, shared with the watcher and the claims.
#[derive(Default)]
pub struct Pushed {
    /// Receipts acknowledged, by id.
    pub acknowledged: BTreeMap<RecordId, Acknowledged>,
    /// When each receipt was pushed first (wall clock).
    pub pushed_at: BTreeMap<RecordId, Instant>,
    /// When each receipt was seen at its agency.
    pub at_agency: BTreeMap<RecordId, Instant>,
    /// Pushes answered only after being pushed again.
    pub retried: u64,
    /// Refusals a till did not expect: code, receipt and detail.
    pub refused: Vec<String>,
    /// Receipts that got no answer within [`PUSH_PATIENCE`].
    pub given_up: u64,
}

/// The tills' shared record.
pub type Shared = Arc<Mutex<Pushed>>;

/// Locks `shared` (a panicking till leaves complete entries only).
pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Pushed> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One purchase: the buying agency (node index) and employee.
#[derive(Clone)]
struct Purchase {
    agency: usize,
    employee: String,
}

/// The purchases of every merchant: `receipts` in all, each at a random merchant, agency
/// and employee.
fn plan(cast: &Cast, receipts: usize, rng: &mut SimRng) -> BTreeMap<usize, Vec<Purchase>> {
    let merchants = cast.merchants();
    let agencies = cast.agencies();
    let mut plan: BTreeMap<usize, Vec<Purchase>> = BTreeMap::new();
    for _ in 0..receipts {
        let merchant = merchants.get(rng.index(merchants.len())).copied().unwrap_or(0);
        let agency = agencies.get(rng.index(agencies.len())).copied().unwrap_or(0);
        let employees = cast.parties.get(agency).map(|party| party.employees().to_vec()).unwrap_or_default();
        let employee = employees.get(rng.index(employees.len())).cloned().unwrap_or_default();
        plan.entry(merchant).or_default().push(Purchase { agency, employee });
    }
    plan
}

/// Pushes one receipt to `path` until it is answered: its id and whether it had to be
/// pushed again.
fn push_until_answered(api: &Api, path: &str, body: &Value) -> Result<(RecordId, bool), String> {
    let deadline = Instant::now() + PUSH_PATIENCE;
    let mut again = false;
    loop {
        match api.post(path, Some(body)) {
            Answer::Ok(_, answer) => {
                let id = answer.get("id").and_then(Value::as_str).unwrap_or_default();
                return id
                    .parse()
                    .map(|id| (id, again))
                    .map_err(|_| format!("an answer without an id: {answer}"));
            }
            Answer::Refused(status, code, detail) => return Err(format!("{status} {code}: {detail}")),
            Answer::Unanswered(why) if Instant::now() >= deadline => return Err(format!("no answer: {why}")),
            Answer::Unanswered(_) => {
                again = true;
                std::thread::sleep(PUSH_RETRY);
            }
        }
    }
}

/// What the tills are to do.
pub struct Load<'a> {
    /// Receipts in all.
    pub receipts: usize,
    /// The seed of the plan.
    pub seed: u64,
    /// Over how long each till spreads its purchases (none: as fast as the node answers).
    pub duration: Duration,
    /// The API of merchant node `index`'s till.
    pub till: &'a (dyn Fn(usize) -> Api + Sync),
}

/// Runs every till to the end of its purchases; returns when all are done.
pub fn run(cast: &Cast, load: &Load<'_>, shared: &Shared, started: Instant) {
    let mut rng = SimRng::new(load.seed);
    let plan = plan(cast, load.receipts, &mut rng);
    std::thread::scope(|scope| {
        for (merchant, purchases) in plan {
            let (api, mut rng) =
                ((load.till)(merchant), SimRng::new(load.seed ^ (merchant as u64).wrapping_mul(0x9e37_79b9)));
            // The mean gap between two purchases at this till, ms.
            let gap_ms =
                i64::try_from(load.duration.as_millis() / purchases.len().max(1) as u128).unwrap_or(0);
            scope.spawn(move || {
                let Some(party) = cast.parties.get(merchant) else {
                    return;
                };
                let mut last_sale: Option<(RecordId, i64)> = None;
                for (serial, purchase) in (1u64..).zip(purchases) {
                    if gap_ms > 0 {
                        let pause = rng.between(gap_ms / 2, gap_ms + gap_ms / 2);
                        std::thread::sleep(Duration::from_millis(u64::try_from(pause).unwrap_or(0)));
                    }
                    let refund = last_sale.filter(|_| rng.below(REFUND_ONE_IN) == 0);
                    let buyer_org =
                        cast.parties.get(purchase.agency).map(|agency| agency.identity.org.clone());
                    let sale = Sale {
                        register: "K1",
                        serial,
                        issued_at: kvitt_protocol::fields::format_time(time::OffsetDateTime::now_utc()),
                        buyer: (buyer_org.as_deref().unwrap_or_default(), &purchase.employee),
                        terminal: format!("T-{merchant}"),
                        card: u32::try_from(serial).unwrap_or(0),
                        returning: refund.map(|(id, total)| (id, total.min(10_000))),
                    };
                    let mut made = receipt(party, &sale, &mut rng);
                    let total = (made.total, made.currency.clone());
                    // A sale goes with only the card of the employee, whose agency enrolled
                    // it; a refund names the buyer of the sale it returns.
                    let (path, route) = if refund.is_none() {
                        made.buyer = None;
                        let card = cards::card_reference(purchase.agency, &purchase.employee);
                        (format!("/v1/receipts?card={card}"), Route::Card)
                    } else {
                        ("/v1/receipts".to_owned(), Route::Buyer)
                    };
                    let body = match serde_json::to_value(&made) {
                        Ok(body) => body,
                        Err(error) => {
                            lock(shared).refused.push(format!("the receipt does not serialise: {error}"));
                            continue;
                        }
                    };
                    let pushed = Instant::now();
                    match push_until_answered(&api, &path, &body) {
                        Ok((id, again)) => {
                            let mut record = lock(shared);
                            record.retried += u64::from(again);
                            record.pushed_at.insert(id, pushed);
                            record.acknowledged.insert(
                                id,
                                Acknowledged {
                                    agency: purchase.agency,
                                    merchant,
                                    employee: purchase.employee.clone(),
                                    pushed_ms: i64::try_from(pushed.duration_since(started).as_millis())
                                        .unwrap_or(i64::MAX),
                                    total: total.clone(),
                                    original: refund.map(|(original, _)| original),
                                    route,
                                },
                            );
                            last_sale = if refund.is_some() { None } else { Some((id, total.0)) };
                        }
                        Err(why) if why.starts_with("no answer") => lock(shared).given_up += 1,
                        Err(why) => {
                            lock(shared).refused.push(format!("{} serial {serial}: {why}", party.name))
                        }
                    }
                }
            });
        }
    });
}

/// Notes when each acknowledged receipt reaches its agency, asking each agency's API
/// (`agency(index)`) for the receipts not yet seen there, until `done` is set and every
/// receipt is seen, or `patience` passes after `done`.
pub fn watch(
    agency: &dyn Fn(usize) -> Api,
    shared: &Shared,
    done: &std::sync::atomic::AtomicBool,
    patience: Duration,
) {
    let mut done_at: Option<Instant> = None;
    loop {
        let waiting: Vec<(RecordId, usize)> = {
            let record = lock(shared);
            record
                .acknowledged
                .iter()
                .filter(|(id, _)| !record.at_agency.contains_key(*id))
                .map(|(id, ack)| (*id, ack.agency))
                .collect()
        };
        for (id, node) in &waiting {
            if agency(*node).get(&format!("/v1/records/{id}")).is_ok() {
                lock(shared).at_agency.insert(*id, Instant::now());
            }
        }
        if done.load(std::sync::atomic::Ordering::SeqCst) {
            let since = *done_at.get_or_insert_with(Instant::now);
            let left = {
                let record = lock(shared);
                record.acknowledged.len().saturating_sub(record.at_agency.len())
            };
            if left == 0 || since.elapsed() > patience {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Push → agency latencies, ms.
pub fn push_latency(pushed: &Pushed) -> Histogram<u64> {
    let mut histogram = crate::report::histogram();
    for (id, at) in &pushed.at_agency {
        if let Some(pushed_at) = pushed.pushed_at.get(id) {
            let ms = u64::try_from(at.duration_since(*pushed_at).as_millis()).unwrap_or(u64::MAX);
            histogram.saturating_record(ms.max(1));
        }
    }
    histogram
}
