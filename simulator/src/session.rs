//! Reconciliation in the simulation: when each node starts sessions (at start, every
//! interval, and when a peer it could not reach is heard from again, as the node's
//! `Reconciler` does), and each session run with the node's own frame-level code
//! (`kvitt_node::sync::exchange`) over the real channel indexes, every frame crossing the
//! simulated network.
//!
//! A session runs in one event: its frames cross the network one after the other, each
//! with its latency, loss and cut links, and the session's result reaches both cores when
//! the last frame would have arrived. Both sides see their channel as it was when the
//! session started; in production the responder's view is taken a latency later.

use kvitt_node::core::{Input, PeerRequest};
use kvitt_node::runtime::decode_peer_request;
use kvitt_node::sync::exchange::{self, ResponderSession};
use kvitt_node::sync::{SaltOf, HELLO_SALT_LIFETIME};
use kvitt_protocol::reconcile::Salt;
use kvitt_protocol::RecordId;

use crate::net::{Kind, REQUEST_TIMEOUT_MS};
use crate::world::{Event, World};

/// The salt of `node`'s hellos to `peer`: a new one from the run's random numbers if it
/// has none or its salt is older than the node's [`HELLO_SALT_LIFETIME`].
fn hello_salt(world: &mut World, node: usize, peer: usize) -> Salt {
    let lifetime_ms = HELLO_SALT_LIFETIME.as_millis() as i64;
    let now_ms = world.now_ms;
    let kept = world.nodes.get(node).and_then(|sim| sim.hello_salts.get(&peer).copied());
    match kept {
        Some((salt, drawn_ms)) if now_ms - drawn_ms < lifetime_ms => salt,
        _ => {
            let salt = Salt(world.rng.bytes16());
            if let Some(sim) = world.nodes.get_mut(node) {
                sim.hello_salts.insert(peer, (salt, now_ms));
            }
            salt
        }
    }
}

/// A session's result, delivered when it ends.
#[derive(Debug)]
pub struct Ended {
    /// The node that started it, and its life then.
    pub initiator: (usize, u64),
    /// The peer, and its life then.
    pub responder: (usize, u64),
    /// What the initiator found, or why it failed.
    pub result: Result<Vec<RecordId>, String>,
    /// What the responder found the initiator lacks.
    pub responder_have: Vec<RecordId>,
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

/// Starts a session with every peer `node` may share a channel with, and schedules the
/// next round `interval_ms` later.
pub fn round(world: &mut World, node: usize, life: u64, interval_ms: i64) {
    if world.life(node) != life || !world.is_up(node) {
        return;
    }
    let peers: Vec<usize> = world
        .nodes
        .get(node)
        .and_then(|sim| sim.core.as_ref())
        .map(|core| core.reconciliation_peers())
        .unwrap_or_default()
        .iter()
        .filter_map(|key| world.index_of.get(key).copied())
        .collect();
    for peer in peers {
        start(world, node, peer);
    }
    world.schedule(world.now_ms + interval_ms, Event::Round { node, life });
}

/// A request from `peer` reached `node`: if its last session with `peer` failed, one
/// starts now.
pub fn heard_from(world: &mut World, node: usize, peer: usize) {
    let unreached = world.nodes.get_mut(node).is_some_and(|sim| sim.unreached.remove(&peer));
    if unreached {
        start(world, node, peer);
    }
}

/// Runs one session of `node` with `peer` unless one is running.
pub fn start(world: &mut World, node: usize, peer: usize) {
    let Some(sim) = world.nodes.get_mut(node) else {
        return;
    };
    if !sim.is_up() || !sim.initiating.insert(peer) {
        return;
    }
    world.sessions.started += 1;
    let initiator_life = sim.life;
    let responder_life = world.life(peer);
    let (Some(initiator_key), Some(peer_key)) =
        (world.nodes.get(node).map(|n| n.party.key()), world.nodes.get(peer).map(|n| n.party.key()))
    else {
        return;
    };
    let directory_version = world
        .nodes
        .get(node)
        .and_then(|sim| sim.core.as_ref())
        .map_or(0, |core| core.directory().body().version);
    let initiator_salt = hello_salt(world, node, peer);
    let ours = world.nodes.get_mut(node).map(|sim| sim.index.items(&peer_key)).unwrap_or_default();
    let ours_hello =
        world.nodes.get_mut(node).map(|sim| sim.index.hello(&peer_key, SaltOf::ThisNode, initiator_salt));
    let peer_up = world.is_up(peer);
    let theirs = world.nodes.get_mut(peer).map(|sim| sim.index.items(&initiator_key)).unwrap_or_default();
    // The responder finds its summary under the hello's salt when the hello arrives; here,
    // with its snapshot, at the session's start.
    let mut theirs_hello = world
        .nodes
        .get_mut(peer)
        .filter(|sim| sim.is_up())
        .map(|sim| sim.index.hello(&initiator_key, SaltOf::Peer, initiator_salt));
    let peer_version = world
        .nodes
        .get(peer)
        .and_then(|sim| sim.core.as_ref())
        .map_or(0, |core| core.directory().body().version);
    let World { rng, net, now_ms, .. } = world;
    let started_ms = *now_ms;
    let mut elapsed_ms = 0i64;
    let mut responder: Option<ResponderSession<'_>> = None;
    let mut responder_have = Vec::new();
    let mut responder_salt = Salt(rng.bytes16());
    let mut number = 0u64;
    let result = exchange::initiate(
        &ours,
        ours_hello,
        directory_version,
        None,
        || initiator_salt,
        || {
            number += 1;
            number
        },
        |request: Vec<u8>| {
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
            let PeerRequest::Reconcile { frame, .. } = decode_peer_request(initiator_key, &request).1 else {
                return Err("not a reconciliation frame".into());
            };
            if responder.is_none() {
                let salt = std::mem::replace(&mut responder_salt, Salt([0; 16]));
                responder = Some(
                    ResponderSession::new(&theirs, salt, theirs_hello.take(), peer_version)
                        .map_err(|error| error.to_string())?,
                );
            }
            let session = responder.as_mut().ok_or("no responder")?;
            let answered = session.answer(&frame);
            if let Some(Ok(summary)) = answered.end {
                responder_have = summary.have;
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
        },
    );
    let ended = Ended {
        initiator: (node, initiator_life),
        responder: (peer, responder_life),
        result: result.map(|summary| summary.have).map_err(|failure| failure.to_string()),
        responder_have,
    };
    world.schedule(started_ms + elapsed_ms, Event::SessionEnd(Box::new(ended)));
}

/// A session ended: each side's core learns what its peer lacks.
pub fn end(world: &mut World, ended: Ended) {
    let Ended { initiator: (node, node_life), responder: (peer, peer_life), result, responder_have } = ended;
    if world.life(node) != node_life {
        return;
    }
    let (Some(node_key), Some(peer_key)) =
        (world.nodes.get(node).map(|n| n.party.key()), world.nodes.get(peer).map(|n| n.party.key()))
    else {
        return;
    };
    if let Some(sim) = world.nodes.get_mut(node) {
        sim.initiating.remove(&peer);
        match &result {
            Ok(_) => sim.unreached.remove(&peer),
            Err(_) => {
                sim.hello_salts.remove(&peer);
                sim.unreached.insert(peer)
            }
        };
    }
    let Ok(have) = result else {
        return;
    };
    let stats = &mut world.sessions;
    stats.finished += 1;
    if !have.is_empty() || !responder_have.is_empty() {
        stats.with_difference += 1;
        stats.records_found += (have.len() + responder_have.len()) as u64;
    }
    if !have.is_empty() {
        world.step(node, Input::Reconciled { peer: peer_key, have });
    }
    if !responder_have.is_empty() && world.life(peer) == peer_life {
        world.step(peer, Input::Reconciled { peer: node_key, have: responder_have });
    }
}
