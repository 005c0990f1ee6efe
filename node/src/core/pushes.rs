//! What a merchant's operator sees of the tills: the latest receipts of each register of
//! this node, each with where its delivery stands (queued in an outbox, delivered, or
//! refused by the peer with the peer's code), read from the serial index, the slot index,
//! the outbox index and the exceptions a refusal leaves.

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::{AnyRecord, RecordId};

use super::ExceptionNote;
use super::{unavailable, Caller, CallerRole, NodeCore, Step};
use crate::ledger::keys;

/// Most registers one answer lists.
pub const MAX_REGISTERS: usize = 100;
/// Most receipts listed per register.
pub const MAX_PUSHES_PER_REGISTER: usize = 50;

/// The latest receipts of one register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterPushes {
    /// The register's designation.
    pub register: String,
    /// Its latest receipts, the newest first.
    pub pushes: Vec<Push>,
}

/// One receipt a till pushed, and where its delivery stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// The receipt.
    pub id: RecordId,
    /// Its serial number on the register.
    pub serial: u64,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// Its total in minor units of `currency`.
    pub total: i64,
    /// Its currency.
    pub currency: String,
    /// The buying agency's organisation number; none for a receipt signed without a buyer.
    pub buyer: Option<String>,
    /// Where its delivery stands.
    pub delivery: Delivery,
}

/// Where a receipt's delivery stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// In an outbox, waiting for a peer's acknowledgement.
    Queued,
    /// Acknowledged by every peer it went to.
    Delivered,
    /// Refused for good by a peer: the refusal, with its code.
    Refused(String),
}

impl NodeCore {
    /// The latest `limit` receipts (at most [`MAX_PUSHES_PER_REGISTER`]) of each register
    /// of this merchant node (at most [`MAX_REGISTERS`]), for its operator.
    pub(super) fn pushes(
        &self,
        step: &Step,
        caller: &Caller,
        limit: usize,
    ) -> Result<Vec<RegisterPushes>, Refusal> {
        self.require(caller, MemberRole::Merchant, &[CallerRole::Operator], "list the tills' receipts")?;
        let store = step.ledger.store();
        let registers = store
            .scan(keys::SERIAL_PREFIX, None, MAX_REGISTERS)
            .map_err(|error| unavailable(error.into()))?;
        let peers = step.ledger.outbox_peers().map_err(unavailable)?;
        let signer = self.identity.key();
        let mut answer = Vec::new();
        for (key, _) in registers {
            let register = String::from_utf8_lossy(key.get(keys::SERIAL_PREFIX.len()..).unwrap_or_default())
                .into_owned();
            let last = step.ledger.last_serial(&register).map_err(unavailable)?.unwrap_or(0);
            let mut pushes = Vec::new();
            for serial in (1..=last).rev().take(limit.min(MAX_PUSHES_PER_REGISTER)) {
                let slot = Slot::Receipt { signer, register: register.clone(), serial };
                let Some(id) = step.ledger.slot_holder(&slot).map_err(unavailable)? else {
                    continue;
                };
                let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(&id).map_err(unavailable)? else {
                    continue;
                };
                let mut delivery = Delivery::Delivered;
                for peer in &peers {
                    if store
                        .get(&keys::queued(peer, &id))
                        .map_err(|error| unavailable(error.into()))?
                        .is_some()
                    {
                        delivery = Delivery::Queued;
                    }
                }
                if let Some(why) = step.ledger.exception(&id).map_err(unavailable)? {
                    if let Some(refusal) = ExceptionNote::RefusedByPeer.detail(&why) {
                        delivery = Delivery::Refused(refusal.to_owned());
                    }
                }
                let body = receipt.body();
                pushes.push(Push {
                    id,
                    serial,
                    issued_at: body.issued_at.clone(),
                    total: body.total,
                    currency: body.currency.clone(),
                    buyer: body.buyer_agency().map(str::to_owned),
                    delivery,
                });
            }
            answer.push(RegisterPushes { register, pushes });
        }
        Ok(answer)
    }
}
