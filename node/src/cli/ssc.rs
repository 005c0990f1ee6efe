//! `kvitt ssc …`: the shared service center's staff book and pay approved claims and look
//! at the exceptions (a receipt claimed twice, a party that signed two versions of a
//! record).

use std::process::ExitCode;

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
