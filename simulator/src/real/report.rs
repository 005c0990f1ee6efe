//! The figures of a real run: throughput, latencies, what the faults did, convergence and
//! the node processes' memory; printed as a table, written as JSON, and summed up in the
//! same machine-readable last line as the deterministic mode's.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::chaos::Log;
use super::claims::ClaimsOutcome;
use super::nodes::RealNode;
use super::relay::RelayStats;
use super::tills::{push_latency, Pushed};
use crate::config::SimConfig;
use crate::report::{LastLine, Latency};
use crate::workload::WorkloadStats;

/// The run's times.
pub struct Times {
    /// The whole run, setup and checks included.
    pub wall: Duration,
    /// From the first push to the last answer, seconds.
    pub pushing_s: f64,
    /// From the faults healed to a round of sessions finding nothing, seconds.
    pub converge_s: f64,
    /// On-demand reconciliation rounds that took.
    pub sync_rounds: u64,
}

/// Everything a real run reports.
#[derive(Clone, Debug, Serialize)]
pub struct RealReport {
    /// The seed.
    pub seed: u64,
    /// Node processes.
    pub nodes: usize,
    /// The fault mix.
    pub faults: String,
    /// What the workload counted.
    pub workload: WorkloadStats,
    /// Wall time of the whole run, seconds.
    pub wall_s: f64,
    /// Receipts acknowledged per second while the tills pushed.
    pub receipts_per_s: f64,
    /// Push → seen at the agency, wall ms.
    pub push_to_agency: Latency,
    /// Submit → paid, wall ms.
    pub submit_to_paid: Latency,
    /// What the relay did to the datagrams.
    pub relay: RelayStats,
    /// Nodes killed with SIGKILL and restarted.
    pub kills: u64,
    /// Partitions held and healed.
    pub partitions: u64,
    /// From heal to converged, seconds.
    pub converge_after_heal_s: f64,
    /// Rounds of on-demand reconciliation until one found nothing.
    pub sync_rounds: u64,
    /// The largest resident set of any node process, MiB.
    pub peak_node_rss_mib: f64,
    /// The nodes' peak resident sets added up, MiB.
    pub total_node_rss_mib: f64,
}

impl RealReport {
    /// The report of a run.
    pub fn new(
        config: &SimConfig,
        network: &[RealNode],
        pushed: &Pushed,
        claims: &ClaimsOutcome,
        times: Times,
        relay: RelayStats,
        chaos: &Log,
    ) -> RealReport {
        let mut workload = claims.stats.clone();
        workload.receipts = pushed.acknowledged.len() as u64;
        workload.refunds = pushed.acknowledged.values().filter(|ack| ack.is_refund()).count() as u64;
        workload.routed_by_card =
            pushed.acknowledged.values().filter(|ack| ack.route == crate::workload::Route::Card).count()
                as u64;
        workload.pushes_retried = pushed.retried;
        let mib = |kib: u64| kib as f64 / 1024.0;
        RealReport {
            seed: config.seed,
            nodes: network.len(),
            faults: config.fault_mix.to_string(),
            wall_s: times.wall.as_secs_f64(),
            receipts_per_s: if times.pushing_s > 0.0 {
                workload.receipts as f64 / times.pushing_s
            } else {
                0.0
            },
            push_to_agency: Latency::of(&push_latency(pushed)),
            submit_to_paid: Latency::of(&claims.paid_latency),
            relay,
            kills: chaos.kills,
            partitions: chaos.partitions,
            converge_after_heal_s: times.converge_s,
            sync_rounds: times.sync_rounds,
            peak_node_rss_mib: mib(network.iter().map(|node| node.peak_rss_kib).max().unwrap_or(0)),
            total_node_rss_mib: mib(network.iter().map(|node| node.peak_rss_kib).sum()),
            workload,
        }
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let w = &self.workload;
        let latency = |l: &Latency| {
            format!("p50 {} ms  p99 {} ms  max {} ms  (n={})", l.p50_ms, l.p99_ms, l.max_ms, l.count)
        };
        let rows: Vec<(&str, String)> = vec![
            (
                "mode / seed / nodes / faults",
                format!("real / {} / {} / {}", self.seed, self.nodes, self.faults),
            ),
            (
                "receipts acknowledged",
                format!(
                    "{} ({} routed by card, {} refunds, {} pushed again after no answer)",
                    w.receipts, w.routed_by_card, w.refunds, w.pushes_retried
                ),
            ),
            (
                "claims",
                format!(
                    "{} submitted, {} approved, {} rejected, {} paid, {} abandoned",
                    w.claims_submitted,
                    w.claims_approved,
                    w.claims_rejected,
                    w.claims_paid,
                    w.claims_abandoned
                ),
            ),
            (
                "double claims refused",
                format!("{} (accepted: {})", w.double_claims_refused, w.double_claims_accepted),
            ),
            ("receipts/s while pushing", format!("{:.1}", self.receipts_per_s)),
            ("latency push → agency", latency(&self.push_to_agency)),
            ("latency submit → paid", latency(&self.submit_to_paid)),
            (
                "datagrams through the relay",
                format!(
                    "{} forwarded, {} lost, {} duplicated, {} cut",
                    self.relay.forwarded, self.relay.lost, self.relay.duplicated, self.relay.cut
                ),
            ),
            ("kills (SIGKILL), partitions", format!("{}, {}", self.kills, self.partitions)),
            (
                "converged after heal",
                format!(
                    "{:.1} s ({} rounds of on-demand sessions)",
                    self.converge_after_heal_s, self.sync_rounds
                ),
            ),
            ("wall time", format!("{:.1} s", self.wall_s)),
            (
                "node memory (peak RSS)",
                format!(
                    "{:.0} MiB largest, {:.0} MiB all nodes",
                    self.peak_node_rss_mib, self.total_node_rss_mib
                ),
            ),
        ];
        let mut out = String::new();
        for (name, value) in rows {
            let _ = writeln!(out, "  {name:<30} {value}");
        }
        out
    }

    /// The machine-readable last line, as the deterministic mode's with `mode=real`.
    pub fn result_line(&self, receipts_asked: usize, claims_asked: usize, invariants_ok: bool) -> String {
        let figures = LastLine {
            mode: Some("real"),
            seed: self.seed,
            nodes: self.nodes,
            faults: &self.faults,
            wall_s: self.wall_s,
            receipts_per_s: self.receipts_per_s,
        };
        figures.line(receipts_asked, claims_asked, invariants_ok)
    }
}
