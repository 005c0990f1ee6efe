//! Reconciliation sessions in the simulation: the sessions the node's core starts
//! ([`Effect::StartSession`](kvitt_node::core::Effect::StartSession)), each run with the
//! node's own frame-level code (`kvitt_node::sync::exchange`, windows and attempts as in
//! production) over the real channel indexes, every frame crossing the simulated network.
//! When and with whom a node reconciles is its core's decision, as in production.
//!
//! A session runs in one event: its frames cross the network one after the other, each
//! with its latency, loss and cut links, and the session's result reaches both cores when
//! the last frame would have arrived. Both sides see their channel as it was when the
//! session started; in production the responder's view is taken a latency later. Whether
//! the peer takes each session it is opened, and how long it may idle, is its core's answer
//! ([`NodeCore::answer_session`](kvitt_node::core::NodeCore::answer_session)), as in
//! production; each session it took ends at the peer's core too, the peer's first: one
//! that the initiator left unfinished ends as a production responder's idle one does.

use kvitt_node::core::{Input, PeerRequest, SessionSide, SessionStart, Summary, SESSION_IDLE_TIMEOUT};
use kvitt_node::runtime::decode_peer_request;
use kvitt_node::sync::exchange::{self, ResponderSession};
use kvitt_node::sync::{SaltOf, WINDOW_ITEMS};
use kvitt_protocol::wire::ResponseBody;

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
    /// Each session the peer took, by number, and how it ended there: what it found if
    /// the initiator's sessions ran to their end too.
    pub answered: Vec<(u64, Result<Summary, String>)>,
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

/// A session the peer took, by number, and how it ended there (`None`: not yet).
type Taken = Vec<(u64, Option<Result<Summary, String>>)>;

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
    let World { rng, net, now_ms, nodes, .. } = world;
    let started_ms = *now_ms;
    let mut elapsed_ms = 0i64;
    let mut responder: Responding<'_> = None;
    let mut taken: Taken = Vec::new();
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
            let opens = responder.as_ref().is_none_or(|(number, _)| *number != session);
            let response = match opens {
                true => {
                    responder = None;
                    let core =
                        nodes.get_mut(peer).and_then(|sim| sim.core.as_mut()).ok_or("the peer is down")?;
                    match core.answer_session(initiator_key, session) {
                        Ok(_) => {
                            let hello = if window.is_none() { theirs_hello.take() } else { None };
                            let items = exchange::in_window(&theirs, window);
                            taken.push((session, None));
                            match ResponderSession::new(items, hello, peer_version) {
                                Ok(opened) => {
                                    responder = Some((session, opened));
                                    None
                                }
                                Err(error) => {
                                    let error = error.to_string();
                                    if let Some((_, end)) = taken.last_mut() {
                                        *end = Some(Err(error.clone()));
                                    }
                                    Some(exchange::refused(peer_version, error))
                                }
                            }
                        }
                        Err(refusal) => {
                            Some(exchange::encode_response(peer_version, ResponseBody::Refused { refusal }))
                        }
                    }
                }
                false => None,
            };
            let response = match (response, responder.as_mut()) {
                (Some(refused), _) => refused,
                (None, Some((_, session))) => {
                    let answered = session.answer(&frame);
                    if let (Some(end), Some((_, ended))) = (answered.end, taken.last_mut()) {
                        *ended = Some(end);
                    }
                    answered.response
                }
                (None, None) => return Err("no responder".into()),
            };
            let at = started_ms + elapsed_ms;
            let Some(back) = net.send(rng, at, (peer, node), &response, Kind::Reconcile).first().copied()
            else {
                elapsed_ms += REQUEST_TIMEOUT_MS;
                return Err(format!("no answer within {REQUEST_TIMEOUT_MS} ms"));
            };
            elapsed_ms += back;
            Ok(response)
        });
    let result = result.map_err(|failure| failure.to_string());
    let answered = taken
        .into_iter()
        .map(|(session, end)| {
            let end = match end {
                Some(Ok(_)) if result.is_err() => Err("the initiator's sessions did not finish".to_owned()),
                Some(end) => end,
                None => Err(format!("no frame for {} s", SESSION_IDLE_TIMEOUT.as_secs())),
            };
            (session, end)
        })
        .collect();
    let ended = Ended { initiator, responder: (peer, responder_life), result, answered };
    world.schedule(started_ms + elapsed_ms, Event::SessionEnd(Box::new(ended)));
}

/// A session ended: each side's core learns how, if it is still the life that ran it; the
/// peer first, so that the sessions it took are over before the initiator may start more.
pub fn end(world: &mut World, ended: Ended) {
    let Ended { initiator: (node, node_life), responder: (peer, peer_life), result, answered } = ended;
    let (Some(node_key), Some(peer_key)) =
        (world.nodes.get(node).map(|n| n.party.key()), world.nodes.get(peer).map(|n| n.party.key()))
    else {
        return;
    };
    if world.life(peer) == peer_life {
        for (session, result) in &answered {
            let input = Input::SessionEnded {
                peer: node_key,
                side: SessionSide::Responder(*session),
                result: result.clone(),
            };
            world.step(peer, input);
        }
    }
    if world.life(node) != node_life {
        return;
    }
    if let Ok(summary) = &result {
        let stats = &mut world.sessions;
        stats.finished += 1;
        let found = summary.have.len()
            + answered
                .iter()
                .filter_map(|(_, end)| end.as_ref().ok())
                .map(|found| found.have.len())
                .sum::<usize>();
        if found > 0 {
            stats.with_difference += 1;
            stats.records_found += found as u64;
        }
    }
    world.step(node, Input::SessionEnded { peer: peer_key, side: SessionSide::Initiator, result });
}

#[cfg(test)]
mod tests {
    use kvitt_node::core::{Random, MAX_RESPONDER_SESSIONS_PER_PEER};
    use kvitt_protocol::reconcile::Salt;

    use super::*;
    use crate::cast::Cast;
    use crate::config::{FaultMix, SimConfig};
    use crate::net::Network;
    use crate::node::SimNode;
    use crate::rng::SimRng;

    /// A world of the default cast with no faults, whose nodes have run their first round
    /// of sessions (so that no step here starts another).
    fn world() -> World {
        let mut world = fresh_world();
        for node in 0..world.nodes.len() {
            world.step(node, Input::Tick);
        }
        // Only the sessions' ends, well before the next round or directory poll is due.
        while world.next_at().is_some_and(|at| at < crate::run::START_MS + 60_000) {
            if let Some(Event::SessionEnd(ended)) = world.next_event() {
                end(&mut world, *ended);
            }
        }
        world
    }

    fn fresh_world() -> World {
        let config = SimConfig::new(1, FaultMix::None);
        let cast = Cast::new(&config).unwrap();
        let operator = kvitt_protocol::PublicKey::from(cast.operator.verifying_key());
        let nodes = cast
            .parties
            .iter()
            .enumerate()
            .map(|(index, party)| {
                let core_config = SimNode::core_config(
                    operator,
                    index as u64,
                    std::time::Duration::from_secs(24 * 60 * 60),
                );
                SimNode::new(party.clone(), core_config, &cast.directory, &std::sync::Arc::default()).unwrap()
            })
            .collect();
        World::new(nodes, Network::new(FaultMix::None.faults()), SimRng::new(1), crate::run::START_MS)
    }

    fn peer_core(world: &mut World) -> &mut kvitt_node::core::NodeCore {
        world.nodes[1].core.as_mut().unwrap()
    }

    /// Runs a session node 0 starts with node 1 and returns how it ended.
    fn session(world: &mut World) -> Ended {
        let peer = world.nodes[1].party.key();
        let start = SessionStart {
            peer,
            hello_salt: Salt([1; 16]),
            first_number: 1 << 32,
            salts: Random::new([1; 32]),
        };
        run(world, 0, start);
        // Other events (wake-ups, fsyncs) are not handled here.
        while let Some(event) = world.next_event() {
            if let Event::SessionEnd(ended) = event {
                return *ended;
            }
        }
        panic!("the session's end is scheduled")
    }

    #[test]
    fn the_peer_takes_a_session_as_its_core_says_and_hears_of_its_end() {
        let mut world = world();
        let initiator = world.nodes[0].party.key();
        for session in 0..MAX_RESPONDER_SESSIONS_PER_PEER as u64 {
            peer_core(&mut world).answer_session(initiator, session).unwrap();
        }
        let refused = session(&mut world);
        assert!(refused.answered.is_empty(), "{:?}", refused.answered);
        let error = refused.result.unwrap_err();
        assert!(error.contains("sessions open already"), "{error}");

        world.step(
            1,
            Input::SessionEnded {
                peer: initiator,
                side: SessionSide::Responder(0),
                result: Ok(Summary::default()),
            },
        );
        let taken = session(&mut world);
        assert!(taken.result.is_ok(), "{:?}", taken.result);
        let [(number, Ok(_))] = taken.answered.as_slice() else {
            panic!("one session taken: {:?}", taken.answered);
        };
        let number = *number;
        assert!(peer_core(&mut world).answer_session(initiator, number).is_err(), "open until it ends");
        end(&mut world, taken);
        let again = peer_core(&mut world).answer_session(initiator, number);
        assert!(again.is_ok(), "its end freed the slot: {again:?}");
    }
}
