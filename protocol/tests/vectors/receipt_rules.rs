//! Receipt rules: correctly signed receipts that break one rule each.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors() -> Vec<Vector> {
    use ErrorCode as E;

    let mut vectors = Vec::new();
    let receipt_fault =
        |name: &str, description: &str, receipt: Receipt, key_name: &str, code: ErrorCode, path: &str| {
            Vector::record(name, "receipt", description, forge_typed(&receipt, key_name))
                .signed_by(key_name)
                .fails(code, path)
        };
    let hotel_with = |edit: &dyn Fn(&mut Receipt)| {
        let mut receipt = common::receipt();
        edit(&mut receipt);
        receipt
    };
    vectors.push(receipt_fault(
        "receipt-invalid-org-luhn",
        "The merchant's organisation number 556016-0681 fails its Luhn check digit (556016-0680 is right).",
        hotel_with(&|r| {
            r.merchant.org = "556016-0681".into();
            r.merchant.vat_number = Some("SE556016068101".into());
        }),
        MERCHANT,
        E::OrgLuhn,
        "body.merchant.org",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-org-format",
        "The merchant's organisation number is written without its hyphen.",
        hotel_with(&|r| r.merchant.org = "5560160680".into()),
        MERCHANT,
        E::OrgFormat,
        "body.merchant.org",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-number",
        "The VAT number SE202100548901 belongs to another organisation, not 556016-0680.",
        hotel_with(&|r| r.merchant.vat_number = Some("SE202100548901".into())),
        MERCHANT,
        E::VatNumber,
        "body.merchant.vat_number",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-amount",
        "The 12 % row says vat 16019 (taxable 143481, so the row still adds up), but 149500 × 12/112 = 16017.86 rounds to 16018.",
        hotel_with(&|r| {
            r.vat[1].vat += 1;
            r.vat[1].taxable -= 1;
        }),
        MERCHANT,
        E::VatBreakdown,
        "body.vat[1].vat",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-row-missing",
        "The 12 % row is left out of the breakdown: the 6 % row matches, then there is one row too few.",
        hotel_with(&|r| {
            r.vat.pop();
        }),
        MERCHANT,
        E::VatBreakdown,
        "body.vat",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-rows-descending",
        "The breakdown lists 12 % before 6 %: rows are ascending by rate.",
        hotel_with(&|r| r.vat.reverse()),
        MERCHANT,
        E::VatBreakdown,
        "body.vat[0].rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-food-12-after-cut",
        "Food at 12 % on 2026-05-04, when the table says 6 % (from 2026-04-01); the rows and total follow the 12 %.",
        computed(hotel_with(&|r| r.lines[1].vat_rate = Some(1200))),
        MERCHANT,
        E::CategoryRate,
        "body.lines[1].vat_rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-food-6-before-cut",
        "Food at 6 % at 23:59:59 on 2026-03-31 local time, the last day food is still 12 %.",
        computed(hotel_with(&|r| r.issued_at = "2026-03-31T23:59:59+02:00".into())),
        MERCHANT,
        E::CategoryRate,
        "body.lines[1].vat_rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-rate-10-swedish",
        "A Swedish merchant's line (no category) at 10 % = 1000 bp, which is not a Swedish rate.",
        computed(hotel_with(&|r| {
            r.lines[0].category = None;
            r.lines[0].vat_rate = Some(1000);
        })),
        MERCHANT,
        E::VatRate,
        "body.lines[0].vat_rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-line-amount",
        "The hotel line's amount is 149600, but 1000/1000 × 149500 = 149500; rows and total follow the wrong amount.",
        settle(hotel_with(&|r| r.lines[0].amount = Some(149_600))),
        MERCHANT,
        E::LineAmount,
        "body.lines[0].amount",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-text-line-with-amount",
        "A text line carries an amount (0, so the sums are unchanged): text lines have no amounts.",
        hotel_with(&|r| r.lines.push(Line { amount: Some(0), ..text_line("Välkommen åter!") })),
        MERCHANT,
        E::LineKind,
        "body.lines[2].kind",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-total",
        "The total (and the card payment) is 162500, but the lines add up to 162400 with no rounding.",
        hotel_with(&|r| {
            r.total += 100;
            r.payments = vec![with_amount(r.payments[0].clone(), r.total)];
        }),
        MERCHANT,
        E::Total,
        "body.total",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-payments",
        "The card payment is 162300, 100 öre short of the total 162400.",
        hotel_with(&|r| r.payments = vec![with_amount(r.payments[0].clone(), r.total - 100)]),
        MERCHANT,
        E::Payments,
        "body.payments",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-masked-pan",
        "The masked card number 4925001*****1234 shows 7 leading digits; at most 6 may show.",
        hotel_with(&|r| {
            if let Payment::Card { masked_pan, .. } = &mut r.payments[0] {
                *masked_pan = "4925001*****1234".into();
            }
        }),
        MERCHANT,
        E::MaskedPan,
        "body.payments[0].masked_pan",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-time-utc-z",
        "issued_at ends in Z; times carry a numeric offset (+00:00), so each has one spelling.",
        hotel_with(&|r| r.issued_at = "2026-05-04T06:15:00Z".into()),
        MERCHANT,
        E::TimeFormat,
        "body.issued_at",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-time-feb-30",
        "issued_at is on 2026-02-30, which does not exist.",
        hotel_with(&|r| r.issued_at = "2026-02-30T08:15:00+01:00".into()),
        MERCHANT,
        E::TimeFormat,
        "body.issued_at",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-return-without-original",
        "A receipt with a return line that does not name the original receipt.",
        grocery_return(None),
        GROCER,
        E::ReturnReference,
        "body.original",
    ));
    let mut many_lines = common::receipt();
    many_lines.lines.truncate(1);
    many_lines.lines.extend((1..=1000).map(|n| text_line(&format!("Rad {n}"))));
    vectors.push(receipt_fault(
        "receipt-invalid-1001-lines",
        "1001 lines (one priced, 1000 text), one over the limit of 1000.",
        computed(many_lines),
        MERCHANT,
        E::TooMany,
        "body.lines",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-text-too-long",
        "A line description of 86 × '€': 86 characters but 258 bytes of UTF-8, over the 256-byte limit.",
        hotel_with(&|r| r.lines[0].description = "€".repeat(86)),
        MERCHANT,
        E::Text,
        "body.lines[0].description",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-merchant-name-bidi",
        "The merchant's name holds U+202E RIGHT-TO-LEFT OVERRIDE, which would display \"Hotell Kvitt \" followed by the rest reversed: bidirectional formatting characters are refused in every text.",
        hotel_with(&|r| r.merchant.name = "Hotell Kvitt \u{202E}BA nilreB".into()),
        MERCHANT,
        E::TextBidi,
        "body.merchant.name",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-amount-over-max",
        "2 units at 5000000000001 öre make a line of 10000000000002 öre, over MAX_AMOUNT_MINOR = 10^13 though each factor is in range (the total is over too, but lines are checked first).",
        computed(hotel_with(&|r| {
            r.lines = vec![sale("Konferensanläggning", "general", "st", 2_000, 5_000_000_000_001, 2500)]
        })),
        MERCHANT,
        E::Range,
        "body.lines[0].amount",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-rounding-51",
        "Rounding of +51 öre, one over the limit of ±50; the total includes it.",
        computed(hotel_with(&|r| r.rounding = 51)),
        MERCHANT,
        E::Range,
        "body.rounding",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-gtin",
        "The GTIN 7310865004704 fails its GS1 check digit (7310865004703 is right).",
        hotel_with(&|r| r.lines[1].gtin = Some("7310865004704".into())),
        MERCHANT,
        E::Gtin,
        "body.lines[1].gtin",
    ));

    vectors
}
