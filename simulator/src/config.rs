//! What a run simulates: the network's size, the workload and the faults, all plain fields
//! (as quinn-proto's test pair keeps its knobs), and the seed that makes the run repeat.

use std::fmt;

/// Which faults the simulated network injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultMix {
    /// A perfect network: latency only.
    None,
    /// Loss, duplication, reordering and jitter on every link.
    Lossy,
    /// Links cut and healed, both ways and one way.
    Partitions,
    /// Nodes killed (`kill -9`: unsynced writes lost) and restarted.
    Crashes,
    /// All of the above.
    All,
}

impl FaultMix {
    /// Every mix, for sweeps.
    pub const ALL: [FaultMix; 5] =
        [FaultMix::None, FaultMix::Lossy, FaultMix::Partitions, FaultMix::Crashes, FaultMix::All];

    /// The mix's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultMix::None => "none",
            FaultMix::Lossy => "lossy",
            FaultMix::Partitions => "partitions",
            FaultMix::Crashes => "crashes",
            FaultMix::All => "all",
        }
    }

    /// The mix named `name`.
    pub fn parse(name: &str) -> Option<FaultMix> {
        FaultMix::ALL.into_iter().find(|mix| mix.name() == name)
    }

    /// The fault knobs of this mix.
    pub fn faults(self) -> Faults {
        let lossy = matches!(self, FaultMix::Lossy | FaultMix::All);
        Faults {
            latency_ms: 5,
            jitter_ms: if lossy { 40 } else { 2 },
            loss: if lossy { 0.02 } else { 0.0 },
            duplication: if lossy { 0.01 } else { 0.0 },
            reorder: if lossy { 0.02 } else { 0.0 },
            partitions: matches!(self, FaultMix::Partitions | FaultMix::All),
            crashes: matches!(self, FaultMix::Crashes | FaultMix::All),
        }
    }
}

impl fmt::Display for FaultMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The network's fault knobs.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// One-way latency of every message, in virtual milliseconds.
    pub latency_ms: i64,
    /// Extra random latency, 0 to this many milliseconds.
    pub jitter_ms: i64,
    /// Chance that a message is lost.
    pub loss: f64,
    /// Chance that a request is delivered twice (a retransmission after a lost answer).
    pub duplication: f64,
    /// Chance that a message is held back long enough to arrive after later ones.
    pub reorder: f64,
    /// Whether links are cut and healed during the workload.
    pub partitions: bool,
    /// Whether nodes are killed and restarted during the workload.
    pub crashes: bool,
}

/// A deliberately broken run, to show that a violation is caught and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    /// Before the checks, delete one acknowledged receipt from its agency's ledger.
    DropAcknowledged,
    /// The 1000th core step panics.
    PanicInCore,
    /// Before the checks, copy one receipt routed by card into another agency's ledger.
    LeakCardReceipt,
    /// Before the checks, copy one receipt whose code nobody collected from its merchant's
    /// ledger into an agency's.
    LeakCodeReceipt,
}

/// Everything a run depends on.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed of every random choice.
    pub seed: u64,
    /// Nodes in all: one SSC, agencies and merchants.
    pub nodes: usize,
    /// Receipts the tills push.
    pub receipts: usize,
    /// Claims the employees file.
    pub claims: usize,
    /// Employees of each agency (one more person is its approver).
    pub employees_per_agency: usize,
    /// Virtual days over which the receipts are bought.
    pub days: u32,
    /// How often each node reconciles with each peer, in virtual seconds.
    pub reconcile_interval_s: i64,
    /// The faults.
    pub fault_mix: FaultMix,
    /// A deliberate bug, for tests of the checks.
    pub sabotage: Option<Sabotage>,
}

impl SimConfig {
    /// A small run of `seed` with the default workload.
    pub fn new(seed: u64, fault_mix: FaultMix) -> SimConfig {
        SimConfig {
            seed,
            nodes: 8,
            receipts: 300,
            claims: 30,
            employees_per_agency: 5,
            days: 2,
            reconcile_interval_s: 30 * 60,
            fault_mix,
            sabotage: None,
        }
    }

    /// Agencies among the nodes: a quarter of those that are not the SSC, at least one.
    pub fn agencies(&self) -> usize {
        (self.nodes.saturating_sub(1) / 4).max(1)
    }

    /// Merchants among the nodes: the rest, at least one.
    pub fn merchants(&self) -> usize {
        self.nodes.saturating_sub(1 + self.agencies()).max(1)
    }

    /// The command line that repeats this run.
    pub fn reproduce(&self) -> String {
        let mut line = format!(
            "kvitt-sim --seed {} --nodes {} --receipts {} --claims {} --faults {}",
            self.seed, self.nodes, self.receipts, self.claims, self.fault_mix
        );
        if self.employees_per_agency != SimConfig::new(0, FaultMix::None).employees_per_agency {
            line.push_str(&format!(" --employees {}", self.employees_per_agency));
        }
        if self.days != 2 {
            line.push_str(&format!(" --days {}", self.days));
        }
        if self.reconcile_interval_s != 30 * 60 {
            line.push_str(&format!(" --reconcile-interval-s {}", self.reconcile_interval_s));
        }
        match self.sabotage {
            Some(Sabotage::DropAcknowledged) => line.push_str(" --sabotage drop-acknowledged"),
            Some(Sabotage::PanicInCore) => line.push_str(" --sabotage panic-in-core"),
            Some(Sabotage::LeakCardReceipt) => line.push_str(" --sabotage leak-card-receipt"),
            Some(Sabotage::LeakCodeReceipt) => line.push_str(" --sabotage leak-code-receipt"),
            None => {}
        }
        line
    }
}
