//! A realistic working day, played through the nodes' client interface: tills push
//! receipts, employees claim them, approvers decide, the SSC books and pays, and the
//! statuses travel back. Everything it prints comes from what the nodes answered.

use std::collections::BTreeMap;
use std::time::Duration;

use kvitt_protocol::claim::{Booking, ClaimItem, ExchangeRate, ForeignAmount};
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::RecordId;

use crate::core::{Caller, CallerRole, ClientRequest, ClientResponse};
use crate::handle::NodeHandle;

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
    fn agency(&self, index: usize) -> Result<&Org, DayError> {
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
}

/// What happened during the day, for the summary.
#[derive(Default, Debug)]
pub struct DayReport {
    /// Receipts pushed, per merchant name.
    pub receipts: BTreeMap<String, usize>,
    /// Claims per agency and final status.
    pub claims: BTreeMap<(String, String), usize>,
    /// Öre paid per agency.
    pub paid: BTreeMap<String, i64>,
    /// Exceptions the SSC holds.
    pub exceptions: Vec<String>,
    /// Refusals the nodes gave where the day expected one.
    pub refusals: Vec<String>,
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

fn caller(person: &str, role: CallerRole) -> Caller {
    Caller { person: person.into(), role }
}

async fn ask(
    node: &NodeHandle,
    step: &str,
    caller: Caller,
    request: ClientRequest,
) -> Result<ClientResponse, DayError> {
    node.ask(caller, request).await.map_err(|refusal| DayError::Refused { step: step.to_owned(), refusal })
}

/// A merchant's receipt from the till `(register, serial)` for `lines` (amounts
/// computed), paid by card.
fn receipt(
    merchant: &Org,
    city: &str,
    (register, serial): (&str, u64),
    at: &str,
    buyer: (&str, &str),
    lines: Vec<Line>,
    card: u32,
) -> Receipt {
    let foreign = merchant.org.contains(':');
    let receipt = Receipt {
        merchant: Merchant {
            name: merchant.name.into(),
            org: merchant.org.into(),
            vat_number: if foreign {
                Some("DE123456789".into())
            } else {
                Some(format!("SE{}01", merchant.org.replace('-', "")))
            },
            address: Address {
                street: if foreign { "Friedrichstraße 1".into() } else { "Vasagatan 10".into() },
                postal_code: if foreign { "10117".into() } else { "111 20".into() },
                city: city.into(),
                country: if foreign { "DE".into() } else { "SE".into() },
            },
        },
        register: register.into(),
        serial,
        control_unit: format!("CU-{register}"),
        issued_at: at.into(),
        currency: if foreign { "EUR".into() } else { "SEK".into() },
        lines,
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Buyer { agency: buyer.0.into(), employee: Some(buyer.1.into()) },
        original: None,
    }
    .with_computed_totals();
    let total = receipt.total;
    Receipt {
        payments: vec![Payment::Card {
            amount: total,
            masked_pan: format!("************{:04}", card % 10_000),
            brand: "Visa".into(),
            rrn: format!("{:012}", 600_000_000_000u64 + u64::from(card) * 1000 + serial),
            terminal: format!("T-{register}"),
            approval_code: format!(
                "{:06}",
                (card * 7919 + u32::try_from(serial % 1000).unwrap_or(0)) % 1_000_000
            ),
        }],
        ..receipt
    }
}

fn line(description: &str, category: &str, quantity_milli: i64, unit_price: i64, rate: u32) -> Line {
    Line {
        kind: LineKind::Sale,
        description: description.into(),
        article: None,
        gtin: None,
        category: Some(category.into()),
        quantity: Some(quantity_milli),
        unit: Some(if category == "hotel" { "natt".into() } else { "st".into() }),
        unit_price: Some(unit_price),
        discounts: vec![],
        amount: None,
        vat_rate: Some(rate),
    }
}

/// A foreign line: no Swedish category, the seller's own rate.
fn foreign_line(description: &str, nights: i64, unit_price: i64, rate: u32) -> Line {
    Line {
        category: None,
        unit: Some("Nacht".into()),
        ..line(description, "hotel", nights * 1000, unit_price, rate)
    }
}

/// Pushes a receipt through a merchant's till and returns its id.
async fn push(report: &mut DayReport, merchant: &Org, receipt: Receipt) -> Result<RecordId, DayError> {
    let step = format!("{} pushes receipt {} #{}", merchant.name, receipt.register, receipt.serial);
    match ask(
        &merchant.node,
        &step,
        caller("till-1", CallerRole::Till),
        ClientRequest::PushReceipt(Box::new(receipt)),
    )
    .await?
    {
        ClientResponse::Pushed { id, .. } => {
            *report.receipts.entry(merchant.name.to_owned()).or_default() += 1;
            Ok(id)
        }
        other => Err(DayError::Unexpected(format!("{step}: answered {other:?}"))),
    }
}

/// A receipt an employee will claim, and how.
#[derive(Clone)]
struct Claimable {
    receipt: RecordId,
    /// The SEK amount to claim for a foreign receipt; Swedish ones claim their total.
    amount: i64,
    foreign: Option<ForeignAmount>,
    account: u16,
}

impl Claimable {
    fn swedish(receipt: RecordId, account: u16) -> Claimable {
        Claimable { receipt, amount: 0, foreign: None, account }
    }
}

/// The receipts the employees of the day bought, per (agency index, employee).
struct Purchases {
    by_employee: BTreeMap<(usize, String), Vec<Claimable>>,
    reissued: Option<(usize, String, RecordId)>,
    return_of: Option<RecordId>,
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
            + usize::from(index == 0 && purchases.return_of.is_some());
        wait_for_receipts(agency, expected).await?;
        say(format!("  {} holds {expected} receipts for its employees", agency.name));
    }
    let claims = claim_and_decide(cast, &purchases, &mut report, say).await?;
    settle(cast, &claims, &mut report, say).await?;
    Ok(report)
}

async fn buy(
    cast: &Cast,
    report: &mut DayReport,
    say: &mut dyn FnMut(String),
) -> Result<Purchases, DayError> {
    let mut purchases = Purchases { by_employee: BTreeMap::new(), reissued: None, return_of: None };
    let employees = [["anna", "bo", "chef-cecilia"], ["david", "eva", "chef-filip"]];
    // Each register numbers its receipts in its own unbroken series.
    let mut serials: BTreeMap<&str, u64> = BTreeMap::new();
    let mut next = |register: &'static str| {
        let serial = serials.entry(register).or_insert(1000);
        *serial += 1;
        *serial
    };
    let mut card = 1100;
    for (agency_index, (agency, people)) in cast.agencies.iter().zip(&employees).enumerate() {
        for (person_index, person) in people.iter().enumerate() {
            let buyer = (agency.org, *person);
            let mut bought = Vec::new();
            // Morning: train to Stockholm, taxi to the office.
            card += 1;
            let train = receipt(
                &cast.travel,
                "Stockholm",
                ("SJ-WEB", next("SJ-WEB")),
                "2026-05-04T06:40:00+02:00",
                buyer,
                vec![line("Tåg Göteborg–Stockholm", "passenger_transport", 1000, 89_500, 600)],
                card,
            );
            bought.push((push(report, &cast.travel, train).await?, 5800));
            let taxi = receipt(
                &cast.travel,
                "Stockholm",
                ("TAXI-12", next("TAXI-12")),
                "2026-05-04T10:05:00+02:00",
                buyer,
                vec![line(
                    "Taxi Centralen–Kungsholmen",
                    "passenger_transport",
                    1000,
                    31_900 + 100 * i64::try_from(person_index).unwrap_or(0),
                    600,
                )],
                card,
            );
            bought.push((push(report, &cast.travel, taxi).await?, 5800));
            // Lunch with the conference, served: 12 %.
            let lunch = receipt(
                &cast.hotel,
                "Stockholm",
                ("REST-1", next("REST-1")),
                "2026-05-04T12:05:00+02:00",
                buyer,
                vec![
                    line("Dagens lunch", "restaurant", 1000, 13_500, 1200),
                    line("Kaffe", "restaurant", 1000, 3_500, 1200),
                ],
                card,
            );
            bought.push((push(report, &cast.hotel, lunch).await?, 5800));
            // Evening: dinner with wine, then the hotel.
            let dinner = receipt(
                &cast.hotel,
                "Stockholm",
                ("REST-1", next("REST-1")),
                "2026-05-04T19:30:00+02:00",
                buyer,
                vec![
                    line("Middag, varmrätt", "restaurant", 1000, 28_500, 1200),
                    line("Glas vin", "alcohol", 1000, 12_500, 2500),
                ],
                card,
            );
            bought.push((push(report, &cast.hotel, dinner).await?, 5800));
            let night = receipt(
                &cast.hotel,
                "Stockholm",
                ("HOTEL-1", next("HOTEL-1")),
                "2026-05-05T07:45:00+02:00",
                buyer,
                vec![
                    line("Enkelrum", "hotel", 1000, 145_000, 1200),
                    line("Frukost", "restaurant", 1000, 16_500, 1200),
                ],
                card,
            );
            bought.push((push(report, &cast.hotel, night).await?, 5831));
            // Two more taxis for everyone: a busy day.
            for hour in [13, 16] {
                let ride = receipt(
                    &cast.travel,
                    "Stockholm",
                    ("TAXI-12", next("TAXI-12")),
                    &format!("2026-05-04T{hour}:15:00+02:00"),
                    buyer,
                    vec![line(
                        "Taxi inom stan",
                        "passenger_transport",
                        1000,
                        18_700 + i64::from(hour) * 10,
                        600,
                    )],
                    card,
                );
                bought.push((push(report, &cast.travel, ride).await?, 5800));
            }
            // The next afternoon: the train home.
            let home = receipt(
                &cast.travel,
                "Stockholm",
                ("SJ-WEB", next("SJ-WEB")),
                "2026-05-05T16:10:00+02:00",
                buyer,
                vec![line("Tåg Stockholm–Göteborg", "passenger_transport", 1000, 79_500, 600)],
                card,
            );
            bought.push((push(report, &cast.travel, home).await?, 5800));
            let entries = bought.into_iter().map(|(id, account)| Claimable::swedish(id, account)).collect();
            purchases.by_employee.insert((agency_index, (*person).to_owned()), entries);
        }
    }
    // Anna's trip continues to Berlin: a hotel paid in euro (German hotel VAT 7 %).
    let berlin = receipt(
        &cast.berlin,
        "Berlin",
        ("REZEPTION", next("REZEPTION")),
        "2026-05-06T08:10:00+02:00",
        (cast.agencies[0].org, "anna"),
        vec![foreign_line("Einzelzimmer", 2, 12_900, 700)],
        1201,
    );
    let berlin_total = berlin.total;
    let berlin_id = push(report, &cast.berlin, berlin).await?;
    let rate = ExchangeRate { value: 114_523, scale: 4 };
    let foreign = ForeignAmount {
        amount: berlin_total,
        currency: "EUR".into(),
        rate,
        rate_date: "2026-05-05".into(),
        rate_source: "riksbanken".into(),
    };
    if let Some(entries) = purchases.by_employee.get_mut(&(0, "anna".to_owned())) {
        let amount = rate.convert(berlin_total, "EUR").unwrap_or(0);
        entries.push(Claimable { receipt: berlin_id, amount, foreign: Some(foreign), account: 5831 });
    }
    say(format!(
        "  {} issued a receipt of {}.{:02} EUR to anna of {}",
        cast.berlin.name,
        berlin_total / 100,
        berlin_total % 100,
        cast.agencies[0].name
    ));
    // Bo's lunch receipt is reissued by the restaurant (same card payment, new serial).
    let lunch = receipt(
        &cast.hotel,
        "Stockholm",
        ("REST-1", next("REST-1")),
        "2026-05-04T12:10:00+02:00",
        (cast.agencies[0].org, "bo"),
        vec![line("Dagens lunch", "restaurant", 1000, 13_500, 1200)],
        1999,
    );
    // A reissue is a new receipt (next serial, later time) for the very same card payment.
    let reissue =
        Receipt { serial: next("REST-1"), issued_at: "2026-05-04T12:40:00+02:00".into(), ..lunch.clone() };
    let lunch_id = push(report, &cast.hotel, lunch).await?;
    let reissue_id = push(report, &cast.hotel, reissue).await?;
    if let Some(entries) = purchases.by_employee.get_mut(&(0, "bo".to_owned())) {
        entries.push(Claimable::swedish(lunch_id, 5800));
    }
    purchases.reissued = Some((0, "bo".to_owned(), reissue_id));
    say(format!("  {} reissued bo's lunch receipt for the same card payment", cast.hotel.name));
    // A return: anna's last taxi ride was refunded.
    let taxi_ride = purchases
        .by_employee
        .get(&(0, "anna".to_owned()))
        .and_then(|entries| entries.get(5))
        .map(|entry| entry.receipt);
    if let Some(original) = taxi_ride {
        let mut refund = receipt(
            &cast.travel,
            "Stockholm",
            ("TAXI-12", next("TAXI-12")),
            "2026-05-04T17:00:00+02:00",
            (cast.agencies[0].org, "anna"),
            vec![Line {
                kind: LineKind::Return,
                ..line("Återbetalning: taxi inom stan", "passenger_transport", 1000, 18_860, 600)
            }],
            1102,
        );
        refund.original = Some(original);
        let refund = refund.with_computed_totals();
        let total = refund.total;
        let refund = Receipt {
            payments: vec![Payment::Swish { amount: total, reference: "RETUR-1".into() }],
            ..refund
        };
        let refund_id = push(report, &cast.travel, refund).await?;
        purchases.return_of = Some(refund_id);
        if let Some(entries) = purchases.by_employee.get_mut(&(0, "anna".to_owned())) {
            entries.retain(|entry| entry.receipt != original);
        }
        say(format!("  {} refunded one of anna's taxi rides with a return receipt", cast.travel.name));
    }
    Ok(purchases)
}

async fn wait_for_receipts(agency: &Org, expected: usize) -> Result<(), DayError> {
    let deadline = tokio::time::Instant::now() + DELIVERY_DEADLINE;
    loop {
        let request = ClientRequest::ListReceipts { employee: None, limit: 10_000 };
        if let ClientResponse::Receipts(receipts) =
            ask(&agency.node, "list receipts", caller("operator", CallerRole::Operator), request).await?
        {
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
                    report.refusals.push(format!("self-approval by {approver}: {}", refusal.message));
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
    let ClientResponse::Draft(draft) = ask(
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

async fn show(node: &NodeHandle, claim: RecordId) -> Result<crate::core::ClaimView, DayError> {
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
        if status == Status::Rejected {
            let view = show(&cast.ssc.node, item.claim).await?;
            say(format!(
                "  the SSC caught a duplicate in the claim of {}: {}",
                item.label,
                view.exception.unwrap_or_default()
            ));
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
    if let ClientResponse::Exceptions(exceptions) =
        ask(&cast.ssc.node, "exceptions", staff, ClientRequest::Exceptions { limit: 100 }).await?
    {
        report.exceptions =
            exceptions.into_iter().map(|(id, why)| format!("{}: {why}", id.short())).collect();
    }
    Ok(())
}
