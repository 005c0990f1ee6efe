//! `kvitt claim …`: an employee builds a claim (new, add, submit, withdraw), an approver
//! decides it (approve, reject), anyone concerned looks at it (show, list).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{ArgGroup, Subcommand, ValueEnum};
use kvitt_node::core::{CallerRole, Draft};
use kvitt_node::policy::Finding;
use kvitt_node::verify::{describe_action, role_name};
use kvitt_protocol::claim::{Booking, Claim, ClaimItem, Vehicle};
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::RecordId;
use serde::Deserialize;
use serde_json::json;

use super::client::{encode, Client, ClientOptions, Failure};
use super::output::{self, sek, table, Align, Output};
use super::pages::{self, Paging};
use super::{input, run, READERS};

/// `kvitt claim …`.
#[derive(Debug, clap::Args)]
pub struct ClaimArgs {
    #[command(subcommand)]
    command: ClaimCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Debug, Subcommand)]
enum ClaimCommand {
    /// Open a claim draft and print its number.
    ///
    /// A draft is kept by the agency node, unsigned, until it is submitted; items are
    /// added to it with `kvitt claim add NUMBER`. Needs an employee's token.
    #[command(
        after_help = "Example:\n  kvitt claim new --purpose \"Konferens 4-5 maj\" --data DIR --as anna"
    )]
    New {
        /// What the trip or purchase was for.
        #[arg(long, value_name = "TEXT")]
        purpose: String,
    },
    /// Add an item to a claim draft: a receipt, a car trip, or any item as JSON.
    ///
    /// The common items have flags: a receipt the agency holds (--receipt ID, claimed for
    /// its total unless --amount says less) or a trip by car (--mileage KM with --date,
    /// --route and --rate). Each needs the item's business purpose and its booking:
    /// --purpose, --account and --cost-center (--project if the agency books by project).
    /// Anything else, such as a per diem or a receipt in another currency with its
    /// conversion, is given whole with --json-item FILE, as the claim item of
    /// spec/protocol.md. The node checks the item at once and prints the draft.
    #[command(after_help = "\
Examples:
  kvitt claim add 2026-000001 --receipt 6ad7e490…c479 --purpose \"Logi under konferensen\" \\
      --account 5831 --cost-center CC-100
  kvitt claim add 2026-000001 --mileage 74 --date 2026-05-04 --route \"Uppsala-Arlanda\" \\
      --rate 2.50 --purpose \"Till flyget\" --account 7331 --cost-center CC-100
  kvitt claim add 2026-000001 --json-item per-diem.json")]
    Add(Box<AddArgs>),
    /// Show one's claim draft, and what the agency's policy says of it today.
    ///
    /// Each broken rule is listed by name (`policy.deadline`, `policy.max`, …) as an error,
    /// which blocks submission, or a warning, which does not. Needs an employee's token.
    Draft {
        /// The draft's number, as `kvitt claim new` printed it.
        #[arg(value_name = "NUMBER")]
        number: String,
    },
    /// Sign and submit a claim draft; prints the claim's id.
    ///
    /// The agency node signs the claim and a `submitted` event; from then on the claim is
    /// known by its id, and waits for an approver. If the agency's policy finds an error
    /// (see `kvitt claim draft`), the submission is refused with every finding, and
    /// nothing is signed: the draft stays as it was.
    Submit {
        /// The draft's number, as `kvitt claim new` printed it.
        #[arg(value_name = "NUMBER")]
        number: String,
    },
    /// Approve a submitted claim (approvers; never one's own claim).
    ///
    /// The agency node signs an `approved` event and sends the claim, its receipts and
    /// its events to the SSC, which books and pays it. The agency's policy is checked
    /// first: approving one's own claim (`policy.self_approval`) or a cost center the
    /// policy does not give the approver (`policy.approver`, as an error) is refused;
    /// warnings are printed after the new status. `kvitt claim show` lists them before.
    Approve {
        /// The claim's id.
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
    },
    /// Reject a claim, with a reason the employee can act on.
    ///
    /// An approver rejects a submitted claim at the agency; SSC staff reject an approved
    /// one at the SSC. The claim's receipts become free to claim again.
    Reject {
        /// The claim's id.
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
        /// Why, in words the employee can act on.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Withdraw one's own submitted claim before it is decided.
    ///
    /// The claim's receipts become free to claim again.
    Withdraw {
        /// The claim's id.
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
    },
    /// Show a claim: its status, items and events.
    ///
    /// An employee sees their own claims; approvers, SSC staff and the operator see all
    /// the node holds. A claim held as an exception (a receipt claimed twice) says why.
    Show {
        /// The claim's id.
        #[arg(value_name = "ID", value_parser = input::record_id)]
        id: RecordId,
    },
    /// List the claims the node holds (an employee: their own).
    ///
    /// Prints one line a claim: its id (what approve, reject, show and the SSC commands
    /// take), number, agency, claimant, status and total.
    List {
        #[command(flatten)]
        paging: Paging,
    },
}

/// The item flags of `kvitt claim add`.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("item").required(true).args(["receipt", "mileage_km", "json_item"])))]
pub struct AddArgs {
    /// The draft's number, as `kvitt claim new` printed it.
    #[arg(value_name = "NUMBER")]
    number: String,
    #[command(flatten)]
    receipt: ReceiptItem,
    #[command(flatten)]
    mileage: MileageItem,
    #[command(flatten)]
    booking: BookingFlags,
    /// Any item as JSON (a claim item of spec/protocol.md): a file, or `-` for standard input.
    #[arg(long, value_name = "FILE", help_heading = "Any item")]
    json_item: Option<PathBuf>,
}

/// `claim add --receipt`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "A receipt")]
struct ReceiptItem {
    /// A receipt the agency holds, by id (`kvitt receipt list` shows them).
    #[arg(long, value_name = "ID", value_parser = input::record_id)]
    receipt: Option<RecordId>,
    /// The amount claimed in kronor, at most what the receipt supports: its total less
    /// its returns, less what other claims of it claim [default: its total].
    #[arg(long, value_name = "KRONOR", value_parser = input::kronor, requires = "receipt")]
    amount: Option<i64>,
    /// A participant, for representation (repeat for each).
    #[arg(long = "participant", value_name = "NAME", requires = "receipt")]
    participants: Vec<String>,
}

/// `claim add --mileage`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "A trip by car")]
struct MileageItem {
    /// Whole kilometres driven.
    #[arg(long = "mileage", value_name = "KM", requires_all = ["date", "route", "rate_per_km"])]
    mileage_km: Option<u32>,
    /// Day of the trip.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "mileage_km")]
    date: Option<String>,
    /// Where from and to.
    #[arg(long, value_name = "TEXT", requires = "mileage_km")]
    route: Option<String>,
    /// Allowance per kilometre in kronor (e.g. 2.50).
    #[arg(long = "rate", value_name = "KRONOR", value_parser = input::kronor, requires = "mileage_km")]
    rate_per_km: Option<i64>,
    /// Whose car.
    #[arg(long, value_enum, default_value_t = VehicleArg::OwnCar)]
    vehicle: VehicleArg,
}

/// The purpose and booking every item but `--json-item` needs.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Purpose and booking (all but --json-item)")]
struct BookingFlags {
    /// Business purpose of this item.
    #[arg(long, value_name = "TEXT", required_unless_present = "json_item", conflicts_with = "json_item")]
    purpose: Option<String>,
    /// BAS account to book it on, four digits (5800 travel, 5831 lodging, …).
    #[arg(long, value_name = "NNNN", required_unless_present = "json_item", conflicts_with = "json_item")]
    account: Option<u16>,
    /// Cost center to book it on.
    #[arg(long, value_name = "CODE", required_unless_present = "json_item", conflicts_with = "json_item")]
    cost_center: Option<String>,
    /// Project to book it on.
    #[arg(long, value_name = "CODE", conflicts_with = "json_item")]
    project: Option<String>,
}

/// The car of a mileage item.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum VehicleArg {
    /// The employee's own car.
    OwnCar,
    /// A company car running on petrol or diesel.
    CompanyCarFuel,
    /// A company car running on electricity.
    CompanyCarElectric,
}

impl From<VehicleArg> for Vehicle {
    fn from(vehicle: VehicleArg) -> Vehicle {
        match vehicle {
            VehicleArg::OwnCar => Vehicle::OwnCar,
            VehicleArg::CompanyCarFuel => Vehicle::CompanyCarFuel,
            VehicleArg::CompanyCarElectric => Vehicle::CompanyCarElectric,
        }
    }
}

/// What POST /v1/drafts/{number}/submit answers.
#[derive(Deserialize)]
struct Submitted {
    claim: RecordId,
}

/// What a decision answers (here and in `kvitt ssc`).
#[derive(Deserialize)]
struct Decided {
    status: String,
    /// The policy's warnings to the approver.
    #[serde(default)]
    findings: Vec<Finding>,
}

/// What the draft routes answer: the draft and what the policy says of it.
#[derive(Deserialize)]
struct DraftShown {
    #[serde(flatten)]
    draft: Draft,
    #[serde(default)]
    findings: Vec<Finding>,
}

/// One line of GET /v1/claims.
#[derive(Deserialize)]
struct Listed {
    id: RecordId,
    number: String,
    agency: String,
    claimant: String,
    status: String,
    total: i64,
}

/// What GET /v1/claims/{id} answers.
#[derive(Deserialize)]
struct Shown {
    id: RecordId,
    status: String,
    claim: Claim,
    events: Vec<ShownEvent>,
    exception: Option<String>,
    #[serde(default)]
    findings: Vec<Finding>,
}

#[derive(Deserialize)]
struct ShownEvent {
    event: ClaimEvent,
}

/// The part of GET /v1/records/{id} that `claim add --receipt` needs.
#[derive(Deserialize)]
struct Fetched {
    #[serde(rename = "type")]
    kind: String,
    body: FetchedTotal,
}

#[derive(Deserialize)]
struct FetchedTotal {
    #[serde(default)]
    total: i64,
    #[serde(default)]
    currency: String,
}

const EMPLOYEE: &[CallerRole] = &[CallerRole::Employee];

/// Runs `kvitt claim …`.
pub fn main(args: &ClaimArgs) -> anyhow::Result<ExitCode> {
    let options = &args.options;
    match &args.command {
        ClaimCommand::New { purpose } => run(options, EMPLOYEE, |client, output| {
            let answer = client.post("/v1/drafts", Some(&json!({ "purpose": purpose }).to_string()))?;
            output.answer(&answer, |shown: DraftShown| draft_text(&shown))?;
            Ok(ExitCode::SUCCESS)
        }),
        ClaimCommand::Add(add) => run(options, EMPLOYEE, |client, output| {
            let item = item(add, client)?;
            let answer = client.post(&format!("/v1/drafts/{}/items", encode(&add.number)), Some(&item))?;
            output.answer(&answer, |shown: DraftShown| draft_text(&shown))?;
            Ok(ExitCode::SUCCESS)
        }),
        ClaimCommand::Draft { number } => run(options, EMPLOYEE, |client, output| {
            let answer = client.get(&format!("/v1/drafts/{}", encode(number)))?;
            output.answer(&answer, |shown: DraftShown| draft_text(&shown))?;
            Ok(ExitCode::SUCCESS)
        }),
        ClaimCommand::Submit { number } => run(options, EMPLOYEE, |client, output| {
            let answer = client.post(&format!("/v1/drafts/{}/submit", encode(number)), None)?;
            output.answer(&answer, |submitted: Submitted| {
                format!("submitted {number} as claim {}", submitted.claim)
            })?;
            Ok(ExitCode::SUCCESS)
        }),
        ClaimCommand::Approve { id } => run(options, &[CallerRole::Approver], |client, output| {
            decide(client, output, id, "approve", None)
        }),
        ClaimCommand::Reject { id, reason } => {
            run(options, &[CallerRole::Approver, CallerRole::SscStaff], |client, output| {
                decide(client, output, id, "reject", Some(&json!({ "reason": reason }).to_string()))
            })
        }
        ClaimCommand::Withdraw { id } => {
            run(options, EMPLOYEE, |client, output| decide(client, output, id, "withdraw", None))
        }
        ClaimCommand::Show { id } => run(options, READERS, |client, output| {
            output.answer(&client.get(&format!("/v1/claims/{id}"))?, |shown: Shown| show_text(&shown))?;
            Ok(ExitCode::SUCCESS)
        }),
        ClaimCommand::List { paging } => run(options, READERS, |client, output| {
            let listed = pages::gather(client, "/v1/claims", &[], paging)?;
            pages::print(output, listed, |claims: Vec<Listed>| list_text(&claims))?;
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// `POST /v1/claims/{id}/{action}` and the claim's new status.
pub(super) fn decide(
    client: &Client,
    output: &Output,
    id: &RecordId,
    action: &str,
    body: Option<&str>,
) -> Result<ExitCode, Failure> {
    let answer = client.post(&format!("/v1/claims/{id}/{action}"), body)?;
    output.answer(&answer, |decided: Decided| {
        let mut text = format!("claim {id}: {}", decided.status);
        text.push_str(&findings_text(&decided.findings));
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The item `kvitt claim add` sends, as JSON.
fn item(args: &AddArgs, client: &Client) -> Result<String, Failure> {
    if let Some(path) = &args.json_item {
        return Ok(input::read_json(path)?);
    }
    let missing = |flag: &str| Failure::Other(anyhow!("{flag} is required for this item"));
    let flags = &args.booking;
    let business_purpose = flags.purpose.clone().ok_or_else(|| missing("--purpose"))?;
    let booking = Booking {
        account: flags.account.ok_or_else(|| missing("--account"))?,
        cost_center: flags.cost_center.clone().ok_or_else(|| missing("--cost-center"))?,
        project: flags.project.clone(),
    };
    let (receipt, mileage) = (&args.receipt, &args.mileage);
    let item = match (receipt.receipt, mileage.mileage_km) {
        (Some(id), _) => {
            let amount = match receipt.amount {
                Some(amount) => amount,
                None => receipt_total(client, &id)?,
            };
            ClaimItem::Receipt {
                receipt: id,
                business_purpose,
                amount,
                booking,
                foreign: None,
                participants: receipt.participants.clone(),
            }
        }
        (None, Some(km)) => {
            let rate_per_km = mileage.rate_per_km.ok_or_else(|| missing("--rate"))?;
            let amount = i64::from(km)
                .checked_mul(rate_per_km)
                .ok_or_else(|| Failure::Other(anyhow!("{km} km at {} is too much", sek(rate_per_km))))?;
            ClaimItem::Mileage {
                date: mileage.date.clone().ok_or_else(|| missing("--date"))?,
                route: mileage.route.clone().ok_or_else(|| missing("--route"))?,
                business_purpose,
                km,
                vehicle: mileage.vehicle.into(),
                rate_per_km,
                amount,
                booking,
            }
        }
        (None, None) => return Err(missing("--receipt, --mileage or --json-item")),
    };
    Ok(serde_json::to_string(&item).map_err(anyhow::Error::from)?)
}

/// A Swedish receipt's total, to claim it whole.
fn receipt_total(client: &Client, id: &RecordId) -> Result<i64, Failure> {
    let fetched: Fetched = output::parse(&client.get(&format!("/v1/records/{id}"))?)?;
    if fetched.kind != "receipt" {
        return Err(anyhow!("record {id} is a {}, not a receipt", fetched.kind).into());
    }
    if fetched.body.currency != "SEK" {
        return Err(anyhow!(
            "receipt {} is in {}: claim it with its conversion to SEK, as a claim item with \
             `foreign` given by --json-item",
            id.short(),
            fetched.body.currency
        )
        .into());
    }
    Ok(fetched.body.total)
}

/// The policy's findings, one a line after a blank line; nothing if there are none.
fn findings_text(findings: &[Finding]) -> String {
    let lines: String = findings.iter().map(|finding| format!("\n  {finding}")).collect();
    if lines.is_empty() {
        lines
    } else {
        format!("\n\npolicy:{lines}")
    }
}

fn draft_text(shown: &DraftShown) -> String {
    let draft = &shown.draft;
    let total: i64 = draft.items.iter().map(ClaimItem::amount).sum();
    let mut text = format!(
        "draft {} of {}: {}\n{} {}, total {}",
        draft.number,
        draft.claimant,
        draft.purpose,
        draft.items.len(),
        if draft.items.len() == 1 { "item" } else { "items" },
        sek(total)
    );
    if draft.items.is_empty() {
        text.push_str(&format!("\nadd items with `kvitt claim add {} …`", draft.number));
    } else {
        text.push_str(&format!("\n\n{}", output::items(&draft.items)));
    }
    text.push_str(&findings_text(&shown.findings));
    text
}

fn show_text(shown: &Shown) -> String {
    let claim = &shown.claim;
    let mut fields = vec![
        ("claim", claim.number.clone()),
        ("id", shown.id.to_string()),
        ("status", shown.status.clone()),
        ("claimant", format!("{} of agency {}", claim.claimant, claim.agency)),
        ("purpose", claim.purpose.clone()),
        ("created", claim.created_at.clone()),
        ("total", sek(claim.total())),
    ];
    if let Some(exception) = &shown.exception {
        fields.push(("exception", exception.clone()));
    }
    // A reversal says why on its own line: the claim's last word.
    let reversal = shown.events.iter().rev().find_map(|ShownEvent { event }| match &event.action {
        Action::Reversed { reason, series, number } => Some(format!(
            "{reason} (by {} on {}, reversing voucher {series} {number})",
            event.actor.person, event.at
        )),
        _ => None,
    });
    if let Some(reversal) = reversal {
        fields.push(("reversed", reversal));
    }
    let mut text: String = fields.iter().map(|(label, value)| format!("{label:<10} {value}\n")).collect();
    text.push('\n');
    text.push_str(&output::items(&claim.items));
    let rows: Vec<Vec<String>> = shown
        .events
        .iter()
        .map(|ShownEvent { event }| {
            vec![
                event.at.clone(),
                format!("{} ({})", event.actor.person, role_name(event.actor.role)),
                describe_action(&event.action),
            ]
        })
        .collect();
    if !rows.is_empty() {
        text.push_str("\n\n");
        text.push_str(&table(&[("AT", Align::Left), ("BY", Align::Left), ("EVENT", Align::Left)], &rows));
    }
    text.push_str(&findings_text(&shown.findings));
    text
}

fn list_text(claims: &[Listed]) -> String {
    if claims.is_empty() {
        return "no claims".to_owned();
    }
    let rows: Vec<Vec<String>> = claims
        .iter()
        .map(|claim| {
            vec![
                claim.id.to_string(),
                claim.number.clone(),
                claim.agency.clone(),
                claim.claimant.clone(),
                claim.status.clone(),
                sek(claim.total),
            ]
        })
        .collect();
    table(
        &[
            ("ID", Align::Left),
            ("NUMBER", Align::Left),
            ("AGENCY", Align::Left),
            ("CLAIMANT", Align::Left),
            ("STATUS", Align::Left),
            ("TOTAL", Align::Right),
        ],
        &rows,
    )
}
