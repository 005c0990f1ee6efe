//! A realistic working day, played through the nodes' client interface: tills push
//! receipts, employees claim them, approvers decide, the SSC books and pays, and the
//! statuses travel back. Everything it prints comes from what the nodes answered.

use std::collections::BTreeMap;
use std::time::Duration;

use kvitt_protocol::claim::{Booking, ClaimItem};
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::RecordId;

use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse, Resolution, SieExport};
use kvitt_node::handle::NodeHandle;

use super::shopping::{buy, Claimable, Purchases};

/// How long the day waits for a record to travel between nodes before giving up.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

/// The organisations of the demo network.
pub struct Cast {
    /// The shared service center.
    pub ssc: Org,
    /// The two agencies, each with its employees and approver.
    pub agencies: [Org; 2],
    /// A Stockholm hotel with a restaurant.
    pub hotel: Org,
    /// Taxi and train tickets.
    pub travel: Org,
    /// A hotel in Berlin, paid in euro.
    pub berlin: Org,
}

impl Cast {
    /// The agency at `index` (0 or 1).
    pub(super) fn agency(&self, index: usize) -> Result<&Org, DayError> {
        self.agencies.get(index).ok_or_else(|| DayError::Unexpected(format!("no agency {index}")))
    }
}

/// One organisation and its node.
pub struct Org {
    /// Organisation number.
    pub org: &'static str,
    /// Name.
    pub name: &'static str,
    /// Its node's client handle.
    pub node: NodeHandle,
    /// Its data directory, where the demo's HTTP clients find its API and their tokens.
    pub data: std::path::PathBuf,
}

/// How a receipt found its buyer's agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// Pushed with only its card payment: the merchant's node found the agency that
    /// enrolled the card (spec/routing.md).
    Card,
    /// An SDRS till's XML, routed by the card reference the document carries.
    SdrsCard,
    /// Paid in cash and signed without a buyer; the employee collected it with its receipt
    /// code at the agency (spec/codes.md).
    Code,
    /// The till named the buyer: a card no agency enrolled, a foreign merchant (which gives
    /// no receipt codes), a refund paid back by Swish.
    Buyer,
}

impl Route {
    /// The way, as the summary prints it.
    pub fn describe(self) -> &'static str {
        match self {
            Route::Card => "by enrolled card",
            Route::SdrsCard => "SDRS till, by card in the XML",
            Route::Code => "cash, collected by code",
            Route::Buyer => "buyer named by the till",
        }
    }
}

/// What happened during the day, for the summary.
#[derive(Default, Debug)]
pub struct DayReport {
    /// Receipts pushed, per merchant name.
    pub receipts: BTreeMap<String, usize>,
    /// Receipts per merchant name and the way they reached their agency.
    pub routes: BTreeMap<(String, Route), usize>,
    /// Claims per agency and final status.
    pub claims: BTreeMap<(String, String), usize>,
    /// Öre paid per agency.
    pub paid: BTreeMap<String, i64>,
    /// Exceptions the SSC holds.
    pub exceptions: Vec<String>,
    /// Refusals the nodes gave where the day expected one.
    pub refusals: Vec<String>,
    /// The SSC's SIE file of each agency's claims booked this year.
    pub sie: Vec<AgencySie>,
}

/// One agency's SIE file, as the SSC exported it at the end of the day.
#[derive(Debug)]
pub struct AgencySie {
    /// The agency's organisation number.
    pub org: String,
    /// Its name.
    pub name: String,
    /// The file (SIE 4I, PC8).
    pub bytes: Vec<u8>,
    /// How many vouchers it holds.
    pub vouchers: usize,
}

/// Why the day could not be played to its end.
#[derive(Debug, thiserror::Error)]
pub enum DayError {
    /// A node refused something the day expected to succeed.
    #[error("{step}: {refusal}")]
    Refused {
        /// What the day was doing.
        step: String,
        /// The node's refusal.
        refusal: Refusal,
    },
    /// A node answered something unexpected, or a record did not arrive in time.
    #[error("{0}")]
    Unexpected(String),
}

pub(super) fn caller(person: &str, role: CallerRole) -> Caller {
    Caller { person: person.into(), role }
}

pub(super) async fn ask(
    node: &NodeHandle,
    step: &str,
    caller: Caller,
    request: ClientRequest,
) -> Result<ClientResponse, DayError> {
    node.ask(caller, request).await.map_err(|refusal| DayError::Refused { step: step.to_owned(), refusal })
}

/// Plays the day and returns what happened.
pub async fn play(cast: &Cast, say: &mut dyn FnMut(String)) -> Result<DayReport, DayError> {
    let mut report = DayReport::default();
    let purchases = buy(cast, &mut report, say).await?;
    say(format!(
        "{} receipts signed and stored by the merchants; waiting for them to reach the agencies …",
        report.receipts.values().sum::<usize>()
    ));
    for (index, agency) in cast.agencies.iter().enumerate() {
        let expected = purchases
            .by_employee
            .iter()
            .filter(|((agency_index, _), _)| *agency_index == index)
            .map(|(_, list)| list.len())
            .sum::<usize>()
            + usize::from(
                purchases.reissued.as_ref().is_some_and(|(agency_index, ..)| *agency_index == index),
            )
            + usize::from(index == 0 && purchases.return_of.is_some())
            + purchases.unclaimed.iter().filter(|(agency_index, _)| *agency_index == index).count();
        wait_for_receipts(agency, expected).await?;
        say(format!("  {} holds {expected} receipts for its employees", agency.name));
    }
    let claims = claim_and_decide(cast, &purchases, &mut report, say).await?;
    settle(cast, &claims, &mut report, say).await?;
    export_sie(cast, &mut report, say).await?;
    Ok(report)
}

/// The SSC exports each agency's claims booked this year as an SIE file.
async fn export_sie(
    cast: &Cast,
    report: &mut DayReport,
    say: &mut dyn FnMut(String),
) -> Result<(), DayError> {
    let year = time::OffsetDateTime::now_utc().year();
    let day = |month, day| {
        time::Date::from_calendar_date(year, month, day)
            .map_err(|error| DayError::Unexpected(format!("the year {year}: {error}")))
    };
    let (from, to) = (day(time::Month::January, 1)?, day(time::Month::December, 31)?);
    for agency in &cast.agencies {
        let export = SieExport { agency: agency.org.to_owned(), from, to, again: false };
        let request = ClientRequest::ExportSie(export);
        let staff = caller("ssc-greta", CallerRole::SscStaff);
        match ask(&cast.ssc.node, "export SIE", staff, request).await? {
            ClientResponse::Sie(file) => {
                say(format!("  the SSC exported {} vouchers of {} as SIE", file.vouchers.len(), agency.name));
                report.sie.push(AgencySie {
                    org: agency.org.to_owned(),
                    name: agency.name.to_owned(),
                    bytes: file.bytes,
                    vouchers: file.vouchers.len(),
                });
            }
            other => return Err(DayError::Unexpected(format!("export SIE: {other:?}"))),
        }
    }
    Ok(())
}

async fn wait_for_receipts(agency: &Org, expected: usize) -> Result<(), DayError> {
    let deadline = tokio::time::Instant::now() + DELIVERY_DEADLINE;
    loop {
        let request = ClientRequest::ListReceipts { employee: None, limit: 10_000, after: None };
        if let ClientResponse::Receipts(listed) =
            ask(&agency.node, "list receipts", caller("operator", CallerRole::Operator), request).await?
        {
            let receipts = listed.items;
            if receipts.len() >= expected {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(DayError::Unexpected(format!(
                    "{} holds {} of {expected} receipts after {DELIVERY_DEADLINE:?}",
                    agency.name,
                    receipts.len()
                )));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A claim and the agency that made it.
struct Filed {
    agency: usize,
    claim: RecordId,
    label: String,
}

async fn claim_and_decide(
    cast: &Cast,
    purchases: &Purchases,
    report: &mut DayReport,
    say: &mut dyn FnMut(String),
) -> Result<Vec<Filed>, DayError> {
    let mut filed = Vec::new();
    for ((agency_index, person), entries) in &purchases.by_employee {
        let agency = cast.agency(*agency_index)?;
        let claim = file_claim(agency, person, "Konferens om digitala kvitton, Stockholm", entries).await?;
        say(format!("  {person} of {} submitted a claim with {} receipts", agency.name, entries.len()));
        filed.push(Filed { agency: *agency_index, claim, label: format!("{person} ({})", agency.name) });
    }
    if let Some((agency_index, person, reissue)) = &purchases.reissued {
        let agency = cast.agency(*agency_index)?;
        let claim = file_claim(agency, person, "Lunchmöte", &[Claimable::swedish(*reissue, 5800)]).await?;
        say(format!(
            "  {person} of {} submitted a second claim with the reissued lunch receipt",
            agency.name
        ));
        filed.push(Filed { agency: *agency_index, claim, label: format!("{person} (second claim)") });
    }
    let approvers = ["chef-cecilia", "chef-filip"];
    for item in &filed {
        let agency = cast.agency(item.agency)?;
        let approver = approvers.get(item.agency).copied().unwrap_or("chef-stf");
        let view = show(&agency.node, item.claim).await?;
        let claimant = view.claim.body().claimant.clone();
        if claimant == approver && item.agency == 1 {
            ask(
                &agency.node,
                "approve",
                caller("chef-stf", CallerRole::Approver),
                ClientRequest::Decide { claim: item.claim, action: Action::Approved },
            )
            .await?;
            say(format!("  chef-stf approved the claim of {}", item.label));
        } else if claimant == approver {
            // The approver's own claim: refused, then approved by a deputy.
            let refused = agency
                .node
                .ask(
                    caller(approver, CallerRole::Approver),
                    ClientRequest::Decide { claim: item.claim, action: Action::Approved },
                )
                .await;
            match refused {
                Err(refusal) => {
                    say(format!("  {approver} tried to approve their own claim: refused ({})", refusal.code));
                    // A policy refusal lists its findings a line each: the summary keeps one line.
                    let message = refusal.message.lines().map(str::trim).collect::<Vec<_>>().join(" ");
                    report.refusals.push(format!("self-approval by {approver}: {message}"));
                }
                Ok(_) => return Err(DayError::Unexpected(format!("{approver} approved their own claim"))),
            }
            ask(
                &agency.node,
                "approve",
                caller("chef-stf", CallerRole::Approver),
                ClientRequest::Decide { claim: item.claim, action: Action::Approved },
            )
            .await?;
            say(format!("  chef-stf approved {approver}'s claim instead"));
        } else if claimant == "eva" {
            let reason = "Kvittot för middagen saknar deltagarlista; komplettera och skicka in igen.";
            ask(
                &agency.node,
                "reject",
                caller(approver, CallerRole::Approver),
                ClientRequest::Decide {
                    claim: item.claim,
                    action: Action::Rejected { reason: reason.into() },
                },
            )
            .await?;
            say(format!("  {approver} rejected eva's claim: {reason}"));
        } else {
            ask(
                &agency.node,
                "approve",
                caller(approver, CallerRole::Approver),
                ClientRequest::Decide { claim: item.claim, action: Action::Approved },
            )
            .await?;
            say(format!("  {approver} approved the claim of {}", item.label));
        }
    }
    Ok(filed)
}

async fn file_claim(
    agency: &Org,
    person: &str,
    purpose: &str,
    entries: &[Claimable],
) -> Result<RecordId, DayError> {
    let employee = caller(person, CallerRole::Employee);
    let ClientResponse::Draft { draft, .. } = ask(
        &agency.node,
        "open a claim",
        employee.clone(),
        ClientRequest::NewClaim { purpose: purpose.into() },
    )
    .await?
    else {
        return Err(DayError::Unexpected("no draft".into()));
    };
    for Claimable { receipt, amount, foreign, account } in entries {
        let amount = if foreign.is_some() { *amount } else { receipt_total(&agency.node, *receipt).await? };
        let item = ClaimItem::Receipt {
            receipt: *receipt,
            business_purpose: "Resa och logi för konferensen".into(),
            amount,
            booking: Booking {
                account: *account,
                cost_center: "CC-4100".into(),
                project: Some("KVITT-2026".into()),
            },
            foreign: foreign.clone(),
            participants: vec![],
        };
        ask(
            &agency.node,
            "add an item",
            employee.clone(),
            ClientRequest::AddItem { number: draft.number.clone(), item: Box::new(item) },
        )
        .await?;
    }
    match ask(&agency.node, "submit", employee, ClientRequest::Submit { number: draft.number.clone() })
        .await?
    {
        ClientResponse::Submitted { claim } => Ok(claim),
        other => Err(DayError::Unexpected(format!("submit answered {other:?}"))),
    }
}

async fn receipt_total(node: &NodeHandle, id: RecordId) -> Result<i64, DayError> {
    match ask(node, "read a receipt", caller("operator", CallerRole::Operator), ClientRequest::Record(id))
        .await?
    {
        ClientResponse::Record(record) => match *record {
            kvitt_protocol::AnyRecord::Receipt(receipt) => Ok(receipt.body().total.max(0)),
            other => Err(DayError::Unexpected(format!("{id} is a {}", other.kind()))),
        },
        other => Err(DayError::Unexpected(format!("record answered {other:?}"))),
    }
}

async fn show(node: &NodeHandle, claim: RecordId) -> Result<kvitt_node::core::ClaimView, DayError> {
    match ask(
        node,
        "show a claim",
        caller("operator", CallerRole::Operator),
        ClientRequest::ShowClaim { claim },
    )
    .await?
    {
        ClientResponse::Claim(view) => Ok(*view),
        other => Err(DayError::Unexpected(format!("show answered {other:?}"))),
    }
}

/// Waits until `node` holds `claim` with a status accepted by `done`.
async fn wait_for_status(
    node: &NodeHandle,
    claim: RecordId,
    done: impl Fn(Status) -> bool,
) -> Result<Status, DayError> {
    let deadline = tokio::time::Instant::now() + DELIVERY_DEADLINE;
    loop {
        if let Ok(ClientResponse::Claim(view)) =
            node.ask(caller("operator", CallerRole::Operator), ClientRequest::ShowClaim { claim }).await
        {
            if done(view.status) {
                return Ok(view.status);
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(DayError::Unexpected(format!(
                "claim {} did not reach the expected status within {DELIVERY_DEADLINE:?}",
                claim.short()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn settle(
    cast: &Cast,
    filed: &[Filed],
    report: &mut DayReport,
    say: &mut dyn FnMut(String),
) -> Result<(), DayError> {
    let staff = caller("ssc-greta", CallerRole::SscStaff);
    for item in filed {
        let agency = cast.agency(item.agency)?;
        let at_agency = show(&agency.node, item.claim).await?;
        if at_agency.status == Status::Rejected {
            // Rejected by its approver (the SSC never saw it), or already by the SSC.
            if let Ok(ClientResponse::Claim(view)) =
                cast.ssc.node.ask(staff.clone(), ClientRequest::ShowClaim { claim: item.claim }).await
            {
                if let Some(why) = view.exception {
                    say(format!("  the SSC caught a duplicate in the claim of {}: {why}", item.label));
                }
            }
            continue;
        }
        let status = wait_for_status(&cast.ssc.node, item.claim, |status| {
            matches!(status, Status::Approved | Status::Rejected)
        })
        .await?;
        let view = show(&cast.ssc.node, item.claim).await?;
        if let Some(why) = view.exception {
            // Held for the exception: staff look at it and reject it, a signed event.
            if status == Status::Approved {
                let note = "Kvittot finns redan i en tidigare räkning".to_owned();
                let resolve =
                    ClientRequest::Resolve { claim: item.claim, resolution: Resolution::Reject, note };
                ask(&cast.ssc.node, "resolve", staff.clone(), resolve).await?;
            }
            say(format!("  the SSC caught a duplicate in the claim of {}: {why}", item.label));
            continue;
        }
        ask(&cast.ssc.node, "book", staff.clone(), ClientRequest::Book { claim: item.claim }).await?;
        ask(&cast.ssc.node, "pay", staff.clone(), ClientRequest::Pay { claim: item.claim }).await?;
        say(format!("  the SSC booked and paid the claim of {}", item.label));
    }
    say("Waiting for every status to reach the agencies …".into());
    for item in filed {
        let agency = cast.agency(item.agency)?;
        let status = wait_for_status(&agency.node, item.claim, |status| {
            matches!(status, Status::Paid | Status::Rejected)
        })
        .await?;
        let view = show(&agency.node, item.claim).await?;
        *report.claims.entry((agency.name.to_owned(), format!("{status:?}").to_lowercase())).or_default() +=
            1;
        if status == Status::Paid {
            *report.paid.entry(agency.name.to_owned()).or_default() += view.claim.body().total();
        }
    }
    let request = ClientRequest::Exceptions { limit: 100, all: true, after: None };
    if let ClientResponse::Exceptions(exceptions) = ask(&cast.ssc.node, "exceptions", staff, request).await? {
        report.exceptions = exceptions
            .items
            .into_iter()
            .map(|exception| format!("{}: {}", exception.id.short(), exception.why))
            .collect();
    }
    Ok(())
}
