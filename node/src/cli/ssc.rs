//! `kvitt ssc …`: the shared service center's staff book and pay approved claims, export
//! an agency's booked claims as an SIE file, and look at the exceptions (a receipt claimed
//! twice, a party that signed two versions of a record).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;

use clap::Subcommand;
use kvitt_node::core::CallerRole;
use kvitt_protocol::RecordId;
use serde::Deserialize;

use super::claim::decide;
use super::client::{query, ClientOptions};
use super::output::{table, Align};
use super::{input, run};

/// `kvitt ssc …`.
#[derive(Debug, clap::Args)]
pub struct SscArgs {
    #[command(subcommand)]
    command: SscCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Debug, Subcommand)]
enum SscCommand {
    /// Book an approved claim as the next voucher of its agency's series.
    ///
    /// The SSC node signs a `booked` event with the voucher number and sends it back to
    /// the agency. Needs an SSC staff token.
    #[command(after_help = "Example:\n  kvitt ssc book ID --data /var/lib/kvitt-ssc --as anna")]
    Book {
        /// The claim's id (`kvitt claim list` at the SSC shows them).
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
    },
    /// Mark a booked claim paid today.
    ///
    /// The SSC node signs a `paid` event and sends it back to the agency. Needs an SSC
    /// staff token.
    Pay {
        /// The claim's id.
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
    },
    /// Export an agency's booked claims as an SIE 4I file for its accounting system.
    ///
    /// One voucher per claim booked from --from to --to (by the date of its `booked`
    /// event), numbered as booked, with the receipt ids in the texts; PC8 (code page 437)
    /// bytes. A claim goes into one export: later exports of the same dates leave it out
    /// unless --again. A claim that cannot be booked fails the export, naming the claim and
    /// why, and nothing is written. The range must lie in one calendar (fiscal) year.
    /// Needs an SSC staff token.
    #[command(
        name = "export-sie",
        after_help = "Examples:\n  kvitt ssc export-sie --agency 202100-5489 --from 2026-05-01 --to 2026-05-31 --out maj.se\n  \
                      kvitt ssc export-sie --agency 202100-5489 --from 2026-05-01 --to 2026-05-31 --again --out - \\\n    | iconv -f CP437 -t UTF-8"
    )]
    ExportSie {
        /// The agency's organisation number, NNNNNN-NNNN.
        #[arg(long, value_name = "ORG")]
        agency: String,
        /// First booked date, YYYY-MM-DD.
        #[arg(long, value_name = "DATE", value_parser = input::date)]
        from: String,
        /// Last booked date, YYYY-MM-DD (in the same year as --from).
        #[arg(long, value_name = "DATE", value_parser = input::date)]
        to: String,
        /// Include claims exported before.
        #[arg(long)]
        again: bool,
        /// Where to write the file; `-` for standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// List the records held as exceptions, and why.
    ///
    /// A claim whose receipt (or card payment) is already in another claim is held as an
    /// exception and rejected when it arrives approved; evidence that a party signed two
    /// versions of one record is kept too. Needs SSC staff, an approver or the operator.
    Exceptions {
        /// At most this many (the node's default: 1000).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
}

/// One entry of GET /v1/exceptions.
#[derive(Deserialize)]
struct Exception {
    id: RecordId,
    why: String,
}

const STAFF: &[CallerRole] = &[CallerRole::SscStaff];

/// Runs `kvitt ssc …`.
pub fn main(args: &SscArgs) -> anyhow::Result<ExitCode> {
    let options = &args.options;
    match &args.command {
        SscCommand::Book { id } => {
            run(options, STAFF, |client, output| decide(client, output, id, "book", None))
        }
        SscCommand::Pay { id } => {
            run(options, STAFF, |client, output| decide(client, output, id, "pay", None))
        }
        SscCommand::Exceptions { limit } => list_exceptions(options, *limit),
        SscCommand::ExportSie { agency, from, to, again, out } => run(options, STAFF, |client, output| {
            let again = again.then(|| "true".to_owned());
            let path = format!(
                "/v1/sie{}",
                query(&[
                    ("agency", Some(agency.clone())),
                    ("from", Some(from.clone())),
                    ("to", Some(to.clone())),
                    ("again", again),
                ])
            );
            let (bytes, headers) = client.get_bytes(&path)?;
            let vouchers = headers
                .get(kvitt_node::api::SIE_VOUCHERS_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            if out.as_os_str() == "-" {
                std::io::stdout()
                    .write_all(&bytes)
                    .and_then(|()| std::io::stdout().flush())
                    .map_err(|error| anyhow!("standard output: {error}"))?;
            } else {
                std::fs::write(out, &bytes).map_err(|error| anyhow!("{}: {error}", out.display()))?;
            }
            // With `--out -` the file is standard output, so what is said goes to stderr.
            let to_stdout = out.as_os_str() == "-";
            let said = if output.is_json() {
                let count: Option<u64> = vouchers.parse().ok();
                let place = if to_stdout { "-".to_owned() } else { out.display().to_string() };
                serde_json::json!({ "vouchers": count, "out": place }).to_string()
            } else if to_stdout {
                format!("{vouchers} vouchers of {agency} booked {from} to {to}")
            } else {
                format!("{vouchers} vouchers of {agency} booked {from} to {to} written to {}", out.display())
            };
            if to_stdout {
                eprintln!("{said}");
            } else {
                println!("{said}");
            }
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// `kvitt exceptions`: what any node holds as exceptions, for whoever may see them there.
#[derive(Debug, clap::Args)]
pub struct ExceptionsArgs {
    /// At most this many (the node's default: 1000).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    options: ClientOptions,
}

/// Runs `kvitt exceptions`.
pub fn exceptions(args: &ExceptionsArgs) -> anyhow::Result<ExitCode> {
    list_exceptions(&args.options, args.limit)
}

/// Lists GET /v1/exceptions as a table (or its JSON).
fn list_exceptions(options: &ClientOptions, limit: Option<usize>) -> anyhow::Result<ExitCode> {
    let roles = &[CallerRole::SscStaff, CallerRole::Approver, CallerRole::Operator];
    run(options, roles, |client, output| {
        let path = format!("/v1/exceptions{}", query(&[("limit", limit.map(|limit| limit.to_string()))]));
        output.answer(&client.get(&path)?, |exceptions: Vec<Exception>| {
            if exceptions.is_empty() {
                return "no exceptions".to_owned();
            }
            let rows: Vec<Vec<String>> = exceptions
                .into_iter()
                .map(|exception| vec![exception.id.to_string(), exception.why])
                .collect();
            table(&[("ID", Align::Left), ("WHY", Align::Left)], &rows)
        })?;
        Ok(ExitCode::SUCCESS)
    })
}
