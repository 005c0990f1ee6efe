//! The way into a running node's core from other tasks: the client API, the transport's
//! incoming requests, the demo. Each call becomes one input of the core's single actor.

use std::sync::Arc;

use kvitt_protocol::wire::{Refusal, RefusalCode};
use tokio::sync::{mpsc, oneshot};

use crate::core::{Caller, ClientRequest, ClientResponse};
use crate::fatal::Fatal;
use crate::metrics::Metrics;
use crate::status::NodeStatus;

/// Most client requests waiting for the core; beyond it callers wait (backpressure).
pub const CLIENT_QUEUE: usize = 1024;

/// A request for the core actor, with where its answer goes.
pub struct ClientCommand {
    /// Who asks.
    pub caller: Caller,
    /// What they ask.
    pub request: ClientRequest,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<ClientResponse, Refusal>>,
}

/// A cloneable handle to a node's core.
#[derive(Clone)]
pub struct NodeHandle {
    commands: mpsc::Sender<ClientCommand>,
    fatal: Fatal,
    metrics: Arc<Metrics>,
    status: Arc<NodeStatus>,
    /// The ledger the operator's backup route dumps, once the daemon has set it.
    backups: Arc<std::sync::OnceLock<Arc<crate::backup::LiveDump>>>,
}

impl NodeHandle {
    /// A handle feeding `commands`, and the receiving end for the actor.
    pub fn channel() -> (NodeHandle, mpsc::Receiver<ClientCommand>) {
        let (commands, receiver) = mpsc::channel(CLIENT_QUEUE);
        let node = NodeHandle {
            commands,
            fatal: Fatal::new(),
            metrics: Arc::new(Metrics::new()),
            status: Arc::new(NodeStatus::default()),
            backups: Arc::default(),
        };
        (node, receiver)
    }

    /// Asks the core and waits for its answer (sent only once any write is durable). A
    /// node that stopped on a failure answers `node.unavailable` naming the failure.
    pub async fn ask(&self, caller: Caller, request: ClientRequest) -> Result<ClientResponse, Refusal> {
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            let message = match self.fatal.cause() {
                Some(cause) => format!("the node stopped: {cause}"),
                None => "the node is stopping".to_owned(),
            };
            Refusal::new(RefusalCode::Unavailable, message)
        };
        // A stopped node's driver may not have returned yet: it must not take the request
        // (its write could never become durable), and the caller is told the cause.
        if self.fatal.cause().is_some() {
            return Err(stopped());
        }
        self.commands.send(ClientCommand { caller, request, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The node's stop signal: raised when a failure stops it (crate::fatal).
    pub fn fatal(&self) -> &Fatal {
        &self.fatal
    }

    /// The node's metrics (crate::metrics), counted by its driver, commit and API.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The node's state as its driver last saw it, for readiness (crate::status).
    pub fn status(&self) -> &Arc<NodeStatus> {
        &self.status
    }

    /// Serves `ledger` to the operator's backup route (crate::api); the first call wins.
    pub fn serve_backups(&self, ledger: Arc<crate::backup::LiveDump>) {
        let _ = self.backups.set(ledger);
    }

    /// The ledger the backup route dumps; none for a node that serves no backups (the
    /// simulator's).
    pub fn backups(&self) -> Option<Arc<crate::backup::LiveDump>> {
        self.backups.get().cloned()
    }

    /// Waits until a failure stops the node; its cause. Never returns for a node that
    /// runs well.
    pub async fn stopped(&self) -> String {
        self.fatal.stopped().await
    }
}
