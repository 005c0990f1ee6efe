//! The one interpreter of the core's effects, shared by the tokio runtime (crate::runtime:
//! sled with group commit, real timers, QUIC, sessions on threads) and the simulator
//! (in-memory ledgers, virtual time, a simulated network): each is a [`Backend`], and
//! [`carry_out`] applies a step's effects to it in order. What the effects mean, and what
//! every driver must do about them (a committed batch is noted in the channel index, a
//! failed one is reported so that the step's answers say why), is decided here once; a
//! backend only supplies the mechanism.

use crate::core::{Deferred, Effect, SessionStart};
use crate::store::{Batch, StoreError};
use crate::sync::ChannelIndex;

/// The mechanisms a driver gives the interpreter.
pub trait Backend {
    /// Applies `batch` to the ledger now (not yet durable); an error means nothing of it
    /// was written.
    fn apply(&mut self, batch: &Batch) -> Result<(), StoreError>;

    /// The step's batch could not be applied: its answers must say why, and the driver
    /// decides whether the node can go on.
    fn write_failed(&mut self, error: StoreError);

    /// Carries out `deferred`, in order, once everything applied so far is durable. After
    /// [`Backend::write_failed`] in the same step, its answers say why, and its requests
    /// are not sent (they may carry a record that was not written): each goes back to the
    /// core as a failed exchange.
    fn when_durable(&mut self, deferred: Vec<Deferred>);

    /// Gives the core an `Input::Tick` at `at_ms` (UTC, milliseconds since 1970), or
    /// earlier.
    fn wake_at(&mut self, at_ms: i64);

    /// The node's channel index, kept from every applied batch; `None` if it could not be
    /// loaded.
    fn index(&mut self) -> Option<&mut ChannelIndex>;

    /// Runs the reconciliation session `start` over the channel index; how it ends goes
    /// back to the core as `Input::SessionEnded`.
    fn start_session(&mut self, start: SessionStart);
}

/// Carries out one step's `effects` on `backend`, in the order the core returned them.
pub fn carry_out(backend: &mut impl Backend, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Write(batch) => match backend.apply(&batch) {
                Ok(()) => {
                    if let Some(index) = backend.index() {
                        index.note(&batch);
                    }
                }
                Err(error) => backend.write_failed(error),
            },
            Effect::WhenDurable(deferred) => backend.when_durable(deferred),
            Effect::WakeAt(at_ms) => backend.wake_at(at_ms),
            Effect::StartSession(start) => backend.start_session(start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend that records what it is asked, and refuses writes when told to.
    #[derive(Default)]
    struct Recorder {
        refuse: bool,
        index: ChannelIndex,
        log: Vec<String>,
    }

    impl Backend for Recorder {
        fn apply(&mut self, _: &Batch) -> Result<(), StoreError> {
            self.log.push("apply".into());
            if self.refuse {
                return Err(StoreError::Closed);
            }
            Ok(())
        }
        fn write_failed(&mut self, _: StoreError) {
            self.log.push("write failed".into());
        }
        fn when_durable(&mut self, deferred: Vec<Deferred>) {
            self.log.push(format!("when durable: {}", deferred.len()));
        }
        fn wake_at(&mut self, at_ms: i64) {
            self.log.push(format!("wake at {at_ms}"));
        }
        fn index(&mut self) -> Option<&mut ChannelIndex> {
            Some(&mut self.index)
        }
        fn start_session(&mut self, _: SessionStart) {
            self.log.push("session".into());
        }
    }

    fn batch_with_channel_item() -> Batch {
        let peer =
            kvitt_protocol::PublicKey::from(ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key());
        let mut batch = Batch::new();
        batch.insert(crate::ledger::keys::channel(&peer, 7, &kvitt_protocol::RecordId([1; 32])), Vec::new());
        batch
    }

    #[test]
    fn effects_are_carried_out_in_order_and_an_applied_batch_reaches_the_index() {
        let mut backend = Recorder::default();
        let effects = vec![
            Effect::Write(batch_with_channel_item()),
            Effect::WhenDurable(Vec::new()),
            Effect::WakeAt(5),
        ];
        carry_out(&mut backend, effects);
        assert_eq!(backend.log, ["apply", "when durable: 0", "wake at 5"]);
        assert_eq!(backend.index.len(), 1, "noted once applied");
    }

    #[test]
    fn a_batch_that_was_not_applied_is_reported_and_not_indexed() {
        let mut backend = Recorder { refuse: true, ..Recorder::default() };
        carry_out(&mut backend, vec![Effect::Write(batch_with_channel_item())]);
        assert_eq!(backend.log, ["apply", "write failed"]);
        assert!(backend.index.is_empty(), "the ledger does not hold it");
    }
}
