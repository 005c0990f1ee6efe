//! The workload: tills push receipts through the day (peaks at lunch and in the evening),
//! one register at a time as a till does, retrying what a crash left unanswered;
//! employees file claims of their receipts days later; approvers approve or reject; the
//! SSC books and pays; one employee tries to claim a receipt twice; one merchant signs a
//! second receipt with a serial it already used (equivocation). A receipt reaches its
//! agency one of three ways: the till names the buyer, the till pushes only the card of
//! an enrolled employee (cards.rs; some of those tills speak SDRS, sdrs.rs), or the sale is
//! paid in cash and the employee collects the receipt with its code (codes.rs).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use hdrhistogram::Histogram;
use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse, Resolution};
use kvitt_node::store::Store;
use kvitt_protocol::claim::{Booking, ClaimItem, ExchangeRate, ForeignAmount};
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::receipt::{Payment, Receipt};
use kvitt_protocol::wire::{RecordBytes, RefusalCode, Request, RequestBody};
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use crate::cast::{Cast, MerchantKind};
use crate::config::SimConfig;
use crate::receipts::{receipt, Sale};
use crate::rng::SimRng;
use crate::world::{ClientAnswer, Event, World};

mod claims;
mod equivocation;

pub mod cards;
pub mod codes;
pub mod sdrs;
mod stats;
pub use claims::claim_item;
use claims::ClaimFlow;
use codes::Attempt;
pub use codes::Codes;
pub use equivocation::Equivocation;
pub use stats::WorkloadStats;

const HOUR_MS: i64 = 60 * 60 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The hours purchases fall in, each as often as it is listed: a working day with peaks
/// at lunch and in the evening.
const HOURS: [i64; 20] = [7, 8, 8, 9, 10, 11, 12, 12, 12, 13, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21];

/// A purchase the plan makes: when, where, by whom.
struct Purchase {
    at_ms: i64,
    agency: usize,
    employee: String,
    /// A refund of the register's last acknowledged receipt rather than a sale.
    refund: bool,
    /// The register's last receipt issued again (a new serial, the same card payment).
    reissue: bool,
    /// Paid in cash: signed without a buyer, collected by code (at a Swedish merchant).
    cash: bool,
    /// If pushed with only its card at a Swedish merchant: by a till that speaks SDRS.
    sdrs: bool,
}

/// How a receipt reaches its buyer's agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The till names the buyer.
    Buyer,
    /// The till pushes only the card payment of a card the agency enrolled.
    Card,
    /// Paid in cash and signed without a buyer; the agency collected it with its code.
    Code,
}

/// One register of a merchant: its purchases in order, pushed one at a time.
struct Register {
    merchant: usize,
    name: String,
    next_serial: u64,
    queue: VecDeque<Purchase>,
    /// The receipt pushed and not yet answered, or left unanswered by a crash.
    pushed: Option<(Receipt, i64)>,
    busy: bool,
    last: Option<RecordId>,
    /// The last sale acknowledged, for a reissue.
    last_sale: Option<Receipt>,
    /// How the receipt pushed goes to its agency.
    route: Route,
    /// The card reference the receipt pushed by card was imported with from its SDRS
    /// document, if its till speaks SDRS.
    sdrs_card: Option<String>,
}

/// A receipt a till had acknowledged.
#[derive(Clone, Debug)]
pub struct Acknowledged {
    /// The buying agency (node index).
    pub agency: usize,
    /// The merchant (node index).
    pub merchant: usize,
    /// The employee.
    pub employee: String,
    /// When the till pushed it.
    pub pushed_ms: i64,
    /// Its total and currency.
    pub total: (i64, String),
    /// For a refund: the receipt it returns (its `original`).
    pub original: Option<RecordId>,
    /// How it reached `agency`: named, by the card `agency` enrolled, or collected by
    /// `agency` with its code.
    pub route: Route,
}

impl Acknowledged {
    /// Whether it is a refund.
    pub fn is_refund(&self) -> bool {
        self.original.is_some()
    }
}

#[derive(Clone, Copy, Debug)]
enum Pending {
    Push(usize),
    Flow(usize),
    Enrol(usize),
    Collect(RecordId, Attempt),
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Push(usize),
    File { agency: usize, employee: usize, tries: u32 },
    Flow(usize),
    Equivocate,
    Enrol(usize),
    Collect(RecordId, Attempt),
}

/// The workload of one run.
pub struct Workload {
    registers: Vec<Register>,
    flows: Vec<ClaimFlow>,
    acts: BTreeMap<u64, Act>,
    pending: BTreeMap<u64, Pending>,
    next_tag: u64,
    double_done: bool,
    equivocation_at_ms: Option<i64>,
    /// The forged delivery the equivocating merchant repeats until its agency has taken
    /// note: (merchant, agency, request bytes, the agency's evidence key of the pair).
    forged: Option<(usize, usize, Vec<u8>, Vec<u8>)>,
    /// Receipts acknowledged, by id.
    pub acknowledged: BTreeMap<RecordId, Acknowledged>,
    /// When each record first reached an agency node.
    pub at_agency: BTreeMap<RecordId, i64>,
    unclaimed: BTreeMap<(usize, String), Vec<RecordId>>,
    /// Equivocations injected.
    pub equivocations: Vec<Equivocation>,
    /// The agencies whose cards the SSC has enrolled.
    enrolled: BTreeSet<usize>,
    /// The receipts signed without a buyer and what became of their codes.
    pub codes: Codes,
    /// The random stream of the receipt codes' choices.
    code_rng: SimRng,
    /// Push → at the agency, ms.
    pub push_latency: Histogram<u64>,
    /// Submit → paid, ms.
    pub paid_latency: Histogram<u64>,
    /// Counts.
    pub stats: WorkloadStats,
    /// When the last receipt's purchase is planned.
    pub end_ms: i64,
}

fn till() -> Caller {
    Caller { person: "till-1".into(), role: CallerRole::Till }
}

impl Workload {
    /// Plans the purchases and claims of `config` over `cast`, from `start_ms`.
    pub fn plan(cast: &Cast, config: &SimConfig, rng: &mut SimRng, start_ms: i64) -> Workload {
        let merchants = cast.merchants();
        let agencies = cast.agencies();
        let mut registers = Vec::new();
        for merchant in &merchants {
            for number in 1..=2 {
                registers.push(Register {
                    merchant: *merchant,
                    name: format!("K{number}"),
                    next_serial: 1,
                    queue: VecDeque::new(),
                    pushed: None,
                    busy: false,
                    last: None,
                    last_sale: None,
                    route: Route::Buyer,
                    sdrs_card: None,
                });
            }
        }
        // Receipt codes draw from their own stream, so that the rest of a seed's run (the
        // faults, the other purchases) stays as it was without them.
        let mut code_rng = SimRng::new(config.seed ^ codes::RNG_STREAM);
        let mut sdrs_rng = SimRng::new(config.seed ^ sdrs::RNG_STREAM);
        let mut purchases: Vec<(usize, Purchase)> = (0..config.receipts)
            .map(|_| {
                let day = i64::from(u32::try_from(rng.below(u64::from(config.days.max(1)))).unwrap_or(0));
                let hour = HOURS.get(rng.index(HOURS.len())).copied().unwrap_or(12);
                let at_ms = start_ms + day * DAY_MS + hour * HOUR_MS + rng.between(0, HOUR_MS - 1);
                let agency = agencies.get(rng.index(agencies.len())).copied().unwrap_or(1);
                let employees =
                    cast.parties.get(agency).map(|party| party.employees().to_vec()).unwrap_or_default();
                let employee = employees.get(rng.index(employees.len())).cloned().unwrap_or_default();
                let register = rng.index(registers.len());
                let (refund, reissue) = (rng.chance(0.02), rng.chance(0.01));
                let reissue = reissue && !refund;
                let cash = code_rng.chance(codes::CASH_SHARE) && !refund && !reissue;
                let sdrs = sdrs_rng.chance(sdrs::SDRS_SHARE);
                (register, Purchase { at_ms, agency, employee, refund, reissue, cash, sdrs })
            })
            .collect();
        purchases.sort_by_key(|(_, purchase)| purchase.at_ms);
        let end_ms = purchases.last().map_or(start_ms, |(_, purchase)| purchase.at_ms);
        for (register, purchase) in purchases {
            if let Some(register) = registers.get_mut(register) {
                register.queue.push_back(purchase);
            }
        }
        let mut workload = Workload {
            registers,
            flows: Vec::new(),
            acts: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_tag: 1,
            double_done: false,
            equivocation_at_ms: (config.receipts >= 10).then_some(start_ms + (end_ms - start_ms) / 2),
            forged: None,
            acknowledged: BTreeMap::new(),
            at_agency: BTreeMap::new(),
            unclaimed: BTreeMap::new(),
            equivocations: Vec::new(),
            enrolled: BTreeSet::new(),
            codes: Codes::default(),
            code_rng,
            push_latency: crate::report::histogram(),
            paid_latency: crate::report::histogram(),
            stats: WorkloadStats::default(),
            end_ms,
        };
        workload.end_ms = end_ms;
        workload
    }

    /// Puts the first actions on the world's queue: each register's first push, every
    /// claim filing, the equivocation.
    pub fn start(&mut self, cast: &Cast, config: &SimConfig, world: &mut World, start_ms: i64) {
        for index in 0..self.registers.len() {
            let first =
                self.registers.get(index).and_then(|register| register.queue.front()).map(|p| p.at_ms);
            if let Some(at) = first {
                self.act(world, at, Act::Push(index));
            }
        }
        let agencies = cast.agencies();
        let span = (self.end_ms - start_ms).max(DAY_MS) + DAY_MS;
        for _ in 0..config.claims {
            let agency = agencies.get(world.rng.index(agencies.len())).copied().unwrap_or(1);
            let employee = world.rng.index(config.employees_per_agency.max(1));
            let at = start_ms + DAY_MS + world.rng.between(0, span);
            self.act(world, at, Act::File { agency, employee, tries: 0 });
        }
        if let Some(at) = self.equivocation_at_ms {
            self.act(world, at, Act::Equivocate);
        }
        for agency in agencies {
            self.act(world, start_ms, Act::Enrol(agency));
        }
    }

    /// An agency's operator enrols its employees' cards; until the SSC confirms, its
    /// receipts are pushed naming the buyer.
    fn enrol(&mut self, cast: &Cast, world: &mut World, agency: usize) {
        let tag = self.tag();
        self.pending.insert(tag, Pending::Enrol(agency));
        let operator = Caller { person: "operator".into(), role: CallerRole::Operator };
        world.client(agency, operator, cards::enrolment(cast, agency), tag);
    }

    fn enrol_answered(&mut self, world: &mut World, agency: usize, answer: Option<ClientAnswer>) {
        match answer {
            Some(Ok(ClientResponse::Enrolled { .. })) => {
                self.enrolled.insert(agency);
            }
            other => {
                if let Some(Err(refusal)) = &other {
                    *self.stats.refusals.entry(format!("enrol: {}", refusal.code)).or_default() += 1;
                }
                let now = world.now_ms;
                self.act(world, now + 30_000, Act::Enrol(agency));
            }
        }
    }

    fn act(&mut self, world: &mut World, at: i64, act: Act) {
        let tag = self.tag();
        self.acts.insert(tag, act);
        world.schedule(at, Event::Workload(tag));
    }

    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    /// Whether every purchase is acknowledged and every claim flow has ended.
    pub fn is_done(&self) -> bool {
        self.acts.is_empty() && self.pending.is_empty() && self.registers.iter().all(|r| r.queue.is_empty())
    }

    /// Runs the action scheduled under `tag`.
    pub fn run(&mut self, cast: &Cast, world: &mut World, tag: u64) {
        let Some(act) = self.acts.remove(&tag) else {
            return;
        };
        match act {
            Act::Push(register) => self.push(cast, world, register),
            Act::File { agency, employee, tries } => self.file(cast, world, agency, employee, tries),
            Act::Flow(flow) => self.advance(cast, world, flow),
            Act::Equivocate => self.equivocate(cast, world),
            Act::Enrol(agency) => self.enrol(cast, world, agency),
            Act::Collect(receipt, attempt) => self.collect(cast, world, receipt, attempt),
        }
    }

    fn push(&mut self, cast: &Cast, world: &mut World, index: usize) {
        let now = world.now_ms;
        let Some(register) = self.registers.get_mut(index) else {
            return;
        };
        if register.busy {
            return;
        }
        let Some(purchase) = register.queue.front() else {
            return;
        };
        if purchase.at_ms > now {
            let at = purchase.at_ms;
            self.act(world, at, Act::Push(index));
            return;
        }
        let (fresh, purchase_agency, reissue, cash, by_sdrs) =
            (register.pushed.is_none(), purchase.agency, purchase.reissue, purchase.cash, purchase.sdrs);
        let mut receipt = match (&register.pushed, &register.last_sale) {
            (Some((receipt, _)), _) => receipt.clone(),
            (None, Some(last)) if purchase.reissue => {
                // The till prints the last sale again under its next serial: the same card
                // payment on a second receipt, which the SSC must not pay twice.
                self.stats.reissues += 1;
                Receipt {
                    serial: register.next_serial,
                    issued_at: kvitt_protocol::fields::format_time(world.now()),
                    ..last.clone()
                }
            }
            (None, _) => {
                let Some(merchant) = cast.parties.get(register.merchant) else {
                    return;
                };
                let buyer_org =
                    cast.parties.get(purchase.agency).map_or("", |party| party.identity.org.as_str());
                // Only a receipt nobody has claimed yet is refunded, and it is claimed no
                // more: a claim of it would ask more than it supports (spec/protocol.md
                // §Claim amounts) once the refund reached the agency.
                let unclaimed = &mut self.unclaimed;
                let returning = match (purchase.refund, register.last) {
                    (true, Some(last)) => {
                        self.acknowledged.get(&last).filter(|ack| !ack.is_refund()).and_then(|ack| {
                            let left = unclaimed.get_mut(&(ack.agency, ack.employee.clone()))?;
                            let at = left.iter().position(|id| *id == last)?;
                            left.remove(at);
                            Some((last, ack.total.0 / 2))
                        })
                    }
                    _ => None,
                };
                // A refund goes to the buyer of the original.
                let (agency, employee) = match returning.and_then(|(last, _)| self.acknowledged.get(&last)) {
                    Some(ack) => (ack.agency, ack.employee.clone()),
                    None => (purchase.agency, purchase.employee.clone()),
                };
                let buyer_org =
                    cast.parties.get(agency).map_or(buyer_org, |party| party.identity.org.as_str());
                let card = cards::last_four(agency, &employee);
                let sale = Sale {
                    register: &register.name,
                    serial: register.next_serial,
                    issued_at: kvitt_protocol::fields::format_time(world.now()),
                    buyer: (buyer_org, &employee),
                    terminal: format!("T{}{}", register.merchant, register.name),
                    card,
                    returning,
                };
                receipt(merchant, &sale, &mut world.rng)
            }
        };
        if fresh {
            let sale = receipt.original.is_none() && !reissue;
            // Only a Swedish merchant gives receipt codes.
            let codes =
                cast.parties.get(register.merchant).is_some_and(|party| !party.identity.org.contains(':'));
            register.route = if sale && cash && codes {
                Route::Code
            } else if sale && receipt.serial % 2 == 0 && self.enrolled.contains(&purchase_agency) {
                // Every other sale of an enrolled agency's employee is pushed with only its
                // card payment: the merchant's node finds the buyer by the card.
                Route::Card
            } else {
                Route::Buyer
            };
            register.sdrs_card = None;
            if register.route == Route::Card && by_sdrs && codes {
                let employee = receipt.buyer_employee().unwrap_or_default();
                let par = cards::card_reference(purchase_agency, employee);
                match sdrs::via_sdrs(&receipt, &par, cards::last_four(purchase_agency, employee)) {
                    Ok((imported, card)) => {
                        receipt = imported;
                        register.sdrs_card = Some(card);
                    }
                    Err(error) => {
                        let what = format!("sdrs import: {}", error.code().as_str());
                        *self.stats.refusals.entry(what).or_default() += 1;
                    }
                }
            }
        }
        let request = match register.route {
            Route::Card => {
                let employee = receipt.buyer_employee().unwrap_or_default();
                let card = register.sdrs_card.clone();
                ClientRequest::PushCardReceipt {
                    receipt: Box::new(Receipt { buyer: None, ..receipt.clone() }),
                    card: card.unwrap_or_else(|| cards::card_reference(purchase_agency, employee)),
                }
            }
            Route::Code => ClientRequest::PushReceipt(Box::new(Receipt {
                buyer: None,
                payments: vec![Payment::Cash { amount: receipt.total }],
                ..receipt.clone()
            })),
            Route::Buyer => ClientRequest::PushReceipt(Box::new(receipt.clone())),
        };
        register.pushed = Some((receipt, now));
        register.busy = true;
        let merchant = register.merchant;
        let tag = self.tag();
        self.pending.insert(tag, Pending::Push(index));
        world.client(merchant, till(), request, tag);
    }

    fn pushed(&mut self, cast: &Cast, world: &mut World, index: usize, answer: Option<ClientAnswer>) {
        let now = world.now_ms;
        let Some(register) = self.registers.get_mut(index) else {
            return;
        };
        register.busy = false;
        match answer {
            Some(Ok(ClientResponse::Pushed { id, code, .. })) => {
                let purchase = register.queue.pop_front();
                if register.route == Route::Code {
                    let taken = register.pushed.take().zip(purchase);
                    let merchant = register.merchant;
                    register.next_serial += 1;
                    register.last = Some(id);
                    if let Some(((receipt, pushed_ms), purchase)) = taken {
                        let buyer = (merchant, purchase.agency, purchase.employee);
                        self.cash_pushed(world, (id, code), buyer, (&receipt, pushed_ms));
                    }
                    self.act(world, now, Act::Push(index));
                    return;
                }
                if let (Some((receipt, pushed_ms)), Some(_)) = (register.pushed.take(), purchase) {
                    let agency = cast
                        .parties
                        .iter()
                        .position(|party| receipt.buyer_agency() == Some(party.identity.org.as_str()))
                        .unwrap_or(0);
                    let employee = receipt.buyer_employee().unwrap_or_default().to_owned();
                    let refund = receipt.original.is_some();
                    let original = receipt.original;
                    self.stats.receipts += 1;
                    self.stats.refunds += u64::from(refund);
                    self.stats.routed_by_card += u64::from(register.route == Route::Card);
                    self.stats.sdrs_receipts +=
                        u64::from(register.route == Route::Card && register.sdrs_card.is_some());
                    if !refund {
                        self.unclaimed.entry((agency, employee.clone())).or_default().push(id);
                        register.last_sale = Some(receipt.clone());
                    }
                    self.acknowledged.insert(
                        id,
                        Acknowledged {
                            agency,
                            merchant: register.merchant,
                            employee,
                            pushed_ms,
                            total: (receipt.total, receipt.currency.clone()),
                            original,
                            route: register.route,
                        },
                    );
                    if let Some(at) = self.at_agency.get(&id) {
                        let _ = self.push_latency.record(u64::try_from(at - pushed_ms).unwrap_or(0));
                    }
                }
                register.next_serial += 1;
                register.last = Some(id);
                self.act(world, now, Act::Push(index));
            }
            Some(Ok(other)) => {
                *self.stats.refusals.entry(format!("push answered {other:?}")).or_default() += 1;
                register.pushed = None;
                register.queue.pop_front();
                self.act(world, now, Act::Push(index));
            }
            Some(Err(refusal)) if refusal.retry && register.route == Route::Card => {
                // The card lookup got no answer (the SSC unreachable): nothing was signed,
                // and the till pushes the same receipt again.
                self.stats.pushes_retried += 1;
                self.act(world, now + 30_000, Act::Push(index));
            }
            Some(Err(refusal)) => {
                *self.stats.refusals.entry(format!("push: {}", refusal.code)).or_default() += 1;
                register.pushed = None;
                register.queue.pop_front();
                self.act(world, now, Act::Push(index));
            }
            None => {
                // The node was down or crashed: the till pushes the same receipt again.
                self.stats.pushes_retried += 1;
                self.act(world, now + 30_000, Act::Push(index));
            }
        }
    }

    /// A record reached node `node`: the first arrival of a receipt at its agency.
    pub fn stored(&mut self, cast: &Cast, node: usize, id: RecordId, now_ms: i64) {
        let is_agency = cast.agencies().contains(&node);
        if !is_agency || self.at_agency.contains_key(&id) {
            return;
        }
        self.at_agency.insert(id, now_ms);
        if let Some(ack) = self.acknowledged.get(&id).filter(|ack| ack.agency == node) {
            let _ = self.push_latency.record(u64::try_from(now_ms - ack.pushed_ms).unwrap_or(0));
        }
    }

    /// Hands a client answer to whoever asked.
    pub fn answered(&mut self, cast: &Cast, world: &mut World, tag: u64, answer: Option<ClientAnswer>) {
        match self.pending.remove(&tag) {
            Some(Pending::Push(register)) => self.pushed(cast, world, register, answer),
            Some(Pending::Flow(flow)) => self.flow_answered(cast, world, flow, answer),
            Some(Pending::Enrol(agency)) => self.enrol_answered(world, agency, answer),
            Some(Pending::Collect(receipt, attempt)) => {
                self.collect_answered(cast, world, receipt, attempt, answer)
            }
            None => {}
        }
    }
}
