//! `kvitt sync`: the operator has their node reconcile its ledger with its peers now,
//! rather than at the next interval, and sees what each session found.

use std::process::ExitCode;

use kvitt_node::core::CallerRole;
use serde::Deserialize;

use super::client::ClientOptions;
use super::output::{table, Align};
use super::run;

const SYNC_AFTER_HELP: &str = "\
Examples:
  kvitt sync --data /var/lib/kvitt-agency --as operator
  kvitt sync --peer 556677-8899 --data /var/lib/kvitt-agency --as operator

Exit status: 0 every session finished, 1 the node refused or a session did not finish \
(the table says why), 2 usage or connection error.";

/// `kvitt sync`.
#[derive(Debug, clap::Args)]
#[command(after_help = SYNC_AFTER_HELP)]
pub struct SyncArgs {
    /// Only this peer: its organisation number or node key (hex). Every peer this node
    /// shares a channel with if absent.
    #[arg(long, value_name = "ORG|KEY")]
    peer: Option<String>,
    #[command(flatten)]
    options: ClientOptions,
}

/// One session of POST /v1/sync.
#[derive(Deserialize)]
struct Session {
    org: String,
    ok: bool,
    #[serde(default)]
    they_lack: usize,
    #[serde(default)]
    we_lack: usize,
    #[serde(default)]
    frames_sent: usize,
    #[serde(default)]
    bytes_sent: usize,
    #[serde(default)]
    bytes_received: usize,
    #[serde(default)]
    millis: u64,
    #[serde(default)]
    error: String,
}

/// Runs `kvitt sync`.
pub fn main(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    run(&args.options, &[CallerRole::Operator], |client, output| {
        let body = serde_json::json!({ "peer": args.peer }).to_string();
        let answer = client.post("/v1/sync", Some(&body))?;
        let sessions: Vec<Session> = super::output::parse(&answer)?;
        let all_finished = sessions.iter().all(|session| session.ok);
        output.answer(&answer, |sessions: Vec<Session>| render(&sessions))?;
        Ok(if all_finished { ExitCode::SUCCESS } else { ExitCode::from(1) })
    })
}

fn render(sessions: &[Session]) -> String {
    if sessions.is_empty() {
        return "no peer shares a channel with this node".to_owned();
    }
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|session| {
            if !session.ok {
                let failed = format!("did not finish: {}", session.error);
                return vec![session.org.clone(), "-".into(), "-".into(), "-".into(), failed];
            }
            vec![
                session.org.clone(),
                session.they_lack.to_string(),
                session.we_lack.to_string(),
                format!(
                    "{} frames, {} B out, {} B in",
                    session.frames_sent, session.bytes_sent, session.bytes_received
                ),
                format!("{} ms", session.millis),
            ]
        })
        .collect();
    let columns = [
        ("PEER", Align::Left),
        ("THEY LACK", Align::Right),
        ("WE LACK", Align::Right),
        ("EXCHANGED", Align::Left),
        ("TOOK", Align::Left),
    ];
    let mut text = table(&columns, &rows);
    text.push_str("\nRecords a peer lacks are sent to it now; those this node lacks, the peer sends.");
    text
}
