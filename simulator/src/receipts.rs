//! Receipts as each kind of merchant's till makes them: lines at the kind's VAT rates
//! (hotel 12 %, restaurant 12 % and wine 25 %, taxi and rail 6 %, fuel 25 %, hotels
//! abroad in EUR, NOK or USD at their own rates), totals computed, paid by card, and
//! returns that name their original.

use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::RecordId;

use crate::cast::{foreign_country, MerchantKind, Party};
use crate::rng::SimRng;

/// What a till needs beyond the merchant to make one receipt.
pub struct Sale<'a> {
    /// The register and its next serial.
    pub register: &'a str,
    /// The serial number.
    pub serial: u64,
    /// When, as RFC 3339.
    pub issued_at: String,
    /// The buying agency's organisation number and the employee.
    pub buyer: (&'a str, &'a str),
    /// The payment terminal (unique in the network).
    pub terminal: String,
    /// The card (a number per employee).
    pub card: u32,
    /// For a return: the original receipt and the amount refunded.
    pub returning: Option<(RecordId, i64)>,
}

fn line(description: &str, category: Option<&str>, quantity_milli: i64, unit_price: i64, rate: u32) -> Line {
    Line {
        kind: LineKind::Sale,
        description: description.into(),
        article: None,
        gtin: None,
        category: category.map(Into::into),
        quantity: Some(quantity_milli),
        unit: Some("st".into()),
        unit_price: Some(unit_price),
        discounts: vec![],
        amount: None,
        vat_rate: Some(rate),
    }
}

/// The lines a merchant of `kind` sells, priced at random.
fn lines(kind: MerchantKind, rng: &mut SimRng) -> Vec<Line> {
    let price = |rng: &mut SimRng, low: i64, high: i64| rng.between(low, high) * 100;
    match kind {
        MerchantKind::Hotel => {
            let nights = rng.between(1, 3);
            let mut lines =
                vec![line("Enkelrum", Some("hotel"), nights * 1000, price(rng, 900, 2_200), 1200)];
            if rng.chance(0.7) {
                lines.push(line("Frukost", Some("restaurant"), nights * 1000, price(rng, 120, 220), 1200));
            }
            lines
        }
        MerchantKind::Restaurant => {
            let mut lines = vec![line("Dagens rätt", Some("restaurant"), 1000, price(rng, 110, 420), 1200)];
            if rng.chance(0.3) {
                lines.push(line("Glas vin", Some("alcohol"), 1000, price(rng, 95, 160), 2500));
            }
            lines
        }
        MerchantKind::Taxi => {
            vec![line("Taxiresa", Some("passenger_transport"), 1000, price(rng, 150, 900), 600)]
        }
        MerchantKind::Rail => {
            vec![line("Tågbiljett", Some("passenger_transport"), 1000, price(rng, 195, 1_400), 600)]
        }
        MerchantKind::Fuel => {
            let litres_milli = rng.between(20_000, 60_000);
            vec![line("Diesel", Some("fuel"), litres_milli, price(rng, 18, 24), 2500)]
        }
        MerchantKind::ForeignHotel(currency) => {
            let rate = match currency {
                "NOK" => 1200,
                "USD" => 0,
                _ => 700,
            };
            let nights = rng.between(1, 4);
            vec![line("Room", None, nights * 1000, price(rng, 90, 260), rate)]
        }
    }
}

/// A receipt of `merchant` for `sale`.
pub fn receipt(merchant: &Party, sale: &Sale<'_>, rng: &mut SimRng) -> Receipt {
    let kind = merchant.kind.unwrap_or(MerchantKind::Taxi);
    let (currency, country, vat_number) = match kind {
        MerchantKind::ForeignHotel(currency) => {
            let country = foreign_country(currency);
            (currency, country, Some(format!("{country}123456789")))
        }
        _ => ("SEK", "SE", Some(format!("SE{}01", merchant.identity.org.replace('-', "")))),
    };
    let mut lines = lines(kind, rng);
    if let Some((_, amount)) = sale.returning {
        lines.truncate(1);
        for line in &mut lines {
            line.kind = LineKind::Return;
            line.description = format!("Retur: {}", line.description);
            line.quantity = Some(1000);
            line.unit_price = Some(amount.max(100));
        }
    }
    let receipt = Receipt {
        merchant: Merchant {
            name: merchant.name.clone(),
            org: merchant.identity.org.clone(),
            vat_number,
            address: Address {
                street: "Storgatan 1".into(),
                postal_code: "111 20".into(),
                city: if country == "SE" { "Stockholm".into() } else { "Oslo".into() },
                country: country.into(),
            },
        },
        register: sale.register.into(),
        serial: sale.serial,
        control_unit: format!("CU-{}", sale.register),
        issued_at: sale.issued_at.clone(),
        currency: currency.into(),
        lines,
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Some(Buyer { agency: sale.buyer.0.into(), employee: Some(sale.buyer.1.into()) }),
        original: sale.returning.map(|(original, _)| original),
    }
    .with_computed_totals();
    let total = receipt.total;
    let payment = Payment::Card {
        amount: total,
        masked_pan: format!("************{:04}", sale.card % 10_000),
        brand: "Visa".into(),
        rrn: format!("{:012}", sale.serial % 1_000_000 + u64::from(sale.card) * 1_000_000),
        terminal: sale.terminal.clone(),
        approval_code: format!("{:06}", (u64::from(sale.card) * 7919 + sale.serial) % 1_000_000),
    };
    Receipt { payments: vec![payment], ..receipt }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::Cast;
    use crate::config::{FaultMix, SimConfig};
    use kvitt_protocol::Signed;

    #[test]
    fn every_kind_makes_receipts_that_validate_and_returns_too() {
        let mut config = SimConfig::new(1, FaultMix::None);
        config.nodes = 12;
        let cast = Cast::new(&config).unwrap();
        let agency = &cast.parties[1].identity.org;
        let mut rng = SimRng::new(3);
        for merchant in cast.merchants() {
            let merchant = &cast.parties[merchant];
            for serial in 1..20 {
                let sale = Sale {
                    register: "K1",
                    serial,
                    issued_at: "2026-05-04T12:00:00+02:00".into(),
                    buyer: (agency, "emp-0-0"),
                    terminal: "T1".into(),
                    card: 1234,
                    returning: (serial % 5 == 0).then_some((RecordId([7; 32]), 12_300)),
                };
                let receipt = receipt(merchant, &sale, &mut rng);
                Signed::sign(receipt, &merchant.identity.signing_key)
                    .unwrap_or_else(|error| panic!("{:?}: {error}", merchant.kind));
            }
        }
    }
}
