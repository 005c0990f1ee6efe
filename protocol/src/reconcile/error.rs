//! Why a reconciliation session ended early. Every error ends the session: the state
//! machine refuses any further frame with [`ReconcileError::Finished`].

/// Why a session failed. Variants from `TooMany` on are what a peer that lies, misbehaves
/// or is broken gets; `LocalUnsorted` and some `TooMany` concern the caller's own items.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// A frame is larger than [`super::MAX_RECONCILE_FRAME_BYTES`]; it was not decoded.
    #[error("frame of {bytes} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// The frame's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A frame is not a canonical CBOR message of the reconciliation schema, or a packed
    /// field has the wrong length.
    #[error("malformed frame: {reason}")]
    Malformed {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The peer speaks another version of the protocol.
    #[error("unsupported reconciliation version {version}")]
    Version {
        /// The version the peer sent.
        version: u64,
    },
    /// A message that the session's state does not allow (a second hello, symbols in a
    /// list exchange, …).
    #[error("unexpected `{kind}` message while {state}")]
    Unexpected {
        /// The message's kind.
        kind: &'static str,
        /// What the session was doing.
        state: &'static str,
    },
    /// A count over its limit: items in a set, in a frame, symbols asked for.
    #[error("{what}: {count} exceeds the limit of {limit}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many there were (or would be).
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// The session would need more than [`super::MAX_RECONCILE_ROUNDS`] initiator messages.
    #[error("more than {limit} rounds")]
    TooManyRounds {
        /// The limit.
        limit: usize,
    },
    /// The caller's items are not strictly ascending in (time, id) order.
    #[error("local items are not strictly ascending at index {index}")]
    LocalUnsorted {
        /// The first item that is not greater than the one before it.
        index: usize,
    },
    /// The peer's items or tags are not strictly ascending where the protocol requires it.
    #[error("the peer's {what} are not strictly ascending")]
    PeerUnsorted {
        /// Which list.
        what: &'static str,
    },
    /// What the peer sent contradicts the count it announced.
    #[error("the peer announced {announced} {what} but its messages imply {implied}")]
    WrongCount {
        /// What was counted.
        what: &'static str,
        /// What the peer announced.
        announced: i64,
        /// What its other messages imply.
        implied: i64,
    },
    /// The coded symbols cannot come from any set (they decode to a tag of ours that we do
    /// not hold, to more items than symbols, …).
    #[error("inconsistent coded symbols: {reason}")]
    InconsistentSymbols {
        /// What was contradictory.
        reason: &'static str,
    },
    /// The peer asks for the item of a tag that none of our items has.
    #[error("the peer asked for a tag none of our items has")]
    UnknownTag,
    /// An item the peer resolved does not have the tag it was asked for.
    #[error("a resolved item does not have the tag that was asked for")]
    WrongTag,
    /// The outcome does not turn one side's fingerprint into the other's: the peer lied, or
    /// (probability about d·k/2³², k the most items of one second) two items share a tag.
    /// Retrying with new salts settles it.
    #[error("the outcome does not reconcile the two fingerprints")]
    Verification,
    /// The session is over (it finished or failed); it takes no more frames.
    #[error("the session is over")]
    Finished,
}

impl ReconcileError {
    pub(crate) fn malformed(reason: impl Into<String>) -> ReconcileError {
        ReconcileError::Malformed { reason: reason.into() }
    }
}
