//! Kivra retail receipts (schema v1.x): the fixtures written from the published schema
//! (Kivra's repository carries no licence, so its samples are not copied here) and each
//! way one is refused, at its JSON pointer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{accepted, fixture, patched, supplement};
use kvitt_formats::{import, Format, Supplement};
use kvitt_protocol::receipt::{Discount, LineKind, Payment};

fn refused(json: &str, code: &str, path: &str) -> kvitt_formats::FormatError {
    common::assert_refused(Format::Kivra, json, code, path)
}

#[test]
fn a_card_sale_with_a_discounted_line() {
    let receipt = accepted(Format::Kivra, &fixture("kivra/sale-card.json"));
    assert_eq!(receipt.register, "SRS-0042", "the system's serial number before its name");
    assert_eq!((receipt.serial, receipt.control_unit.as_str()), (7001, "CU-0001-2345"));
    let lunch = &receipt.lines[0];
    assert_eq!((lunch.quantity, lunch.unit_price, lunch.amount), (Some(2000), Some(13_500), Some(24_300)));
    assert_eq!(lunch.discounts, [Discount { description: "Lunchrabatt 10 %".into(), amount: 2700 }]);
    assert_eq!(lunch.article.as_deref(), Some("LUNCH-01"));
    assert_eq!(receipt.lines[1].gtin.as_deref(), Some("7310865004703"));
    assert_eq!(receipt.lines[2].kind, LineKind::Text);
    assert_eq!((receipt.total, receipt.vat[0].vat), (27_800, 2979));
    let Payment::Card { masked_pan, brand, rrn, terminal, approval_code, .. } = &receipt.payments[0] else {
        panic!("{:?}", receipt.payments)
    };
    assert_eq!(
        [masked_pan.as_str(), brand, rrn, terminal, approval_code],
        ["************3602", "Visa", "612345678902", "73200801", "A1B2C4"]
    );
}

#[test]
fn modifiers_that_do_not_add_up_become_one_discount() {
    // As in Kivra's own sample: a modifier per unit (62.65) on 2 units whose line discount
    // is 125.30. kvitt's discount is the line's: quantity × price − extended_amount.
    let json = fixture("kivra/sale-card.json");
    let json = patched(&json, "\"amount\": 27.00, \"description\"", "\"amount\": 13.50, \"description\"");
    let receipt = accepted(Format::Kivra, &json);
    assert_eq!(receipt.lines[0].discounts, [Discount { description: "Rabatt".into(), amount: 2700 }]);
}

#[test]
fn a_swish_sale_with_a_deposit() {
    let receipt = accepted(Format::Kivra, &fixture("kivra/swish-deposit.json"));
    assert_eq!(receipt.lines[1].kind, LineKind::Deposit);
    assert_eq!((receipt.lines[1].description.as_str(), receipt.lines[1].amount), ("Pant burk", Some(100)));
    assert_eq!(receipt.payments, [Payment::Swish { amount: 1700, reference: "0E6D4B2C1A3F4E5D".into() }]);
    assert_eq!((receipt.currency.as_str(), receipt.issued_at.as_str()), ("SEK", "2026-05-04T16:40:00+00:00"));
    assert_eq!(receipt.register, "kiosk-3");
}

#[test]
fn a_refund_is_negative_and_names_its_sale() {
    let json = fixture("kivra/return-cash.json");
    refused(&json, "receipt.original", "/items/0/receipt_reference/value");
    let sale = "7".repeat(64).parse().unwrap();
    let receipt =
        import(Format::Kivra, json.as_bytes(), &Supplement { original: Some(sale), ..supplement() })
            .unwrap()
            .receipt;
    assert_eq!((receipt.lines[0].amount, receipt.total, receipt.vat[0].vat), (Some(-3500), -3500, -375));
    assert_eq!(receipt.payments, [Payment::Cash { amount: -3500 }]);
    assert_eq!(receipt.merchant.org, "556016-0680");
}

#[test]
fn figures_the_till_and_kvitt_disagree_on() {
    let json = fixture("kivra/sale-card.json");
    let discount =
        patched(&json, "\"extended_discount_amount\": 27.00", "\"extended_discount_amount\": 27.01");
    refused(&discount, "line.amount", "/items/0/extended_discount_amount");
    let gross = patched(&json, "\"extended_gross_amount\": 35.00", "\"extended_gross_amount\": 36.00");
    refused(&gross, "line.amount", "/items/1/extended_gross_amount");
    let vat = patched(&json, "[{ \"amount\": 29.79", "[{ \"amount\": 29.80");
    refused(&vat, "vat.breakdown", "/totals/1/sub_totals/0/amount");
    let total = patched(
        &json,
        "{ \"type\": \"paid\", \"amount\": 278.00 }",
        "{ \"type\": \"paid\", \"amount\": 278.50 }",
    );
    refused(&total, "receipt.total", "/totals/3/amount");
    let paid = patched(&json, "\"amount_applied_to_bill\": 278.00", "\"amount_applied_to_bill\": 277.00");
    refused(&paid, "receipt.payments", "/payments");
    let rrn = patched(&json, "612345678902", "6123456789021");
    refused(&rrn, "text.invalid", "/payments/0/tender/retrieval_reference_number");
}

#[test]
fn what_kvitt_cannot_carry_is_refused() {
    let json = fixture("kivra/swish-deposit.json");
    let pantretur = patched(&json, "\"refund\": false", "\"refund\": true");
    refused(&pantretur, "format.unsupported", "/items/1/refund");
    let copy = patched(&json, "{\n  \"business_unit\"", "{\n  \"copy\": true,\n  \"business_unit\"");
    refused(&copy, "format.unsupported", "/copy");
    let points =
        patched(&json, "\"tax_percentage\": 6\n    },", "\"tax_percentage\": 6, \"points\": 40\n    },");
    refused(&points, "format.unsupported", "/items/0/points");
    let general = patched(
        &json,
        "\"payments\": [",
        "\"retail_price_modifiers\": [{\"amount\": 1}],\n  \"payments\": [",
    );
    refused(&general, "format.unsupported", "/retail_price_modifiers/0");
}

#[test]
fn what_the_law_requires_is_named() {
    let json = fixture("kivra/swish-deposit.json");
    for (from, to, path) in [
        (
            "\"control_unit\": { \"id\": \"CU-0009-0001\" }",
            "\"control_unit\": { \"id\": \" \" }",
            "/control_unit/id",
        ),
        (
            "\"organization_number\": \"556016-0680\"",
            "\"organization_number\": \"\"",
            "/business_unit/organization_number",
        ),
        ("\"street_address\": \"Drottninggatan 1\",", "", "/business_unit/contact/address/street_address"),
        ("\"description\": \"Mineralvatten 33 cl\",", "", "/items/0/description"),
        (
            "{ \"type\": \"paid\", \"amount\": 17.00 }",
            "{ \"type\": \"gross\", \"amount\": 17.00 }",
            "/totals",
        ),
    ] {
        let error = refused(&patched(&json, from, to), "format.missing", path);
        assert!(error.detail().contains("SKVFS 2014:9"), "{error}");
    }
}

#[test]
fn json_that_is_not_a_kivra_receipt() {
    let json = fixture("kivra/swish-deposit.json");
    refused(
        &patched(&json, "\"currency\": \"sek\",", "\"currency\": \"sek\", \"tip\": 5,"),
        "format.syntax",
        "/tip",
    );
    refused(
        &patched(&json, "\"unit_amount\": 1.00", "\"unit_amount\": \"1.00\""),
        "format.syntax",
        "/items/1/unit_amount",
    );
    refused(
        &patched(&json, "\"sequence_number\": 15", "\"sequence_number\": 15.5"),
        "format.value",
        "/receipt_identifier/sequence_number",
    );
    refused(
        &patched(&json, "\"amount\": 17.00,", "\"amount\": 17.001,"),
        "format.value",
        "/payments/0/amount",
    );
    refused(&format!("{json} {{}}"), "format.syntax", "");
    refused("[]", "format.syntax", "");
}

#[test]
fn numbers_are_read_from_their_text_not_through_a_float() {
    // 0.1 + 0.2 as binary floats is 0.30000000000000004; as written it is 0.30.
    let json = fixture("kivra/swish-deposit.json");
    let json = patched(&json, "\"unit_amount\": 1.00", "\"unit_amount\": 1.0000000000000001");
    refused(&json, "format.value", "/items/1/unit_amount");
}
