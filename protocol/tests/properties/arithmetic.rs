//! VAT arithmetic: extraction, rounding, breakdowns and the totals of receipts and claim
//! items; and the strategies' own arithmetic, against known values.

use kvitt_protocol::claim::ClaimItem;
use kvitt_protocol::fields::divide_rounded;
use kvitt_protocol::limits::MAX_AMOUNT_MINOR;
use kvitt_protocol::receipt::LineKind;
use kvitt_protocol::vat::{breakdown, vat_included};
use kvitt_protocol::Record;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::fail;
use crate::strategies::{
    claim, gtin, org_number, receipt, reference_exponent, reference_gross, reference_round, reference_vat,
    swedish_rate, SWEDISH_RATES,
};

/// The table's rates, or any rate a foreign line may carry.
fn rate() -> impl Strategy<Value = u32> {
    prop_oneof![select(SWEDISH_RATES.to_vec()), 0u32..=5000]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// VAT extracted from any gross amount within ±`MAX_AMOUNT_MINOR`, at any rate: it is
    /// the nearest integer to gross × rate / (10000 + rate) (the error is at most half a
    /// minor unit), odd in the gross amount, and leaves taxable + VAT = gross in the
    /// breakdown row. 1024 cases.
    #[test]
    fn vat_is_the_rounded_share_of_gross(gross in -MAX_AMOUNT_MINOR..=MAX_AMOUNT_MINOR, rate in rate()) {
        let vat = vat_included(gross, rate);
        prop_assert_eq!(vat, reference_vat(gross, rate));
        prop_assert_eq!(vat_included(-gross, rate), -vat);
        let denominator = 10_000 + i128::from(rate);
        let error = i128::from(vat) * denominator - i128::from(gross) * i128::from(rate);
        prop_assert!(2 * error.abs() <= denominator, "vat {} is not the nearest integer", vat);
        let rows = breakdown([(rate, gross)]);
        prop_assert_eq!(rows.len(), 1);
        prop_assert_eq!(rows[0].taxable + rows[0].vat, gross);
        prop_assert_eq!(rows[0].vat, vat);
    }

    /// `divide_rounded` rounds half away from zero: it equals the reference computed from
    /// the truncating quotient and remainder in i128, for numerators up to ±10^30 (the
    /// protocol's products stay below 10^28) and denominators up to 10^18. 1024 cases.
    #[test]
    fn divide_rounded_rounds_half_away_from_zero(
        numerator in -10i128.pow(30)..=10i128.pow(30),
        denominator in 1i128..=10i128.pow(18),
    ) {
        prop_assert_eq!(divide_rounded(numerator, denominator), reference_round(numerator, denominator));
        // An exact half, k + 1/2 for k ≥ 0, rounds to k + 1, and its negation to −(k + 1).
        if denominator % 2 == 0 {
            let whole = numerator.abs() / denominator;
            let tie = whole * denominator + denominator / 2;
            prop_assert_eq!(divide_rounded(tie, denominator), whole + 1);
            prop_assert_eq!(divide_rounded(-tie, denominator), -(whole + 1));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A breakdown of up to 40 (rate, amount) pairs has one row per rate present,
    /// strictly ascending; each row's gross is the sum of the amounts at its rate (so the
    /// rows' gross sums to the sum of all amounts), and its VAT is extracted from that sum.
    /// 512 cases.
    #[test]
    fn breakdown_rows_are_sorted_unique_and_add_up(
        amounts in vec((rate(), -MAX_AMOUNT_MINOR / 100..=MAX_AMOUNT_MINOR / 100), 0..=40),
    ) {
        let rows = breakdown(amounts.iter().copied());
        prop_assert!(rows.windows(2).all(|pair| pair[0].rate < pair[1].rate), "{:?}", rows);
        let mut rates: Vec<u32> = amounts.iter().map(|(rate, _)| *rate).collect();
        rates.sort_unstable();
        rates.dedup();
        prop_assert_eq!(rows.iter().map(|row| row.rate).collect::<Vec<_>>(), rates);
        for row in &rows {
            let gross: i64 = amounts.iter().filter(|(rate, _)| *rate == row.rate).map(|(_, amount)| amount).sum();
            prop_assert_eq!(row.gross, gross);
            prop_assert_eq!(row.vat, reference_vat(gross, row.rate));
            prop_assert_eq!(row.taxable, gross - row.vat);
        }
        prop_assert_eq!(
            rows.iter().map(|row| row.gross).sum::<i64>(),
            amounts.iter().map(|(_, amount)| amount).sum::<i64>()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A receipt completed by `Receipt::with_computed_totals` from valid lines validates;
    /// each priced line's amount is round(quantity × unit price / 1000) − discounts,
    /// negated for a return; the breakdown is the reference breakdown; the total is the sum
    /// of the line amounts plus rounding. 128 cases.
    #[test]
    fn computed_receipts_validate_and_add_up(receipt in receipt()) {
        receipt.validate().map_err(|error| fail("validate", error))?;
        let mut sum = 0i64;
        let mut by_rate = std::collections::BTreeMap::<u32, i64>::new();
        for line in &receipt.lines {
            if line.kind == LineKind::Text {
                prop_assert_eq!(line.amount, None);
                continue;
            }
            let discounts: i64 = line.discounts.iter().map(|discount| discount.amount).sum();
            let net = reference_gross(line.quantity.unwrap(), line.unit_price.unwrap()) - discounts;
            let amount = if line.kind == LineKind::Return { -net } else { net };
            prop_assert_eq!(line.amount, Some(amount));
            sum += amount;
            *by_rate.entry(line.vat_rate.unwrap()).or_default() += amount;
        }
        prop_assert_eq!(receipt.total, sum + receipt.rounding);
        prop_assert_eq!(receipt.vat.len(), by_rate.len());
        for (row, (rate, gross)) in receipt.vat.iter().zip(by_rate) {
            prop_assert_eq!((row.rate, row.gross), (rate, gross));
            prop_assert_eq!(row.vat, reference_vat(gross, rate));
            prop_assert_eq!(row.taxable + row.vat, gross);
        }
        prop_assert_eq!(receipt.payments.iter().map(|payment| payment.amount()).sum::<i64>(), receipt.total);
    }

    /// Claim items carry their arithmetic: a foreign amount's SEK is
    /// round(amount × value × 100 / 10^(exponent + scale)); mileage is km × rate; per diem is
    /// days × daily amount − meal reduction, with days within the trip. 128 cases.
    #[test]
    fn claim_items_add_up(claim in claim()) {
        claim.validate().map_err(|error| fail("validate", error))?;
        for item in &claim.items {
            match item {
                ClaimItem::Receipt { amount, foreign: Some(foreign), .. } => {
                    let exponent = reference_exponent(&foreign.currency) + foreign.rate.scale;
                    let sek = reference_round(
                        i128::from(foreign.amount) * i128::from(foreign.rate.value) * 100,
                        10i128.pow(exponent),
                    );
                    prop_assert_eq!(i128::from(*amount), sek);
                }
                ClaimItem::Receipt { .. } => {}
                ClaimItem::Mileage { km, rate_per_km, amount, .. } => {
                    prop_assert_eq!(*amount, i64::from(*km) * rate_per_km);
                }
                ClaimItem::PerDiem { days, daily_amount, meal_reduction, amount, .. } => {
                    prop_assert_eq!(*amount, i64::from(*days) * daily_amount - meal_reduction);
                }
            }
        }
        prop_assert_eq!(claim.total(), claim.items.iter().map(ClaimItem::amount).sum::<i64>());
    }
}

// ---------------------------------------------------------------------------------------
// The strategies' own arithmetic, against known values.
// ---------------------------------------------------------------------------------------

/// The reference check digits reproduce real organisation numbers and GTINs, and the
/// reference rate table the dates of the 2026 food-rate cut.
#[test]
fn reference_helpers_match_known_values() {
    assert_eq!(org_number(202_100_548), "202100-5489"); // Skatteverket
    assert_eq!(org_number(556_016_068), "556016-0680");
    assert_eq!(org_number(202_100_625), "202100-6255");
    assert_eq!(gtin("731086500470"), "7310865004703");
    use time::macros::date;
    assert_eq!(swedish_rate("food", date!(2026 - 03 - 31)), 1200);
    assert_eq!(swedish_rate("food", date!(2026 - 04 - 01)), 600);
    assert_eq!(swedish_rate("take_away", date!(2027 - 12 - 31)), 600);
    assert_eq!(swedish_rate("take_away", date!(2028 - 01 - 01)), 1200);
    assert_eq!(reference_round(-15, 10), -2);
    assert_eq!(reference_round(25, 10), 3);
    assert_eq!(reference_round(14, 10), 1);
}
