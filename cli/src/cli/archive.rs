//! `kvitt archive export` and `kvitt archive verify`: the seven-year archive. The work is
//! in [`kvitt_node::archive`]; this parses the flags and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use kvitt_node::archive::{self, ArchiveError, Period};

const ARCHIVE_AFTER_HELP: &str = "\
A bundle is a plain tar (no compression) holding every record of the period as signed \
(CBOR, RFC 8949; ed25519, RFC 8032), the directory versions that vouch for the signers, \
each claim's chain of events, the protocol's specification, a README.txt saying how to \
verify it without kvitt, and MANIFEST.sha256 (`sha256sum -c` format) over every other file.

Examples:
  kvitt archive export --data /var/lib/kvitt-ssc --from 2026-01-01 --to 2026-12-31 --out kvitt-2026.tar
  kvitt archive verify kvitt-2026.tar

Exit status: 0 written or verified, 1 the bundle does not verify, 2 usage or input error \
(a running node holding its ledger, an existing --out, a bundle that cannot be opened).";

/// `kvitt archive`.
#[derive(Debug, clap::Subcommand)]
#[command(after_help = ARCHIVE_AFTER_HELP)]
pub enum ArchiveCommand {
    /// Write the records of a period from a stopped node's ledger into a bundle.
    ///
    /// A record is in the period if its time (a receipt's sale, a claim's creation, an event's) falls
    /// on one of its days (UTC); a claim brings its whole chain and its receipts.
    Export {
        /// The node's data directory (the node must be stopped: its ledger is locked).
        #[arg(long, value_name = "DIR", env = "KVITT_DATA")]
        data: PathBuf,
        /// First day of the period, YYYY-MM-DD (UTC).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: time::Date,
        /// Last day of the period, YYYY-MM-DD (UTC), included.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        to: time::Date,
        /// The bundle to write; it must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check a bundle offline, naming the first file and record that fails.
    ///
    /// It checks the manifest's hashes, every signature (strict ed25519) against the bundle's directories signed by its operator, content ids, claim chains.
    Verify {
        /// The bundle.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// A day as `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<time::Date, String> {
    time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|error| format!("{text:?} is not a date YYYY-MM-DD: {error}"))
}

/// Runs `kvitt archive`.
pub fn main(command: &ArchiveCommand) -> anyhow::Result<ExitCode> {
    match command {
        ArchiveCommand::Export { data, from, to, out } => {
            let summary = archive::export_data_dir(data, Period::new(*from, *to)?, out)?;
            let records: Vec<String> =
                summary.records.iter().map(|(kind, count)| format!("{count} {kind}")).collect();
            println!(
                "Wrote {}: {} records ({}), {} directory versions, {} claim chains.",
                out.display(),
                summary.records.values().sum::<usize>(),
                if records.is_empty() { "none".to_owned() } else { records.join(", ") },
                summary.directories,
                summary.chains
            );
            println!(
                "SHA-256 of its MANIFEST.sha256: {}\nKeep this hash apart from the bundle (in the books, or signed): it pins every file.",
                summary.manifest_sha256
            );
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Verify { file } => match archive::verify_bundle(file) {
            Ok(report) => {
                let records: Vec<String> =
                    report.records.iter().map(|(kind, count)| format!("{count} {kind}")).collect();
                println!("{}: verified.", file.display());
                println!(
                    "  period {} to {} of network {}, exported by {} at {}",
                    report.info.from,
                    report.info.to,
                    report.info.network,
                    report.info.exported_by,
                    report.info.exported_at
                );
                println!("  {} files match MANIFEST.sha256 (SHA-256)", report.files);
                println!(
                    "  {} directory versions signed by the operator {}",
                    report.directories, report.info.operator_key
                );
                println!(
                    "  {} records ({}): canonical CBOR, content id = SHA-256 of the bytes, ed25519 signature (strict), signer listed in a directory",
                    report.records.values().sum::<usize>(),
                    if records.is_empty() { "none".to_owned() } else { records.join(", ") }
                );
                println!("  {} claim chains complete, every claimed receipt present", report.chains);
                Ok(ExitCode::SUCCESS)
            }
            Err(error @ ArchiveError::Io { .. }) => Err(error.into()),
            Err(error) => {
                eprintln!("kvitt: {} does not verify: {error}", file.display());
                Ok(ExitCode::from(1))
            }
        },
    }
}
