//! `kvitt cards enrol` (an agency's operator): the cards whose receipts are the agency's.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use kvitt_node::core::CallerRole;
use serde::Deserialize;

use super::client::ClientOptions;
use super::{input, run};

/// `kvitt cards …`.
#[derive(Debug, clap::Args)]
pub struct CardsArgs {
    #[command(subcommand)]
    command: CardsCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Debug, Subcommand)]
enum CardsCommand {
    /// Replace the agency's enrolled cards at the SSC serving it.
    ///
    /// FILE is JSON, `{"cards": [{"reference": "V001…", "employee": "emp-17"}]}`: each
    /// card's payment account reference (PAR) or network token reference, never its
    /// number, and optionally the employee whose card it is. The agency node hashes each
    /// reference with the network's routing key (DIR/routing.key) and sends only the
    /// hashes to the SSC (spec/routing.md). A receipt a till pushes with one of these
    /// cards and no buyer then reaches the agency. Cards left out are withdrawn. Prints
    /// how many cards are enrolled. Needs an operator's token at an agency node.
    #[command(after_help = "\
Examples:
  kvitt cards enrol cards.json --data /var/lib/kvitt --as operator")]
    Enrol {
        /// The cards as JSON: a file, or `-` for standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// What POST /v1/cards answers.
#[derive(Deserialize)]
struct Enrolled {
    cards: u64,
}

/// Runs `kvitt cards …`.
pub fn main(args: &CardsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        CardsCommand::Enrol { file } => run(&args.options, &[CallerRole::Operator], |client, output| {
            let cards = input::read_json(file)?;
            let answer = client.post("/v1/cards", Some(&cards))?;
            output.answer(&answer, |enrolled: Enrolled| format!("{} cards enrolled", enrolled.cards))?;
            Ok(ExitCode::SUCCESS)
        }),
    }
}
