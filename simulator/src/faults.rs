//! The faults a run injects while its workload goes: nodes killed and restarted, links
//! cut (both ways or one way) and healed. All are drawn from the run's generator before
//! it starts, and all are over by [`FaultPlan::healed_at_ms`].

use crate::rng::SimRng;
use crate::world::{Event, World};

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` of a node.
    Crash(usize),
    /// The node starts again over its store.
    Restart(usize),
    /// Cut the links between a node and others.
    Cut {
        /// The node.
        node: usize,
        /// The others.
        from: Vec<usize>,
        /// Only the node's outgoing direction.
        one_way: bool,
    },
    /// Every cut link works again.
    Heal,
}

/// When the faults happen.
pub struct FaultPlan {
    /// The faults and their times.
    pub faults: Vec<(i64, Fault)>,
    /// When the last fault is over (0 if there is none).
    pub healed_at_ms: i64,
}

impl FaultPlan {
    /// Draws the faults of a run whose workload spans `start_ms..end_ms` among `nodes`.
    pub fn draw(
        rng: &mut SimRng,
        faults: &crate::config::Faults,
        nodes: usize,
        (start_ms, end_ms): (i64, i64),
    ) -> FaultPlan {
        let mut plan = FaultPlan { faults: Vec::new(), healed_at_ms: 0 };
        let span = (end_ms - start_ms).max(1);
        if faults.crashes {
            let crashes = (nodes / 2).max(2);
            for _ in 0..crashes {
                let node = rng.index(nodes);
                let at = start_ms + rng.between(0, span * 9 / 10);
                let down_ms = rng.between(1_000, 10 * 60_000);
                plan.push(at, Fault::Crash(node));
                plan.push(at + down_ms, Fault::Restart(node));
            }
        }
        if faults.partitions {
            let cuts = (nodes / 3).max(2);
            let mut at = start_ms;
            for _ in 0..cuts {
                at += rng.between(0, span / i64::try_from(cuts).unwrap_or(1).max(1));
                let node = rng.index(nodes);
                let others: Vec<usize> =
                    (0..nodes).filter(|other| *other != node && rng.chance(0.5)).collect();
                let one_way = rng.chance(0.3);
                let lasts_ms = rng.between(30_000, 2 * 60 * 60_000);
                plan.push(at, Fault::Cut { node, from: others, one_way });
                plan.push(at + lasts_ms, Fault::Heal);
            }
        }
        plan.faults.sort_by_key(|(at, _)| *at);
        plan
    }

    fn push(&mut self, at: i64, fault: Fault) {
        self.healed_at_ms = self.healed_at_ms.max(at);
        self.faults.push((at, fault));
    }

    /// Puts every fault on the world's queue.
    pub fn schedule(&self, world: &mut World) {
        for (at, fault) in &self.faults {
            world.schedule(*at, Event::Fault(fault.clone()));
        }
    }
}

/// Injects `fault`; a restarted node's new core starts its reconciliation rounds again.
pub fn inject(world: &mut World, fault: Fault, restart: &mut dyn FnMut(&mut World, usize)) {
    match fault {
        Fault::Crash(node) => {
            if world.is_up(node) {
                world.crash(node);
            }
        }
        Fault::Restart(node) => {
            if !world.is_up(node) {
                restart(world, node);
            }
        }
        Fault::Cut { node, from, one_way } => {
            for other in from {
                world.net.cut(node, other, one_way);
            }
        }
        Fault::Heal => world.net.heal(),
    }
}
