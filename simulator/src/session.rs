//! Reconciliation sessions in the simulation: the sessions the node's core starts
//! ([`Effect::StartSession`](kvitt_node::core::Effect::StartSession)), each run with the
//! node's own frame-level code (`kvitt_node::sync::exchange`, windows and attempts as in
//! production) over the real channel indexes, every frame crossing the simulated network.
//! When and with whom a node reconciles is its core's decision, as in production.
//!
//! A session runs in one event: its frames cross the network one after the other, each
//! with its latency, loss and cut links, and the session's result reaches both cores when
//! the last frame would have arrived. Both sides see their channel as it was when the
//! session started; in production the responder's view is taken a latency later.

use kvitt_node::core::{Input, PeerRequest, SessionSide, SessionStart, Summary};
use kvitt_node::runtime::decode_peer_request;
use kvitt_node::sync::exchange::{self, ResponderSession};
use kvitt_node::sync::{SaltOf, WINDOW_ITEMS};
use kvitt_protocol::reconcile::Salt;

use crate::net::{Kind, REQUEST_TIMEOUT_MS};
use crate::world::{Event, World};

/// A session's result, delivered when it ends.
#[derive(Debug)]
pub struct Ended {
    /// The node that started it, and its life then.
    pub initiator: (usize, u64),
    /// The peer, and its life then.
    pub responder: (usize, u64),
    /// What the initiator found, or why it failed.
    pub result: Result<Summary, String>,
    /// What the responder found, if its sessions ran to their end.
    pub responder_found: Option<Summary>,
}

/// Reconciliation counts.
#[derive(Clone, Debug, Default)]
pub struct SessionStats {
    /// Sessions started.
    pub started: u64,
    /// Sessions that ran to their end.
    pub finished: u64,
    /// Sessions that found a difference.
    pub with_difference: u64,
    /// Records found missing at one side or the other.
    pub records_found: u64,
}

/// The responder of the session in progress: its number and its state.
type Responding<'a> = Option<(u64, ResponderSession<'a>)>;

/// Runs the session `start` of `node`'s core, and schedules its end.
pub fn run(world: &mut World, node: usize, start: SessionStart) {
    let Some(&peer) = world.index_of.get(&start.peer) else {
        let result = Err(format!("{} is not in the simulation", start.peer.short()));
        world.step(node, Input::SessionEnded { peer: start.peer, side: SessionSide::Initiator, result });
        return;
    };
    world.sessions.started += 1;
    let initiator = (node, world.life(node));
    let responder_life = world.life(peer);
    let Some(initiator_key) = world.nodes.get(node).map(|n| n.party.key()) else {
        return;
    };
    let peer_key = start.peer;
    let version = |world: &World, node: usize| {
        world
            .nodes
            .get(node)
            .and_then(|sim| sim.core.as_ref())
            .map_or(0, |core| core.directory().body().version)
    };
    let (directory_version, peer_version) = (version(world, node), version(world, peer));
    let ours = world.nodes.get_mut(node).map(|sim| sim.index.items(&peer_key)).unwrap_or_default();
    // A channel sessions cover in windows is not said hello to whole.
    let whole = ours.len() <= WINDOW_ITEMS;
    let ours_hello = world
        .nodes
        .get_mut(node)
        .filter(|_| whole)
        .map(|sim| sim.index.hello(&peer_key, SaltOf::ThisNode, start.hello_salt));
    let peer_up = world.is_up(peer);
    let theirs = world.nodes.get_mut(peer).map(|sim| sim.index.items(&initiator_key)).unwrap_or_default();
    // The responder finds its summary under the hello's salt when the hello arrives; here,
    // with its snapshot, at the session's start.
    let mut theirs_hello = world
        .nodes
        .get_mut(peer)
        .filter(|sim| whole && sim.is_up())
        .map(|sim| sim.index.hello(&initiator_key, SaltOf::Peer, start.hello_salt));
    let World { rng, net, now_ms, .. } = world;
    let started_ms = *now_ms;
    let mut elapsed_ms = 0i64;
    let mut responder: Responding<'_> = None;
    let mut responder_found: Option<Summary> = Some(Summary::default());
    let result =
        exchange::initiate_windows(&ours, ours_hello, start, directory_version, WINDOW_ITEMS, |request| {
            let at = started_ms + elapsed_ms;
            let Some(there) = net.send(rng, at, (node, peer), &request, Kind::Reconcile).first().copied()
            else {
                elapsed_ms += REQUEST_TIMEOUT_MS;
                return Err(format!("no answer within {REQUEST_TIMEOUT_MS} ms"));
            };
            if !peer_up {
                elapsed_ms += REQUEST_TIMEOUT_MS;
                return Err("the peer is down".into());
            }
            elapsed_ms += there;
            let PeerRequest::Reconcile { session, frame, window } =
                decode_peer_request(initiator_key, &request).1
            else {
                return Err("not a reconciliation frame".into());
            };
            if responder.as_ref().is_none_or(|(number, _)| *number != session) {
                let salt = Salt(rng.bytes16());
                let hello = if window.is_none() { theirs_hello.take() } else { None };
                let items = exchange::in_window(&theirs, window);
                let opened = ResponderSession::new(items, salt, hello, peer_version)
                    .map_err(|error| error.to_string())?;
                responder = Some((session, opened));
            }
            let (_, session) = responder.as_mut().ok_or("no responder")?;
            let answered = session.answer(&frame);
            match answered.end {
                Some(Ok(summary)) => {
                    if let Some(found) = &mut responder_found {
                        found.add(summary);
                    }
                }
                Some(Err(_)) => responder_found = None,
                None => {}
            }
            let at = started_ms + elapsed_ms;
            let Some(back) =
                net.send(rng, at, (peer, node), &answered.response, Kind::Reconcile).first().copied()
            else {
                elapsed_ms += REQUEST_TIMEOUT_MS;
                return Err(format!("no answer within {REQUEST_TIMEOUT_MS} ms"));
            };
            elapsed_ms += back;
            Ok(answered.response)
        });
    let result = result.map_err(|failure| failure.to_string());
    let responder_found = responder_found.filter(|_| result.is_ok());
    let ended = Ended { initiator, responder: (peer, responder_life), result, responder_found };
    world.schedule(started_ms + elapsed_ms, Event::SessionEnd(Box::new(ended)));
}

/// A session ended: each side's core learns how, if it is still the life that ran it.
pub fn end(world: &mut World, ended: Ended) {
    let Ended { initiator: (node, node_life), responder: (peer, peer_life), result, responder_found } = ended;
    if world.life(node) != node_life {
        return;
    }
    let (Some(node_key), Some(peer_key)) =
        (world.nodes.get(node).map(|n| n.party.key()), world.nodes.get(peer).map(|n| n.party.key()))
    else {
        return;
    };
    if let Ok(summary) = &result {
        let stats = &mut world.sessions;
        stats.finished += 1;
        let found = summary.have.len() + responder_found.as_ref().map_or(0, |found| found.have.len());
        if found > 0 {
            stats.with_difference += 1;
            stats.records_found += found as u64;
        }
    }
    world.step(node, Input::SessionEnded { peer: peer_key, side: SessionSide::Initiator, result });
    if let Some(found) = responder_found.filter(|_| world.life(peer) == peer_life) {
        world.step(
            peer,
            Input::SessionEnded { peer: node_key, side: SessionSide::Responder, result: Ok(found) },
        );
    }
}
