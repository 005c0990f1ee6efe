//! The figures of a run: throughput (virtual and wall), latencies, traffic per record,
//! reconciliation, convergence; printed as a table, written as JSON, and summed up in the
//! machine-readable last line.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::config::SimConfig;
use crate::workload::{Workload, WorkloadStats};
use crate::world::World;

/// Percentiles of one latency, in virtual milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// Largest.
    pub max_ms: u64,
}

/// An empty latency histogram (milliseconds, three significant figures).
#[allow(clippy::expect_used)] // Three significant figures are always valid (1 to 5 are).
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures")
}

impl Latency {
    /// The percentiles of `histogram`.
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        Latency {
            count: histogram.len(),
            p50_ms: histogram.value_at_quantile(0.5),
            p99_ms: histogram.value_at_quantile(0.99),
            max_ms: histogram.max(),
        }
    }
}

/// Everything a run reports.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Nodes.
    pub nodes: usize,
    /// The fault mix.
    pub faults: String,
    /// What the workload counted.
    pub workload: WorkloadStats,
    /// Wall time, seconds.
    pub wall_s: f64,
    /// Virtual time from the first purchase to the network settled, seconds.
    pub virtual_s: f64,
    /// Receipts acknowledged per wall second.
    pub receipts_per_wall_s: f64,
    /// Receipts acknowledged per virtual second (over the virtual span).
    pub receipts_per_virtual_s: f64,
    /// Claims submitted per wall second.
    pub claims_per_wall_s: f64,
    /// Claims submitted per virtual second.
    pub claims_per_virtual_s: f64,
    /// Push → stored at the agency.
    pub push_to_agency: Latency,
    /// Submit → paid at the SSC.
    pub submit_to_paid: Latency,
    /// Request and answer messages.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Messages per record (receipt or claim).
    pub messages_per_record: f64,
    /// Bytes per record.
    pub bytes_per_record: f64,
    /// Messages lost and duplicated.
    pub lost: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
    /// Reconciliation sessions started and finished.
    pub sessions_started: u64,
    /// Sessions finished.
    pub sessions_finished: u64,
    /// Sessions that found a difference.
    pub sessions_with_difference: u64,
    /// Records sessions found missing.
    pub records_found_by_sessions: u64,
    /// Reconciliation frames and bytes.
    pub reconcile_frames: u64,
    /// Their bytes.
    pub reconcile_bytes: u64,
    /// Virtual seconds from the last fault healed (or the last purchase) to settled.
    pub converge_after_heal_s: f64,
    /// Events handled and core steps taken.
    pub events: u64,
    /// Core steps.
    pub core_steps: u64,
    /// Peak resident memory of the process, MiB (Linux; 0 elsewhere).
    pub peak_memory_mib: f64,
}

fn per(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The process's peak resident set, from /proc/self/status.
fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

impl Report {
    /// The report of a run; `(start, settled, healed)` are virtual times in ms.
    pub fn new(
        config: &SimConfig,
        world: &World,
        workload: &Workload,
        (start_ms, settled_ms, healed_ms): (i64, i64, i64),
        wall: Duration,
    ) -> Report {
        let wall_s = wall.as_secs_f64();
        let virtual_s = (settled_ms - start_ms) as f64 / 1000.0;
        let stats = workload.stats.clone();
        let records = stats.receipts + stats.claims_submitted;
        let traffic = &world.net.traffic;
        Report {
            seed: config.seed,
            nodes: world.nodes.len(),
            faults: config.fault_mix.to_string(),
            wall_s,
            virtual_s,
            receipts_per_wall_s: per(stats.receipts, wall_s),
            receipts_per_virtual_s: per(stats.receipts, virtual_s),
            claims_per_wall_s: per(stats.claims_submitted, wall_s),
            claims_per_virtual_s: per(stats.claims_submitted, virtual_s),
            push_to_agency: Latency::of(&workload.push_latency),
            submit_to_paid: Latency::of(&workload.paid_latency),
            messages: traffic.messages,
            bytes: traffic.bytes,
            messages_per_record: per(traffic.messages, records as f64),
            bytes_per_record: per(traffic.bytes, records as f64),
            lost: traffic.lost,
            duplicated: traffic.duplicated,
            sessions_started: world.sessions.started,
            sessions_finished: world.sessions.finished,
            sessions_with_difference: world.sessions.with_difference,
            records_found_by_sessions: world.sessions.records_found,
            reconcile_frames: traffic.reconcile_messages,
            reconcile_bytes: traffic.reconcile_bytes,
            converge_after_heal_s: (settled_ms - healed_ms).max(0) as f64 / 1000.0,
            events: world.events,
            core_steps: world.steps,
            peak_memory_mib: peak_memory_mib(),
            workload: stats,
        }
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let w = &self.workload;
        let latency = |l: &Latency| {
            format!("p50 {} ms  p99 {} ms  max {} ms  (n={})", l.p50_ms, l.p99_ms, l.max_ms, l.count)
        };
        let rows: Vec<(&str, String)> = vec![
            ("seed / nodes / faults", format!("{} / {} / {}", self.seed, self.nodes, self.faults)),
            (
                "receipts acknowledged",
                format!(
                    "{} ({} routed by card, {} of them from SDRS tills, {} refunds, {} reissues, {} pushes retried)",
                    w.receipts, w.routed_by_card, w.sdrs_receipts, w.refunds, w.reissues, w.pushes_retried
                ),
            ),
            (
                "receipt codes",
                format!(
                    "{} cash receipts, {} collected by their agency, {} wrong guesses refused, {} presented again by another agency and refused",
                    w.cash_receipts, w.codes_collected, w.code_guesses_refused, w.codes_refused_again
                ),
            ),
            (
                "claims",
                format!(
                    "{} submitted, {} approved, {} rejected, {} rejected by SSC, {} paid ({} reversed since), {} abandoned",
                    w.claims_submitted,
                    w.claims_approved,
                    w.claims_rejected,
                    w.claims_rejected_by_ssc,
                    w.claims_paid,
                    w.claims_reversed,
                    w.claims_abandoned
                ),
            ),
            (
                "double claims refused",
                format!("{} (accepted: {})", w.double_claims_refused, w.double_claims_accepted),
            ),
            (
                "receipts/s virtual, wall",
                format!("{:.2}, {:.0}", self.receipts_per_virtual_s, self.receipts_per_wall_s),
            ),
            (
                "claims/s virtual, wall",
                format!("{:.4}, {:.1}", self.claims_per_virtual_s, self.claims_per_wall_s),
            ),
            ("latency push → agency", latency(&self.push_to_agency)),
            ("latency submit → paid", latency(&self.submit_to_paid)),
            (
                "messages, bytes per record",
                format!(
                    "{:.2}, {:.0} ({} messages, {} lost, {} duplicated)",
                    self.messages_per_record,
                    self.bytes_per_record,
                    self.messages,
                    self.lost,
                    self.duplicated
                ),
            ),
            (
                "reconciliation sessions",
                format!(
                    "{} started, {} finished, {} found {} records; {} frames, {} bytes",
                    self.sessions_started,
                    self.sessions_finished,
                    self.sessions_with_difference,
                    self.records_found_by_sessions,
                    self.reconcile_frames,
                    self.reconcile_bytes
                ),
            ),
            ("converged after heal", format!("{:.0} virtual s", self.converge_after_heal_s)),
            ("virtual time, wall time", format!("{:.0} s, {:.2} s", self.virtual_s, self.wall_s)),
            ("events, core steps", format!("{}, {}", self.events, self.core_steps)),
            ("peak memory", format!("{:.0} MiB", self.peak_memory_mib)),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "  {name:<28} {value}");
        }
        for (what, count) in &w.refusals {
            let _ = writeln!(out, "  {:<28} {count} × {what}", "unexpected answer");
        }
        out
    }

    /// The machine-readable last line.
    pub fn result_line(&self, receipts_asked: usize, claims_asked: usize, invariants_ok: bool) -> String {
        let figures = LastLine {
            mode: None,
            seed: self.seed,
            nodes: self.nodes,
            faults: &self.faults,
            wall_s: self.wall_s,
            receipts_per_s: self.receipts_per_wall_s,
        };
        figures.line(receipts_asked, claims_asked, invariants_ok)
    }
}

/// What the machine-readable last line of a run of either mode says.
pub struct LastLine<'a> {
    /// `Some("real")` for real mode; the deterministic mode names none.
    pub mode: Option<&'a str>,
    /// The seed.
    pub seed: u64,
    /// Nodes.
    pub nodes: usize,
    /// The fault mix.
    pub faults: &'a str,
    /// Wall time, seconds.
    pub wall_s: f64,
    /// Receipts acknowledged per wall second.
    pub receipts_per_s: f64,
}

impl LastLine<'_> {
    /// `result: [mode=… ]seed=… nodes=… receipts=… claims=… faults=… wall_s=… receipts_per_s=… invariants=ok|violated`.
    pub fn line(&self, receipts_asked: usize, claims_asked: usize, invariants_ok: bool) -> String {
        let mode = self.mode.map(|mode| format!("mode={mode} ")).unwrap_or_default();
        format!(
            "result: {mode}seed={} nodes={} receipts={receipts_asked} claims={claims_asked} faults={} wall_s={:.2} receipts_per_s={:.0} invariants={}",
            self.seed,
            self.nodes,
            self.faults,
            self.wall_s,
            self.receipts_per_s,
            if invariants_ok { "ok" } else { "violated" }
        )
    }
}
