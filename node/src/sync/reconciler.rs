//! The driver's side of reconciliation: it keeps the channel index up to date from the
//! committed batches, starts the sessions the core asks for, hands incoming frames to
//! their sessions and turns finished sessions into the core's input. When and with whom
//! to reconcile is the core's decision (core::sessions).

use std::sync::Arc;

use kvitt_protocol::directory::Directory;
use kvitt_protocol::reconcile::Salt;
use tokio::sync::mpsc;

use super::{ChannelIndex, Finished, IncomingFrame, SaltOf, Sessions, Side};
use crate::core::{Input, SessionAnswer, SessionSide, SessionStart};
use crate::ledger::LedgerError;
use crate::runtime::PeerTransport;

/// Why a node whose channel index could not be loaded refuses every session.
const INDEX_UNREADABLE: &str = "this node's channel index is unreadable";

/// The reconciliation side of a node's driver.
pub struct Reconciler {
    /// `None` if the ledger's index could not be read at start: the node then neither
    /// starts nor answers sessions, rather than claim to hold nothing.
    index: Option<ChannelIndex>,
    sessions: Sessions,
    finished_tx: mpsc::UnboundedSender<Finished>,
    finished: mpsc::UnboundedReceiver<Finished>,
    transport: Arc<dyn PeerTransport>,
}

impl Reconciler {
    /// Over the channel index `loaded` from the ledger ([`ChannelIndex::load`]); the
    /// sessions this node starts cover at most `window_items` of its items each.
    pub fn new(
        loaded: Result<ChannelIndex, LedgerError>,
        transport: Arc<dyn PeerTransport>,
        window_items: usize,
    ) -> Reconciler {
        let index = match loaded {
            Ok(index) => {
                tracing::info!(items = index.len(), "channel index loaded");
                Some(index)
            }
            Err(error) => {
                tracing::error!(%error, "channel index unreadable; this node will not reconcile");
                None
            }
        };
        let (finished_tx, finished) = mpsc::unbounded_channel();
        Reconciler { index, sessions: Sessions::new(window_items), finished_tx, finished, transport }
    }

    /// The next session that ended.
    pub async fn finished(&mut self) -> Option<Finished> {
        self.finished.recv().await
    }

    /// The channel index, kept from every applied batch (crate::interpret); `None` if it
    /// could not be loaded.
    pub fn index(&mut self) -> Option<&mut ChannelIndex> {
        self.index.as_mut()
    }

    /// Starts the session the core asked for, over the channel as the index holds it now;
    /// with an unreadable index, the session ends at once.
    pub fn start(&mut self, start: SessionStart, directory: &Directory) {
        let peer = start.peer;
        let Some(index) = &mut self.index else {
            let _ =
                self.finished_tx.send(Finished::new(peer, Side::Initiator, Err(INDEX_UNREADABLE.to_owned())));
            return;
        };
        let addresses =
            directory.member_by_key(&peer).map(|member| member.addresses.clone()).unwrap_or_default();
        let snapshot = index.snapshot(&peer);
        // A channel sessions cover in windows is not said hello to whole.
        let hello = (snapshot.len() <= self.sessions.window_items())
            .then(|| index.hello(&peer, SaltOf::ThisNode, start.hello_salt));
        self.sessions.initiate(
            start,
            addresses,
            (snapshot, hello),
            directory.version,
            Arc::clone(&self.transport),
            self.finished_tx.clone(),
        );
    }

    /// Hands a peer's frame to its session; a frame that opens a session comes back, for
    /// the core to say whether to take it ([`Reconciler::open`]). With an unreadable
    /// index every session is refused here.
    pub fn carry(&mut self, incoming: IncomingFrame) -> Option<IncomingFrame> {
        if self.index.is_none() {
            let answer = super::exchange::refused(incoming.directory_version, INDEX_UNREADABLE.into());
            let _ = incoming.reply.send(answer);
            return None;
        }
        self.sessions.carry(incoming)
    }

    /// Starts the responder session the core took (`answer`) with the frame that opens it.
    pub fn open(&mut self, incoming: IncomingFrame, answer: SessionAnswer) {
        let Some(index) = &mut self.index else {
            let answer = super::exchange::refused(incoming.directory_version, INDEX_UNREADABLE.into());
            let _ = incoming.reply.send(answer);
            let result = Err(INDEX_UNREADABLE.to_owned());
            let side = Side::Responder(incoming.session);
            let _ = self.finished_tx.send(Finished::new(incoming.peer, side, result));
            return;
        };
        let peer = incoming.peer;
        let open = |salt: Option<Salt>| {
            let hello = salt.map(|salt| index.hello(&peer, SaltOf::Peer, salt));
            (index.snapshot(&peer), hello)
        };
        self.sessions.open(incoming, answer, open, self.finished_tx.clone());
    }

    /// Notes a session's end and returns it as the core's input.
    pub fn ended(&mut self, mut finished: Finished) -> Input {
        self.sessions.ended(&mut finished);
        let Finished { peer, side, result, .. } = finished;
        let side = match side {
            Side::Initiator => SessionSide::Initiator,
            Side::Responder(session) => SessionSide::Responder(session),
        };
        Input::SessionEnded { peer, side, result }
    }
}
