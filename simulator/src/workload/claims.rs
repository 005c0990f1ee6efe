//! Claims in the workload: an employee files a claim over their receipts some days after
//! buying, the approver decides, the SSC books (resolving what it holds as an exception)
//! and pays, and reverses one paid claim in [`REVERSE_EVERY`] an hour later (found paid
//! wrongly); each step is one client request, and its answer moves the claim on.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Open,
    Add,
    Submit,
    Decide,
    Poll(u32),
    Book,
    /// SSC staff reject a claim held for an exception (a receipt or card payment claimed
    /// twice).
    Resolve,
    Pay,
    /// SSC staff reverse a paid claim found wrong.
    Reverse,
}

/// One paid claim in this many, counting from the first, is reversed an hour after its
/// payment. Counted, not drawn, so that the run's random stream is the one it was.
pub(super) const REVERSE_EVERY: u64 = 10;

pub(super) struct ClaimFlow {
    agency: usize,
    employee: String,
    receipts: Vec<RecordId>,
    number: Option<String>,
    claim: Option<RecordId>,
    added: usize,
    stage: Stage,
    submitted_ms: i64,
    /// The attempt to claim a receipt that another claim holds.
    double: bool,
}

impl Workload {
    pub(super) fn file(
        &mut self,
        cast: &Cast,
        world: &mut World,
        agency: usize,
        employee: usize,
        tries: u32,
    ) {
        let Some(person) =
            cast.parties.get(agency).and_then(|party| party.employees().get(employee)).cloned()
        else {
            return;
        };
        let now = world.now_ms;
        let acknowledged = &self.acknowledged;
        let at_agency = &self.at_agency;
        let mut receipts = Vec::new();
        if let Some(unclaimed) = self.unclaimed.get_mut(&(agency, person.clone())) {
            // Receipts bought at least half a day ago, six at the most: the first six
            // such in the list, which is not looked up further (an employee's list grows
            // with the run, and looking up all of it for each claim cost a tenth of it).
            unclaimed.retain(|id| {
                let old = || {
                    acknowledged.get(id).is_some_and(|ack| now - ack.pushed_ms >= DAY_MS / 2)
                        && at_agency.contains_key(id)
                };
                if receipts.len() < 6 && old() {
                    receipts.push(*id);
                    false
                } else {
                    true
                }
            });
        }
        if receipts.is_empty() {
            if tries < 4 {
                self.act(world, now + 6 * HOUR_MS, Act::File { agency, employee, tries: tries + 1 });
            } else {
                self.stats.claims_abandoned += 1;
            }
            return;
        }
        self.flows.push(ClaimFlow {
            agency,
            employee: person,
            receipts,
            number: None,
            claim: None,
            added: 0,
            stage: Stage::Open,
            submitted_ms: 0,
            double: false,
        });
        let flow = self.flows.len() - 1;
        self.advance(cast, world, flow);
    }

    pub(super) fn advance(&mut self, cast: &Cast, world: &mut World, index: usize) {
        let Some(flow) = self.flows.get(index) else {
            return;
        };
        let employee = Caller { person: flow.employee.clone(), role: CallerRole::Employee };
        let (node, caller, request) = match (flow.stage, &flow.number, flow.claim) {
            (Stage::Open, _, _) => {
                (flow.agency, employee, ClientRequest::NewClaim { purpose: "Tjänsteresa".into() })
            }
            (Stage::Add, Some(number), _) => {
                let Some(receipt) = flow.receipts.get(flow.added).copied() else {
                    return;
                };
                let item = self.item(receipt);
                (
                    flow.agency,
                    employee,
                    ClientRequest::AddItem { number: number.clone(), item: Box::new(item) },
                )
            }
            (Stage::Submit, Some(number), _) => {
                (flow.agency, employee, ClientRequest::Submit { number: number.clone() })
            }
            (Stage::Decide, _, Some(claim)) => {
                let approver = cast.parties.get(flow.agency).map_or("approver", |party| party.approver());
                let caller = Caller { person: approver.into(), role: CallerRole::Approver };
                let action = if world.rng.chance(0.1) {
                    Action::Rejected { reason: "Kvitto saknar deltagarlista; komplettera.".into() }
                } else {
                    Action::Approved
                };
                (flow.agency, caller, ClientRequest::Decide { claim, action })
            }
            (Stage::Poll(_), _, Some(claim)) => (cast.ssc(), staff(), ClientRequest::ShowClaim { claim }),
            (Stage::Book, _, Some(claim)) => (cast.ssc(), staff(), ClientRequest::Book { claim }),
            (Stage::Resolve, _, Some(claim)) => {
                let note = "Samma kvitto eller kortköp finns redan i en annan räkning.".into();
                (cast.ssc(), staff(), ClientRequest::Resolve { claim, resolution: Resolution::Reject, note })
            }
            (Stage::Pay, _, Some(claim)) => (cast.ssc(), staff(), ClientRequest::Pay { claim }),
            (Stage::Reverse, _, Some(claim)) => {
                let reason = "Utbetald fel: beloppet stämmer inte med kvittot; ny räkning behövs.".into();
                (cast.ssc(), staff(), ClientRequest::Reverse { claim, reason })
            }
            _ => return,
        };
        let tag = self.tag();
        self.pending.insert(tag, Pending::Flow(index));
        world.client(node, caller, request, tag);
    }

    pub(super) fn item(&self, receipt: RecordId) -> ClaimItem {
        let (total, currency) =
            self.acknowledged.get(&receipt).map_or((0, "SEK".into()), |ack| ack.total.clone());
        claim_item(receipt, total, &currency)
    }

    pub(super) fn flow_answered(
        &mut self,
        cast: &Cast,
        world: &mut World,
        index: usize,
        answer: Option<ClientAnswer>,
    ) {
        let now = world.now_ms;
        let Some(flow) = self.flows.get_mut(index) else {
            return;
        };
        let Some(answer) = answer else {
            self.stats.claims_abandoned += 1;
            return;
        };
        let next = match (flow.stage, answer) {
            (Stage::Open, Ok(ClientResponse::Draft { draft, .. })) => {
                flow.number = Some(draft.number.clone());
                Some((Stage::Add, now))
            }
            (Stage::Add, result) => {
                if flow.double {
                    match result {
                        Ok(_) => self.stats.double_claims_accepted += 1,
                        Err(_) => self.stats.double_claims_refused += 1,
                    }
                    return;
                }
                if let Err(refusal) = result {
                    *self.stats.refusals.entry(format!("add item: {}", refusal.code)).or_default() += 1;
                    flow.receipts.remove(flow.added);
                } else {
                    flow.added += 1;
                }
                if flow.added < flow.receipts.len() {
                    Some((Stage::Add, now))
                } else if flow.added == 0 {
                    self.stats.claims_abandoned += 1;
                    None
                } else {
                    Some((Stage::Submit, now))
                }
            }
            (Stage::Submit, Ok(ClientResponse::Submitted { claim })) => {
                flow.claim = Some(claim);
                flow.submitted_ms = now;
                self.stats.claims_submitted += 1;
                let decide_at = now + world.rng.between(HOUR_MS, 8 * HOUR_MS);
                if !self.double_done {
                    self.double_done = true;
                    let double = ClaimFlow {
                        agency: flow.agency,
                        employee: flow.employee.clone(),
                        receipts: flow.receipts.iter().take(1).copied().collect(),
                        number: None,
                        claim: None,
                        added: 0,
                        stage: Stage::Open,
                        submitted_ms: 0,
                        double: true,
                    };
                    self.flows.push(double);
                    let double = self.flows.len() - 1;
                    self.act(world, now + HOUR_MS, Act::Flow(double));
                }
                Some((Stage::Decide, decide_at))
            }
            (Stage::Decide, Ok(ClientResponse::Decided { status: Status::Approved, .. })) => {
                self.stats.claims_approved += 1;
                Some((Stage::Poll(0), now + 30 * 60_000))
            }
            (Stage::Decide, Ok(ClientResponse::Decided { status: Status::Rejected, .. })) => {
                self.stats.claims_rejected += 1;
                None
            }
            (Stage::Poll(polls), Ok(ClientResponse::Claim(view))) if view.status == Status::Approved => {
                let _ = polls;
                Some((Stage::Book, now))
            }
            (Stage::Poll(_), Ok(ClientResponse::Claim(view))) if view.status == Status::Rejected => {
                self.stats.claims_rejected_by_ssc += 1;
                None
            }
            (Stage::Poll(polls), _) if polls < 96 => Some((Stage::Poll(polls + 1), now + 30 * 60_000)),
            (Stage::Book, Ok(ClientResponse::Status(Status::Booked))) => Some((Stage::Pay, now)),
            (Stage::Book, Err(refusal)) if refusal.code == RefusalCode::ExceptionOpen => {
                Some((Stage::Resolve, now))
            }
            (Stage::Resolve, Ok(ClientResponse::Status(Status::Rejected))) => {
                self.stats.claims_rejected_by_ssc += 1;
                None
            }
            (Stage::Pay, Ok(ClientResponse::Status(Status::Paid))) => {
                self.stats.claims_paid += 1;
                let _ = self.paid_latency.record(u64::try_from(now - flow.submitted_ms).unwrap_or(0));
                (self.stats.claims_paid % REVERSE_EVERY == 1).then_some((Stage::Reverse, now + HOUR_MS))
            }
            (Stage::Reverse, Ok(ClientResponse::Status(Status::Reversed))) => {
                self.stats.claims_reversed += 1;
                None
            }
            (stage, answer) => {
                let what = match answer {
                    Ok(response) => format!("{stage:?} answered {}", variant(&response)),
                    Err(refusal) => format!("{stage:?}: {}", refusal.code),
                };
                *self.stats.refusals.entry(what).or_default() += 1;
                self.stats.claims_abandoned += 1;
                None
            }
        };
        if let Some((stage, at)) = next {
            if let Some(flow) = self.flows.get_mut(index) {
                flow.stage = stage;
            }
            if at <= now {
                self.advance(cast, world, index);
            } else {
                self.act(world, at, Act::Flow(index));
            }
        }
    }
}

/// The claim item an employee makes of a receipt of `total` in `currency`: a foreign
/// amount converted at a fixed rate, booked to 5800.
pub fn claim_item(receipt: RecordId, total: i64, currency: &str) -> ClaimItem {
    let foreign = (currency != "SEK").then(|| ForeignAmount {
        amount: total,
        currency: currency.to_owned(),
        rate: ExchangeRate { value: 114_523, scale: 4 },
        rate_date: "2026-05-04".into(),
        rate_source: "riksbanken".into(),
    });
    let amount = match &foreign {
        Some(foreign) => foreign.rate.convert(total, currency).unwrap_or(0),
        None => total.max(0),
    };
    ClaimItem::Receipt {
        receipt,
        business_purpose: "Resa i tjänsten".into(),
        amount,
        booking: Booking { account: 5800, cost_center: "CC-4100".into(), project: None },
        foreign,
        participants: vec![],
    }
}

pub(super) fn staff() -> Caller {
    Caller { person: "ssc-staff".into(), role: CallerRole::SscStaff }
}

pub(super) fn variant(response: &ClientResponse) -> String {
    let debug = format!("{response:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
}
