//! After decoding: the initiator knows the ids the responder lacks, but of the ids it lacks
//! only their 8-byte tags. It sends the tags, and of the former only how many they are and
//! the sum of their hello digests ([`Message::Decoded`]); the responder answers each tag
//! with its id ([`Message::Resolved`]). Symbols sum tags rather than 32-byte ids, which
//! makes each symbol 12 bytes instead of 36 or more; this exchange is the price, and it
//! usually fits in one round trip.
//!
//! The responder is not sent the ids it lacks: the initiator, which holds those records,
//! sends them, and the responder checks the count and the digest sum against the two
//! fingerprints (spec/reconcile.md §Checks). What it acts on, its own items the initiator
//! lacks, it found itself, and the fingerprints check those.

use super::estimator::digest_sum;
use super::keys::SessionKeys;
use super::lookup::find_tags;
use super::message::{pack_ids, pack_tags, unpack_ids, unpack_tags, Fingerprint, Message};
use super::{Item, ReconcileError, MAX_IDS_PER_FRAME};
use crate::id::RecordId;

/// The initiator's side: what it still has to send, and what it has learnt.
pub(crate) struct Sender {
    /// Ids the responder lacks, ascending.
    have: Vec<RecordId>,
    /// The sum of their hello digests.
    have_sum: u128,
    /// Tags of items we lack, ascending.
    tags: Vec<u64>,
    /// How many `decoded` went out.
    frames_sent: usize,
    tags_sent: usize,
    /// Tags of the last `decoded`, awaiting their ids.
    pending: Vec<u64>,
    /// Ids we lack, as resolved.
    need: Vec<RecordId>,
}

impl Sender {
    /// What to send: the ids the responder lacks and the tags of the items we lack.
    pub(crate) fn new(mut have: Vec<RecordId>, mut tags: Vec<u64>, keys: &SessionKeys) -> Sender {
        have.sort_unstable();
        tags.sort_unstable();
        let have_sum = digest_sum(keys.hello(), &have);
        Sender { have, have_sum, tags, frames_sent: 0, tags_sent: 0, pending: Vec::new(), need: Vec::new() }
    }

    /// The sum of the hello digests of the ids the responder lacks.
    pub(crate) fn have_sum(&self) -> u128 {
        self.have_sum
    }

    /// The next `decoded`: the next tags (as many as one `resolved` can answer), and in the
    /// first the count and digest sum of the ids the responder lacks.
    pub(crate) fn next_message(&mut self) -> Message {
        let tags_end = self.tags.len().min(self.tags_sent + MAX_IDS_PER_FRAME);
        self.pending = self.tags.get(self.tags_sent..tags_end).unwrap_or_default().to_vec();
        self.tags_sent = tags_end;
        let first = self.frames_sent == 0;
        self.frames_sent += 1;
        Message::Decoded {
            count: first.then_some(self.have.len() as u64),
            fingerprint: first.then_some(Fingerprint::of_sum(self.have_sum)),
            tags: pack_tags(&self.pending),
            done: self.is_done_sending(),
        }
    }

    /// Whether the last `decoded` went out.
    pub(crate) fn is_done_sending(&self) -> bool {
        self.frames_sent > 0 && self.tags_sent == self.tags.len()
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

/// What the first `decoded` says of the items the responder lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lacking {
    /// How many.
    pub(crate) count: u64,
    /// The sum of their hello digests.
    pub(crate) sum: u128,
}

/// The responder's side: what the initiator has told it.
#[derive(Default)]
pub(crate) struct Receiver {
    /// The items we lack, as the first `decoded` said.
    lacking: Option<Lacking>,
    /// Our ids the initiator lacks.
    have: Vec<RecordId>,
    last_tag: Option<u64>,
}

impl Receiver {
    /// Takes a `decoded` and builds the `resolved` answer. `lacking` is what the first
    /// `decoded` says (`Some` in the first, `None` in later ones: checked by the caller's
    /// match); `decodable` is how many items the initiator can have decoded, no more than
    /// the symbols it was sent.
    pub(crate) fn receive(
        &mut self,
        lacking: Option<Lacking>,
        tags: &[u8],
        ours: &[Item],
        keys: &SessionKeys,
        decodable: u64,
    ) -> Result<Message, ReconcileError> {
        if lacking.is_some() {
            self.lacking = lacking;
        }
        let tags = unpack_tags(tags);
        for tag in &tags {
            if self.last_tag.is_some_and(|last| last >= *tag) {
                return Err(ReconcileError::PeerUnsorted { what: "decoded tags" });
            }
            self.last_tag = Some(*tag);
        }
        let decoded = self
            .lacking
            .map_or(0, |lacking| lacking.count)
            .saturating_add(self.have.len() as u64)
            .saturating_add(tags.len() as u64);
        if decoded > decodable {
            return Err(ReconcileError::TooMany { what: "decoded items", count: decoded, limit: decodable });
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

    /// Our ids the initiator lacks, and what we were told of the items we lack.
    pub(crate) fn result(&self) -> (&[RecordId], Lacking) {
        (&self.have, self.lacking.unwrap_or(Lacking { count: 0, sum: 0 }))
    }
}
