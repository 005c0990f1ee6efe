//! Receipt codes in the workload (spec/codes.md): part of the sales at Swedish merchants
//! are paid in cash, so the till signs the receipt without a buyer and shows its code. Most
//! codes are collected by the employee at their agency a while later (through the agency's
//! fetch path, `ClientRequest::FetchReceipt`, what `POST /v1/receipts/fetch` asks), some
//! only after a wrong guess, some never; and some codes already collected are presented
//! again by an employee of another agency, who must be refused.

use std::collections::BTreeMap;

use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse};
use kvitt_protocol::code::ReceiptCode;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::RefusalCode;
use kvitt_protocol::RecordId;

use super::{Acknowledged, Act, Pending, Route, Workload};
use crate::cast::Cast;
use crate::rng::SimRng;
use crate::world::{ClientAnswer, World};

/// Share of sales at Swedish merchants paid in cash (and collected by code).
pub const CASH_SHARE: f64 = 0.06;
/// Share of codes nobody ever collects.
pub const NEVER_COLLECTED: f64 = 0.15;
/// Share of the collected codes first mistyped into another well-formed code (a guess that
/// passes the check character and must find no receipt).
pub const GUESSED_FIRST: f64 = 0.10;
/// Share of the collected codes presented again by an employee of another agency.
pub const PRESENTED_AGAIN: f64 = 0.10;
/// How long after the sale an employee collects the receipt, ms: from ten minutes to two
/// days.
pub const COLLECT_DELAY_MS: (i64, i64) = (10 * 60_000, 48 * 60 * 60_000);
/// Mixed into the seed for the receipt codes' own random stream.
pub const RNG_STREAM: u64 = 0xc0de_c0de_c0de_c0de;
/// How long an agency waits before asking again when the merchant did not answer, ms.
pub const RETRY_MS: i64 = 30 * 60_000;

/// Who presents a code, and what the workload expects of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The employee who paid, at their agency: collects the receipt.
    Own,
    /// The same employee, a well-formed code one random part away: `code.unknown`.
    Guess,
    /// An employee of agency node `agency`, after the code was collected: `code.collected`.
    Again {
        /// The other agency's node.
        agency: usize,
    },
}

/// A receipt signed without a buyer, and what became of its code.
#[derive(Clone, Debug)]
pub struct CodeReceipt {
    /// The code the till showed.
    pub code: ReceiptCode,
    /// The merchant (node index).
    pub merchant: usize,
    /// The agency of the employee who paid (node index).
    pub agency: usize,
    /// The employee who paid.
    pub employee: String,
    /// When the till pushed it.
    pub pushed_ms: i64,
    /// Its total and currency.
    pub total: (i64, String),
    /// The agency whose collect was answered with the receipt first.
    pub collected_by: Option<usize>,
}

/// Every code receipt of the run, and any collect that should have been refused.
#[derive(Clone, Debug, Default)]
pub struct Codes {
    /// The receipts signed without a buyer, by id.
    pub receipts: BTreeMap<RecordId, CodeReceipt>,
    /// Collects answered with a receipt that another agency had collected, or by a guess:
    /// (receipt, agency node). None in a good run.
    pub collected_wrongly: Vec<(RecordId, usize)>,
}

impl Codes {
    /// The agency that collected `id`, if one did.
    pub fn collector(&self, id: &RecordId) -> Option<usize> {
        self.receipts.get(id).and_then(|receipt| receipt.collected_by)
    }
}

/// The attempts to present the code of a receipt pushed at `now`, with when: none (never
/// collected), or the own collect, a guess a minute before it.
pub fn plan_collect(rng: &mut SimRng, now: i64) -> Vec<(i64, Attempt)> {
    if rng.chance(NEVER_COLLECTED) {
        return Vec::new();
    }
    let at = now + rng.between(COLLECT_DELAY_MS.0, COLLECT_DELAY_MS.1);
    if rng.chance(GUESSED_FIRST) {
        vec![(at - 60_000, Attempt::Guess), (at, Attempt::Own)]
    } else {
        vec![(at, Attempt::Own)]
    }
}

/// The text an attempt presents: the code, or for a guess another well-formed code of the
/// same merchant (its random part drawn anew, so the check character still matches).
pub fn presented(code: &ReceiptCode, attempt: Attempt, rng: &mut SimRng) -> String {
    match attempt {
        Attempt::Guess => {
            let random = rng.next_u64().to_le_bytes();
            ReceiptCode::generate(&code.merchant(), random)
                .filter(|guess| guess != code)
                .map_or_else(|| format!("{}X", code), |guess| guess.to_string())
        }
        Attempt::Own | Attempt::Again { .. } => code.to_string(),
    }
}

impl Workload {
    /// A cash sale was signed without a buyer: its code is noted, and its collects planned.
    pub(super) fn cash_pushed(
        &mut self,
        world: &mut World,
        (id, code): (RecordId, Option<ReceiptCode>),
        (merchant, agency, employee): (usize, usize, String),
        (receipt, pushed_ms): (&Receipt, i64),
    ) {
        let Some(code) = code else {
            *self.stats.refusals.entry("push: a cash receipt got no code".into()).or_default() += 1;
            return;
        };
        self.stats.receipts += 1;
        self.stats.cash_receipts += 1;
        let total = (receipt.total, receipt.currency.clone());
        let entry = CodeReceipt { code, merchant, agency, employee, pushed_ms, total, collected_by: None };
        self.codes.receipts.insert(id, entry);
        let now = world.now_ms;
        for (at, attempt) in plan_collect(&mut self.code_rng, now) {
            self.act(world, at, Act::Collect(id, attempt));
        }
    }

    /// An employee presents the code of `receipt` at their agency's node.
    pub(super) fn collect(&mut self, cast: &Cast, world: &mut World, receipt: RecordId, attempt: Attempt) {
        let Some(entry) = self.codes.receipts.get(&receipt) else {
            return;
        };
        let (agency, person) = match attempt {
            Attempt::Again { agency } => {
                let employees = cast.parties.get(agency).map(|party| party.employees().to_vec());
                (agency, employees.and_then(|list| list.first().cloned()).unwrap_or_default())
            }
            Attempt::Own | Attempt::Guess => (entry.agency, entry.employee.clone()),
        };
        let code = presented(&entry.code, attempt, &mut self.code_rng);
        let tag = self.tag();
        self.pending.insert(tag, Pending::Collect(receipt, attempt));
        let employee = Caller { person, role: CallerRole::Employee };
        world.client(agency, employee, ClientRequest::FetchReceipt { code }, tag);
    }

    /// What the agency's node answered a collect.
    pub(super) fn collect_answered(
        &mut self,
        cast: &Cast,
        world: &mut World,
        receipt: RecordId,
        attempt: Attempt,
        answer: Option<ClientAnswer>,
    ) {
        let now = world.now_ms;
        let retry = |answer: &Option<ClientAnswer>| match answer {
            None => true,
            Some(Err(refusal)) => refusal.retry,
            Some(Ok(_)) => false,
        };
        let agency = match attempt {
            Attempt::Again { agency } => agency,
            Attempt::Own | Attempt::Guess => {
                self.codes.receipts.get(&receipt).map_or(0, |entry| entry.agency)
            }
        };
        match (attempt, answer) {
            (Attempt::Own, Some(Ok(ClientResponse::Fetched { .. }))) => self.collected(cast, world, receipt),
            (Attempt::Guess, Some(Err(refusal))) if refusal.code == RefusalCode::CodeUnknown => {
                self.stats.code_guesses_refused += 1;
            }
            (Attempt::Again { .. }, Some(Err(refusal))) if refusal.code == RefusalCode::CodeCollected => {
                self.stats.codes_refused_again += 1;
            }
            (Attempt::Guess | Attempt::Again { .. }, Some(Ok(ClientResponse::Fetched { id, .. }))) => {
                self.codes.collected_wrongly.push((id, agency));
            }
            // A guess left unanswered is not made again.
            (Attempt::Guess, answer) if retry(&answer) => {}
            (attempt, answer) if retry(&answer) => {
                self.act(world, now + RETRY_MS, Act::Collect(receipt, attempt))
            }
            (_, answer) => {
                let what = match answer {
                    Some(Err(refusal)) => format!("collect ({attempt:?}): {}", refusal.code),
                    other => format!("collect ({attempt:?}) answered {other:?}"),
                };
                *self.stats.refusals.entry(what).or_default() += 1;
            }
        }
    }

    /// The paying employee's agency collected `receipt`: it is now at that agency, as a
    /// receipt the till had acknowledged; sometimes an employee of another agency presents
    /// the same code later.
    fn collected(&mut self, cast: &Cast, world: &mut World, receipt: RecordId) {
        let Some(entry) = self.codes.receipts.get_mut(&receipt) else {
            return;
        };
        if entry.collected_by.is_some() {
            return;
        }
        entry.collected_by = Some(entry.agency);
        self.stats.codes_collected += 1;
        let ack = Acknowledged {
            agency: entry.agency,
            merchant: entry.merchant,
            employee: entry.employee.clone(),
            pushed_ms: entry.pushed_ms,
            total: entry.total.clone(),
            original: None,
            route: Route::Code,
        };
        let others: Vec<usize> =
            cast.agencies().into_iter().filter(|agency| *agency != entry.agency).collect();
        self.acknowledged.insert(receipt, ack);
        if !others.is_empty() && self.code_rng.chance(PRESENTED_AGAIN) {
            let agency = others.get(self.code_rng.index(others.len())).copied().unwrap_or_default();
            let at = world.now_ms + 60 * 60_000;
            self.act(world, at, Act::Collect(receipt, Attempt::Again { agency }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guess_is_a_well_formed_code_of_the_same_merchant_and_not_the_code() {
        let code = ReceiptCode::generate("556016-0680", [1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let mut rng = SimRng::new(7);
        let guess = presented(&code, Attempt::Guess, &mut rng);
        let read = ReceiptCode::parse(&guess).unwrap();
        assert_eq!(read.merchant(), code.merchant());
        assert_ne!(read, code);
        assert_eq!(presented(&code, Attempt::Own, &mut rng), code.to_string());
    }

    #[test]
    fn collects_are_planned_after_the_sale_a_guess_before_the_own() {
        let mut rng = SimRng::new(3);
        let plans: Vec<_> = (0..400).map(|_| plan_collect(&mut rng, 1_000)).collect();
        assert!(plans.iter().any(Vec::is_empty), "some never collected");
        assert!(plans.iter().any(|plan| plan.len() == 2), "some guessed first");
        for plan in plans.iter().filter(|plan| !plan.is_empty()) {
            let (at, last) = plan[plan.len() - 1];
            assert_eq!(last, Attempt::Own);
            assert!(at >= 1_000 + COLLECT_DELAY_MS.0 && at <= 1_000 + COLLECT_DELAY_MS.1);
        }
    }
}
