//! One core step's state: what it reads (the ledger through the step's overlay) and the
//! effects it collects, in order.

use kvitt_protocol::wire::Request;
use kvitt_protocol::PublicKey;
use time::OffsetDateTime;

use super::{Deferred, Effect, ExchangeId};
use crate::ledger::{Ledger, LedgerError};
use crate::store::Batch;

/// The state of one core step: reads through the overlay, effects collected in order.
pub(crate) struct Step {
    pub(super) ledger: Ledger,
    /// Requests, wake-ups and sessions to start, in the order decided.
    pub(super) effects: Vec<Effect>,
    /// Answers (and a directory change) released once the step's batch is durable.
    pub(super) durable: Vec<Deferred>,
    pub(super) now: OffsetDateTime,
}

impl Step {
    /// A step at `now` reading `ledger`.
    pub(super) fn new(ledger: Ledger, now: OffsetDateTime) -> Step {
        Step { ledger, effects: Vec::new(), durable: Vec::new(), now }
    }

    /// Sends `request` to `to` once the step's batch is durable: a request may carry a
    /// record this step wrote.
    pub(super) fn send(&mut self, to: PublicKey, exchange: ExchangeId, request: Request) {
        self.effects.push(Effect::WhenDurable(vec![Deferred::Send { to, exchange, request }]));
    }

    /// `now` in milliseconds since 1970.
    pub(super) fn now_ms(&self) -> i64 {
        unix_ms(self.now)
    }

    /// Applies `batch` to the step's overlay.
    pub(super) fn write(&self, batch: &Batch) -> Result<(), LedgerError> {
        Ok(self.ledger.store().apply(batch)?)
    }
}

/// `now` in milliseconds since 1970 (UTC), as the outbox's timers count.
pub(super) fn unix_ms(now: OffsetDateTime) -> i64 {
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
