//! Failures after which a node must stop: a panic in its core's actor, a ledger write that
//! failed for another reason than a full disk, an fsync that failed.
//!
//! A node that carried on after one of them would answer `node.unavailable` forever (its
//! core gone, or its ledger no longer trustworthy) while looking alive to its supervisor.
//! Instead the first cause is logged as an error and signalled: the driver stops, every
//! client asking the node is told why, `kvitt run` exits with [`FATAL_EXIT_CODE`] so that
//! its supervisor restarts it, and in-process users (the demo, tests) can wait for it with
//! [`Fatal::stopped`]. Everything acknowledged is durable already, so stopping without
//! any further cleanup loses nothing: it is a `kill -9` the node chose.

use std::sync::Arc;

use tokio::sync::watch;

/// The exit status of `kvitt run` after a failure that stopped the node (0 is a stop on
/// a signal, 2 a node that could not start).
pub const FATAL_EXIT_CODE: u8 = 3;

/// The stop signal of one node: the first fatal cause, once there is one.
#[derive(Clone, Debug)]
pub struct Fatal {
    cause: Arc<watch::Sender<Option<String>>>,
}

impl Default for Fatal {
    fn default() -> Fatal {
        Fatal::new()
    }
}

impl Fatal {
    /// A signal not raised yet.
    pub fn new() -> Fatal {
        Fatal { cause: Arc::new(watch::Sender::new(None)) }
    }

    /// Records `cause` and logs it as an error, if it is the first; later causes are
    /// consequences of the first and only logged.
    pub fn raise(&self, cause: impl Into<String>) {
        let cause = cause.into();
        let first = self.cause.send_if_modified(|current| match current {
            Some(_) => false,
            None => {
                *current = Some(cause.clone());
                true
            }
        });
        if first {
            tracing::error!(%cause, "the node stops: a failure it cannot continue after");
        } else {
            tracing::warn!(%cause, "a further failure while the node stops");
        }
    }

    /// The cause, if the signal was raised.
    pub fn cause(&self) -> Option<String> {
        self.cause.borrow().clone()
    }

    /// Waits until the signal is raised; the cause.
    pub async fn stopped(&self) -> String {
        let mut receiver = self.cause.subscribe();
        let cause = match receiver.wait_for(Option::is_some).await {
            Ok(cause) => cause.clone(),
            // The sender lives in `self`: it cannot be dropped while this waits.
            Err(_) => None,
        };
        match cause {
            Some(cause) => cause,
            None => std::future::pending().await,
        }
    }
}

/// The message a panic carried (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Logs every panic of the process as an error (with where it happened) before the
/// standard hook prints it to standard error: a node's log then says why it stopped.
pub fn log_panics() {
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        let location = info.location().map(ToString::to_string).unwrap_or_default();
        let message = panic_message(info.payload());
        tracing::error!(%thread, %location, %message, "panic");
        standard(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_cause_is_kept_and_whoever_waits_is_told() {
        let fatal = Fatal::new();
        assert_eq!(fatal.cause(), None);
        let waiting = tokio::spawn({
            let fatal = fatal.clone();
            async move { fatal.stopped().await }
        });
        fatal.raise("fsync failed");
        fatal.raise("a consequence");
        assert_eq!(waiting.await.unwrap(), "fsync failed");
        assert_eq!(fatal.cause().as_deref(), Some("fsync failed"));
        assert_eq!(fatal.stopped().await, "fsync failed", "raised before waiting: at once");
    }

    #[test]
    fn a_panic_message_is_read_from_either_payload() {
        let text = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(text.as_ref()), "plain");
        let formatted = std::panic::catch_unwind(|| panic!("serial {}", 7)).unwrap_err();
        assert_eq!(panic_message(formatted.as_ref()), "serial 7");
    }
}
