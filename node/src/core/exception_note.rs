//! How the ledger spells an exception's note: `exception/<id>` holds text that begins
//! with what happened (`duplicate: …`, `equivocation`, `refused by peer: …`), so a node
//! reading its ledger back knows the kind. Each beginning is spelled here and nowhere
//! else: writers build their note with [`ExceptionNote::text`], and readers find the
//! kind with [`ExceptionNote::of`]. The stored text is unchanged from the ledgers of
//! earlier versions.

use std::fmt;

use super::exceptions::ExceptionKind;

/// What a node noted an exception for, as the beginning of its stored note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionNote {
    /// A claim's receipt or card payment is in another claim (`duplicate: …`).
    Duplicate,
    /// A claim asks more than its receipts support (`over-claim: …`).
    OverClaim,
    /// Evidence that a party signed two versions of one record (`equivocation`, no detail).
    Equivocation,
    /// A peer refused one of this node's records for good (`refused by peer: …`).
    RefusedByPeer,
    /// An outbox entry whose record is gone (`outbox entry without its record`, no detail).
    LostFromOutbox,
    /// A claim held for the agency's policy (`policy: …`; read back from older ledgers).
    Policy,
    /// A claim whose exchange rate is off the reference rates (`rate: …`).
    Rate,
    /// A voucher an SIE export could not compute (`booking: …`).
    Booking,
}

impl ExceptionNote {
    /// Every note, in the order [`ExceptionNote::of`] tries them.
    pub const ALL: &'static [ExceptionNote] = &[
        ExceptionNote::Duplicate,
        ExceptionNote::OverClaim,
        ExceptionNote::Equivocation,
        ExceptionNote::RefusedByPeer,
        ExceptionNote::LostFromOutbox,
        ExceptionNote::Policy,
        ExceptionNote::Rate,
        ExceptionNote::Booking,
    ];

    /// How a note of this kind begins in the ledger.
    pub fn prefix(self) -> &'static str {
        match self {
            ExceptionNote::Duplicate => "duplicate:",
            ExceptionNote::OverClaim => "over-claim:",
            ExceptionNote::Equivocation => "equivocation",
            ExceptionNote::RefusedByPeer => "refused by peer:",
            ExceptionNote::LostFromOutbox => "outbox entry without its record",
            ExceptionNote::Policy => "policy:",
            ExceptionNote::Rate => "rate:",
            ExceptionNote::Booking => "booking:",
        }
    }

    /// The kind of exception staff see for it.
    pub fn kind(self) -> ExceptionKind {
        match self {
            ExceptionNote::Duplicate => ExceptionKind::Duplicate,
            ExceptionNote::OverClaim => ExceptionKind::OverClaim,
            ExceptionNote::Equivocation => ExceptionKind::Equivocation,
            ExceptionNote::RefusedByPeer | ExceptionNote::LostFromOutbox => ExceptionKind::Delivery,
            ExceptionNote::Policy => ExceptionKind::Policy,
            ExceptionNote::Rate => ExceptionKind::Rate,
            ExceptionNote::Booking => ExceptionKind::Booking,
        }
    }

    /// The note with nothing after its beginning.
    pub fn bare(self) -> String {
        self.prefix().to_owned()
    }

    /// The note: its beginning, a space, and `detail`.
    pub fn text(self, detail: impl fmt::Display) -> String {
        format!("{} {detail}", self.prefix())
    }

    /// The note `why` begins with, if any.
    pub fn of(why: &str) -> Option<ExceptionNote> {
        ExceptionNote::ALL.iter().copied().find(|note| why.starts_with(note.prefix()))
    }

    /// What follows this note's beginning and its space in `why`, if `why` is such a note.
    pub fn detail(self, why: &str) -> Option<&str> {
        why.strip_prefix(self.prefix()).and_then(|rest| rest.strip_prefix(' '))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_note_reads_back_as_itself() {
        for note in ExceptionNote::ALL {
            assert_eq!(ExceptionNote::of(&note.text("x")), Some(*note), "{note:?}");
            assert_eq!(ExceptionNote::of(&note.bare()), Some(*note), "{note:?}");
            assert_eq!(note.detail(&note.text("the detail")), Some("the detail"));
        }
        assert_eq!(ExceptionNote::of("something else"), None);
    }

    #[test]
    fn the_stored_spelling_is_that_of_earlier_ledgers() {
        assert_eq!(
            ExceptionNote::RefusedByPeer.text("no [auth.signer]"),
            "refused by peer: no [auth.signer]"
        );
        assert_eq!(ExceptionNote::Equivocation.bare(), "equivocation");
        assert_eq!(ExceptionNote::LostFromOutbox.bare(), "outbox entry without its record");
        assert_eq!(ExceptionNote::OverClaim.text("a; b"), "over-claim: a; b");
    }
}
