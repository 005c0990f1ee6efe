//! The simulated network: decides for each message whether it arrives, when, and how
//! often (latency, jitter, loss, duplication, reordering, cut links), counts what crossed
//! it and hashes every message into the wire trace.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::config::Faults;
use crate::rng::SimRng;

/// How long a sender waits for an answer before giving up (as the node's driver does).
pub const REQUEST_TIMEOUT_MS: i64 = 10_000;

/// What kind of message crossed the network, for the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A peer request or its answer (delivery, directory).
    Request,
    /// A reconciliation frame or its answer.
    Reconcile,
}

/// Counts of what crossed the network.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// Request and answer messages sent (a lost one counts).
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Reconciliation frames sent, both ways.
    pub reconcile_messages: u64,
    /// Their bytes.
    pub reconcile_bytes: u64,
    /// Messages lost (loss or a cut link).
    pub lost: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
}

/// The network between the nodes (by index).
pub struct Network {
    faults: Faults,
    /// Directions that are cut: (from, to).
    cut: BTreeSet<(usize, usize)>,
    /// What crossed.
    pub traffic: Traffic,
    trace: Sha256,
}

impl Network {
    /// A network with these faults and no cut link.
    pub fn new(faults: Faults) -> Network {
        Network { faults, cut: BTreeSet::new(), traffic: Traffic::default(), trace: Sha256::new() }
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Cuts `from → to` (and back, unless `one_way`).
    pub fn cut(&mut self, from: usize, to: usize, one_way: bool) {
        self.cut.insert((from, to));
        if !one_way {
            self.cut.insert((to, from));
        }
    }

    /// Heals every cut link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Whether `from → to` is cut.
    pub fn is_cut(&self, from: usize, to: usize) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Sends `bytes` from `from` to `to` at `now_ms`: the delays (ms) after which copies
    /// arrive. None if lost, two if duplicated (requests only: a reconciliation frame
    /// rides one request and is never repeated).
    pub fn send(
        &mut self,
        rng: &mut SimRng,
        now_ms: i64,
        (from, to): (usize, usize),
        bytes: &[u8],
        kind: Kind,
    ) -> Vec<i64> {
        self.trace.update(now_ms.to_be_bytes());
        self.trace.update((from as u64).to_be_bytes());
        self.trace.update((to as u64).to_be_bytes());
        self.trace.update((bytes.len() as u64).to_be_bytes());
        self.trace.update(bytes);
        let length = bytes.len() as u64;
        match kind {
            Kind::Request => {
                self.traffic.messages += 1;
                self.traffic.bytes += length;
            }
            Kind::Reconcile => {
                self.traffic.reconcile_messages += 1;
                self.traffic.reconcile_bytes += length;
            }
        }
        if self.is_cut(from, to) || rng.chance(self.faults.loss) {
            self.traffic.lost += 1;
            return Vec::new();
        }
        let faults = &self.faults;
        let delay = |rng: &mut SimRng| {
            let mut delay = faults.latency_ms + rng.between(0, faults.jitter_ms);
            if rng.chance(faults.reorder) {
                // Held back behind the messages that follow it.
                delay += rng.between(50, 2_000);
            }
            delay
        };
        let first = delay(rng);
        if kind == Kind::Request && rng.chance(self.faults.duplication) {
            self.traffic.duplicated += 1;
            let second = delay(rng);
            return vec![first, second];
        }
        vec![first]
    }

    /// The hash of every message sent so far (time, ends, bytes).
    pub fn trace_hash(&self) -> String {
        hex::encode(self.trace.clone().finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FaultMix;

    #[test]
    fn a_cut_link_loses_messages_one_way_only_when_asked() {
        let mut rng = SimRng::new(1);
        let mut net = Network::new(FaultMix::None.faults());
        net.cut(0, 1, true);
        assert!(net.send(&mut rng, 0, (0, 1), b"x", Kind::Request).is_empty());
        assert_eq!(net.send(&mut rng, 0, (1, 0), b"x", Kind::Request).len(), 1);
        net.heal();
        assert_eq!(net.send(&mut rng, 0, (0, 1), b"x", Kind::Request).len(), 1);
        assert_eq!(net.traffic.lost, 1);
    }

    #[test]
    fn a_lossy_network_loses_and_duplicates_some_messages() {
        let mut rng = SimRng::new(2);
        let mut net = Network::new(FaultMix::Lossy.faults());
        for _ in 0..10_000 {
            net.send(&mut rng, 0, (0, 1), b"x", Kind::Request);
        }
        assert!((100..400).contains(&net.traffic.lost), "{:?}", net.traffic);
        assert!((40..200).contains(&net.traffic.duplicated), "{:?}", net.traffic);
    }
}
