//! `kvitt backup` and `kvitt restore`: a whole node into one bundle and back. The work is
//! in [`kvitt_node::backup`]; this fetches a running node's ledger through its API, parses
//! the flags and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use kvitt_node::backup::{self, BackupError};
use kvitt_node::core::CallerRole;

use super::client::{Client, ClientOptions, Failure};

const BACKUP_AFTER_HELP: &str = "\
The node may be running: its ledger is then dumped through its API (GET /v1/admin/backup, \
as the operator PERSON) while no write is applied, so the copy is one state of the ledger; \
the node's writes wait meanwhile (about a second per 100,000 receipts, docs/operations.md). \
A stopped node's ledger is read directly. The node's files (node.key, config.toml, \
directory.cbor, access.json and, where the node has them, operator.key, \
directory-draft.toml, policy.toml, rates.json, routing.key) are read from DIR: no secret \
crosses the API.

The bundle is a plain tar, private (0600), written whole or not at all: README.txt, \
MANIFEST.sha256 (`sha256sum -c` format), backup.json, files/<name>, ledger.dump. It holds \
the node's secret key: keep it as you keep that key.

Examples:
  kvitt backup --data /var/lib/kvitt --out /backups/kvitt-$(date +%F).tar
  kvitt restore --from /backups/kvitt-2026-12-07.tar --data /var/lib/kvitt-restored

Exit status: 0 written, 2 usage or input error (an existing --out, a node that does not \
answer, a dump that does not check).";

const RESTORE_AFTER_HELP: &str = "\
The whole bundle is checked first: every file against MANIFEST.sha256, the ledger's dump \
against its own count and SHA-256 and against backup.json. A damaged or truncated bundle \
is refused, naming the file at fault, and nothing is written.

The restored node signs nothing (node.recovering) until `kvitt recover` has reconciled \
with every peer: what the node acknowledged after the backup comes back from its peers, \
and no register serial or number it issued after the backup is issued again. Never run \
the restored node beside the original: they share one key.

Then:
  kvitt run --data DIR
  kvitt recover --data DIR --as operator

Exit status: 0 restored, 2 usage or input error (a damaged bundle, a DIR that is not empty).";

/// `kvitt backup`.
#[derive(Debug, clap::Args)]
#[command(after_help = BACKUP_AFTER_HELP)]
pub struct BackupArgs {
    /// The node's data directory (running or stopped).
    #[arg(long, value_name = "DIR", env = "KVITT_DATA")]
    data: PathBuf,
    /// The bundle to write; it must not exist.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The operator of DIR/access.json the running node's API is asked as.
    #[arg(long = "as", value_name = "PERSON", default_value = "operator")]
    person: String,
}

/// `kvitt restore`.
#[derive(Debug, clap::Args)]
#[command(after_help = RESTORE_AFTER_HELP)]
pub struct RestoreArgs {
    /// The bundle `kvitt backup` wrote.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The new data directory: absent or empty.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
}

/// Runs `kvitt backup`.
pub fn backup(args: &BackupArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() {
        return Err(BackupError::OutExists(args.out.clone()).into());
    }
    let spool = match args.out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let (dump, online) = match backup::dump_stopped(&args.data, &spool) {
        Ok(dump) => (dump, false),
        Err(BackupError::Running(_)) => (fetch(&args.data, &args.person, &spool)?, true),
        Err(error) => return Err(error.into()),
    };
    let summary = backup::write_bundle(&args.data, dump, online, &args.out, time::OffsetDateTime::now_utc())?;
    println!(
        "Wrote {}: the ledger's {} entries ({} bytes, {} node), and {}.",
        args.out.display(),
        summary.ledger_entries,
        summary.ledger_bytes,
        if online { "from the running" } else { "read from the stopped" },
        summary.files.join(", ")
    );
    println!(
        "SHA-256 of its MANIFEST.sha256: {}\nIt holds the node's secret key: keep it as you keep that key.",
        summary.manifest_sha256
    );
    Ok(ExitCode::SUCCESS)
}

/// The running node's dump, through its API, in an unnamed file in `spool`.
fn fetch(data: &Path, person: &str, spool: &Path) -> anyhow::Result<std::fs::File> {
    let options = ClientOptions::for_person(data.to_owned(), person.to_owned());
    let client = Client::connect(&options, &[CallerRole::Operator])?;
    let mut file =
        tempfile::tempfile_in(spool).with_context(|| format!("a spool file in {}", spool.display()))?;
    let headers = client.get_into("/v1/admin/backup", &mut file).map_err(|failure| match failure {
        Failure::Problem(problem) => anyhow!("{problem}"),
        Failure::Other(error) => error,
    })?;
    if let Some(paused) =
        headers.get(kvitt_node::api::BACKUP_PAUSE_HEADER).and_then(|value| value.to_str().ok())
    {
        println!("The node's writes waited {paused} ms while its ledger was read.");
    }
    use std::io::Seek;
    file.rewind().context("rewinding the spool file")?;
    Ok(file)
}

/// Runs `kvitt restore`.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let summary = backup::restore_bundle(&args.from, &args.data, time::OffsetDateTime::now_utc())?;
    let info = &summary.info;
    println!(
        "Restored {} ({}, key {}) as backed up at {} into {}: {} records, and {}.",
        info.name,
        info.org,
        info.node_key,
        info.taken_at,
        args.data.display(),
        summary.records,
        summary.files.join(", ")
    );
    if !summary.recovery_noted {
        println!("The node was recovering already when it was backed up: that recovery goes on.");
    }
    println!(
        "The node signs nothing until it has caught up with its peers. Next:\n  kvitt run --data {0}\n  kvitt recover --data {0} --as operator",
        args.data.display()
    );
    Ok(ExitCode::SUCCESS)
}
