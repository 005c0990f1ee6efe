//! `kvitt recover`: the operator of a node whose ledger was found damaged at start (moved
//! aside, the node signing nothing) has it fetch its records back from its peers. Each
//! round is one POST /v1/recover: the node reconciles with every peer, the peers send what
//! it lacks, and once none holds anything it lacks the node reports what no peer returned,
//! raises its serials and numbers above its floor, and signs again.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use kvitt_node::core::{CallerRole, PeerProgress, Recovery, RecoveryReport, RecoveryStatus};

use super::client::ClientOptions;
use super::output::parse;
use super::run;

/// Pause between rounds: the peers send what they found this node lacks meanwhile.
pub const ROUND_PAUSE: Duration = Duration::from_secs(1);

const RECOVER_AFTER_HELP: &str = "\
When a node starts and finds its ledger damaged (sled cannot open it or panics on it, or it \
holds less than its floor, DIR/ledger.floor, says it acknowledged), it moves the ledger \
aside as DIR/ledger.damaged-<unix seconds> (kept, never deleted), copies what it could \
still read into a new ledger, and signs nothing (receipts, claims, events are refused \
with node.recovering, HTTP 503) until this command has run.

Each round, the node reconciles with every peer it shares a channel with; the peers send \
back the records it lacks (a merchant's receipts from the agencies, an agency's claims \
from its SSC, ...). When no peer holds anything it lacks, the node reports the receipts \
it had acknowledged that no peer returned (by register and serial), makes sure it never \
issues those serials or numbers again, and signs again.

Examples:
  kvitt recover --data /var/lib/kvitt-merchant --as operator
  kvitt recover --partial --data /var/lib/kvitt-merchant --as operator

Exit status: 0 recovered (any losses are listed) or nothing to recover, 1 the node refused \
or the recovery did not finish within --timeout, 2 usage or connection error.";

/// `kvitt recover`.
#[derive(Debug, clap::Args)]
#[command(after_help = RECOVER_AFTER_HELP)]
pub struct RecoverArgs {
    /// Finish even though some peers cannot be reached or still hold records this node
    /// lacks: what they hold comes back by ordinary reconciliation later. Refused if the
    /// node's floor was lost too (then only the peers can say how far its series went).
    #[arg(long)]
    partial: bool,
    /// Stop trying after this many seconds (the node stays recovering; run it again).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    timeout: u64,
    #[command(flatten)]
    options: ClientOptions,
}

/// Runs `kvitt recover`: rounds until the recovery finishes or `--timeout` passes.
pub fn main(args: &RecoverArgs) -> anyhow::Result<ExitCode> {
    run(&args.options, &[CallerRole::Operator], |client, output| {
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        let body = serde_json::json!({ "partial": args.partial }).to_string();
        let mut round = 0u32;
        loop {
            round = round.saturating_add(1);
            let answer = client.post("/v1/recover", Some(&body))?;
            let status: RecoveryStatus = parse(&answer)?;
            let (text, code) = match &status {
                RecoveryStatus::NotRecovering { last: None } => (
                    "This node is not recovering: its ledger was sound at start.".to_owned(),
                    ExitCode::SUCCESS,
                ),
                RecoveryStatus::NotRecovering { last: Some(report) } => (
                    format!("This node is not recovering. The last recovery:\n{}", render(report)),
                    ExitCode::SUCCESS,
                ),
                RecoveryStatus::Finished(report) => (render(report), ExitCode::SUCCESS),
                RecoveryStatus::Recovering { recovery, records_now, peers } => {
                    let line = progress(round, recovery, *records_now, peers);
                    if Instant::now() >= deadline {
                        let text = format!(
                            "{line}\nThe recovery did not finish within {} s; the node still signs nothing. \
                             Run `kvitt recover` again, or with --partial to finish without the peers above.",
                            args.timeout
                        );
                        (text, ExitCode::from(1))
                    } else {
                        // Progress goes to standard error with --json, whose standard
                        // output is the node's final answer alone.
                        if output.is_json() {
                            eprintln!("{line}");
                        } else {
                            println!("{line}");
                        }
                        std::thread::sleep(ROUND_PAUSE);
                        continue;
                    }
                }
            };
            output.answer(&answer, |_: serde_json::Value| text)?;
            return Ok(code);
        }
    })
}

/// One round's line: what the ledger holds and what each peer still has to send.
fn progress(round: u32, recovery: &Recovery, records_now: u64, peers: &[PeerProgress]) -> String {
    let before = recovery.floor.as_ref().map_or("unknown".to_owned(), |floor| floor.records.to_string());
    let peers: Vec<String> = peers
        .iter()
        .map(|peer| match (&peer.lacking, &peer.error) {
            (Some(0), _) => format!("{} settled", peer.org),
            (Some(lacking), _) => format!("{} sends {lacking} records this node lacks", peer.org),
            (None, error) => {
                format!("{} not reached ({})", peer.org, error.as_deref().unwrap_or("no answer"))
            }
        })
        .collect();
    format!(
        "round {round}: the ledger holds {records_now} records ({} when the recovery began, {before} before the damage); {}",
        recovery.records_at_start,
        if peers.is_empty() { "no peers".to_owned() } else { peers.join("; ") }
    )
}

/// A finished recovery in words: what came back, what is lost, what was raised.
fn render(report: &RecoveryReport) -> String {
    let recovery = &report.recovery;
    let mut lines = vec![format!("Recovered ({}, since {}).", recovery.reason, recovery.since)];
    if let Some(aside) = &recovery.aside {
        lines.push(format!("The damaged ledger is kept at {aside}."));
    }
    let before =
        recovery.floor.as_ref().map_or("an unknown number of".to_owned(), |floor| floor.records.to_string());
    lines.push(format!(
        "The ledger holds {} records: {} when the recovery began, {before} before the damage.",
        report.records_now, recovery.records_at_start
    ));
    if report.lost_receipts == 0 {
        lines.push("Every receipt this node had acknowledged is back.".into());
    } else {
        lines.push(format!(
            "LOST: {} receipts this node acknowledged were returned by no peer (the tills' copies are \
             the only ones left); their serials are never issued again:",
            report.lost_receipts
        ));
        for lost in &report.lost {
            lines.push(format!("  register {} serials {}–{}", lost.register, lost.from, lost.to));
        }
    }
    for raised in &recovery.raised {
        let from = raised.from.map_or("none".to_owned(), |from| from.to_string());
        lines.push(format!(
            "{}: raised from {from} to {}; the next is {}.",
            raised.what,
            raised.to,
            raised.to.saturating_add(1)
        ));
    }
    if !report.unsettled.is_empty() {
        lines.push(format!(
            "Finished without {} (--partial): what they hold comes back by ordinary reconciliation.",
            report.unsettled.join(", ")
        ));
    }
    lines.join("\n")
}
