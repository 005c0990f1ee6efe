//! Accepting records from peers: who may send what, duplicates, slots and equivocation.
//!
//! A record is stored only if the sending peer may send it to this node, its signer is
//! the member the directory lists for the organisation the record names, and no other
//! record from that signer holds its slot. Anything else gets a refusal with a code and
//! changes nothing, except equivocation: both records are kept, as evidence.

use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{ClaimState, Role};
use kvitt_protocol::evidence::{Evidence, Slot};
use kvitt_protocol::fields::format_time;
use kvitt_protocol::wire::{Refusal, RefusalCode, Verdict};
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use super::ExceptionNote;
use super::{Effect, NodeCore, Step};
use crate::ledger::{encode_claim_state, keys, put_record, Ledger, LedgerError};
use crate::store::Batch;

/// The metadata key naming the directory in force.
const DIRECTORY_META: &str = "directory";

/// The newest directory the ledger holds, if any.
pub(super) fn stored_directory(ledger: &Ledger) -> Result<Option<Signed<Directory>>, LedgerError> {
    let Some(bytes) = ledger.meta(DIRECTORY_META)? else {
        return Ok(None);
    };
    let id = <[u8; 32]>::try_from(bytes.as_slice())
        .map(RecordId)
        .map_err(|_| LedgerError::Damaged { key: "meta/directory".into(), why: "not a record id".into() })?;
    match ledger.record(&id)? {
        Some(AnyRecord::Directory(directory)) => Ok(Some(directory)),
        _ => Err(LedgerError::Damaged {
            key: "meta/directory".into(),
            why: format!("names {id}, not a stored directory"),
        }),
    }
}

impl NodeCore {
    /// The verdict on one delivered record, writing it (and its indexes) if accepted.
    pub(super) fn accept(
        &mut self,
        step: &mut Step,
        peer: &Member,
        record: Result<AnyRecord, kvitt_protocol::Error>,
    ) -> Verdict {
        let record = match record {
            Ok(record) => record,
            Err(error) => return Verdict::Refused { refusal: Refusal::invalid(&error) },
        };
        match self.try_accept(step, peer, &record) {
            Ok(verdict) => verdict,
            Err(refusal) => {
                tracing::info!(peer = %peer.org, id = %record.id().short(), %refusal, "refused a delivered record");
                Verdict::Refused { refusal }
            }
        }
    }

    fn try_accept(&mut self, step: &mut Step, peer: &Member, record: &AnyRecord) -> Result<Verdict, Refusal> {
        let id = record.id();
        if step.ledger.contains(&id).map_err(super::unavailable)? {
            return Ok(Verdict::Duplicate { id });
        }
        if let AnyRecord::Directory(directory) = record {
            return Ok(self.accept_delivered_directory(step, directory));
        }
        if !self.relayed_within_channel(step, peer, record)? {
            self.authorize(step, peer, record)?;
        }
        if let Some(slot) = Slot::of(record) {
            if let Some(holder) = step.ledger.slot_holder(&slot).map_err(super::unavailable)? {
                return Err(self.equivocation(step, record, holder));
            }
        }
        let mut batch = Batch::new();
        self.raise_numbers(step, record, &mut batch)?;
        self.index(step, peer, record, &mut batch)?;
        self.put(step, record, &mut batch)?;
        if let Some(slot) = Slot::of(record) {
            batch.insert(keys::slot(&slot), id.as_bytes().to_vec());
        }
        step.write(&batch).map_err(super::unavailable)?;
        tracing::debug!(kind = %record.kind(), id = %id.short(), from = %peer.org, "stored a delivered record");
        Ok(Verdict::Stored { id })
    }

    /// Whether `peer` may deliver `record` to this node.
    fn authorize(&self, step: &Step, peer: &Member, record: &AnyRecord) -> Result<(), Refusal> {
        let me = &self.identity;
        let directory = self.directory.body();
        let misrouted = |why: String| Err(Refusal::new(RefusalCode::Misrouted, why));
        let forbidden = |why: String| Err(Refusal::new(RefusalCode::Forbidden, why));
        match (record, me.role) {
            (AnyRecord::Receipt(receipt), MemberRole::Agency | MemberRole::Ssc) => {
                let body = receipt.body();
                // A receipt without a buyer is the merchant's alone until its assignment
                // gives it one: an agency or SSC takes it after that (sent first, or again).
                let Some(buyer) = self.buyer_of(step, receipt)? else {
                    return Err(Refusal::new(
                        RefusalCode::ReceiptUnassigned,
                        format!(
                            "receipt {} names no buyer and this node holds no assignment of it; send that first",
                            receipt.id().short()
                        ),
                    ));
                };
                let buyer = buyer.agency.as_str();
                match me.role {
                    MemberRole::Agency if buyer != me.org => {
                        return misrouted(format!("receipt for buyer {buyer}, this agency is {}", me.org))
                    }
                    MemberRole::Ssc if peer.role != MemberRole::Agency || peer.org != buyer => {
                        return forbidden(format!(
                            "{} may not forward a receipt bought by {buyer}",
                            peer.org
                        ));
                    }
                    MemberRole::Ssc if !self.serves(&peer.org) => {
                        return misrouted(format!("this SSC does not serve {}", peer.org))
                    }
                    _ => {}
                }
                // The signature's authority first: a receipt whose signer is not the key
                // the directory lists for its seller is forged whoever carries it
                // (`auth.signer`), and only then may the peer be the wrong carrier.
                self.check_signer(directory, &body.merchant.org, MemberRole::Merchant, receipt.signer())?;
                if me.role == MemberRole::Agency && peer.key != receipt.signer() {
                    return forbidden(format!(
                        "{} may not deliver receipts signed by another merchant",
                        peer.org
                    ));
                }
                Ok(())
            }
            (AnyRecord::Claim(claim), MemberRole::Ssc) => {
                let agency = claim.body().agency.as_str();
                if peer.org != agency || peer.key != claim.signer() {
                    return forbidden(format!("{} may not deliver a claim of {agency}", peer.org));
                }
                if !self.serves(agency) {
                    return misrouted(format!("this SSC does not serve {agency}"));
                }
                Ok(())
            }
            (AnyRecord::ClaimEvent(event), MemberRole::Ssc | MemberRole::Agency) => {
                let role = event.body().actor.role;
                let expected_signer_role =
                    if role == Role::Ssc { MemberRole::Ssc } else { MemberRole::Agency };
                if peer.role != expected_signer_role || peer.key != event.signer() {
                    return forbidden(format!(
                        "{} may not deliver a {:?} event signed by {}",
                        peer.org,
                        role,
                        event.signer().short()
                    ));
                }
                if me.role == MemberRole::Agency && !self.is_my_ssc(&peer.org) {
                    return forbidden(format!("{} is not this agency's SSC", peer.org));
                }
                if me.role == MemberRole::Ssc && !self.serves(&peer.org) {
                    return misrouted(format!("this SSC does not serve {}", peer.org));
                }
                Ok(())
            }
            (AnyRecord::Assignment(assignment), _) => self.authorize_assignment(step, peer, assignment),
            (AnyRecord::Evidence(_), _) => Ok(()),
            (record, role) => forbidden(format!(
                "a {:?} node does not take {} records from {}",
                role,
                record.kind(),
                peer.org
            )),
        }
    }

    /// The signer must be the key the directory lists for `org` in `role`.
    pub(super) fn check_signer(
        &self,
        directory: &Directory,
        org: &str,
        role: MemberRole,
        signer: kvitt_protocol::PublicKey,
    ) -> Result<(), Refusal> {
        match directory.member_by_org(org) {
            None => Err(Refusal::new(
                RefusalCode::NotMember,
                format!("{org} is not in directory v{}", directory.version),
            )),
            Some(member) if member.role != role || member.key != signer => Err(Refusal::new(
                RefusalCode::WrongSigner,
                format!(
                    "signed by {}, but the directory lists {} for {org}",
                    signer.short(),
                    member.key.short()
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    pub(super) fn serves(&self, agency: &str) -> bool {
        self.directory
            .body()
            .member_by_key(&self.identity.key())
            .is_some_and(|me| me.serves.iter().any(|served| served == agency))
    }

    fn is_my_ssc(&self, ssc_org: &str) -> bool {
        self.directory.body().ssc_of(&self.identity.org).is_some_and(|ssc| ssc.org == ssc_org)
    }

    /// The index entries (and checks that need the ledger) of an accepted record.
    fn index(
        &mut self,
        step: &mut Step,
        peer: &Member,
        record: &AnyRecord,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        match record {
            AnyRecord::Receipt(receipt) => {
                let body = receipt.body();
                let issued = kvitt_protocol::fields::parse_time("issued_at", &body.issued_at)
                    .map_err(|error| Refusal::invalid(&error))?;
                if let Some(buyer) = self.buyer_of(step, receipt)? {
                    batch.insert(
                        keys::buyer(
                            &buyer.agency,
                            buyer.employee.as_deref(),
                            issued.unix_timestamp(),
                            &receipt.id(),
                        ),
                        Vec::new(),
                    );
                }
                if let Some(original) = body.original {
                    batch.insert(keys::return_of(&original, &receipt.id()), Vec::new());
                    // A return of a receipt in a claim the SSC has: the SSC nets it too.
                    if self.identity.role == MemberRole::Agency {
                        for peer in self.sharing_original(step, receipt)? {
                            self.outbox.enqueue(step, peer, receipt.id()).map_err(super::unavailable)?;
                        }
                    }
                }
                // One of this merchant's own receipts, back from the agency after a restore:
                // the register's series goes on after it, never reusing its serial.
                if receipt.signer() == self.identity.key() {
                    let last = step.ledger.last_serial(&body.register).map_err(super::unavailable)?;
                    if last.is_none_or(|last| body.serial > last) {
                        batch.insert(keys::serial(&body.register), body.serial.to_be_bytes().to_vec());
                    }
                }
            }
            AnyRecord::Claim(claim) => {
                let body = claim.body();
                for receipt in body.receipts() {
                    match step.ledger.record(&receipt).map_err(super::unavailable)? {
                        // Bought by the claim's agency, by the receipt's word or its
                        // assignment's (spec/codes.md §Claims).
                        Some(AnyRecord::Receipt(held)) => {
                            self.claim_buyer(step, body, &held)?;
                        }
                        _ => {
                            return Err(Refusal::new(
                                RefusalCode::UnknownRecord,
                                format!(
                                "claim {} attaches receipt {}, which this node does not hold; send it first",
                                body.number,
                                receipt.short()
                            ),
                            ))
                        }
                    }
                }
                batch.insert(keys::claim_number(&body.agency, &body.number), claim.id().as_bytes().to_vec());
                batch.insert(keys::claim(&claim.id()), encode_claim_state(&ClaimState::new(claim)));
                crate::ledger::index_claim(batch, claim);
                for receipt in body.receipts() {
                    batch.insert(keys::claim_of_receipt(&receipt, &claim.id()), Vec::new());
                }
                // Stored all the same, and held for staff: an over-claim first (it can only
                // be rejected), then a duplicate.
                let why: Vec<String> =
                    [self.over_claim_on_arrival(step, claim)?, self.check_duplicates(step, claim, batch)?]
                        .into_iter()
                        .flatten()
                        .collect();
                if !why.is_empty() {
                    let why = why.join("; ");
                    tracing::warn!(claim = %claim.id().short(), number = %body.number, %why, "claim held as an exception");
                    batch.insert(keys::exception(&claim.id()), why.into_bytes());
                }
            }
            AnyRecord::ClaimEvent(event) => {
                let claim_id = event.body().claim;
                let (Some(state), Some(AnyRecord::Claim(claim))) = (
                    step.ledger.claim_state(&claim_id).map_err(super::unavailable)?,
                    step.ledger.record(&claim_id).map_err(super::unavailable)?,
                ) else {
                    return Err(Refusal::new(
                        RefusalCode::UnknownRecord,
                        format!("event for claim {}, which this node does not hold", claim_id.short()),
                    ));
                };
                // An agency's events are about its own claims; an SSC's, about claims of
                // the agencies it serves (authorize checked which SSC), and at an agency,
                // about that agency's claims.
                let agency = claim.body().agency.as_str();
                let concerned = match peer.role {
                    MemberRole::Agency => peer.org == agency,
                    _ => self.identity.role != MemberRole::Agency || self.identity.org == agency,
                };
                if !concerned {
                    return Err(Refusal::new(
                        RefusalCode::Forbidden,
                        format!(
                            "{} may not deliver an event of {agency}'s claim {}",
                            peer.org,
                            claim_id.short()
                        ),
                    ));
                }
                // Reconciliation sends what a peer lacks in id order, so an event may come
                // before the one it follows: ask for it again once that one is here.
                if let Some(previous) = event.body().previous {
                    if !step.ledger.contains(&previous).map_err(super::unavailable)? {
                        return Err(Refusal::new(
                            RefusalCode::UnknownRecord,
                            format!(
                                "event follows {}, which this node does not hold; send it first",
                                previous.short()
                            ),
                        ));
                    }
                }
                let next = state.apply(claim.body(), event).map_err(|error| Refusal::invalid(&error))?;
                self.event_writes(step, &claim, event, &next, batch)?;
                // One of this SSC's own vouchers, back from the agency after a restore: the
                // agency's voucher series goes on after it, never reusing its number.
                if event.signer() == self.identity.key() {
                    super::vouchers::raise_voucher_count(step, &claim, &event.body().action, batch)?;
                }
                // Written before what follows, which reads the new state.
                step.write(&std::mem::take(batch)).map_err(super::unavailable)?;
                self.after_event(step, &claim, &next)?;
            }
            AnyRecord::Evidence(evidence) => {
                batch
                    .insert(keys::exception(&evidence.id()), ExceptionNote::Equivocation.bare().into_bytes());
            }
            // An assignment's index is its slot, written with it: the receipt's buyer is
            // found by it (core::buyers). A merchant's own, back: its code is spent.
            AnyRecord::Assignment(assignment) if self.identity.role == MemberRole::Merchant => {
                self.spend_code_of(step, assignment, batch)?;
            }
            AnyRecord::Directory(_) | AnyRecord::Assignment(_) => {}
        }
        Ok(())
    }

    /// Keeps both conflicting records as signed evidence and refuses the newcomer.
    pub(super) fn equivocation(&mut self, step: &mut Step, record: &AnyRecord, holder: RecordId) -> Refusal {
        let refusal = Refusal::new(
            RefusalCode::Equivocation,
            format!(
                "{} conflicts with {} from the same signer for the same slot; both kept as evidence",
                record.id().short(),
                holder.short()
            ),
        );
        // One piece of evidence per pair: a peer that sends the same conflicting record
        // again must not make the node sign (and store) new evidence each time.
        let pair = keys::meta(&format!("evidence/{holder}/{}", record.id()));
        if !matches!(step.ledger.store().get(&pair), Ok(None)) {
            return refusal;
        }
        let held = match step.ledger.record(&holder) {
            Ok(Some(held)) => held,
            // The directory a node started from is in force before the ledger holds it.
            Ok(None) if holder == self.directory.id() => AnyRecord::Directory(self.directory.clone()),
            _ => return refusal,
        };
        let evidence = Evidence::new(&held, record, format_time(step.now))
            .and_then(|evidence| Signed::sign(evidence, &self.identity.signing_key));
        match evidence {
            Ok(evidence) => {
                let evidence = AnyRecord::Evidence(evidence);
                let mut batch = Batch::new();
                if let Err(error) = self.put(step, &evidence, &mut batch) {
                    tracing::error!(%error, "could not store equivocation evidence");
                    return refusal;
                }
                batch
                    .insert(keys::exception(&evidence.id()), ExceptionNote::Equivocation.bare().into_bytes());
                batch.insert(pair, evidence.id().as_bytes().to_vec());
                if step.write(&batch).is_err() {
                    return refusal;
                }
                tracing::warn!(evidence = %evidence.id().short(), signer = %record.signer().short(), "equivocation caught; evidence stored");
                // Every other member of the channel learns of it too.
                let peers = self.channel_peers(step, &evidence).unwrap_or_default();
                for peer in peers {
                    if let Err(error) = self.outbox.enqueue(step, peer, evidence.id()) {
                        tracing::error!(%error, peer = %peer.short(), "could not queue evidence for a peer");
                    }
                }
            }
            Err(error) => tracing::error!(%error, "could not build equivocation evidence"),
        }
        refusal
    }

    /// A directory a peer delivered. One newer than the directory in force is judged as any
    /// offered one ([`Self::accept_directory_bytes`]). The one in force, or an older one,
    /// signed by the operator for this network and holding no other directory's slot, is
    /// kept as a record of the channels it lists, without changing the directory in force:
    /// reconciliation with a peer that holds it then settles (a node recovering its ledger,
    /// or one that joined at a later version, would otherwise lack it at every session).
    fn accept_delivered_directory(&mut self, step: &mut Step, directory: &Signed<Directory>) -> Verdict {
        let current = self.directory.body();
        let history = directory.body().version <= current.version
            && directory.signer() == self.config.operator
            && directory.body().network == current.network;
        let slot = Slot::Directory { signer: directory.signer(), version: directory.body().version };
        let holder = match step.ledger.slot_holder(&slot) {
            Ok(holder) => {
                holder.or_else(|| (directory.body().version == current.version).then(|| self.directory.id()))
            }
            Err(error) => return Verdict::Refused { refusal: super::unavailable(error) },
        };
        if !history || holder.is_some_and(|holder| holder != directory.id()) {
            return self.accept_directory_bytes(step, directory.bytes());
        }
        let record = AnyRecord::Directory(directory.clone());
        let mut batch = Batch::new();
        if let Err(refusal) = self.put(step, &record, &mut batch) {
            return Verdict::Refused { refusal };
        }
        batch.insert(keys::slot(&slot), directory.id().as_bytes().to_vec());
        if let Err(error) = step.write(&batch) {
            return Verdict::Refused { refusal: super::unavailable(error) };
        }
        Verdict::Stored { id: directory.id() }
    }

    /// The verdict on a directory: accepted only if signed by the operator, of this
    /// network, newer than the one in force, and listing this node. One signed by the
    /// operator, of this network, for a version this node holds another directory of is
    /// equivocation: both are kept as evidence and the directory in force stays.
    pub(super) fn accept_directory_bytes(&mut self, step: &mut Step, bytes: &[u8]) -> Verdict {
        let refuse =
            |why: String| Verdict::Refused { refusal: Refusal::new(RefusalCode::DirectoryVersion, why) };
        let directory = match Signed::<Directory>::decode(bytes) {
            Ok(directory) => directory,
            Err(error) => return Verdict::Refused { refusal: Refusal::invalid(&error) },
        };
        let current = self.directory.body();
        if directory.id() == self.directory.id() {
            return Verdict::Duplicate { id: directory.id() };
        }
        if directory.signer() != self.config.operator {
            return refuse(format!(
                "signed by {}, not the operator {}",
                directory.signer().short(),
                self.config.operator.short()
            ));
        }
        if directory.body().network != current.network {
            return refuse(format!(
                "network {:?}, this node is in {:?}",
                directory.body().network,
                current.network
            ));
        }
        let slot = Slot::Directory { signer: directory.signer(), version: directory.body().version };
        let holder = match step.ledger.slot_holder(&slot) {
            Ok(holder) => holder,
            Err(error) => return Verdict::Refused { refusal: super::unavailable(error) },
        };
        // The directory in force holds its version's slot even while the ledger does not
        // (the one the node started from).
        let holder =
            holder.or_else(|| (directory.body().version == current.version).then(|| self.directory.id()));
        if let Some(holder) = holder.filter(|holder| *holder != directory.id()) {
            let record = AnyRecord::Directory(directory);
            return Verdict::Refused { refusal: self.equivocation(step, &record, holder) };
        }
        if directory.body().version <= current.version {
            return refuse(format!(
                "version {} is not newer than {}",
                directory.body().version,
                current.version
            ));
        }
        if directory.body().member_by_key(&self.identity.key()).is_none() {
            // Taking it would leave a node that cannot start again (its key is in no
            // directory it holds). A removed member keeps its last directory; the members
            // that took the new one refuse its connections.
            tracing::error!(version = directory.body().version, "a new directory no longer lists this node");
            return refuse(format!(
                "version {} does not list this node ({})",
                directory.body().version,
                self.identity.key().short()
            ));
        }
        let mut batch = Batch::new();
        let record = AnyRecord::Directory(directory.clone());
        if let Err(refusal) = self.put(step, &record, &mut batch) {
            return Verdict::Refused { refusal };
        }
        batch.insert(keys::meta(DIRECTORY_META), directory.id().as_bytes().to_vec());
        batch.insert(keys::slot(&slot), directory.id().as_bytes().to_vec());
        // The directory being replaced keeps its slot, so that another directory with its
        // version is caught later too. The one the node started from is not in the ledger
        // yet: it is kept (outside every channel: peers have their own copy).
        let outgoing = Slot::Directory { signer: self.directory.signer(), version: current.version };
        match step.ledger.slot_holder(&outgoing) {
            Ok(Some(_)) => {}
            Ok(None) => {
                put_record(&mut batch, &AnyRecord::Directory(self.directory.clone()));
                batch.insert(keys::slot(&outgoing), self.directory.id().as_bytes().to_vec());
            }
            Err(error) => return Verdict::Refused { refusal: super::unavailable(error) },
        }
        if let Err(error) = step.write(&batch) {
            return Verdict::Refused { refusal: super::unavailable(error) };
        }
        tracing::info!(
            version = directory.body().version,
            members = directory.body().members.len(),
            "accepted a new directory"
        );
        self.directory = directory.clone();
        step.durable.push(Effect::DirectoryChanged(Box::new(directory.clone())));
        if self.identity.role == MemberRole::Agency {
            if let Err(refusal) = self.send_waiting_claims(step) {
                tracing::error!(%refusal, "could not send the claims waiting for an SSC");
            }
        }
        Verdict::Stored { id: directory.id() }
    }
}
