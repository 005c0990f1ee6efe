//! `kvitt ssc …`: the shared service center's staff book and pay approved claims, reverse
//! a wrong one, export an agency's vouchers as an SIE file, look at the exceptions (a receipt claimed
//! twice, a party that signed two versions of a record) and resolve a claim held for one.

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
use super::pages::{self, Paging};
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
    /// Reverse a booked or paid claim that was wrong, with a reason.
    ///
    /// The SSC node signs a `reversed` event with the reason and the next voucher number of
    /// the agency's series, and keeps a reversing voucher: the booking's rows negated, its
    /// text naming the original voucher. It goes into the next SIE export of its date. The
    /// claim is then final (`reversed`), its receipts free for a corrected claim, and the
    /// event goes back to the agency, where `kvitt claim show` shows it. Needs an SSC staff
    /// token.
    #[command(
        after_help = "Example:\n  kvitt ssc reverse ID --reason \"Utbetald två gånger, se 2026-000031\" --data DIR --as ssc-anna"
    )]
    Reverse {
        /// The claim's id.
        #[arg(value_name = "CLAIM_ID", value_parser = input::record_id)]
        id: RecordId,
        /// Why, in words the employee and an auditor can follow (1 to 2000 bytes).
        #[arg(long, value_name = "TEXT")]
        reason: String,
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
    /// Export an agency's vouchers as an SIE 4I file for its accounting system.
    ///
    /// The vouchers kept when claims were booked, and the reversing vouchers of claims
    /// reversed, dated --from to --to (the date of the `booked` or `reversed` event),
    /// numbered as their events say, with the receipt ids in the texts; PC8 (code page 437)
    /// bytes, text PC8 lacks transliterated. A voucher goes into one export: later exports
    /// of the same dates leave it out unless --again. A voucher the SSC does not keep (it
    /// got the claim back from the agency after losing its ledger) is computed from the
    /// records; one that cannot be is left out, named here and listed by `kvitt
    /// exceptions`; it never fails the export. The range must lie in one calendar (fiscal)
    /// year. Needs an SSC staff token.
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
    /// List the open exceptions: kind, why, and what to do next.
    ///
    /// A claim whose receipt (or card payment) is already in another claim is held as a
    /// `duplicate` exception, approved but not booked, until staff resolve it with
    /// `kvitt ssc resolve`; evidence that a party signed two versions of one record
    /// (`equivocation`) and records a peer refused (`delivery`) are kept as proof. Needs
    /// SSC staff, an approver or the operator.
    Exceptions(ListFlags),
    /// Resolve a claim held for an exception: reject it, or book it anyway.
    ///
    /// `--decision reject` signs a `rejected` event whose reason is the note and the
    /// exception, so the employee can file a corrected claim; `--decision book` signs a
    /// `reviewed` event with the note, then books the claim as the next voucher. Either
    /// goes back to the agency, and the exception is no longer open (`--all` still lists
    /// it). Needs an SSC staff token.
    #[command(
        after_help = "Example:\n  kvitt ssc resolve ID --decision reject \\\n                                  --note \"Kvittot finns redan i 2026-000017\" --data DIR --as ssc-greta"
    )]
    Resolve {
        /// The held claim's id (`kvitt ssc exceptions` lists them).
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
        /// Reject the claim, or book it anyway.
        #[arg(long, value_enum)]
        decision: Decision,
        /// Why, in words the employee and an auditor can follow.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
}

/// The flags of `kvitt exceptions` and `kvitt ssc exceptions`.
#[derive(Debug, clap::Args)]
pub struct ListFlags {
    #[command(flatten)]
    paging: Paging,
    /// Resolved exceptions too, not only the open ones.
    #[arg(long)]
    all: bool,
}

/// What `kvitt ssc resolve` decides.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Decision {
    /// Reject the claim (its receipts become free for a corrected claim).
    Reject,
    /// Book the claim anyway.
    Book,
}

/// One entry of GET /v1/exceptions.
#[derive(Deserialize)]
struct Exception {
    id: RecordId,
    kind: String,
    why: String,
    next: String,
    open: bool,
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
        SscCommand::Reverse { id, reason } => run(options, STAFF, |client, output| {
            let body = serde_json::json!({ "reason": reason }).to_string();
            decide(client, output, id, "reverse", Some(&body))
        }),
        SscCommand::Exceptions(flags) => list_exceptions(options, flags),
        SscCommand::Resolve { id, decision, note } => run(options, STAFF, |client, output| {
            let decision = match decision {
                Decision::Reject => "reject",
                Decision::Book => "book",
            };
            let body = serde_json::json!({ "decision": decision, "note": note }).to_string();
            let answer = client.post(&format!("/v1/exceptions/{id}/resolve"), Some(&body))?;
            output.answer(&answer, |decided: Resolved| format!("claim {id}: {}", decided.status))?;
            Ok(ExitCode::SUCCESS)
        }),
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
            let left_out: Vec<String> = headers
                .get(kvitt_node::api::SIE_LEFT_OUT_HEADER)
                .and_then(|value| value.to_str().ok())
                .map(|ids| ids.split(", ").map(str::to_owned).collect())
                .unwrap_or_default();
            if out.as_os_str() == "-" {
                std::io::stdout()
                    .write_all(&bytes)
                    .and_then(|()| std::io::stdout().flush())
                    .map_err(|error| anyhow!("standard output: {error}"))?;
            } else {
                kvitt_node::permissions::write_private(out, &bytes)
                    .map_err(|error| anyhow!("{}: {error}", out.display()))?;
            }
            // With `--out -` the file is standard output, so what is said goes to stderr.
            let to_stdout = out.as_os_str() == "-";
            let said = if output.is_json() {
                let count: Option<u64> = vouchers.parse().ok();
                let place = if to_stdout { "-".to_owned() } else { out.display().to_string() };
                serde_json::json!({ "vouchers": count, "out": place, "left_out": left_out }).to_string()
            } else {
                let mut said = format!("{vouchers} vouchers of {agency} dated {from} to {to}");
                if !to_stdout {
                    said.push_str(&format!(" written to {}", out.display()));
                }
                if !left_out.is_empty() {
                    said.push_str(&format!(
                        "\nleft out, their vouchers cannot be computed from the records (kvitt exceptions says \
                         why): {}",
                        left_out.join(", ")
                    ));
                }
                said
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

/// What POST /v1/exceptions/{id}/resolve answers.
#[derive(Deserialize)]
struct Resolved {
    status: String,
}

/// `kvitt exceptions`: what any node holds as exceptions, for whoever may see them there.
#[derive(Debug, clap::Args)]
pub struct ExceptionsArgs {
    #[command(flatten)]
    flags: ListFlags,
    #[command(flatten)]
    options: ClientOptions,
}

/// Runs `kvitt exceptions`.
pub fn exceptions(args: &ExceptionsArgs) -> anyhow::Result<ExitCode> {
    list_exceptions(&args.options, &args.flags)
}

/// Lists GET /v1/exceptions: a table of id, kind, state and why, an open one with its
/// next step on the line below (or the JSON).
fn list_exceptions(options: &ClientOptions, flags: &ListFlags) -> anyhow::Result<ExitCode> {
    let roles = &[CallerRole::SscStaff, CallerRole::Approver, CallerRole::Operator];
    run(options, roles, |client, output| {
        let params = [("all", flags.all.then(|| "true".to_owned()))];
        let listed = pages::gather(client, "/v1/exceptions", &params, &flags.paging)?;
        pages::print(output, listed, |exceptions: Vec<Exception>| {
            if exceptions.is_empty() {
                return if flags.all { "no exceptions" } else { "no open exceptions" }.to_owned();
            }
            let rows: Vec<Vec<String>> = exceptions
                .iter()
                .flat_map(|exception| {
                    let state = if exception.open { "open" } else { "resolved" };
                    let row = vec![
                        exception.id.to_string(),
                        exception.kind.clone(),
                        state.to_owned(),
                        exception.why.clone(),
                    ];
                    let next = vec![
                        String::new(),
                        String::new(),
                        String::new(),
                        format!("next: {}", exception.next),
                    ];
                    if exception.open {
                        vec![row, next]
                    } else {
                        vec![row]
                    }
                })
                .collect();
            table(
                &[("ID", Align::Left), ("KIND", Align::Left), ("STATE", Align::Left), ("WHY", Align::Left)],
                &rows,
            )
        })?;
        Ok(ExitCode::SUCCESS)
    })
}
