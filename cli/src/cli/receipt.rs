//! `kvitt receipt push` and `kvitt receipt import` (a till, at a merchant node),
//! `kvitt receipt list` and `kvitt receipt fetch` (at an agency node).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use kvitt_formats::Format;
use kvitt_node::core::CallerRole;
use kvitt_node::verify::format_amount;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::RecordId;
use serde::Deserialize;

use super::client::{query, ClientOptions};
use super::output::{table, Align};
use super::pages::{self, Paging};
use super::{input, run, READERS};

/// `kvitt receipt …`.
#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    #[command(subcommand)]
    command: ReceiptCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Debug, Subcommand)]
enum ReceiptCommand {
    /// Push a receipt to a merchant node, which signs, stores and delivers it.
    ///
    /// The receipt is JSON as a till makes it (the fields of a receipt in spec/protocol.md:
    /// merchant, register, serial, issued_at, currency, lines, vat, total, payments, buyer,
    /// …). The merchant node checks every rule, signs it with its key, stores it and
    /// delivers it to the buyer's agency. It prints the receipt's id once the receipt is on
    /// the node's disk, followed by "duplicate" when the same receipt had been pushed
    /// before (pushing again is safe). With --card and no buyer in the receipt, the node
    /// finds the buyer's agency by the card (spec/routing.md), or keeps the receipt if no
    /// agency enrolled the card. A receipt kept without a buyer (cash, or an unknown card)
    /// gets a receipt code, printed on a second line (`code 556016-0680-7KQ2M-X9D4T-C`):
    /// the till prints it for the employee, who collects the receipt with it
    /// (spec/codes.md). Needs a till's token.
    #[command(after_help = "\
Examples:
  kvitt receipt push receipt.json --api http://127.0.0.1:8401 --token $TILL_TOKEN
  kvitt receipt push receipt.json --card V0010013018209568912345678912 --data merchant --as till-1
  till-export | kvitt receipt push - --data /var/lib/kvitt --as kassa-1")]
    Push {
        /// The receipt as JSON: a file, or `-` for standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The reference of the card that paid (PAR or token reference, never the card
        /// number): route the receipt, which names no buyer, by it.
        #[arg(long, value_name = "REF")]
        card: Option<String>,
    },
    /// Push a receipt in a format tills already speak: SDRS or Kivra.
    ///
    /// SDRS is the Swedish Digital Receipt Standard (ARTS DigitalReceipt 2.0.0 XML with the
    /// Swedish extension); kivra is Kivra's retail receipt JSON (schema v1.x). The merchant
    /// node maps the document onto a kvitt receipt (spec/api.md §Mapping from SDRS/ARTS and
    /// Kivra-style receipt data), checks, signs, stores and delivers it as for `push`, and
    /// this prints its id. Neither format names the buyer's agency: give it with --buyer,
    /// or route by the card with --card.
    /// A document the node cannot map is refused naming its element (an XPath-like path
    /// for SDRS, a JSON pointer for Kivra), exit 1. Needs a till's token.
    #[command(after_help = "\
Examples:
  kvitt receipt import --format sdrs receipt.xml --buyer 202100-5489 --employee emp-17
  kvitt receipt import --format kivra refund.json --buyer 202100-5489 --original 39a29ff1…")]
    Import {
        /// The document's format.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// The document: a file, or `-` for standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The buyer's agency (its organisation number, NNNNNN-NNNN).
        #[arg(long, value_name = "ORG")]
        buyer: Option<String>,
        /// The agency's reference for the employee who paid.
        #[arg(long, value_name = "EMPLOYEE", requires = "buyer")]
        employee: Option<String>,
        /// For a return: the id of the sale's kvitt receipt (what push or import printed).
        #[arg(long, value_name = "ID", value_parser = input::record_id)]
        original: Option<RecordId>,
        /// The reference of the card that paid: route the receipt by it (spec/routing.md).
        #[arg(long, value_name = "REF", conflicts_with = "buyer")]
        card: Option<String>,
    },
    /// Collect a receipt by the code its till printed (a cash sale, or a card no agency
    /// enrolled).
    ///
    /// The code is what the receipt shows under "kvittokod": the merchant's organisation
    /// number and eleven letters and digits, in any case, with or without hyphens or
    /// spaces, or the text of its QR code (KVITT:R:…). The agency's node asks the merchant
    /// the code names for the receipt; the merchant gives it once, with its signed
    /// assignment to this agency and employee, and the receipt joins the employee's list.
    /// Prints the receipt's id. A mistyped code is refused before anything is asked
    /// (code.check, code.format); a code nobody issued is code.unknown, one already used
    /// code.collected; too many wrong codes in an hour request.rate_limited (exit 1).
    /// Needs an employee's token (spec/codes.md).
    #[command(after_help = "\
Examples:
  kvitt receipt fetch 556016-0680-7KQ2M-X9D4T-C --data agency --as emp-17
  kvitt receipt fetch 'KVITT:R:556016-0680-7KQ2M-X9D4T-C' --api http://127.0.0.1:8402 --token $EMPLOYEE_TOKEN")]
    Fetch {
        /// The receipt code, or its QR payload.
        #[arg(value_name = "CODE")]
        code: String,
    },
    /// List the receipts an agency holds, oldest sale first.
    ///
    /// An employee sees the receipts bought for them; approvers, SSC staff and the operator
    /// see all of the agency's, or one employee's with --employee. Prints one line a
    /// receipt: its id (what `kvitt claim add --receipt` takes), date, seller, employee
    /// and total.
    List {
        /// Only the receipts of this employee. An employee may name only themselves:
        /// naming another is refused (auth.forbidden, exit 1).
        #[arg(long, value_name = "EMPLOYEE")]
        employee: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
}

/// The formats `kvitt receipt import` reads.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ImportFormat {
    /// SDRS: ARTS DigitalReceipt 2.0.0 XML with the Swedish extension.
    Sdrs,
    /// Kivra's retail receipt JSON, schema v1.x.
    Kivra,
}

impl From<ImportFormat> for Format {
    fn from(format: ImportFormat) -> Format {
        match format {
            ImportFormat::Sdrs => Format::Sdrs,
            ImportFormat::Kivra => Format::Kivra,
        }
    }
}

/// What POST /v1/receipts answers.
#[derive(Deserialize)]
struct Pushed {
    id: RecordId,
    duplicate: bool,
    #[serde(default)]
    code: Option<String>,
}

/// What POST /v1/receipts/fetch answers.
#[derive(Deserialize)]
struct Fetched {
    id: RecordId,
}

/// One entry of GET /v1/receipts.
#[derive(Deserialize)]
struct Listed {
    id: RecordId,
    receipt: Receipt,
}

/// Runs `kvitt receipt …`.
pub fn main(args: &ReceiptArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ReceiptCommand::Push { file, card } => run(&args.options, &[CallerRole::Till], |client, output| {
            let receipt = input::read_json(file)?;
            let path = format!("/v1/receipts{}", query(&[("card", card.clone())]));
            let answer = client.post(&path, Some(&receipt))?;
            output.answer(&answer, pushed)?;
            Ok(ExitCode::SUCCESS)
        }),
        ReceiptCommand::Import { format, file, buyer, employee, original, card } => {
            run(&args.options, &[CallerRole::Till], |client, output| {
                let document = input::read_document(file)?;
                let query: Vec<(&str, String)> = [
                    ("buyer", buyer.clone()),
                    ("employee", employee.clone()),
                    ("original", original.map(|id| id.to_string())),
                    ("card", card.clone()),
                ]
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect();
                let media_type = Format::from(*format).media_type();
                let answer = client.post_document("/v1/receipts", &query, media_type, &document)?;
                output.answer(&answer, pushed)?;
                Ok(ExitCode::SUCCESS)
            })
        }
        ReceiptCommand::Fetch { code } => run(&args.options, &[CallerRole::Employee], |client, output| {
            let body = serde_json::json!({ "code": code }).to_string();
            let answer = client.post("/v1/receipts/fetch", Some(&body))?;
            output.answer(&answer, |fetched: Fetched| fetched.id.to_string())?;
            Ok(ExitCode::SUCCESS)
        }),
        ReceiptCommand::List { employee, paging } => run(&args.options, READERS, |client, output| {
            let listed = pages::gather(client, "/v1/receipts", &[("employee", employee.clone())], paging)?;
            pages::print(output, listed, |receipts: Vec<Listed>| list(&receipts))?;
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// A pushed receipt's line: its id, and "duplicate" if it had been pushed before; then,
/// for a receipt without a buyer, the code that collects it.
fn pushed(pushed: Pushed) -> String {
    let mut line = pushed.id.to_string();
    if pushed.duplicate {
        line.push_str(" duplicate");
    }
    if let Some(code) = pushed.code {
        line.push_str(&format!("\ncode {code}"));
    }
    line
}

fn list(receipts: &[Listed]) -> String {
    if receipts.is_empty() {
        return "no receipts".to_owned();
    }
    let rows: Vec<Vec<String>> = receipts
        .iter()
        .map(|Listed { id, receipt }| {
            vec![
                id.to_string(),
                receipt.issued_at.get(..10).unwrap_or(&receipt.issued_at).to_owned(),
                receipt.merchant.name.clone(),
                receipt.buyer_employee().unwrap_or("-").to_owned(),
                format_amount(receipt.total, &receipt.currency),
            ]
        })
        .collect();
    table(
        &[
            ("ID", Align::Left),
            ("DATE", Align::Left),
            ("SELLER", Align::Left),
            ("EMPLOYEE", Align::Left),
            ("TOTAL", Align::Right),
        ],
        &rows,
    )
}
