//! Fixed keys, organisations and records the vectors are made of.

use super::*;

pub(crate) const MERCHANT: &str = "merchant";
pub(crate) const GROCER: &str = "grocer";
pub(crate) const MERCHANT_DE: &str = "merchant-de";
pub(crate) const AGENCY: &str = "agency";
pub(crate) const SSC: &str = "ssc";
pub(crate) const OPERATOR: &str = "operator";

pub(crate) const GROCER_ORG: &str = "559000-1235";
pub(crate) const FOREIGN_ORG: &str = "DE:HRB12345";
pub(crate) const OTHER_AGENCY_ORG: &str = "202100-5521";

pub(crate) fn sign<T: Record>(body: T, key_name: &str) -> Signed<T> {
    Signed::sign(body, &common::key(key_name)).unwrap_or_else(|error| panic!("fixture refused: {error}"))
}

/// The payment with another amount.
pub(crate) fn with_amount(payment: Payment, new_amount: i64) -> Payment {
    match payment {
        Payment::Cash { .. } => Payment::Cash { amount: new_amount },
        Payment::Card { masked_pan, brand, rrn, terminal, approval_code, .. } => {
            Payment::Card { amount: new_amount, masked_pan, brand, rrn, terminal, approval_code }
        }
        Payment::Swish { reference, .. } => Payment::Swish { amount: new_amount, reference },
        Payment::GiftCard { reference, .. } => Payment::GiftCard { amount: new_amount, reference },
        Payment::Other { description, .. } => Payment::Other { amount: new_amount, description },
    }
}

/// The receipt with VAT rows and total recomputed from the line amounts as they stand, and
/// a single payment set to the total: a vector then breaks exactly the rule it means to.
pub(crate) fn settle(mut receipt: Receipt) -> Receipt {
    receipt.vat = receipt.expected_vat();
    receipt.total = receipt.lines.iter().filter_map(|line| line.amount).sum::<i64>() + receipt.rounding;
    if receipt.payments.len() == 1 {
        let payment = receipt.payments.remove(0);
        receipt.payments.push(with_amount(payment, receipt.total));
    }
    receipt
}

/// Line amounts from quantity × price, then VAT rows, total and a single payment.
pub(crate) fn computed(receipt: Receipt) -> Receipt {
    settle(receipt.with_computed_totals())
}

pub(crate) fn card(amount: i64) -> Payment {
    Payment::Card {
        amount,
        masked_pan: "492500******1234".into(),
        brand: "Mastercard".into(),
        rrn: "612398765432".into(),
        terminal: "T-41002".into(),
        approval_code: "9Z8Y7X".into(),
    }
}

pub(crate) fn sale(
    description: &str,
    category: &str,
    unit: &str,
    quantity_milli: i64,
    unit_price: i64,
    rate: u32,
) -> Line {
    Line { unit: Some(unit.into()), ..common::line(description, category, quantity_milli, unit_price, rate) }
}

pub(crate) fn text_line(description: &str) -> Line {
    Line {
        kind: LineKind::Text,
        description: description.into(),
        article: None,
        gtin: None,
        category: None,
        quantity: None,
        unit: None,
        unit_price: None,
        discounts: vec![],
        amount: None,
        vat_rate: None,
    }
}

pub(crate) fn discount(description: &str, amount: i64) -> Discount {
    Discount { description: description.into(), amount }
}

pub(crate) fn grocer() -> Merchant {
    Merchant {
        name: "Kvitt Livs AB".into(),
        org: GROCER_ORG.into(),
        vat_number: Some("SE559000123501".into()),
        address: Address {
            street: "Kungsgatan 12".into(),
            postal_code: "411 19".into(),
            city: "Göteborg".into(),
            country: "SE".into(),
        },
    }
}

/// A grocery purchase: a 3-for-2 discount, a member price, a text line, a weighed item at
/// 1.234 kg, cash rounding of −47 öre, part cash and part card.
pub(crate) fn grocery() -> Receipt {
    let receipt = Receipt {
        merchant: grocer(),
        register: "KASSA-3".into(),
        serial: 88_412,
        control_unit: "CU-7734-0091".into(),
        issued_at: "2026-05-12T17:42:10+02:00".into(),
        currency: "SEK".into(),
        lines: vec![
            Line {
                gtin: Some("7310865004703".into()),
                discounts: vec![discount("3 för 2", 4_500)],
                ..sale("Smörgås ost & skinka", "food", "st", 3_000, 4_500, 600)
            },
            text_line("Medlemserbjudande: 3 för 2"),
            Line {
                discounts: vec![discount("Medlemspris", 500)],
                ..sale("Vatten 50 cl", "food", "st", 2_000, 1_995, 600)
            },
            Line {
                article: Some("EL-1045".into()),
                ..sale("Laddkabel USB-C", "general", "st", 1_000, 14_950, 2500)
            },
            sale("Äpplen Royal Gala", "food", "kg", 1_234, 3_490, 600),
        ],
        vat: vec![],
        rounding: -47,
        total: 0,
        payments: vec![],
        buyer: Some(Buyer { agency: common::AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original: None,
    }
    .with_computed_totals();
    assert_eq!(receipt.total, 31_700);
    Receipt { payments: vec![Payment::Cash { amount: 10_000 }, card(21_700)], ..receipt }
}

/// The charging cable of [`grocery`] returned the next day, refunded to the card.
pub(crate) fn grocery_return(original: Option<RecordId>) -> Receipt {
    computed(Receipt {
        merchant: grocer(),
        register: "KASSA-3".into(),
        serial: 88_530,
        control_unit: "CU-7734-0091".into(),
        issued_at: "2026-05-13T09:05:00+02:00".into(),
        currency: "SEK".into(),
        lines: vec![
            text_line("Retur av köp 2026-05-12, kvitto 88412"),
            Line {
                kind: LineKind::Return,
                article: Some("EL-1045".into()),
                ..sale("Laddkabel USB-C", "general", "st", 1_000, 14_950, 2500)
            },
        ],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![card(0)],
        buyer: Some(Buyer { agency: common::AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original,
    })
}

/// Two nights and a breakfast in Berlin, in EUR, at German rates (7 % and 19 %).
pub(crate) fn foreign() -> Receipt {
    let foreign_line = |description: &str, quantity_milli: i64, unit_price: i64, rate: u32| Line {
        category: None,
        ..sale(description, "-", "Stk", quantity_milli, unit_price, rate)
    };
    computed(Receipt {
        merchant: Merchant {
            name: "Hotel Beispiel GmbH".into(),
            org: FOREIGN_ORG.into(),
            vat_number: Some("DE123456789".into()),
            address: Address {
                street: "Friedrichstraße 100".into(),
                postal_code: "10117".into(),
                city: "Berlin".into(),
                country: "DE".into(),
            },
        },
        register: "REG-01".into(),
        serial: 5_531,
        control_unit: "TSE-0042".into(),
        issued_at: "2026-05-21T07:45:00+02:00".into(),
        currency: "EUR".into(),
        lines: vec![
            foreign_line("Übernachtung Einzelzimmer", 2_000, 6_450, 700),
            foreign_line("Frühstück", 1_000, 1_950, 1900),
        ],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![card(0)],
        buyer: Some(Buyer { agency: common::AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original: None,
    })
}

pub(crate) fn booking(account: u16, project: Option<&str>) -> Booking {
    Booking { account, cost_center: "CC-100".into(), project: project.map(str::to_owned) }
}

/// A claim with one item of each kind: a Swedish receipt, a receipt in EUR converted at
/// 11.4700 SEK/EUR (14 850 cents → 170 329.5 öre, rounded half away from zero to 170 330),
/// a mileage and a per diem.
pub(crate) fn travel_claim(stockholm: &Signed<Receipt>, berlin: &Signed<Receipt>) -> Claim {
    Claim {
        number: "2026-000057".into(),
        agency: common::AGENCY_ORG.into(),
        claimant: "emp-17".into(),
        purpose: "Konferens i Stockholm och studiebesök i Berlin, maj 2026".into(),
        created_at: "2026-05-22T09:00:00+02:00".into(),
        items: vec![
            ClaimItem::Receipt {
                receipt: stockholm.id(),
                business_purpose: "Logi under konferensen i Stockholm".into(),
                amount: stockholm.body().total,
                booking: booking(5831, None),
                foreign: None,
                participants: vec![],
            },
            ClaimItem::Receipt {
                receipt: berlin.id(),
                business_purpose: "Logi under studiebesöket i Berlin".into(),
                amount: 170_330,
                booking: booking(5832, Some("P-BERLIN-26")),
                foreign: Some(ForeignAmount {
                    amount: berlin.body().total,
                    currency: "EUR".into(),
                    rate: ExchangeRate { value: 114_700, scale: 4 },
                    rate_date: "2026-05-21".into(),
                    rate_source: "riksbanken".into(),
                }),
                participants: vec![],
            },
            ClaimItem::Mileage {
                date: "2026-05-19".into(),
                route: "Uppsala – Arlanda flygplats".into(),
                business_purpose: "Resa till flygplatsen".into(),
                km: 42,
                vehicle: Vehicle::OwnCar,
                rate_per_km: 250,
                amount: 10_500,
                booking: booking(7331, None),
            },
            ClaimItem::PerDiem {
                start: "2026-05-19".into(),
                end: "2026-05-21".into(),
                destination: "Berlin, Tyskland".into(),
                business_purpose: "Studiebesök".into(),
                days: 3,
                daily_amount: 80_000,
                meals: MealsProvided { breakfasts: 0, lunches: 1, dinners: 0 },
                meal_reduction: 28_000,
                amount: 212_000,
                booking: booking(7323, Some("P-BERLIN-26")),
            },
        ],
    }
}

pub(crate) fn event(
    claim: RecordId,
    previous: Option<RecordId>,
    at: &str,
    person: &str,
    role: Role,
    action: Action,
) -> ClaimEvent {
    ClaimEvent { claim, previous, at: at.into(), actor: Actor { person: person.into(), role }, action }
}

pub(crate) fn member(role: MemberRole, org: &str, name: &str, key_name: &str, addresses: &[&str]) -> Member {
    Member {
        addresses: addresses.iter().map(|address| address.to_string()).collect(),
        ..common::member(role, org, name, key_name, "-")
    }
}

/// Two merchants (one foreign), an agency and the SSC serving it.
pub(crate) fn network_directory() -> Directory {
    Directory {
        network: "kvitt-test".into(),
        version: 7,
        issued_at: "2026-05-01T00:00:00+02:00".into(),
        members: vec![
            member(
                MemberRole::Merchant,
                common::MERCHANT_ORG,
                "Hotell Kvitt AB",
                MERCHANT,
                &["127.0.0.1:7401"],
            ),
            member(MemberRole::Merchant, GROCER_ORG, "Kvitt Livs AB", GROCER, &["kvitt.livs.example:7400"]),
            member(
                MemberRole::Merchant,
                FOREIGN_ORG,
                "Hotel Beispiel GmbH",
                MERCHANT_DE,
                &["kvitt.hotel-beispiel.example:7400"],
            ),
            member(MemberRole::Agency, common::AGENCY_ORG, "Skatteverket", AGENCY, &["127.0.0.1:7402"]),
            Member {
                serves: vec![common::AGENCY_ORG.into()],
                ..member(
                    MemberRole::Ssc,
                    common::SSC_ORG,
                    "Statens servicecenter",
                    SSC,
                    &["127.0.0.1:7400", "[2001:db8::7]:7400"],
                )
            },
        ],
    }
}

/// A receipt with exactly `MAX_LINES_PER_RECEIPT` lines whose envelope is exactly
/// `target_bytes` long: a priced line with 8 discounts and rounding +50 öre, a 256-byte
/// description, and text lines padded to size.
pub(crate) fn receipt_of_size(target_bytes: usize) -> (Receipt, Vec<u8>) {
    use kvitt_protocol::limits::{MAX_DISCOUNTS_PER_LINE, MAX_LINES_PER_RECEIPT, MAX_ROUNDING_MINOR};
    let priced = Line {
        discounts: (1..=MAX_DISCOUNTS_PER_LINE).map(|n| discount(&format!("Kupong {n}"), 100)).collect(),
        ..sale("Kaffe och kanelbulle", "restaurant", "st", 1_000, 10_750, 1200)
    };
    let mut lines = vec![priced, text_line(&"ö".repeat(128))];
    let mut lengths = vec![40usize; MAX_LINES_PER_RECEIPT - lines.len()];
    let filler = |index: usize, length: usize| {
        let mut description = format!("Tack för besöket, rad {:04} ", index + 3);
        while description.len() < length {
            description.push('.');
        }
        description
    };
    lines.extend(lengths.iter().enumerate().map(|(index, &length)| text_line(&filler(index, length))));
    let mut receipt = computed(Receipt {
        lines,
        rounding: MAX_ROUNDING_MINOR,
        payments: vec![Payment::Cash { amount: 0 }],
        serial: 1_044,
        issued_at: "2026-05-04T09:30:00+02:00".into(),
        ..common::receipt()
    });
    assert_eq!(receipt.total, 10_000);
    // Lengthen or shorten the filler descriptions until the envelope is exactly the target
    // size. Lengths stay in 32..=255 bytes: longer than the numbered prefix, and short enough
    // that the text header is always 2 bytes, so each byte added adds one byte.
    for _ in 0..8 {
        let bytes = forge_typed(&receipt, MERCHANT);
        let mut delta = target_bytes as i64 - bytes.len() as i64;
        if delta == 0 {
            return (receipt, bytes);
        }
        for (index, length) in lengths.iter_mut().enumerate() {
            let step = delta.clamp(32 - *length as i64, 255 - *length as i64);
            *length = (*length as i64 + step) as usize;
            delta -= step;
            receipt.lines[index + 2].description = filler(index, *length);
        }
    }
    panic!("could not size a receipt to {target_bytes} bytes");
}
