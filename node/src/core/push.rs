//! A till pushes a receipt: the merchant node checks it, signs it, stores it with the
//! register's series position and an outbox entry for the buyer's agency, all in one
//! batch, and answers with the id once that batch is durable. A receipt without a buyer
//! gets a receipt code instead of an outbox entry (spec/codes.md).

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use super::{forbidden, unavailable, Caller, CallerRole, ClientResponse, NodeCore, Step};
use crate::ledger::keys;
use crate::store::Batch;

impl NodeCore {
    pub(super) fn push_receipt(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        receipt: Receipt,
    ) -> Result<ClientResponse, Refusal> {
        self.check_pusher(caller)?;
        // The receipt's own fields first (an org number that fails its check digit is a
        // mistake no retry fixes), then what the directory says of its parties. Signing
        // checks every rule and is deterministic: the same receipt pushed twice has the
        // same id.
        let signed =
            Signed::sign(receipt, &self.identity.signing_key).map_err(|error| Refusal::invalid(&error))?;
        self.check_seller(signed.body())?;
        // A receipt without a buyer stays with the merchant (spec/routing.md): no outbox.
        let agency = match signed.body().buyer_agency() {
            None => None,
            Some(buyer) => {
                let agency = self.directory.body().member_by_org(buyer).cloned();
                let Some(agency) = agency.filter(|member| member.role == MemberRole::Agency) else {
                    return Err(Refusal::new(
                        RefusalCode::NotMember,
                        format!(
                            "buyer {buyer} is not an agency of directory v{}",
                            self.directory.body().version
                        ),
                    ));
                };
                Some(agency)
            }
        };
        if step.ledger.contains(&signed.id()).map_err(unavailable)? {
            return Ok(self.duplicate_push(signed.id(), agency.is_none()));
        }
        // A receipt it holds is answered as a duplicate even while recovering: that signs
        // nothing new. Anything else waits for the recovery.
        self.may_sign()?;
        let body = signed.body();
        self.check_serial(step, &body.register, body.serial)?;
        let record = AnyRecord::Receipt(signed.clone());
        let slot = Slot::of(&record);
        let mut batch = Batch::new();
        self.put(step, &record, &mut batch)?;
        if let Some(slot) = slot {
            batch.insert(keys::slot(&slot), signed.id().as_bytes().to_vec());
        }
        batch.insert(keys::serial(&body.register), body.serial.to_be_bytes().to_vec());
        // Without a buyer, the receipt waits to be collected by its code (spec/codes.md).
        let code = agency.is_none().then(|| self.issue_code(&signed, &mut batch)).flatten();
        step.write(&batch).map_err(unavailable)?;
        if let Some(agency) = &agency {
            self.outbox.enqueue(step, agency.key, signed.id()).map_err(unavailable)?;
        }
        let buyer = body.buyer_agency().unwrap_or("none: kept by the merchant");
        tracing::info!(id = %signed.id().short(), register = %body.register, serial = body.serial, %buyer, "receipt signed and stored");
        Ok(ClientResponse::Pushed { id: signed.id(), duplicate: false, code })
    }

    /// The answer to a push of receipt `id`, held before: a duplicate, with the receipt's
    /// code again if it has no buyer (`kept`: the code is derived from the id).
    pub(super) fn duplicate_push(&self, id: RecordId, kept: bool) -> ClientResponse {
        let code = kept.then(|| self.code_of(&id)).flatten();
        ClientResponse::Pushed { id, duplicate: true, code }
    }

    /// Only a till pushes receipts, and only to a merchant's node.
    pub(super) fn check_pusher(&self, caller: &Caller) -> Result<(), Refusal> {
        if caller.role != CallerRole::Till || self.identity.role != MemberRole::Merchant {
            return Err(forbidden(caller, "push receipts to this node"));
        }
        Ok(())
    }

    /// The receipt names this node's organisation as its seller.
    pub(super) fn check_seller(&self, receipt: &Receipt) -> Result<(), Refusal> {
        if receipt.merchant.org != self.identity.org {
            return Err(Refusal::new(
                RefusalCode::Misrouted,
                format!(
                    "the receipt names seller {}, this node is {}",
                    receipt.merchant.org, self.identity.org
                ),
            ));
        }
        Ok(())
    }

    /// `serial` is the next of `register`'s unbroken series.
    pub(super) fn check_serial(&self, step: &Step, register: &str, serial: u64) -> Result<(), Refusal> {
        let Some(last) = step.ledger.last_serial(register).map_err(unavailable)? else {
            return Ok(());
        };
        // A series that reached u64::MAX has no next serial: the register must be
        // replaced (a new register name), never wrapped around to reuse serials.
        let Some(next) = last.checked_add(1) else {
            return Err(Refusal::new(
                RefusalCode::SerialOrder,
                format!(
                    "register {register} has used its last serial ({last}); no serial follows it: \
                     continue on a register with another name"
                ),
            ));
        };
        if serial != next {
            let why = if serial <= last { "is already used" } else { "leaves a gap" };
            return Err(Refusal::new(
                RefusalCode::SerialOrder,
                format!("serial {serial} on register {register} {why}; the next is {next}"),
            ));
        }
        Ok(())
    }
}
