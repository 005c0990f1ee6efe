//! The demo day's purchases: the receipts the tills push for each employee's trip, built
//! as a Swedish till would (lines at their VAT rates, totals computed, paid by card). The
//! agencies enrol their employees' cards first, and the trips' receipts are pushed with
//! only the card payment: the merchants' nodes find each receipt's agency by the card. One
//! till speaks SDRS, and one coffee is paid in cash and collected by its code (tills.rs).

use std::collections::BTreeMap;

use kvitt_books::BookingTable;
use kvitt_formats::SdrsSale;
use kvitt_protocol::claim::{ExchangeRate, ForeignAmount};
use kvitt_protocol::code::ReceiptCode;
use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::RecordId;

use super::day::{ask, caller, Cast, DayError, DayReport, Org, Route};
use super::tills::{fetch_by_code, push_sdrs};
use kvitt_node::core::{CallerRole, CardEnrolment, ClientRequest, ClientResponse};

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
        buyer: Some(Buyer { agency: buyer.0.into(), employee: Some(buyer.1.into()) }),
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

/// A foreign hotel line: goods category `hotel`, the seller's own rate.
fn foreign_line(description: &str, nights: i64, unit_price: i64, rate: u32) -> Line {
    Line { unit: Some("Nacht".into()), ..line(description, "hotel", nights * 1000, unit_price, rate) }
}

/// The card reference (an EMVCo PAR, 29 characters) of the demo's card `card`.
fn par(card: u32) -> String {
    format!("V0010013018209{card:015}")
}

/// The card of the employee `person_index` of agency `agency_index`.
fn card_of(agency_index: usize, person_index: usize) -> u32 {
    1101 + u32::try_from(agency_index * 3 + person_index).unwrap_or(0)
}

/// Each agency's operator enrols its employees' cards at the SSC (spec/routing.md).
async fn enrol(cast: &Cast, employees: &[[&str; 3]; 2], say: &mut dyn FnMut(String)) -> Result<(), DayError> {
    for (agency_index, (agency, people)) in cast.agencies.iter().zip(employees).enumerate() {
        let cards = people
            .iter()
            .enumerate()
            .map(|(person_index, person)| CardEnrolment {
                reference: par(card_of(agency_index, person_index)),
                employee: Some((*person).to_owned()),
            })
            .collect();
        let step = format!("{} enrols its employees' cards", agency.name);
        match ask(
            &agency.node,
            &step,
            caller("operator", CallerRole::Operator),
            ClientRequest::Enrol { cards },
        )
        .await?
        {
            ClientResponse::Enrolled { cards } => {
                say(format!("  {} enrolled {cards} cards at the SSC", agency.name))
            }
            other => return Err(DayError::Unexpected(format!("{step}: answered {other:?}"))),
        }
    }
    Ok(())
}

/// Pushes a receipt naming its buyer through a merchant's till and returns its id.
async fn push(report: &mut DayReport, merchant: &Org, receipt: Receipt) -> Result<RecordId, DayError> {
    let request = ClientRequest::PushReceipt(Box::new(receipt.clone()));
    Ok(push_request(report, merchant, &receipt, request, Route::Buyer).await?.0)
}

/// Pushes a receipt the till knows only the card of: the merchant's node finds the buyer.
async fn push_by_card(
    report: &mut DayReport,
    merchant: &Org,
    receipt: Receipt,
    card: u32,
) -> Result<RecordId, DayError> {
    let receipt = Receipt { buyer: None, ..receipt };
    let request = ClientRequest::PushCardReceipt { receipt: Box::new(receipt.clone()), card: par(card) };
    Ok(push_request(report, merchant, &receipt, request, Route::Card).await?.0)
}

/// Pushes a receipt, counted as reaching its agency by `route`: its id, and its receipt
/// code if it was signed without a buyer.
async fn push_request(
    report: &mut DayReport,
    merchant: &Org,
    receipt: &Receipt,
    request: ClientRequest,
    route: Route,
) -> Result<(RecordId, Option<ReceiptCode>), DayError> {
    let step = format!("{} pushes receipt {} #{}", merchant.name, receipt.register, receipt.serial);
    match ask(&merchant.node, &step, caller("till-1", CallerRole::Till), request).await? {
        ClientResponse::Pushed { id, code, .. } => {
            count(report, merchant, route);
            Ok((id, code))
        }
        other => Err(DayError::Unexpected(format!("{step}: answered {other:?}"))),
    }
}

/// Counts a receipt of `merchant` that reaches its agency by `route`.
fn count(report: &mut DayReport, merchant: &Org, route: Route) {
    *report.receipts.entry(merchant.name.to_owned()).or_default() += 1;
    *report.routes.entry((merchant.name.to_owned(), route)).or_default() += 1;
}

/// A receipt an employee will claim, and how.
#[derive(Clone)]
pub(super) struct Claimable {
    pub(super) receipt: RecordId,
    /// The SEK amount to claim for a foreign receipt; Swedish ones claim their total.
    pub(super) amount: i64,
    pub(super) foreign: Option<ForeignAmount>,
    pub(super) account: u16,
}

impl Claimable {
    pub(super) fn swedish(receipt: RecordId, account: u16) -> Claimable {
        Claimable { receipt, amount: 0, foreign: None, account }
    }
}

/// The receipts the employees of the day bought, per (agency index, employee).
pub(super) struct Purchases {
    pub(super) by_employee: BTreeMap<(usize, String), Vec<Claimable>>,
    pub(super) reissued: Option<(usize, String, RecordId)>,
    pub(super) return_of: Option<RecordId>,
    /// Receipts that reach an agency (its index) and go into no claim: the SDRS till's,
    /// and the one collected by code (the day's claims and their totals stay those of the
    /// trips).
    pub(super) unclaimed: Vec<(usize, RecordId)>,
}

/// The day's shopping: every employee's trip, Anna's hotel in Berlin, a return and a
/// receipt reissued for the same card payment, pushed through the merchants' tills.
pub(super) async fn buy(
    cast: &Cast,
    report: &mut DayReport,
    say: &mut dyn FnMut(String),
) -> Result<Purchases, DayError> {
    let mut purchases =
        Purchases { by_employee: BTreeMap::new(), reissued: None, return_of: None, unclaimed: Vec::new() };
    let employees = [["anna", "bo", "chef-cecilia"], ["david", "eva", "chef-filip"]];
    // Each register numbers its receipts in its own unbroken series.
    let mut serials: BTreeMap<&str, u64> = BTreeMap::new();
    let mut next = |register: &'static str| {
        let serial = serials.entry(register).or_insert(1000);
        *serial += 1;
        *serial
    };
    enrol(cast, &employees, say).await?;
    // Every trip is paid with the employee's enrolled card: the tills know only the card
    // payment, and the merchants' nodes find each receipt's agency by it.
    for (agency_index, (agency, people)) in cast.agencies.iter().zip(&employees).enumerate() {
        for (person_index, person) in people.iter().enumerate() {
            let buyer = (agency.org, *person);
            let mut bought = Vec::new();
            // Morning: train to Stockholm, taxi to the office.
            let card = card_of(agency_index, person_index);
            let train = receipt(
                &cast.travel,
                "Stockholm",
                ("SJ-WEB", next("SJ-WEB")),
                "2026-05-04T06:40:00+02:00",
                buyer,
                vec![line("Tåg Göteborg–Stockholm", "passenger_transport", 1000, 89_500, 600)],
                card,
            );
            bought.push((push_by_card(report, &cast.travel, train, card).await?, 5800));
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
            bought.push((push_by_card(report, &cast.travel, taxi, card).await?, 5800));
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
            bought.push((push_by_card(report, &cast.hotel, lunch, card).await?, 5800));
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
            bought.push((push_by_card(report, &cast.hotel, dinner, card).await?, 5800));
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
            bought.push((push_by_card(report, &cast.hotel, night, card).await?, 5831));
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
                bought.push((push_by_card(report, &cast.travel, ride, card).await?, 5800));
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
            bought.push((push_by_card(report, &cast.travel, home, card).await?, 5800));
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
    // Lodging abroad: the booking table suggests 5832 Kost och logi i utlandet.
    let berlin_account = BookingTable::default_table()
        .ok()
        .and_then(|table| table.suggested_account_for(&berlin))
        .ok_or_else(|| {
            DayError::Unexpected("the booking table suggests no account for the Berlin hotel".into())
        })?;
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
        entries.push(Claimable {
            receipt: berlin_id,
            amount,
            foreign: Some(foreign),
            account: berlin_account,
        });
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
    let sdrs = sdrs_till(cast, report, next("SJ-AUTOMAT"), say).await?;
    purchases.unclaimed.push((1, sdrs));
    let coffee = ("CAFE-1", next("CAFE-1"));
    purchases.unclaimed.push((0, cash_collected_by_code(cast, report, coffee, say).await?));
    Ok(purchases)
}

/// The travel merchant's ticket machine speaks SDRS: it posts david's ticket as XML naming
/// his card's PAR, and the merchant's node routes it by that card.
async fn sdrs_till(
    cast: &Cast,
    report: &mut DayReport,
    serial: u64,
    say: &mut dyn FnMut(String),
) -> Result<RecordId, DayError> {
    let card = card_of(1, 0);
    let par = par(card);
    let sale = SdrsSale {
        seller: (cast.travel.name, cast.travel.org),
        register: "SJ-AUTOMAT",
        serial,
        at: "2026-05-05T09:30:00+02:00",
        description: "Tåg Stockholm C–Arlanda C",
        price: 32_000,
        par: &par,
        last_four: card % 10_000,
    };
    let id = push_sdrs(&cast.travel, &sale).await?;
    count(report, &cast.travel, Route::SdrsCard);
    say(format!(
        "  {}'s ticket machine posted david's ticket as SDRS XML; the PAR in it routed the receipt to {}",
        cast.travel.name,
        cast.agency(1)?.name
    ));
    Ok(id)
}

/// Bo pays a coffee in cash: the receipt is signed without a buyer, the till shows its
/// code, and bo collects it on the agency's page; it is then in bo's receipts.
async fn cash_collected_by_code(
    cast: &Cast,
    report: &mut DayReport,
    (register, serial): (&str, u64),
    say: &mut dyn FnMut(String),
) -> Result<RecordId, DayError> {
    let agency = cast.agency(0)?;
    let sale = receipt(
        &cast.hotel,
        "Stockholm",
        (register, serial),
        "2026-05-04T15:00:00+02:00",
        (agency.org, "bo"),
        vec![line("Kaffe och kanelbulle", "restaurant", 1000, 4_500, 1200)],
        0,
    );
    let cash = Receipt { buyer: None, payments: vec![Payment::Cash { amount: sale.total }], ..sale };
    let request = ClientRequest::PushReceipt(Box::new(cash.clone()));
    let (id, code) = push_request(report, &cast.hotel, &cash, request, Route::Code).await?;
    let code = code.ok_or_else(|| DayError::Unexpected("the cash receipt got no receipt code".into()))?;
    say(format!("  {} sold bo a coffee for cash; the till shows the receipt code {code}", cast.hotel.name));
    let collected = fetch_by_code(agency, "bo", &code.to_string()).await?;
    if collected != id {
        return Err(DayError::Unexpected(format!("code {code} collected {collected}, not the receipt {id}")));
    }
    let request = ClientRequest::ListReceipts { employee: Some("bo".into()), limit: 1000, after: None };
    match ask(&agency.node, "bo lists his receipts", caller("bo", CallerRole::Employee), request).await? {
        ClientResponse::Receipts(page) if page.items.iter().any(|receipt| receipt.id() == id) => {}
        other => {
            return Err(DayError::Unexpected(format!("bo's receipts lack the collected one: {other:?}")))
        }
    }
    say(format!(
        "  bo typed the code on {}'s page (Hämta kvitto): the receipt is in bo's receipts",
        agency.name
    ));
    Ok(id)
}
