//! `kvitt record show`: one record from the node's ledger, verified again here.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use kvitt_node::verify::{format_amount, Refused, Report, Verified};
use kvitt_protocol::receipt::{Payment, Receipt};
use kvitt_protocol::vat::format_rate;
use kvitt_protocol::{AnyRecord, RecordId};
use serde::Deserialize;

use super::client::ClientOptions;
use super::output::{self, table, Align};
use super::{input, run, READERS};

/// `kvitt record …`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    #[command(subcommand)]
    command: RecordCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Debug, Subcommand)]
enum RecordCommand {
    /// Show one signed record the node holds, verified again here.
    ///
    /// Fetches the record by id (a receipt, claim, claim event, directory or equivocation
    /// evidence) and verifies its bytes on this machine as `kvitt verify` does, so what it
    /// prints does not rest on the node's word: the verdict, id, signer and a summary,
    /// then a receipt's lines and payments or a claim's items. Exits 1 if the bytes do not
    /// verify. With --json it prints the node's answer: type, id, signer, body and the
    /// record's exact CBOR in hex.
    #[command(after_help = "\
Example:
  kvitt record show 6ad7e4909da33b22caee924a335a284e635d96a4e30a48b5d62ba2dfe52fc479 --data DIR --as eva
  kvitt record show ID --json … | jq -r .cbor | kvitt verify --hex -")]
    Show {
        /// The record's id (64 hex digits).
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
    },
}

/// What GET /v1/records/{id} answers; its `body` is the same as the CBOR's.
#[derive(Deserialize)]
struct Fetched {
    cbor: String,
}

/// Runs `kvitt record …`.
pub fn main(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    let RecordCommand::Show { id } = &args.command;
    run(&args.options, READERS, |client, output| {
        let answer = client.get(&format!("/v1/records/{id}"))?;
        if output.is_json() {
            output::print(&answer)?;
            return Ok(ExitCode::SUCCESS);
        }
        let fetched: Fetched = output::parse(&answer)?;
        let bytes = hex::decode(&fetched.cbor)
            .map_err(|error| anyhow!("the node sent a record that is not hex: {error}"))?;
        match AnyRecord::decode(&bytes) {
            Ok(record) if record.id() == *id => {
                output::print(&format!("{}{}", Report::Valid(Verified::of(&record)), details(&record)))?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(record) => Err(anyhow!("asked for record {id}, the node sent {}", record.id()).into()),
            Err(error) => {
                output::print(&Report::Invalid(Refused { error, hint: None }).to_string())?;
                Ok(ExitCode::from(1))
            }
        }
    })
}

/// What a receipt or a claim holds beyond its summary.
fn details(record: &AnyRecord) -> String {
    match record {
        AnyRecord::Receipt(receipt) => receipt_details(receipt.body()),
        AnyRecord::Claim(claim) => {
            format!("purpose  {}\n\n{}", claim.body().purpose, output::items(&claim.body().items))
        }
        AnyRecord::ClaimEvent(_)
        | AnyRecord::Directory(_)
        | AnyRecord::Evidence(_)
        | AnyRecord::Assignment(_) => String::new(),
    }
}

fn receipt_details(receipt: &Receipt) -> String {
    let money = |minor: i64| format_amount(minor, &receipt.currency);
    let rows: Vec<Vec<String>> = receipt
        .lines
        .iter()
        .map(|line| {
            let quantity = match (line.quantity, &line.unit) {
                (Some(quantity), Some(unit)) => format!("{} {unit}", thousandths(quantity)),
                _ => String::new(),
            };
            vec![
                line.description.clone(),
                quantity,
                line.vat_rate.map(format_rate).unwrap_or_default(),
                line.amount.map(money).unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = String::from("\n");
    text.push_str(&table(
        &[("LINE", Align::Left), ("QUANTITY", Align::Right), ("VAT", Align::Right), ("AMOUNT", Align::Right)],
        &rows,
    ));
    text.push('\n');
    for vat in &receipt.vat {
        let _ = writeln!(text, "vat {} of {}: {}", format_rate(vat.rate), money(vat.gross), money(vat.vat));
    }
    for payment in &receipt.payments {
        let means = match payment {
            Payment::Cash { .. } => "cash".to_owned(),
            Payment::Card { brand, masked_pan, .. } => format!("card {brand} {masked_pan}"),
            Payment::Swish { reference, .. } => format!("Swish {reference}"),
            Payment::GiftCard { reference, .. } => format!("gift card {reference}"),
            Payment::Other { description, .. } => description.clone(),
        };
        let _ = writeln!(text, "paid {} by {means}", money(payment.amount()));
    }
    let employee = receipt.buyer_employee().map(|employee| format!(", employee {employee}"));
    match receipt.buyer_agency() {
        Some(agency) => write!(text, "buyer agency {agency}{}", employee.unwrap_or_default()),
        None => write!(text, "no buyer: kept by the merchant"),
    }
    .ok();
    text
}

/// Thousandths as a decimal: 1000 → `1`, 1500 → `1.5`.
fn thousandths(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let (whole, fraction) = (value.unsigned_abs() / 1000, value.unsigned_abs() % 1000);
    if fraction == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{}", format!("{fraction:03}").trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_as_decimals() {
        assert_eq!(thousandths(1000), "1");
        assert_eq!(thousandths(1500), "1.5");
        assert_eq!(thousandths(-2025), "-2.025");
    }
}
