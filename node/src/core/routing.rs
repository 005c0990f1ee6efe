//! Card routing (spec/routing.md): a merchant's node asks the SSCs which agency enrolled
//! the card of a receipt pushed without a buyer; an agency's node enrols its cards at its
//! SSC; an SSC keeps the index of keyed card hashes and answers lookups, one card of one
//! serial at a time, at a bounded rate.

use std::collections::HashMap;

use kvitt_protocol::directory::{Member, MemberRole};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::fields::check_optional_text;
use kvitt_protocol::limits::MAX_CODE_BYTES;
use kvitt_protocol::receipt::{Buyer, Receipt};
use kvitt_protocol::routing::{CardHash, CardReference, RoutingKey};
use kvitt_protocol::wire::{EnrolledCard, Refusal, RefusalCode, RequestBody, Response, ResponseBody};
use kvitt_protocol::{AnyRecord, PublicKey};

use super::{
    forbidden, unavailable, Caller, CallerRole, CardEnrolment, ClientResponse, Deferred, NodeCore, ReplyId,
    Step,
};
use crate::ledger::keys;
use crate::store::Batch;

/// Lookups one merchant may make at one SSC in one minute (spec/routing.md §Constants).
pub const ROUTE_LOOKUPS_PER_MINUTE: u32 = 600;

/// What a request this node sent for routing waits for.
#[derive(Debug)]
enum Waiting {
    /// One SSC's answer to a lookup for a pushed receipt.
    Lookup(u64),
    /// The SSC's answer to an enrolment, for the operator who asked.
    Enrolment(ReplyId),
    /// A merchant's answer to a collect by code, for the employee who presented it.
    Collect {
        /// Where the answer goes.
        reply: ReplyId,
        /// The merchant asked.
        merchant: PublicKey,
        /// The employee.
        employee: String,
    },
}

/// A receipt waiting for the SSCs' lookups before it is signed.
#[derive(Debug)]
struct Lookup {
    reply: ReplyId,
    caller: Caller,
    receipt: Receipt,
    /// SSCs yet to answer.
    waiting: usize,
    /// Whether an SSC answered "unknown" (rather than failing).
    answered: bool,
    /// The last failure, told to the till if no SSC answered.
    failure: Option<Refusal>,
}

/// The routing state of a node: its routing key, what it waits for, and (at an SSC) the
/// lookups each merchant made in the current minute.
#[derive(Debug, Default)]
pub struct Routing {
    key: Option<RoutingKey>,
    exchanges: HashMap<u64, Waiting>,
    lookups: HashMap<u64, Lookup>,
    next_lookup: u64,
    /// Per merchant key: the minute (since the epoch) counted, and its lookups so far.
    rate: HashMap<PublicKey, (i64, u32)>,
}

impl Routing {
    /// Routing with the network's routing key (merchants and agencies), or none (SSCs).
    pub fn new(key: Option<RoutingKey>) -> Routing {
        Routing { key, ..Routing::default() }
    }
}

impl NodeCore {
    /// A till's push of a receipt with a card and no buyer: checked as any push, then
    /// looked up at every SSC. `Some` answer when the till is answered at once.
    pub(super) fn push_card_receipt(
        &mut self,
        step: &mut Step,
        reply: ReplyId,
        caller: &Caller,
        receipt: Receipt,
        card: &str,
    ) -> Option<Result<ClientResponse, Refusal>> {
        if let Err(refusal) = self.check_pusher(caller) {
            return Some(Err(refusal));
        }
        match self.repeated_card_push(step, &receipt) {
            Ok(Some(answer)) => return Some(Ok(answer)),
            Ok(None) => {}
            Err(refusal) => return Some(Err(refusal)),
        }
        let checked = self.check_card_push(step, &receipt, card);
        let hash = match checked {
            Ok(hash) => hash,
            Err(refusal) => return Some(Err(refusal)),
        };
        let sscs: Vec<PublicKey> = self.members_with(MemberRole::Ssc).map(|member| member.key).collect();
        if sscs.is_empty() {
            return Some(self.push_receipt(step, caller, receipt));
        }
        let lookup = self.routing.next_lookup;
        self.routing.next_lookup += 1;
        let body =
            RequestBody::Route { register: receipt.register.clone(), serial: receipt.serial, card: hash };
        for ssc in &sscs {
            let exchange = self.next_exchange();
            self.routing.exchanges.insert(exchange, Waiting::Lookup(lookup));
            step.send(*ssc, exchange, self.request(body.clone()));
        }
        let pending = Lookup {
            reply,
            caller: caller.clone(),
            receipt,
            waiting: sscs.len(),
            answered: false,
            failure: None,
        };
        self.routing.lookups.insert(lookup, pending);
        None
    }

    /// A card push repeated after its answer was lost (a node killed, a timeout): if this
    /// node signed a receipt for the register's serial that is the pushed one apart from
    /// the buyer its lookup found, the till is answered with that receipt, as for any
    /// repeated push, whatever a lookup would say now (the card may have been enrolled
    /// since: a second lookup would sign another receipt for a used serial). `None` for
    /// a push that is not a repeat. The pusher was checked before.
    fn repeated_card_push(&self, step: &Step, receipt: &Receipt) -> Result<Option<ClientResponse>, Refusal> {
        if receipt.buyer.is_some() {
            return Ok(None);
        }
        let slot = Slot::Receipt {
            signer: self.identity.key(),
            register: receipt.register.clone(),
            serial: receipt.serial,
        };
        let Some(id) = step.ledger.slot_holder(&slot).map_err(unavailable)? else {
            return Ok(None);
        };
        let Some(AnyRecord::Receipt(held)) = step.ledger.record(&id).map_err(unavailable)? else {
            return Ok(None);
        };
        let unrouted = Receipt { buyer: None, ..held.body().clone() };
        if unrouted != *receipt {
            return Ok(None);
        }
        Ok(Some(self.duplicate_push(id, held.body().buyer.is_none())))
    }

    /// A card push of a checked pusher may be looked up: the keyed hash of its card.
    fn check_card_push(&self, step: &Step, receipt: &Receipt, card: &str) -> Result<CardHash, Refusal> {
        if receipt.buyer.is_some() {
            return Err(bad_request(
                "buyer",
                "a receipt routed by its card names no buyer: give one or the other",
            ));
        }
        let reference = CardReference::parse("card", card).map_err(|error| Refusal::invalid(&error))?;
        self.check_seller(receipt)?;
        self.may_sign()?;
        self.check_serial(step, &receipt.register, receipt.serial)?;
        let key = self.routing.key.as_ref().ok_or_else(|| {
            Refusal::new(
                RefusalCode::Unavailable,
                "this node has no routing key (DIR/routing.key): it cannot route by card",
            )
        })?;
        Ok(key.card_hash(&reference))
    }

    /// An agency operator's enrolment: the cards' keyed hashes go to the agency's SSC.
    /// `Some` answer when the operator is answered at once.
    pub(super) fn enrol(
        &mut self,
        step: &mut Step,
        reply: ReplyId,
        caller: &Caller,
        cards: Vec<CardEnrolment>,
    ) -> Option<Result<ClientResponse, Refusal>> {
        let request = self.enrolment_request(caller, cards);
        let (ssc, body) = match request {
            Ok(request) => request,
            Err(refusal) => return Some(Err(refusal)),
        };
        let exchange = self.next_exchange();
        self.routing.exchanges.insert(exchange, Waiting::Enrolment(reply));
        step.send(ssc, exchange, self.request(body));
        None
    }

    fn enrolment_request(
        &self,
        caller: &Caller,
        cards: Vec<CardEnrolment>,
    ) -> Result<(PublicKey, RequestBody), Refusal> {
        if caller.role != CallerRole::Operator || self.identity.role != MemberRole::Agency {
            return Err(forbidden(caller, "enrol cards on this node"));
        }
        let key = self.routing.key.as_ref().ok_or_else(|| {
            Refusal::new(
                RefusalCode::Unavailable,
                "this node has no routing key (DIR/routing.key): it cannot enrol cards",
            )
        })?;
        let ssc = self.directory.body().ssc_of(&self.identity.org).map(|ssc| ssc.key).ok_or_else(|| {
            Refusal::new(
                RefusalCode::NotMember,
                format!("no SSC of the directory serves {}", self.identity.org),
            )
        })?;
        let mut enrolled = Vec::with_capacity(cards.len());
        for (index, card) in cards.into_iter().enumerate() {
            let path = format!("cards[{index}]");
            let reference = CardReference::parse(&format!("{path}.reference"), &card.reference)
                .map_err(|error| Refusal::invalid(&error))?;
            check_optional_text(&format!("{path}.employee"), card.employee.as_deref(), MAX_CODE_BYTES)
                .map_err(|error| Refusal::invalid(&error))?;
            enrolled.push(EnrolledCard { card: key.card_hash(&reference), employee: card.employee });
        }
        Ok((ssc, RequestBody::Enrol { cards: enrolled }))
    }

    /// An employee's fetch by code: the collect goes to the merchant the code names.
    /// `Some` answer when the employee is answered at once.
    pub(super) fn fetch(
        &mut self,
        step: &mut Step,
        reply: ReplyId,
        caller: &Caller,
        code: &str,
    ) -> Option<Result<ClientResponse, Refusal>> {
        let (merchant, body) = match self.fetch_request(caller, code) {
            Ok(request) => request,
            Err(refusal) => return Some(Err(refusal)),
        };
        let exchange = self.next_exchange();
        let waiting = Waiting::Collect { reply, merchant, employee: caller.person.clone() };
        self.routing.exchanges.insert(exchange, waiting);
        step.send(merchant, exchange, self.request(body));
        None
    }

    /// Takes the answer to a routing request this node sent; false if it was not one.
    pub(super) fn routing_answer(
        &mut self,
        step: &mut Step,
        exchange: u64,
        answer: &Result<Response, super::ExchangeError>,
    ) -> bool {
        let Some(waiting) = self.routing.exchanges.remove(&exchange) else {
            return false;
        };
        let outcome = match answer {
            Ok(response) => match &response.body {
                ResponseBody::Refused { refusal } => Err(refusal.clone()),
                body => Ok(body.clone()),
            },
            Err(error) => {
                Err(Refusal::new(RefusalCode::Unavailable, format!("the peer did not answer: {error}")))
            }
        };
        match waiting {
            Waiting::Enrolment(reply) => {
                let result = match outcome {
                    Ok(ResponseBody::Enrolled { cards }) => Ok(ClientResponse::Enrolled { cards }),
                    Ok(other) => Err(unexpected(&other)),
                    Err(refusal) => Err(refusal),
                };
                step.durable.push(Deferred::ToClient { reply, result });
            }
            Waiting::Lookup(id) => self.lookup_answered(step, id, outcome),
            Waiting::Collect { reply, merchant, employee } => {
                let result = match outcome {
                    Ok(ResponseBody::Collected { receipt, assignment }) => {
                        self.collected_answer(step, merchant, &employee, &receipt, &assignment)
                    }
                    Ok(other) => Err(unexpected(&other)),
                    Err(refusal) => Err(refusal),
                };
                step.durable.push(Deferred::ToClient { reply, result });
            }
        }
        true
    }

    fn lookup_answered(&mut self, step: &mut Step, id: u64, outcome: Result<ResponseBody, Refusal>) {
        let Some(lookup) = self.routing.lookups.get_mut(&id) else {
            return; // Already signed for an agency another SSC named.
        };
        lookup.waiting -= 1;
        let buyer = match outcome {
            Ok(ResponseBody::Routed { agency: Some(agency), employee }) => Some(Buyer { agency, employee }),
            Ok(ResponseBody::Routed { agency: None, .. }) => {
                lookup.answered = true;
                None
            }
            Ok(other) => {
                lookup.failure = Some(unexpected(&other));
                None
            }
            Err(refusal) => {
                lookup.failure = Some(refusal);
                None
            }
        };
        if buyer.is_none() && lookup.waiting > 0 {
            return;
        }
        let Some(Lookup { reply, caller, mut receipt, answered, failure, .. }) =
            self.routing.lookups.remove(&id)
        else {
            return;
        };
        // The same push, repeated while this lookup ran, may have been signed meanwhile.
        let repeated = self.repeated_card_push(step, &receipt).transpose();
        let result = match (repeated, buyer, answered, failure) {
            (Some(repeated), ..) => repeated,
            (None, Some(buyer), _, _) => {
                receipt.buyer = Some(buyer);
                self.push_receipt(step, &caller, receipt)
            }
            // Every SSC that answered knows no agency for the card: the merchant keeps it.
            (None, None, true, _) | (None, None, false, None) => self.push_receipt(step, &caller, receipt),
            // No SSC answered: nothing is signed; the till pushes again (if the refusal
            // says retry) rather than lose the routing.
            (None, None, false, Some(mut refusal)) => {
                refusal.message = format!("the card lookup failed: {}", refusal.message);
                Err(refusal)
            }
        };
        step.durable.push(Deferred::ToClient { reply, result });
    }

    /// At an SSC: a merchant's lookup of one card for one serial of its register.
    pub(super) fn route(
        &mut self,
        step: &mut Step,
        peer: &Member,
        register: &str,
        serial: u64,
        card: &CardHash,
    ) -> Result<ResponseBody, Refusal> {
        if peer.role != MemberRole::Merchant || self.identity.role != MemberRole::Ssc {
            return Err(Refusal::new(
                RefusalCode::Forbidden,
                format!("{} may not look up cards here", peer.org),
            ));
        }
        let minute = step.now_ms().div_euclid(60_000);
        let count = self.routing.rate.entry(peer.key).or_insert((minute, 0));
        if count.0 != minute {
            *count = (minute, 0);
        }
        if count.1 >= ROUTE_LOOKUPS_PER_MINUTE {
            return Err(Refusal::new(
                RefusalCode::RateLimited,
                format!("{} made {ROUTE_LOOKUPS_PER_MINUTE} lookups this minute, the limit", peer.org),
            ));
        }
        count.1 += 1;
        let last_key = keys::route_serial(&peer.key, register);
        let store_error = |error: crate::store::StoreError| unavailable(error.into());
        if let Some(last) = step.ledger.store().get(&last_key).map_err(store_error)? {
            let (last_serial, last_card) = last.split_at(8.min(last.len()));
            let last_serial = <[u8; 8]>::try_from(last_serial).map(u64::from_be_bytes).unwrap_or(u64::MAX);
            let retry = serial == last_serial && last_card == card.0;
            if serial <= last_serial && !retry {
                return Err(Refusal::new(
                    RefusalCode::SerialOrder,
                    format!(
                        "a lookup for serial {serial} of register {register}: the last was for {last_serial}"
                    ),
                ));
            }
        }
        let mut batch = Batch::new();
        batch.insert(last_key, [serial.to_be_bytes().as_slice(), &card.0].concat());
        step.write(&batch).map_err(unavailable)?;
        let entry = step.ledger.store().get(&keys::enrolled_card(card)).map_err(store_error)?;
        let (agency, employee) = entry.as_deref().map(decode_entry).unwrap_or_default();
        Ok(ResponseBody::Routed { agency, employee })
    }

    /// At an SSC: an agency replaces its enrolled cards.
    pub(super) fn enrolled(
        &mut self,
        step: &mut Step,
        peer: &Member,
        cards: &[EnrolledCard],
    ) -> Result<ResponseBody, Refusal> {
        let serves =
            self.directory.body().ssc_of(&peer.org).is_some_and(|ssc| ssc.key == self.identity.key());
        if peer.role != MemberRole::Agency || !serves {
            return Err(Refusal::new(
                RefusalCode::Forbidden,
                format!("{} may not enrol cards here", peer.org),
            ));
        }
        let store_error = |error: crate::store::StoreError| unavailable(error.into());
        let mut batch = Batch::new();
        let listed = keys::enrolment(&peer.org);
        let previous = step.ledger.store().get(&listed).map_err(store_error)?.unwrap_or_default();
        for old in previous.chunks_exact(32) {
            batch.remove(keys::enrolled_card(&CardHash(old.try_into().unwrap_or([0; 32]))));
        }
        let mut list = Vec::with_capacity(cards.len() * 32);
        for (index, card) in cards.iter().enumerate() {
            let path = format!("body.cards[{index}]");
            check_optional_text(&format!("{path}.employee"), card.employee.as_deref(), MAX_CODE_BYTES)
                .map_err(|error| Refusal::invalid(&error))?;
            if let Some(entry) =
                step.ledger.store().get(&keys::enrolled_card(&card.card)).map_err(store_error)?
            {
                if decode_entry(&entry).0.as_deref() != Some(peer.org.as_str()) {
                    let mut refusal =
                        Refusal::new(RefusalCode::CardTaken, "this card is enrolled by another agency");
                    refusal.path = path;
                    return Err(refusal);
                }
            }
            batch.insert(keys::enrolled_card(&card.card), encode_entry(&peer.org, card.employee.as_deref()));
            list.extend_from_slice(&card.card.0);
        }
        batch.insert(listed, list);
        step.write(&batch).map_err(unavailable)?;
        tracing::info!(agency = %peer.org, cards = cards.len(), "enrolment replaced");
        Ok(ResponseBody::Enrolled { cards: cards.len() as u64 })
    }

    fn members_with(&self, role: MemberRole) -> impl Iterator<Item = &Member> {
        let me = self.identity.key();
        self.directory.body().members.iter().filter(move |member| member.role == role && member.key != me)
    }
}

/// An index entry: the agency's org number, then NUL and the employee if there is one.
fn encode_entry(agency: &str, employee: Option<&str>) -> Vec<u8> {
    match employee {
        Some(employee) => [agency.as_bytes(), b"\0", employee.as_bytes()].concat(),
        None => agency.as_bytes().to_vec(),
    }
}

fn decode_entry(bytes: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(bytes);
    match text.split_once('\0') {
        Some((agency, employee)) => (Some(agency.to_owned()), Some(employee.to_owned())),
        None => (Some(text.into_owned()), None),
    }
}

fn bad_request(path: &str, message: &str) -> Refusal {
    let mut refusal = Refusal::new(RefusalCode::BadRequest, message);
    refusal.path = path.to_owned();
    refusal
}

fn unexpected(body: &ResponseBody) -> Refusal {
    Refusal::new(RefusalCode::Unavailable, format!("the peer answered out of turn: {body:?}"))
}
