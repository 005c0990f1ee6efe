//! `kvitt-sim`: runs a whole kvitt network in one process on virtual time, from a seed,
//! and checks its guarantees. A thin edge over the `kvitt_simulator` library.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kvitt_simulator::config::{FaultMix, Sabotage, SimConfig};
use kvitt_simulator::real::RealOptions;
use kvitt_simulator::run::{run, Outcome};

const LONG_ABOUT: &str = "\
The kvitt simulator starts a whole network on one machine (many merchants, agencies \
and one shared service center) in one thread on virtual time: every node is the \
production node core over an in-memory ledger that loses what was not synced when the \
node is killed, joined by a simulated network that delays, loses, duplicates and \
reorders messages, cuts links and kills nodes. It drives a realistic workload (receipts \
from hotels, restaurants, taxis, trains, fuel stations and hotels abroad; claims, \
approvals, rejections, booking and payment; a receipt claimed twice; a merchant that \
signs two receipts with one serial). A receipt reaches its agency one of three ways: the \
till names the buyer; the till pushes only the card of an employee whose agency enrolled \
it, and the merchant's node finds the agency (5 % of those tills at Swedish merchants \
speak SDRS: their XML document, naming the card's PAR, is imported and pushed by that \
card); or the sale is paid in cash, signed \
without a buyer, and the employee's agency collects it with its receipt code (some codes \
are never collected, some first guessed wrongly, some presented again by another agency \
and refused). It checks the network's guarantees (among them: no receipt or assignment \
reaches an agency that did not enrol its card or present its code, and no code is \
collected twice) and reports \
throughput and latency. Every run takes a seed and prints it; a failure prints the \
command that reproduces it.

With --real, the same cast runs as separate `kvitt run` processes on loopback (real \
QUIC, TLS and sled ledgers), listed in the directory at the fronts of a fault-injecting \
UDP relay that drops, duplicates, delays and cuts their datagrams; the agencies enrol \
their employees' cards and the tills push sales with only the card; tills, employees, \
approvers and SSC staff use the client API while nodes are killed with SIGKILL and \
restarted. After the faults heal the nodes reconcile on demand until nothing is \
missing, are stopped, and the checks read copies of their ledgers.";

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
    /// How often each node reconciles with each peer, in seconds (virtual; wall time
    /// with --real). Default: 1800, with --real 15.
    #[arg(long)]
    reconcile_interval_s: Option<i64>,
    /// Faults: none, lossy, partitions, crashes, all, or mixed (each seed its own mix:
    /// the one at seed mod 5 in that list).
    #[arg(long, default_value = "all")]
    faults: String,
    /// Real mode: separate `kvitt run` processes on loopback with real QUIC and sled,
    /// driven through the client API, killed with SIGKILL and restarted, their datagrams
    /// passed through a fault-injecting UDP relay.
    #[arg(long)]
    real: bool,
    /// With --real: the kvitt binary (default: `kvitt` beside this program, which
    /// `cargo build -p kvitt` puts there).
    #[arg(long, requires = "real")]
    kvitt: Option<std::path::PathBuf>,
    /// With --real: an empty directory for the nodes' data and logs, kept after the run
    /// (default: a temporary one, removed after a run without violations).
    #[arg(long, requires = "real")]
    data: Option<std::path::PathBuf>,
    /// With --real: the seconds over which the tills spread their purchases, while the
    /// faults go on (0: push as fast as the nodes answer, to measure their capacity).
    #[arg(long, requires = "real", default_value_t = 20)]
    duration_s: u64,
    /// Write the report of the (last) run as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// A deliberate bug, to see a violation reported: drop-acknowledged, panic-in-core,
    /// leak-card-receipt, leak-code-receipt.
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
        Some("leak-card-receipt") => Some(Sabotage::LeakCardReceipt),
        Some("leak-code-receipt") => Some(Sabotage::LeakCodeReceipt),
        Some(other) => bail!(
            "--sabotage {other:?}: expected drop-acknowledged, panic-in-core, leak-card-receipt or leak-code-receipt"
        ),
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
        reconcile_interval_s: cli.reconcile_interval_s.unwrap_or(if cli.real { 15 } else { 1800 }).max(1),
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
    // The real mode's nodes, ledgers and logs are private, as `kvitt`'s are.
    kvitt_node::permissions::restrict_umask();
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

/// The `kvitt` binary real mode runs: `--kvitt`, else the one beside this program.
fn kvitt_binary(cli: &Cli) -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = &cli.kvitt {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().context("finding this program's path")?;
    let folder = exe.parent().context("this program's folder")?;
    Ok(folder.join(format!("kvitt{}", std::env::consts::EXE_SUFFIX)))
}

/// One real-mode run of `config`: its report, violations and result line; whether it kept
/// every guarantee.
fn one_real(cli: &Cli, config: &SimConfig, sweep: bool) -> anyhow::Result<bool> {
    let options = RealOptions {
        kvitt: kvitt_binary(cli)?,
        data: cli.data.clone(),
        reconcile_interval_secs: u64::try_from(config.reconcile_interval_s).unwrap_or(1),
        duration: std::time::Duration::from_secs(cli.duration_s),
    };
    let reproduce = format!("{} --real --duration-s {}", config.reproduce(), cli.duration_s);
    eprintln!("kvitt-sim: seed={} ({reproduce})", config.seed);
    let bar = if sweep { ProgressBar::hidden() } else { ProgressBar::new(config.receipts as u64) };
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} receipts acknowledged by real nodes {per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let outcome = kvitt_simulator::real::run(config, &options, &|receipts| bar.set_position(receipts))?;
    bar.finish_and_clear();
    let ok = outcome.violations.is_empty();
    if !sweep || !ok {
        print!("{}", outcome.report.table());
    }
    for violation in &outcome.violations {
        println!("VIOLATION: {}\n  {}", violation.invariant, violation.details);
    }
    if !ok {
        println!("the nodes' data and logs: {}", outcome.data.display());
        println!("reproduce with: {reproduce}");
    }
    if let Some(path) = &cli.json {
        let json = serde_json::json!({"report": outcome.report, "violations": outcome.violations});
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", outcome.report.result_line(config.receipts, config.claims, ok));
    Ok(ok)
}

fn main_with(cli: &Cli) -> anyhow::Result<bool> {
    let seeds = seeds(cli)?;
    let sweep = seeds.end - seeds.start > 1;
    let mut all_ok = true;
    for seed in seeds {
        let config = config(cli, seed)?;
        if cli.real {
            all_ok &= one_real(cli, &config, sweep)?;
            continue;
        }
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
