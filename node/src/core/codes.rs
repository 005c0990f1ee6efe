//! Receipt codes (spec/codes.md): a merchant's node gives every receipt it signs without a
//! buyer a code; an agency's employee presents it, the agency's node collects the receipt
//! from the merchant the code names, and the merchant signs an assignment of the receipt
//! to that agency — once: the first agency wins and the code is spent.
//!
//! The code is not random at signing time but derived from the receipt id with a key only
//! this node holds (`HMAC(code key, id)`): unpredictable to anyone else, and the same
//! for the same receipt pushed again, so a retried push answers with the same code and the
//! core stays deterministic (the simulator replays it). The merchant stores only the code's
//! keyed hash, never the code.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use kvitt_protocol::assignment::{check_assigns, Assignment};
use kvitt_protocol::code::ReceiptCode;
use kvitt_protocol::directory::{Member, MemberRole};
use kvitt_protocol::fields::{check_optional_text, format_time};
use kvitt_protocol::limits::MAX_CODE_BYTES;
use kvitt_protocol::receipt::{Buyer, Receipt};
use kvitt_protocol::wire::{RecordBytes, Refusal, RefusalCode, ResponseBody};
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, Signed};
use sha2::Sha256;

use super::{forbidden, unavailable, Caller, CallerRole, ClientResponse, NodeCore, Step};
use crate::ledger::keys;
use crate::store::Batch;

/// Failed collects (an unknown, spent or malformed code) one agency may make at one
/// merchant in one hour; beyond it every collect of that agency is refused until the hour
/// ends (spec/codes.md §Guessing).
pub const CODE_ATTEMPTS_PER_HOUR: u32 = 60;

/// An hour, in milliseconds.
const HOUR_MS: i64 = 3_600_000;

/// How many days a merchant keeps a receipt no one collected, by default
/// (`uncollected_days` in config.toml).
pub const DEFAULT_UNCOLLECTED_DAYS: u32 = 90;
/// How often a merchant looks for uncollected receipts to delete.
pub const SWEEP_INTERVAL_MS: i64 = HOUR_MS;
/// Most receipts one sweep deletes (one batch); the next sweep goes on.
pub const MAX_DELETED_PER_SWEEP: usize = 1000;

/// Per asking agency's key: the hour (since the epoch) counted, and its failed collects.
#[derive(Debug, Default)]
pub struct CodeAttempts(HashMap<PublicKey, (i64, u32)>);

impl CodeAttempts {
    /// Whether `agency` may try a code in the hour of `now_ms`.
    fn allowed(&mut self, agency: &PublicKey, now_ms: i64) -> bool {
        let hour = now_ms.div_euclid(HOUR_MS);
        let count = self.0.entry(*agency).or_insert((hour, 0));
        if count.0 != hour {
            *count = (hour, 0);
        }
        count.1 < CODE_ATTEMPTS_PER_HOUR
    }

    fn failed(&mut self, agency: &PublicKey) {
        if let Some(count) = self.0.get_mut(agency) {
            count.1 = count.1.saturating_add(1);
        }
    }
}

impl NodeCore {
    /// The key of this node's codes and code hashes, derived from its node key so that it
    /// is never written to the ledger.
    fn code_key(&self) -> [u8; 32] {
        hmac(&self.identity.signing_key.to_bytes(), &[b"kvitt/1/code-key"])
    }

    /// The code of a receipt this merchant signed without a buyer.
    pub(super) fn code_of(&self, receipt: &RecordId) -> Option<ReceiptCode> {
        let random = hmac(&self.code_key(), &[b"kvitt/1/code-secret\0", receipt.as_bytes()]);
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&random[..8]);
        ReceiptCode::generate(&self.identity.org, bytes)
    }

    /// Notes the code of a receipt just signed without a buyer in `batch`, under its keyed
    /// hash, and the receipt among those waiting (by its sale's time, for
    /// [`NodeCore::delete_uncollected`]); `None` if this node's organisation number cannot
    /// stand in a code (a foreign one).
    pub(super) fn issue_code(&self, receipt: &Signed<Receipt>, batch: &mut Batch) -> Option<ReceiptCode> {
        let code = self.code_of(&receipt.id())?;
        let hash = code.hash(&self.code_key());
        batch.insert(keys::code(&hash), receipt.id().as_bytes().to_vec());
        batch.insert(keys::uncollected(sale_time(receipt), &receipt.id()), hash.to_vec());
        Some(code)
    }

    /// At a merchant, at most every [`SWEEP_INTERVAL_MS`]: deletes the receipts that waited
    /// for their code longer than `uncollected_days` after their sale, at most
    /// [`MAX_DELETED_PER_SWEEP`] at a time, and their codes. What stays is their id in the
    /// register's slot and the register's last serial: the record that the serial was
    /// issued, so the series stays unbroken and no serial is used twice (spec/codes.md
    /// §Uncollected receipts).
    pub(super) fn delete_uncollected(&mut self, step: &mut Step) {
        if self.identity.role != MemberRole::Merchant || step.now_ms() < self.next_sweep_ms {
            return;
        }
        self.next_sweep_ms = step.now_ms().saturating_add(SWEEP_INTERVAL_MS);
        step.effects.push(super::Effect::WakeAt(self.next_sweep_ms));
        let horizon = step.now.unix_timestamp() - i64::from(self.config.uncollected_days) * 86_400;
        let waiting = match step.ledger.store().scan(keys::UNCOLLECTED_PREFIX, None, MAX_DELETED_PER_SWEEP) {
            Ok(waiting) => waiting,
            Err(error) => return tracing::error!(%error, "could not read the uncollected receipts"),
        };
        let mut batch = Batch::new();
        let mut deleted = 0usize;
        for (key, hash) in waiting {
            let Some((issued, receipt)) = decode_uncollected(&key) else { continue };
            if issued >= horizon {
                break;
            }
            batch.remove(keys::record(&receipt));
            if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
                batch.remove(keys::code(&hash));
            }
            batch.remove(key);
            deleted += 1;
        }
        if deleted == 0 {
            return;
        }
        match step.write(&batch) {
            Ok(()) => {
                tracing::info!(deleted, days = self.config.uncollected_days, "uncollected receipts deleted")
            }
            Err(error) => tracing::error!(%error, "could not delete uncollected receipts"),
        }
    }

    /// At a merchant: an agency collects the receipt of `code`, for `employee`.
    pub(super) fn collect(
        &mut self,
        step: &mut Step,
        peer: &Member,
        code: &str,
        employee: Option<String>,
    ) -> Result<ResponseBody, Refusal> {
        if peer.role != MemberRole::Agency || self.identity.role != MemberRole::Merchant {
            return Err(Refusal::new(
                RefusalCode::Forbidden,
                format!("{} may not collect receipts here", peer.org),
            ));
        }
        if !self.code_attempts.allowed(&peer.key, step.now_ms()) {
            return Err(Refusal::new(
                RefusalCode::RateLimited,
                format!("{} tried {CODE_ATTEMPTS_PER_HOUR} wrong codes this hour, the limit", peer.org),
            ));
        }
        let outcome = self.try_collect(step, peer, code, employee);
        if matches!(&outcome, Err(refusal) if refusal.code != RefusalCode::Unavailable) {
            self.code_attempts.failed(&peer.key);
            tracing::info!(agency = %peer.org, refusal = ?outcome.as_ref().err(), "a receipt code was refused");
        }
        outcome
    }

    fn try_collect(
        &mut self,
        step: &mut Step,
        peer: &Member,
        code: &str,
        employee: Option<String>,
    ) -> Result<ResponseBody, Refusal> {
        let code =
            ReceiptCode::parse_secret(&self.identity.org, code).map_err(|error| Refusal::from(&error))?;
        check_optional_text("body.employee", employee.as_deref(), MAX_CODE_BYTES)
            .map_err(|error| Refusal::invalid(&error))?;
        let key = keys::code(&code.hash(&self.code_key()));
        let entry = step.ledger.store().get(&key).map_err(|error| unavailable(error.into()))?;
        let Some((receipt_id, assigned)) = entry.as_deref().and_then(decode_code_entry) else {
            return Err(Refusal::new(RefusalCode::CodeUnknown, "no receipt waits for this code here"));
        };
        let Some(AnyRecord::Receipt(receipt)) = step.ledger.record(&receipt_id).map_err(unavailable)? else {
            // Deleted as uncollected: the code is as good as unknown.
            return Err(Refusal::new(RefusalCode::CodeUnknown, "no receipt waits for this code here"));
        };
        if let Some(assigned) = assigned {
            let Some(AnyRecord::Assignment(assignment)) =
                step.ledger.record(&assigned).map_err(unavailable)?
            else {
                return Err(Refusal::new(RefusalCode::Unavailable, "the code's assignment is missing"));
            };
            // The same agency asking again (its answer was lost): the same assignment.
            if assignment.body().buyer.agency == peer.org {
                return Ok(collected(&receipt, &assignment));
            }
            return Err(Refusal::new(
                RefusalCode::CodeCollected,
                "this code was used: its receipt is collected",
            ));
        }
        let assignment = Assignment {
            receipt: receipt.id(),
            buyer: Buyer { agency: peer.org.clone(), employee },
            assigned_at: format_time(step.now),
        };
        let assignment =
            Signed::sign(assignment, &self.identity.signing_key).map_err(|error| Refusal::invalid(&error))?;
        let mut batch = Batch::new();
        self.put_assignment(step, &receipt, &assignment, &mut batch)?;
        batch.insert(key, [receipt.id().as_bytes().as_slice(), assignment.id().as_bytes()].concat());
        batch.remove(keys::uncollected(sale_time(&receipt), &receipt.id()));
        step.write(&batch).map_err(unavailable)?;
        tracing::info!(receipt = %receipt.id().short(), agency = %peer.org, "receipt collected by code");
        Ok(collected(&receipt, &assignment))
    }

    /// Writes `assignment` of `receipt` in `batch`: the assignment in its channel and its
    /// slot (by which the receipt's buyer is found, core::buyers), the receipt in the
    /// assignment's channel too.
    fn put_assignment(
        &self,
        step: &Step,
        receipt: &Signed<Receipt>,
        assignment: &Signed<Assignment>,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        let record = AnyRecord::Assignment(assignment.clone());
        self.put(step, &record, batch)?;
        if let Some(slot) = kvitt_protocol::evidence::Slot::of(&record) {
            batch.insert(keys::slot(&slot), assignment.id().as_bytes().to_vec());
        }
        // The receipt may be in this same batch, unseen by `put`: placed here.
        self.place_assigned_receipt(step, receipt, assignment, batch)
    }

    /// At a merchant, with one of its own assignments an agency gave back (a ledger
    /// restored from a backup older than the collect): its code is spent in `batch`, so
    /// that the code never gets a second assignment, and the receipt, if held, no longer
    /// waits to be collected (spec/codes.md §Assignment).
    pub(super) fn spend_code_of(
        &self,
        step: &Step,
        assignment: &Signed<Assignment>,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        let receipt = assignment.body().receipt;
        if let Some(code) = self.code_of(&receipt) {
            let entry = [receipt.as_bytes().as_slice(), assignment.id().as_bytes()].concat();
            batch.insert(keys::code(&code.hash(&self.code_key())), entry);
        }
        if let Some(AnyRecord::Receipt(held)) = step.ledger.record(&receipt).map_err(unavailable)? {
            batch.remove(keys::uncollected(sale_time(&held), &receipt));
        }
        Ok(())
    }

    /// At an agency: an employee presents a code; the collect goes to the merchant it
    /// names. `Ok(None)` once sent (answered by [`NodeCore::collected_answer`]).
    pub(super) fn fetch_request(
        &self,
        caller: &Caller,
        code: &str,
    ) -> Result<(PublicKey, kvitt_protocol::wire::RequestBody), Refusal> {
        if caller.role != CallerRole::Employee || self.identity.role != MemberRole::Agency {
            return Err(forbidden(caller, "fetch receipts by code on this node"));
        }
        let code = ReceiptCode::parse(code).map_err(|error| Refusal::from(&error))?;
        let merchant = self
            .directory
            .body()
            .member_by_org(&code.merchant())
            .filter(|member| member.role == MemberRole::Merchant)
            .ok_or_else(|| {
                let mut refusal = Refusal::new(
                    RefusalCode::NotMember,
                    format!("the code names merchant {}, which is not in the directory", code.merchant()),
                );
                refusal.path = "code".into();
                refusal.retry = false;
                refusal
            })?;
        let body = kvitt_protocol::wire::RequestBody::Collect {
            code: code.secret_text(),
            employee: Some(caller.person.clone()),
        };
        Ok((merchant.key, body))
    }

    /// At an agency: the merchant's answer to a collect for `employee`. The receipt and its
    /// assignment are checked (the merchant's signature on both, the assignment names this
    /// agency and the employee) and stored together, the receipt in the employee's list.
    pub(super) fn collected_answer(
        &mut self,
        step: &mut Step,
        merchant: PublicKey,
        employee: &str,
        receipt: &RecordBytes,
        assignment: &RecordBytes,
    ) -> Result<ClientResponse, Refusal> {
        let receipt = Signed::<Receipt>::decode(&receipt.0)
            .map_err(|error| Refusal::invalid(&error.within("receipt")))?;
        let assignment = Signed::<Assignment>::decode(&assignment.0)
            .map_err(|error| Refusal::invalid(&error.within("assignment")))?;
        let wrong = |why: String| Refusal::new(RefusalCode::WrongSigner, why);
        check_assigns(&assignment, &receipt).map_err(|error| wrong(error.to_string()))?;
        if receipt.signer() != merchant {
            return Err(wrong("the merchant answered with a receipt another key signed".into()));
        }
        self.check_signer(
            self.directory.body(),
            &receipt.body().merchant.org,
            MemberRole::Merchant,
            merchant,
        )?;
        let buyer = &assignment.body().buyer;
        if buyer.agency != self.identity.org {
            return Err(Refusal::new(
                RefusalCode::Misrouted,
                format!("the merchant assigned the receipt to {}", buyer.agency),
            ));
        }
        if buyer.employee.as_deref() != Some(employee) {
            // Collected before by a colleague: the merchant answered with that assignment.
            return Err(Refusal::new(
                RefusalCode::CodeCollected,
                "this code was used: its receipt is collected by another employee",
            ));
        }
        let id = receipt.id();
        if step.ledger.contains(&assignment.id()).map_err(unavailable)? {
            return Ok(ClientResponse::Fetched { id, assignment: assignment.id() });
        }
        // A second assignment of a receipt this agency holds one of: the merchant signed two.
        let record = AnyRecord::Assignment(assignment.clone());
        if let Some(slot) = kvitt_protocol::evidence::Slot::of(&record) {
            if let Some(holder) = step.ledger.slot_holder(&slot).map_err(unavailable)? {
                return Err(self.equivocation(step, &record, holder));
            }
        }
        let issued = kvitt_protocol::fields::parse_time("issued_at", &receipt.body().issued_at)
            .map_err(|error| Refusal::invalid(&error))?;
        let mut batch = Batch::new();
        let record = AnyRecord::Receipt(receipt.clone());
        self.put(step, &record, &mut batch)?;
        if let Some(slot) = kvitt_protocol::evidence::Slot::of(&record) {
            batch.insert(keys::slot(&slot), id.as_bytes().to_vec());
        }
        self.put_assignment(step, &receipt, &assignment, &mut batch)?;
        batch.insert(keys::buyer(&buyer.agency, Some(employee), issued.unix_timestamp(), &id), Vec::new());
        step.write(&batch).map_err(unavailable)?;
        tracing::info!(receipt = %id.short(), %employee, "receipt fetched by code");
        Ok(ClientResponse::Fetched { id, assignment: assignment.id() })
    }
}

fn collected(receipt: &Signed<Receipt>, assignment: &Signed<Assignment>) -> ResponseBody {
    ResponseBody::Collected {
        receipt: RecordBytes(receipt.bytes().to_vec()),
        assignment: RecordBytes(assignment.bytes().to_vec()),
    }
}

/// The sale's time of a receipt, in seconds since the epoch (0 if it cannot be read, which a
/// valid receipt never gives).
fn sale_time(receipt: &Signed<Receipt>) -> i64 {
    kvitt_protocol::fields::parse_time("issued_at", &receipt.body().issued_at)
        .map_or(0, |time| time.unix_timestamp())
}

/// The sale's time and the receipt of an [`keys::uncollected`] key.
fn decode_uncollected(key: &[u8]) -> Option<(i64, RecordId)> {
    let rest = key.get(keys::UNCOLLECTED_PREFIX.len()..)?;
    let issued = i64::try_from(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)).ok()?;
    let receipt = RecordId(rest.get(8..)?.try_into().ok()?);
    Some((issued, receipt))
}

/// A code entry: the receipt's id, then the assignment's once collected.
fn decode_code_entry(bytes: &[u8]) -> Option<(RecordId, Option<RecordId>)> {
    let receipt = <[u8; 32]>::try_from(bytes.get(..32)?).ok().map(RecordId)?;
    let assignment = bytes.get(32..).filter(|rest| !rest.is_empty());
    let assignment = match assignment {
        Some(rest) => Some(<[u8; 32]>::try_from(rest).ok().map(RecordId)?),
        None => None,
    };
    Some((receipt, assignment))
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of every length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
