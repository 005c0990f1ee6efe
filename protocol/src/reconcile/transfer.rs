//! After decoding: the initiator knows the ids the responder lacks, but of the ids it lacks
//! only their 8-byte tags. It sends the former whole and the latter as tags
//! ([`Message::Decoded`]); the responder answers each tag with its id
//! ([`Message::Resolved`]). Symbols sum tags rather than 32-byte ids, which makes each symbol
//! 16 bytes instead of 40 or more; this exchange is the price, and it usually fits in one
//! round trip.

use super::keys::SessionKeys;
use super::lookup::{find_tags, holds_any};
use super::message::{pack_ids, pack_tags, unpack_ids, unpack_tags, Message};
use super::{Item, ReconcileError, MAX_IDS_PER_FRAME};
use crate::id::RecordId;

/// The initiator's side: what it still has to send, and what it has learnt.
pub(crate) struct Sender {
    /// Ids the responder lacks, ascending.
    have: Vec<RecordId>,
    /// Tags of items we lack, ascending.
    tags: Vec<u64>,
    ids_sent: usize,
    tags_sent: usize,
    /// Tags of the last `decoded`, awaiting their ids.
    pending: Vec<u64>,
    /// Ids we lack, as resolved.
    need: Vec<RecordId>,
}

impl Sender {
    pub(crate) fn new(mut have: Vec<RecordId>, mut tags: Vec<u64>) -> Sender {
        have.sort_unstable();
        tags.sort_unstable();
        Sender { have, tags, ids_sent: 0, tags_sent: 0, pending: Vec::new(), need: Vec::new() }
    }

    /// The next `decoded`: tags first (their answers must fit a frame too), then ids.
    pub(crate) fn next_message(&mut self) -> Message {
        let tags_end = self.tags.len().min(self.tags_sent + MAX_IDS_PER_FRAME);
        self.pending = self.tags.get(self.tags_sent..tags_end).unwrap_or_default().to_vec();
        self.tags_sent = tags_end;
        let room = MAX_IDS_PER_FRAME - self.pending.len().div_ceil(4);
        let ids_end = self.have.len().min(self.ids_sent + room);
        let ids = pack_ids(self.have.get(self.ids_sent..ids_end).unwrap_or_default());
        self.ids_sent = ids_end;
        Message::Decoded { ids, tags: pack_tags(&self.pending), done: self.is_done_sending() }
    }

    /// Whether the last `decoded` went out.
    pub(crate) fn is_done_sending(&self) -> bool {
        self.ids_sent == self.have.len() && self.tags_sent == self.tags.len()
    }

    /// Takes the responder's ids for the pending tags: each must have its tag (which none of
    /// our items has, or decoding would have named it ours).
    pub(crate) fn receive(&mut self, ids: &[u8], keys: &SessionKeys) -> Result<(), ReconcileError> {
        let ids = unpack_ids(ids);
        if ids.len() != self.pending.len() {
            return Err(ReconcileError::WrongCount {
                what: "resolved ids",
                announced: self.pending.len() as i64,
                implied: ids.len() as i64,
            });
        }
        for (id, tag) in ids.into_iter().zip(std::mem::take(&mut self.pending)) {
            if !keys.id_has_tag(&id, tag) {
                return Err(ReconcileError::WrongTag);
            }
            self.need.push(id);
        }
        Ok(())
    }

    /// Ids the responder lacks, and ids we lack (resolved so far).
    pub(crate) fn result(&self) -> (&[RecordId], &[RecordId]) {
        (&self.have, &self.need)
    }
}

/// The responder's side: what the initiator has told it.
#[derive(Default)]
pub(crate) struct Receiver {
    /// Ids we lack, ascending.
    need: Vec<RecordId>,
    /// Our ids the initiator lacks.
    have: Vec<RecordId>,
    last_tag: Option<u64>,
}

impl Receiver {
    /// Takes a `decoded` and builds the `resolved` answer. `decodable` is how many items the
    /// initiator can have decoded: no more than the symbols it was sent.
    pub(crate) fn receive(
        &mut self,
        ids: &[u8],
        tags: &[u8],
        ours: &[Item],
        keys: &SessionKeys,
        decodable: u64,
    ) -> Result<Message, ReconcileError> {
        let ids = unpack_ids(ids);
        for id in &ids {
            if self.need.last().is_some_and(|last| last >= id) {
                return Err(ReconcileError::PeerUnsorted { what: "decoded ids" });
            }
            self.need.push(*id);
        }
        let tags = unpack_tags(tags);
        for tag in &tags {
            if self.last_tag.is_some_and(|last| last >= *tag) {
                return Err(ReconcileError::PeerUnsorted { what: "decoded tags" });
            }
            self.last_tag = Some(*tag);
        }
        let decoded = (self.need.len() + self.have.len() + tags.len()) as u64;
        if decoded > decodable {
            return Err(ReconcileError::TooMany { what: "decoded items", count: decoded, limit: decodable });
        }
        if holds_any(ours, &ids) {
            return Err(ReconcileError::AlreadyHeld);
        }
        let positions = find_tags(ours, &tags, keys)?;
        let mut resolved = Vec::with_capacity(tags.len());
        for position in positions {
            resolved
                .push(position.and_then(|position| ours.get(position)).ok_or(ReconcileError::UnknownTag)?.id);
        }
        self.have.extend(&resolved);
        Ok(Message::Resolved { ids: pack_ids(&resolved) })
    }

    /// Our ids the initiator lacks, and ids we lack.
    pub(crate) fn result(&self) -> (&[RecordId], &[RecordId]) {
        (&self.have, &self.need)
    }
}
