//! `kvitt-sim`: runs a whole kvitt network in one process on virtual time, from a seed,
//! and checks its guarantees. A thin edge over the `kvitt_simulator` library.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kvitt_simulator::config::{FaultMix, Sabotage, SimConfig};
use kvitt_simulator::run::{run, Outcome};

const LONG_ABOUT: &str = "\
The kvitt simulator starts a whole network on one machine (many merchants, agencies \
and one shared service center) in one thread on virtual time: every node is the \
production node core over an in-memory ledger that loses what was not synced when the \
node is killed, joined by a simulated network that delays, loses, duplicates and \
reorders messages, cuts links and kills nodes. It drives a realistic workload (receipts \
from hotels, restaurants, taxis, trains, fuel stations and hotels abroad; claims, \
approvals, rejections, booking and payment; a receipt claimed twice; a merchant that \
signs two receipts with one serial), checks the network's guarantees and reports \
throughput and latency. Every run takes a seed and prints it; a failure prints the \
command that reproduces it.";

#[derive(Debug, Parser)]
#[command(name = "kvitt-sim", version, about = "Simulates a whole kvitt network on one machine.", long_about = LONG_ABOUT)]
struct Cli {
    /// The seed of the run.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// A range of seeds, one run each: `A..B` (B excluded).
    #[arg(long)]
    seeds: Option<String>,
    /// Nodes in all: one SSC, a quarter of the rest agencies, the others merchants.
    #[arg(long, default_value_t = 8)]
    nodes: usize,
    /// Receipts the tills push.
    #[arg(long, default_value_t = 300)]
    receipts: usize,
    /// Claims the employees file.
    #[arg(long, default_value_t = 30)]
    claims: usize,
    /// Employees of each agency.
    #[arg(long, default_value_t = 5)]
    employees: usize,
    /// Virtual days over which the receipts are bought.
    #[arg(long, default_value_t = 2)]
    days: u32,
    /// How often each node reconciles with each peer, in virtual seconds.
    #[arg(long, default_value_t = 1800)]
    reconcile_interval_s: i64,
    /// Faults: none, lossy, partitions, crashes, all, or mixed (each seed its own mix:
    /// the one at seed mod 5 in that list).
    #[arg(long, default_value = "all")]
    faults: String,
    /// Write the report of the (last) run as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// A deliberate bug, to see a violation reported: drop-acknowledged, panic-in-core.
    #[arg(long, hide = true)]
    sabotage: Option<String>,
}

fn seeds(cli: &Cli) -> anyhow::Result<std::ops::Range<u64>> {
    if let Some(range) = &cli.seeds {
        let (from, to) = range.split_once("..").context("--seeds takes A..B")?;
        let from: u64 = from.parse().context("--seeds: A is not a number")?;
        let to: u64 = to.parse().context("--seeds: B is not a number")?;
        if to <= from {
            bail!("--seeds {range}: the range is empty");
        }
        return Ok(from..to);
    }
    let seed = cli.seed.unwrap_or_else(|| {
        // No seed given: take one from the clock, and print it like any other.
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    });
    Ok(seed..seed.saturating_add(1))
}

fn config(cli: &Cli, seed: u64) -> anyhow::Result<SimConfig> {
    let mixed = FaultMix::ALL.get(usize::try_from(seed % 5).unwrap_or(0)).copied();
    let fault_mix = match cli.faults.as_str() {
        "mixed" => mixed,
        name => FaultMix::parse(name),
    }
    .with_context(|| {
        format!("--faults {:?}: expected none, lossy, partitions, crashes, all or mixed", cli.faults)
    })?;
    let sabotage = match cli.sabotage.as_deref() {
        None => None,
        Some("drop-acknowledged") => Some(Sabotage::DropAcknowledged),
        Some("panic-in-core") => Some(Sabotage::PanicInCore),
        Some(other) => bail!("--sabotage {other:?}: expected drop-acknowledged or panic-in-core"),
    };
    if cli.nodes < 3 {
        bail!("--nodes {}: at least 3 (an SSC, an agency, a merchant)", cli.nodes);
    }
    Ok(SimConfig {
        seed,
        nodes: cli.nodes,
        receipts: cli.receipts,
        claims: cli.claims,
        employees_per_agency: cli.employees.max(1),
        days: cli.days.max(1),
        reconcile_interval_s: cli.reconcile_interval_s.max(1),
        fault_mix,
        sabotage,
    })
}

fn one(config: &SimConfig, sweep: bool) -> anyhow::Result<Outcome> {
    eprintln!("kvitt-sim: seed={} ({})", config.seed, config.reproduce());
    let bar = if sweep { ProgressBar::hidden() } else { ProgressBar::new(config.receipts as u64) };
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} receipts acknowledged {per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let outcome = run(config, &mut |receipts| bar.set_position(receipts))?;
    bar.finish_and_clear();
    Ok(outcome)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match main_with(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("kvitt-sim: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn main_with(cli: &Cli) -> anyhow::Result<bool> {
    let seeds = seeds(cli)?;
    let sweep = seeds.end - seeds.start > 1;
    let mut all_ok = true;
    for seed in seeds {
        let config = config(cli, seed)?;
        let outcome = one(&config, sweep)?;
        let ok = outcome.violations.is_empty();
        if !sweep || !ok {
            print!("{}", outcome.report.table());
            println!("  wire trace hash              {}", outcome.wire_hash);
            println!("  ledger hash                  {}", outcome.ledger_hash);
        }
        for violation in &outcome.violations {
            println!("VIOLATION: {}\n  {}", violation.invariant, violation.details);
        }
        if !ok {
            println!("reproduce with: {}", config.reproduce());
        }
        if let Some(path) = &cli.json {
            let json = serde_json::json!({
                "report": outcome.report,
                "violations": outcome.violations,
                "wire_hash": outcome.wire_hash,
                "ledger_hash": outcome.ledger_hash,
            });
            std::fs::write(path, serde_json::to_string_pretty(&json)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        println!("{}", outcome.report.result_line(config.receipts, config.claims, ok));
        all_ok &= ok;
    }
    Ok(all_ok)
}
