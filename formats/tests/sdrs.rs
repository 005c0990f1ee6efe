//! SDRS documents kvitt accepts (the fixtures written for it) and each way one is refused,
//! at its element.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{accepted, fixture, patched, supplement, AGENCY};
use kvitt_formats::{import, Format, FormatCode, Supplement};
use kvitt_protocol::receipt::{Buyer, Discount, LineKind, Payment};

fn refused(xml: &str, code: &str, path: &str) -> kvitt_formats::FormatError {
    common::assert_refused(Format::Sdrs, xml, code, path)
}

const LINE_1: &str = "/DigitalReceipt/Transaction/RetailTransaction/LineItem[1]";

#[test]
fn a_cash_sale_with_a_gift_card_and_rounding() {
    let receipt = accepted(Format::Sdrs, &fixture("sdrs/kvitt-sale-cash.xml"));
    assert_eq!(receipt.merchant.org, "556016-0680", "ten digits get their hyphen");
    assert_eq!(receipt.merchant.vat_number.as_deref(), Some("SE556016068001"));
    assert_eq!(receipt.register, "EA38329", "WorkstationID's SerialNumber");
    assert_eq!((receipt.serial, receipt.control_unit.as_str()), (1042, "RIHTT103801065896"));
    let first = &receipt.lines[0];
    // Quantity 1 of Units 2; ActualSalesUnitPrice 69.00 is after the per-unit discount 10.
    assert_eq!((first.quantity, first.unit_price, first.amount), (Some(2000), Some(7900), Some(13_800)));
    assert_eq!(first.discounts, [Discount { description: "Rabatt".into(), amount: 2000 }]);
    assert_eq!((first.article.as_deref(), first.gtin.as_deref()), (Some("608794"), Some("17311310026612")));
    assert_eq!(receipt.lines[3].kind, LineKind::Text, "se:ItemText after its sale");
    assert_eq!(receipt.lines[3].description, "Spara kvittot, gäller som garanti.");
    assert_eq!((receipt.rounding, receipt.total), (-50, 58_300), "583.50 paid as 583.00");
    assert_eq!(
        receipt.payments,
        [Payment::GiftCard { amount: 50_300, reference: "GC-1234".into() }, Payment::Cash { amount: 8000 }],
        "cash: the amount applied to the bill"
    );
    assert_eq!((receipt.vat[0].vat, receipt.vat[0].taxable), (11_670, 46_680));
    assert_eq!(receipt.buyer_agency().unwrap(), AGENCY);
}

#[test]
fn a_card_sale_reads_the_terminal_slip() {
    let receipt = accepted(Format::Sdrs, &fixture("sdrs/kvitt-sale-card.xml"));
    assert_eq!(receipt.register, "Kassa-1", "a designation with a space becomes a code");
    assert_eq!(
        receipt.payments,
        [Payment::Card {
            amount: 162_400,
            masked_pan: "************1234".into(),
            brand: "Visa".into(),
            rrn: "612345678901".into(),
            terminal: "T-88001".into(),
            approval_code: "A1B2C3".into(),
        }]
    );
    let rates: Vec<(u32, i64)> = receipt.vat.iter().map(|row| (row.rate, row.vat)).collect();
    assert_eq!(rates, [(600, 730), (1200, 16_018)]);
    assert_eq!(
        (receipt.lines[0].unit.as_deref(), receipt.lines[1].unit.as_deref()),
        (Some("natt"), Some("st"))
    );
}

#[test]
fn a_return_needs_the_sales_kvitt_id() {
    let xml = fixture("sdrs/kvitt-return.xml");
    let link = "/DigitalReceipt/Transaction/RetailTransaction/TransactionLink/TransactionID";
    refused(&xml, "receipt.original", link);
    let sale = "5".repeat(64);
    let receipt = import(
        Format::Sdrs,
        xml.as_bytes(),
        &Supplement { original: Some(sale.parse().unwrap()), ..supplement() },
    )
    .unwrap()
    .receipt;
    assert_eq!((receipt.lines[0].amount, receipt.total), (Some(-12_900), -12_900));
    assert_eq!(receipt.vat[0].vat, -730, "a return's VAT is negative; the document's 7.30 is its size");
    assert_eq!(receipt.payments, [Payment::Cash { amount: -12_900 }], "TypeCode=\"Refund\"");
    // A till that keeps kvitt ids may name the sale by it in the document itself.
    let named = patched(&xml, "cd5d49f0-56e8-11e1-b86c-0800200c9a66", &sale);
    assert_eq!(accepted(Format::Sdrs, &named).original, Some(sale.parse().unwrap()));
}

#[test]
fn the_buyer_comes_beside_the_document() {
    let xml = fixture("sdrs/kvitt-sale-card.xml");
    // Without one beside it, the receipt names no buyer (card routing finds it).
    let imported = import(Format::Sdrs, xml.as_bytes(), &Supplement::default()).unwrap();
    assert_eq!((imported.receipt.buyer, imported.card), (None, None), "and no card reference in it");
    let buyer = |agency: &str, employee: Option<&str>| Supplement {
        buyer: Some(Buyer { agency: agency.into(), employee: employee.map(str::to_owned) }),
        original: None,
    };
    let error = import(Format::Sdrs, xml.as_bytes(), &buyer("202100-5488", None)).unwrap_err();
    assert_eq!((error.code().as_str(), error.path()), ("org.luhn", "buyer"), "{error}");
    let error = import(Format::Sdrs, xml.as_bytes(), &buyer(AGENCY, Some(&"e".repeat(65)))).unwrap_err();
    assert_eq!((error.code().as_str(), error.path()), ("text.invalid", "employee"), "{error}");
    let receipt = import(Format::Sdrs, xml.as_bytes(), &buyer(AGENCY, Some("emp-17"))).unwrap().receipt;
    assert_eq!(receipt.buyer_employee(), Some("emp-17"));
}

#[test]
fn figures_the_till_and_kvitt_disagree_on() {
    let xml = fixture("sdrs/kvitt-sale-cash.xml");
    let wrong_discount = patched(&xml, "<nam:ExtendedDiscountAmount>20", "<nam:ExtendedDiscountAmount>21");
    let error = refused(&wrong_discount, "line.amount", &format!("{LINE_1}/Sale/ExtendedDiscountAmount"));
    assert!(error.detail().contains("is 2000"), "{error}");
    let card = fixture("sdrs/kvitt-sale-card.xml");
    let wrong_vat = patched(&card, "<Amount>160.18</Amount>", "<Amount>160.17</Amount>");
    refused(
        &wrong_vat,
        "vat.breakdown",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[3]/Tax/Amount",
    );
    let wrong_total = patched(
        &card,
        "<Total TotalType=\"TransactionGrandAmount\">1624.00",
        "<Total TotalType=\"TransactionGrandAmount\">1625.00",
    );
    refused(&wrong_total, "receipt.total", "/DigitalReceipt/Transaction/RetailTransaction/Total");
    let short_payment = patched(&card, "<Amount>1624.00</Amount>", "<Amount>1623.00</Amount>");
    refused(&short_payment, "receipt.payments", "/DigitalReceipt/Transaction/RetailTransaction");
    let no_rate = patched(
        &card,
        "<Percent>6</Percent>\n                    </Tax>\n                </Sale>",
        "<Percent>7</Percent>\n                    </Tax>\n                </Sale>",
    );
    refused(
        &no_rate,
        "vat.rate",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[2]/Sale/Tax/Percent",
    );
    let bad_pan = patched(&card, "xxxxxxxxxxxx1234", "xxxxxx1234567890");
    refused(
        &bad_pan,
        "payment.masked_pan",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[5]/Tender/CreditDebit/PrimaryAccountNumber",
    );
}

#[test]
fn what_kvitt_cannot_carry_is_refused() {
    let card = fixture("sdrs/kvitt-sale-card.xml");
    let euro =
        patched(&card, "<ActualSalesUnitPrice>129.00", "<ActualSalesUnitPrice Currency=\"EUR\">129.00");
    refused(
        &euro,
        "format.unsupported",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[2]/Sale/ActualSalesUnitPrice/@Currency",
    );
    let two = patched(&card, "</Transaction>", "</Transaction><Transaction/>");
    refused(&two, "format.unsupported", "/DigitalReceipt/Transaction[2]");
    let discount = patched(
        &card,
        "<LineItem>\n                <Tender",
        "<LineItem><Discount/></LineItem><LineItem>\n                <Tender",
    );
    refused(
        &discount,
        "format.unsupported",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[5]/Discount",
    );
    let surcharge = patched(&card, "<ExtendedAmount>129.00", "<ExtendedAmount>130.00");
    refused(
        &surcharge,
        "format.unsupported",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[2]/Sale/ExtendedAmount",
    );
    let copy = patched(&card, "<Transaction>", "<Transaction se:Copy=\"true\">");
    refused(&copy, "format.unsupported", "/DigitalReceipt/Transaction/@se:Copy");
}

#[test]
fn values_that_do_not_read() {
    let card = fixture("sdrs/kvitt-sale-card.xml");
    let thousandths = patched(&card, "<ExtendedAmount>129.00", "<ExtendedAmount>129.001");
    refused(
        &thousandths,
        "format.value",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[2]/Sale/ExtendedAmount",
    );
    let serial = patched(&card, "<SequenceNumber>1042", "<SequenceNumber>-1");
    refused(&serial, "format.value", "/DigitalReceipt/Transaction/SequenceNumber");
    let percent = patched(
        &card,
        "<Percent>12</Percent>\n                    </Tax>\n                </Sale>",
        "<Percent>twelve</Percent>\n                    </Tax>\n                </Sale>",
    );
    refused(&percent, "format.value", &format!("{LINE_1}/Sale/Tax/Percent"));
    let time = patched(&card, "2026-05-04T08:15:00+02:00", "2026-05-04T06:15:00Z");
    assert_eq!(accepted(Format::Sdrs, &time).issued_at, "2026-05-04T06:15:00+00:00", "Z is +00:00");
    let late = patched(&card, "2026-05-04T08:15:00+02:00", "2026-05-04T08:15:00.5+02:00");
    refused(&late, "time.format", "/DigitalReceipt/Transaction/ReceiptDateTime");
}

#[test]
fn what_the_law_requires_is_named() {
    let card = fixture("sdrs/kvitt-sale-card.xml");
    for (from, to, path) in [
        (
            "<UnitID Name=\"Hotell Kvitt AB\">",
            "<UnitID>",
            "/DigitalReceipt/Transaction/BusinessUnit/UnitID/@Name",
        ),
        ("<City>Stockholm</City>", "", "/DigitalReceipt/Transaction/BusinessUnit/Address/City"),
        (
            "<WorkstationID Mode=\"Retail\" TypeCode=\"POS\">Kassa 1</WorkstationID>",
            "",
            "/DigitalReceipt/Transaction/WorkstationID",
        ),
        ("<SequenceNumber>1042</SequenceNumber>", "", "/DigitalReceipt/Transaction/SequenceNumber"),
        (
            "<ReceiptDateTime>2026-05-04T08:15:00+02:00</ReceiptDateTime>",
            "",
            "/DigitalReceipt/Transaction/ReceiptDateTime",
        ),
        (
            "<Description>Frukost</Description>",
            "",
            "/DigitalReceipt/Transaction/RetailTransaction/LineItem[2]/Sale/Description",
        ),
        (
            "<Total TotalType=\"TransactionGrandAmount\">1624.00</Total>",
            "",
            "/DigitalReceipt/Transaction/RetailTransaction/Total",
        ),
    ] {
        let error = refused(&patched(&card, from, to), "format.missing", path);
        assert!(error.detail().contains("SKVFS 2014:9"), "{error}");
    }
    let no_approval = patched(&card, "<se:Text Name=\"AUT.KOD:\">A1B2C3</se:Text>", "");
    let error = refused(
        &no_approval,
        "format.missing",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[5]/Tender/se:PaymentTerminal",
    );
    assert!(error.detail().contains("approval code"), "{error}");
}

#[test]
fn voided_lines_are_not_on_the_receipt() {
    let card = fixture("sdrs/kvitt-sale-card.xml");
    let voided = patched(
        &card,
        "<LineItem>\n                <Tender",
        "<LineItem VoidFlag=\"true\"><Sale><Description>Minibar</Description></Sale></LineItem><LineItem>\n                <Tender",
    );
    assert_eq!(accepted(Format::Sdrs, &voided).lines.len(), 2);
}

#[test]
fn documents_that_are_not_sdrs() {
    let error = import(
        Format::Sdrs,
        b"<POSLog xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\"/>",
        &supplement(),
    )
    .unwrap_err();
    assert_eq!((error.code(), error.path()), (FormatCode::Syntax, "/POSLog"), "{error}");
    let error = import(Format::Sdrs, b"<DigitalReceipt>", &supplement()).unwrap_err();
    assert_eq!(error.code(), FormatCode::Syntax, "{error}");
    let error = import(Format::Sdrs, b"<DigitalReceipt/>", &supplement()).unwrap_err();
    assert!(error.detail().contains("the root element is {}DigitalReceipt"), "no namespace: {error}");
}
