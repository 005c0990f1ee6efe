//! Every voucher balances: random claims of receipts (Swedish at every rate, or in euro;
//! whole or in part; on the corporate card, the employee's own, or split with cash;
//! naming the buyer or not; representation for 1 to 12), mileage and per diem.

use proptest::prelude::*;

use super::*;

/// Goods categories with their Swedish rate on 2026-05-04.
const GOODS: [(&str, u32); 8] = [
    ("hotel", 1200),
    ("restaurant", 1200),
    ("alcohol", 2500),
    ("fuel", 2500),
    ("general", 2500),
    ("passenger_transport", 600),
    ("food", 600),
    ("exempt", 0),
];

/// Accounts that take receipts in the default table.
const RECEIPT_ACCOUNTS: [u16; 7] = [5800, 5831, 5832, 5611, 6071, 6970, 6990];

#[derive(Clone, Debug)]
enum Spec {
    Receipt {
        lines: Vec<(usize, i64, i64)>,
        euro: bool,
        paid: u8,
        card_share_percent: i64,
        employee: bool,
        claimed_permille: i64,
        account: usize,
        participants: usize,
    },
    Mileage {
        km: u32,
        rate: i64,
    },
    PerDiem {
        days: u32,
        daily: i64,
        reduction_permille: i64,
    },
}

fn spec() -> impl Strategy<Value = Spec> {
    let receipt = (
        prop::collection::vec((0..GOODS.len(), 1..=5_000i64, 1..=800_000i64), 1..=4),
        any::<bool>(),
        0..3u8,
        0..=100i64,
        any::<bool>(),
        prop_oneof![Just(1000i64), 0..=1000i64],
        0..RECEIPT_ACCOUNTS.len(),
        1..=12usize,
    )
        .prop_map(
            |(lines, euro, paid, card_share_percent, employee, claimed_permille, account, participants)| {
                Spec::Receipt {
                    lines,
                    euro,
                    paid,
                    card_share_percent,
                    employee,
                    claimed_permille,
                    account,
                    participants,
                }
            },
        );
    let mileage = (1..=2_000u32, 0..=500i64).prop_map(|(km, rate)| Spec::Mileage { km, rate });
    let per_diem = (1..=3u32, 0..=60_000i64, 0..=1000i64)
        .prop_map(|(days, daily, reduction_permille)| Spec::PerDiem { days, daily, reduction_permille });
    prop_oneof![3 => receipt, 1 => mileage, 1 => per_diem]
}

/// The claim items and signed receipts for `specs`, and the VAT on the receipts.
fn build(specs: &[Spec]) -> (Vec<ClaimItem>, Vec<Signed<Receipt>>) {
    let mut items = Vec::new();
    let mut receipts = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        match spec {
            Spec::Receipt {
                lines,
                euro,
                paid,
                card_share_percent,
                employee,
                claimed_permille,
                account,
                participants,
            } => {
                let lines: Vec<Line> = lines
                    .iter()
                    .map(|(goods, quantity, price)| {
                        let (category, rate) = GOODS[*goods];
                        line("Vara", category, *quantity, *price, if *euro { 1900 } else { rate })
                    })
                    .collect();
                let gross: i64 = lines
                    .iter()
                    .map(|line| (line.quantity.unwrap() * line.unit_price.unwrap() + 500) / 1000)
                    .sum();
                let paid = match paid {
                    0 => Paid::CorporateCard,
                    1 => Paid::OwnCard,
                    _ => Paid::Split { card: gross * card_share_percent / 100 },
                };
                let mut body = if *euro {
                    receipt_in(spreeufer(), "EUR", lines, paid, *employee)
                } else {
                    swedish_receipt("Butik", lines, paid, *employee)
                };
                body.serial = index as u64; // distinct ids for identical baskets
                let receipt = sign(body);
                // Lodging and meals go to the account of where the receipt was sold.
                let account = match (RECEIPT_ACCOUNTS[*account], *euro) {
                    (5831, true) => 5832,
                    (5832, false) => 5831,
                    (account, _) => account,
                };
                let people: Vec<String> = (0..*participants).map(|n| format!("Gäst {n}")).collect();
                let people: Vec<&str> = people.iter().map(String::as_str).collect();
                let people = if account == 6071 { people } else { vec![] };
                let item = if *euro {
                    let mut item = foreign_item(&receipt, ExchangeRate { value: 114_523, scale: 4 }, account);
                    if let ClaimItem::Receipt { participants, .. } = &mut item {
                        *participants = people.iter().map(|name| (*name).into()).collect();
                    }
                    item
                } else {
                    let amount = receipt.body().total * claimed_permille / 1000;
                    receipt_item(&receipt, amount, account, &people)
                };
                items.push(item);
                receipts.push(receipt);
            }
            Spec::Mileage { km, rate } => items.push(mileage(*km, *rate)),
            Spec::PerDiem { days, daily, reduction_permille } => {
                let gross = i64::from(*days) * daily;
                items.push(per_diem(*days, *daily, 0, gross * reduction_permille / 1000));
            }
        }
    }
    (items, receipts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// 300 random claims of 1 to 6 items: the voucher balances to zero öre, the
    /// liabilities are the claim's total, no row is zero, and no more VAT is deducted
    /// than the claimed share of the Swedish receipts' VAT (plus rounding, one öre a rate).
    #[test]
    fn every_voucher_balances(specs in prop::collection::vec(spec(), 1..=6)) {
        let (items, receipts) = build(&specs);
        let claim = claim(items);
        let total = claim.body().total();
        let voucher = match book(table(), allowances(), &books(), &claim, ClaimReceipts::named(&receipts), BOOKED_ON) {
            Err(BookingError::NothingToBook) => {
                prop_assert_eq!(total, 0);
                return Ok(());
            }
            other => other.unwrap(),
        };
        prop_assert_eq!(voucher.balance(), 0);
        let liabilities: i64 =
            voucher.rows.iter().filter(|row| matches!(row.account, 2820 | 2890)).map(|row| row.amount).sum();
        prop_assert_eq!(liabilities, -total);
        prop_assert!(voucher.rows.iter().all(|row| row.amount != 0));
        let deducted: i64 = voucher.rows.iter().filter(|row| row.account == 2640).map(|row| row.amount).sum();
        let vat_rows: usize = receipts.iter().map(|receipt| receipt.body().vat.len()).sum();
        let swedish_vat: i64 = receipts
            .iter()
            .filter(|receipt| receipt.body().currency == "SEK")
            .flat_map(|receipt| receipt.body().vat.iter().map(|row| row.vat))
            .sum();
        prop_assert!(deducted <= swedish_vat + vat_rows as i64, "{} > {}", deducted, swedish_vat);
        let written = kvitt_books::write_sie(
            &kvitt_books::SieHeader {
                program: "kvitt".into(),
                program_version: "0.1.0".into(),
                generated: BOOKED_ON,
                org: AGENCY_ORG.into(),
                company_name: "Myndigheten".into(),
                fiscal_year: None,
            },
            table(),
            std::slice::from_ref(&voucher),
        );
        prop_assert!(written.is_ok(), "{:?}", written);
    }
}
