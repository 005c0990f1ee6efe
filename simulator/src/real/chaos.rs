//! The real mode's faults while the workload runs: the relay's per-datagram faults for
//! the whole run, and every few seconds one event: a node killed with SIGKILL and started
//! again a moment later, or a partition (a node cut off, two nodes cut apart, or one
//! direction of a link cut) held for a few seconds and healed. A node that exits without
//! being killed is a failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::nodes::RealNode;
use super::relay::{LinkFaults, Relay};
use crate::check::Violation;
use crate::config::Faults;
use crate::rng::SimRng;

/// Time between two fault events, ms (drawn in this range).
const BETWEEN_EVENTS_MS: (i64, i64) = (2_000, 5_000);

/// How long a killed node stays down, ms.
const DOWN_MS: (i64, i64) = (300, 2_000);

/// How long a partition holds, ms.
const CUT_MS: (i64, i64) = (1_000, 4_000);

/// Which faults a real run injects.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// Applied to every datagram.
    pub link: LinkFaults,
    /// Nodes killed and restarted.
    pub kills: bool,
    /// Links cut and healed.
    pub partitions: bool,
}

impl Plan {
    /// The real-mode counterpart of the deterministic mode's `faults`: the same loss and
    /// duplication, a millisecond's delay with the jitter capped at 10 ms (loopback has
    /// none of its own), kills and partitions as asked.
    pub fn of(faults: &Faults) -> Plan {
        let link = if faults.loss > 0.0 || faults.duplication > 0.0 {
            LinkFaults {
                loss: faults.loss,
                duplication: faults.duplication,
                delay_ms: 1,
                jitter_ms: u64::try_from(faults.jitter_ms.clamp(0, 10)).unwrap_or(0),
            }
        } else {
            LinkFaults::default()
        };
        Plan { link, kills: faults.crashes, partitions: faults.partitions }
    }
}

/// What the faults did.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Nodes killed with SIGKILL (and restarted).
    pub kills: u64,
    /// Partitions held and healed.
    pub partitions: u64,
    /// Nodes that exited by themselves or did not start again.
    pub failures: Vec<Violation>,
}

/// Locks the nodes (a panicking thread leaves them as they were).
pub fn lock(network: &Mutex<Vec<RealNode>>) -> MutexGuard<'_, Vec<RealNode>> {
    network.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sleeps `ms`, waking early if `stop` is set: whether it was.
fn pause(ms: i64, stop: &AtomicBool) -> bool {
    let until = Instant::now() + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    while Instant::now() < until {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.load(Ordering::SeqCst)
}

/// Injects `plan` until `stop` is set; what it did.
pub fn run(
    plan: &Plan,
    relay: &Relay,
    network: &Mutex<Vec<RealNode>>,
    kvitt: &std::path::Path,
    seed: u64,
    stop: &AtomicBool,
) -> Log {
    relay.set_faults(plan.link);
    let mut rng = SimRng::new(seed ^ 0xc4a0_5eed);
    let mut log = Log::default();
    let count = lock(network).len();
    loop {
        if pause(rng.between(BETWEEN_EVENTS_MS.0, BETWEEN_EVENTS_MS.1), stop) {
            break;
        }
        notice_exits(network, kvitt, &mut log);
        let node = rng.index(count);
        let kill = plan.kills && (!plan.partitions || rng.chance(0.5));
        if kill {
            let mut nodes = lock(network);
            let Some(target) = nodes.get_mut(node) else {
                continue;
            };
            if let Err(error) = target.kill() {
                log.failures.push(failure("a node can be killed", format!("{error}")));
                continue;
            }
            log.kills += 1;
            std::thread::sleep(Duration::from_millis(
                u64::try_from(rng.between(DOWN_MS.0, DOWN_MS.1)).unwrap_or(0),
            ));
            if let Err(error) = target.start(kvitt) {
                log.failures.push(failure("every killed node starts again", error.to_string()));
            }
        } else if plan.partitions {
            let other = (node + 1 + rng.index(count.saturating_sub(1).max(1))) % count.max(1);
            match rng.below(3) {
                0 => relay.isolate(node),
                1 => {
                    relay.cut(node, other);
                    relay.cut(other, node);
                }
                _ => relay.cut(node, other),
            }
            log.partitions += 1;
            let held = pause(rng.between(CUT_MS.0, CUT_MS.1), stop);
            relay.heal();
            if held {
                break;
            }
        }
    }
    notice_exits(network, kvitt, &mut log);
    log
}

fn failure(invariant: &'static str, details: String) -> Violation {
    Violation { invariant, details }
}

/// Restarts nodes that exited though nobody killed them, noting each as a failure.
fn notice_exits(network: &Mutex<Vec<RealNode>>, kvitt: &std::path::Path, log: &mut Log) {
    for node in lock(network).iter_mut() {
        if let Some(status) = node.exited() {
            log.failures.push(failure("no node exits by itself", format!("{} exited: {status}", node.name)));
            if let Err(error) = node.start(kvitt) {
                log.failures.push(failure("every node starts again", error.to_string()));
            }
        }
    }
}
