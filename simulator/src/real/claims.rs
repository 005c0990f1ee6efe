//! The real mode's claims: each agency's employees file claims of the receipts that
//! reached them (a draft, its items, submit), the approver approves or rejects, and SSC
//! staff book and pay, each step a client API request. A step whose answer was lost (a
//! node killed, a partition) is checked against the claim's status before it is tried
//! again, so no step is taken twice; one employee tries to claim a receipt that another
//! claim holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kvitt_protocol::wire::RefusalCode;
use kvitt_protocol::RecordId;
use serde_json::{json, Value};

use super::client::{Answer, Api};
use super::tills::{lock, Shared};
use crate::rng::SimRng;
use crate::workload::WorkloadStats;

/// How long one step may go unanswered, or one claim take to reach the SSC, before the
/// claim is given up.
pub const STEP_PATIENCE: Duration = Duration::from_secs(180);

/// Receipts in one claim, at most.
const RECEIPTS_PER_CLAIM: usize = 4;

/// One claim in ten is rejected by the approver.
const REJECT_ONE_IN: u64 = 10;

/// Who acts on a claim: the APIs of the agency's employee and approver and the SSC's staff.
pub struct Actors {
    /// The claimant, at the agency.
    pub employee: Api,
    /// The approver, at the agency.
    pub approver: Api,
    /// SSC staff.
    pub staff: Api,
}

/// What the claims did.
pub struct ClaimsOutcome {
    /// Counts, in the deterministic workload's terms.
    pub stats: WorkloadStats,
    /// Submit → paid, ms.
    pub paid_latency: Histogram<u64>,
    /// What went wrong, step by step.
    pub problems: Vec<String>,
}

impl ClaimsOutcome {
    /// Nothing filed.
    pub fn empty() -> ClaimsOutcome {
        ClaimsOutcome {
            stats: WorkloadStats::default(),
            paid_latency: crate::report::histogram(),
            problems: Vec::new(),
        }
    }
}

/// Calls `step` until it is answered, for at most [`STEP_PATIENCE`].
fn answered(mut step: impl FnMut() -> Answer) -> Answer {
    let deadline = Instant::now() + STEP_PATIENCE;
    loop {
        match step() {
            Answer::Unanswered(why) if Instant::now() >= deadline => return Answer::Unanswered(why),
            Answer::Unanswered(_) => std::thread::sleep(Duration::from_millis(250)),
            answer => return answer,
        }
    }
}

/// The claim's status at a node, if it holds the claim.
fn status(api: &Api, claim: &str) -> Option<String> {
    api.get(&format!("/v1/claims/{claim}"))
        .ok()
        .and_then(|view| view.get("status").and_then(Value::as_str).map(str::to_owned))
}

/// Takes the decision `action` (approve, reject, book, pay) on `claim` until the claim is
/// in status `then`: a decision whose answer was lost is not taken twice.
fn decide(api: &Api, claim: &str, action: &str, body: Option<&Value>, then: &str) -> Result<(), String> {
    let deadline = Instant::now() + STEP_PATIENCE;
    loop {
        if status(api, claim).as_deref() == Some(then) {
            return Ok(());
        }
        match api.post(&format!("/v1/claims/{claim}/{action}"), body) {
            Answer::Ok(..) => return Ok(()),
            Answer::Refused(status, code, detail) => {
                return Err(format!("{action}: {status} {code}: {detail}"))
            }
            Answer::Unanswered(why) if Instant::now() >= deadline => return Err(format!("{action}: {why}")),
            Answer::Unanswered(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Waits until the node of `api` holds `claim` in status `wanted`.
fn reaches(api: &Api, claim: &str, wanted: &str) -> Result<(), String> {
    let deadline = Instant::now() + STEP_PATIENCE;
    loop {
        let seen = status(api, claim);
        if seen.as_deref() == Some(wanted) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "claim {claim} not {wanted} there after {} s: {seen:?}",
                STEP_PATIENCE.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The claim item for one receipt, as the deterministic workload makes it, in JSON.
fn item(receipt: &RecordId, total: i64, currency: &str) -> Value {
    serde_json::to_value(crate::workload::claim_item(*receipt, total, currency)).unwrap_or(Value::Null)
}

/// A receipt an employee may claim: its id, total and currency.
type Claimable = (RecordId, i64, String);

/// Opens a draft, adds `receipts` and submits it: the claim's id.
fn file(employee: &Api, receipts: &[Claimable]) -> Result<String, String> {
    let draft = answered(|| employee.post("/v1/drafts", Some(&json!({"purpose": "Tjänsteresa"})))).ok()?;
    let number = draft.get("number").and_then(Value::as_str).unwrap_or_default().to_owned();
    for (receipt, total, currency) in receipts {
        let item = item(receipt, *total, currency);
        let path = format!("/v1/drafts/{number}/items");
        match answered(|| employee.post(&path, Some(&item))) {
            Answer::Ok(..) => {}
            // An earlier attempt whose answer was lost added it already.
            Answer::Refused(422, code, _)
                if code.starts_with("claim.") && has_item(employee, &number, receipt) => {}
            other => return Err(format!("adding {receipt}: {}", other.ok().err().unwrap_or_default())),
        }
    }
    match answered(|| employee.post(&format!("/v1/drafts/{number}/submit"), None)) {
        Answer::Ok(_, answer) => answer
            .get("claim")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("submit: {answer}")),
        // The draft is gone: an earlier submit whose answer was lost went through.
        Answer::Refused(404, ..) => employee
            .get("/v1/claims")
            .ok()
            .and_then(|claims| {
                claims.as_array()?.iter().find_map(|claim| {
                    (claim.get("number")?.as_str()? == number)
                        .then(|| claim.get("id")?.as_str().map(str::to_owned))?
                })
            })
            .ok_or_else(|| format!("draft {number} is gone but no claim carries its number")),
        other => Err(format!("submit: {}", other.ok().err().unwrap_or_default())),
    }
}

fn has_item(employee: &Api, number: &str, receipt: &RecordId) -> bool {
    employee.get(&format!("/v1/drafts/{number}")).ok().is_some_and(|draft| {
        draft.get("items").and_then(Value::as_array).is_some_and(|items| {
            items.iter().any(|item| item.get("receipt").and_then(Value::as_str) == Some(&receipt.to_string()))
        })
    })
}

/// Files `claims` claims round the agencies and their employees, from the receipts that
/// reached them (sales only), and carries each through approval, booking and payment.
pub fn run(
    claims: usize,
    seed: u64,
    actors: &dyn Fn(usize, &str) -> Actors,
    shared: &Shared,
) -> ClaimsOutcome {
    let mut rng = SimRng::new(seed ^ 0xc1a1);
    let mut outcome = ClaimsOutcome::empty();
    let mut unclaimed: BTreeMap<(usize, String), Vec<Claimable>> = BTreeMap::new();
    {
        let pushed = lock(shared);
        // A refunded receipt is not claimed: its claim would ask more than it supports
        // (spec/protocol.md §Claim amounts).
        let refunded: std::collections::BTreeSet<RecordId> =
            pushed.acknowledged.values().filter_map(|ack| ack.original).collect();
        for (id, ack) in &pushed.acknowledged {
            if !ack.is_refund() && !refunded.contains(id) && pushed.at_agency.contains_key(id) {
                let entry = unclaimed.entry((ack.agency, ack.employee.clone())).or_default();
                entry.push((*id, ack.total.0, ack.total.1.clone()));
            }
        }
    }
    let mut filers: Vec<(usize, String)> = unclaimed.keys().cloned().collect();
    let mut double_tried = false;
    for _ in 0..claims {
        filers.retain(|filer| unclaimed.get(filer).is_some_and(|left| !left.is_empty()));
        let Some((agency, employee)) = filers.get(rng.index(filers.len().max(1))).cloned() else {
            outcome.stats.claims_abandoned += 1;
            continue;
        };
        let take = unclaimed.get_mut(&(agency, employee.clone())).map_or_else(Vec::new, |left| {
            let count = left.len().min(RECEIPTS_PER_CLAIM);
            left.drain(..count).collect()
        });
        let who = actors(agency, &employee);
        let claim = match file(&who.employee, &take) {
            Ok(claim) => claim,
            Err(why) => {
                outcome.stats.claims_abandoned += 1;
                outcome.problems.push(format!("{employee}: {why}"));
                continue;
            }
        };
        let submitted = Instant::now();
        outcome.stats.claims_submitted += 1;
        if !double_tried {
            double_tried = true;
            try_double_claim(&who.employee, &take, &mut outcome);
        }
        if rng.below(REJECT_ONE_IN) == 0 {
            let reason = json!({"reason": "Kvittot saknar syfte"});
            match decide(&who.approver, &claim, "reject", Some(&reason), "rejected") {
                Ok(()) => outcome.stats.claims_rejected += 1,
                Err(why) => outcome.problems.push(format!("claim {claim}: {why}")),
            }
            continue;
        }
        let flow = decide(&who.approver, &claim, "approve", None, "approved")
            .map(|()| outcome.stats.claims_approved += 1)
            .and_then(|()| reaches(&who.staff, &claim, "approved"))
            .and_then(|()| decide(&who.staff, &claim, "book", None, "booked"))
            .and_then(|()| decide(&who.staff, &claim, "pay", None, "paid"));
        match flow {
            Ok(()) => {
                outcome.stats.claims_paid += 1;
                let ms = u64::try_from(submitted.elapsed().as_millis()).unwrap_or(u64::MAX);
                outcome.paid_latency.saturating_record(ms.max(1));
            }
            Err(why) => outcome.problems.push(format!("claim {claim}: {why}")),
        }
    }
    outcome
}

/// A second draft with a receipt of a submitted claim: its submission must be refused.
fn try_double_claim(employee: &Api, taken: &[Claimable], outcome: &mut ClaimsOutcome) {
    let Some((receipt, total, currency)) = taken.first() else {
        return;
    };
    let Ok(draft) =
        answered(|| employee.post("/v1/drafts", Some(&json!({"purpose": "Samma kvitto igen"})))).ok()
    else {
        return;
    };
    let number = draft.get("number").and_then(Value::as_str).unwrap_or_default();
    match answered(|| {
        employee.post(&format!("/v1/drafts/{number}/items"), Some(&item(receipt, *total, currency)))
    }) {
        Answer::Refused(409, code, _) if code == RefusalCode::ReceiptClaimed.as_str() => {
            outcome.stats.double_claims_refused += 1
        }
        Answer::Ok(..) => {
            outcome.stats.double_claims_accepted += 1;
            outcome.problems.push(format!("receipt {receipt} was added to a second claim's draft"));
        }
        other => outcome.problems.push(format!("double claim of {receipt}: {other:?}")),
    }
}
