//! The SDRS sample receipts the Swedish Payment and ECR Group publishes
//! (SwedishPaymentAndECRGroup/digital-receipt-standard, resources/receipts, MIT; copies in
//! fixtures/sdrs/published with the licence). None is a receipt kvitt may sign as it
//! stands: each is refused at the element where it lacks what SKVFS 2014:9 ch. 7 §1
//! requires of a Swedish cash-register receipt, or where it is a copy. Filling the gap in
//! the test shows what the sample runs into next, down to the arithmetic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fixture, patched, supplement};
use kvitt_formats::{import, Format, FormatError, Supplement};

fn published(name: &str) -> String {
    fixture(&format!("sdrs/published/{name}"))
}

fn assert_refused(xml: &str, code: &str, path: &str) -> FormatError {
    common::assert_refused(Format::Sdrs, xml, code, path)
}

const CONTROL_UNIT: &str = "<se:ControlUnit><se:Text Name=\"Kontrollenhetens tillverkningsnummer:\">CU-1</se:Text></se:ControlUnit>\n</nam:DigitalReceipt>";

#[test]
fn sale_lacks_the_control_unit_then_its_numbers_disagree() {
    let xml = published("swe-standard-dr-sale.xml");
    // The law: the control unit's serial number (kontrollenhetens tillverkningsnummer).
    let error = assert_refused(
        &xml,
        "format.missing",
        "/DigitalReceipt/se:ControlUnit/se:Text[@Name='Kontrollenhetens tillverkningsnummer:']",
    );
    assert!(error.detail().contains("SKVFS 2014:9"), "{error}");
    let xml = patched(&xml, "</nam:DigitalReceipt>", CONTROL_UNIT);
    // Its organisation number 1122334444 fails the check digit.
    assert_refused(&xml, "org.luhn", "/DigitalReceipt/Transaction/se:Issuer/se:OrganisationID");
    let xml = patched(&xml, ">1122334444<", ">5560160680<");
    // SE11223344449 is not SE + the ten digits + 01.
    assert_refused(&xml, "org.vat_number", "/DigitalReceipt/Transaction/VATRegistrationNumber");
    let xml = patched(&xml, "SE11223344449", "SE556016068001");
    // Sold in 2017: before kvitt's VAT rate table (spec/vat-rates.json, from 2020-01-01).
    let error = assert_refused(
        &xml,
        "vat.rate",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[1]/Sale/Tax/Percent",
    );
    assert!(error.detail().contains("2017-12-02"), "{error}");
    let xml = patched(&xml, "2017-12-02T11:49:00+01:00", "2026-05-04T11:49:00+02:00");
    // The lines add up to 583.50 (2 × 69.00 after the discount, 49.00, 395.00, 1.50);
    // the sample's 25 % row (446.80 + 111.70) and total (558.00) are those of other lines.
    let error = assert_refused(
        &xml,
        "vat.breakdown",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[5]/Tax/Amount",
    );
    assert!(error.detail().starts_with("11170 öre VAT at 25 %, kvitt computes 11670 öre"), "{error}");
    let xml = patched(
        &xml,
        "<nam:Amount Currency=\"SEK\">111.70</nam:Amount>",
        "<nam:Amount Currency=\"SEK\">116.70</nam:Amount>",
    );
    // Lines 583.50, total 558.00: more than a cash rounding (−50 … 50 öre) apart.
    assert_refused(
        &xml,
        "limit.range",
        "/DigitalReceipt/Transaction/RetailTransaction/LineItem[7]/Tender/Rounding",
    );
}

#[test]
fn return_lacks_the_control_unit_then_names_its_sale_by_the_tills_own_id() {
    let xml = published("swe-standard-dr-return.xml");
    assert_refused(
        &xml,
        "format.missing",
        "/DigitalReceipt/se:ControlUnit/se:Text[@Name='Kontrollenhetens tillverkningsnummer:']",
    );
    let xml = patched(&xml, "</nam:DigitalReceipt>", CONTROL_UNIT);
    let xml = patched(&xml, ">1122334444<", ">5560160680<");
    let xml = patched(&xml, "SE11223344449", "SE556016068001");
    let xml = patched(&xml, "2017-12-05T21:52:33+01:00", "2026-05-04T21:52:33+02:00");
    // Its arithmetic holds (−49.00, VAT −9.80, refunded in cash); the sale it returns is
    // named by a UUID of the till's, not by the sale's kvitt id.
    let error = assert_refused(
        &xml,
        "receipt.original",
        "/DigitalReceipt/Transaction/RetailTransaction/TransactionLink/TransactionID",
    );
    assert!(error.detail().contains("names the original receipt"), "{error}");
    // Given the sale's kvitt id beside the document, it is a kvitt receipt.
    let original = "ab".repeat(32).parse().unwrap();
    let receipt =
        import(Format::Sdrs, xml.as_bytes(), &Supplement { original: Some(original), ..supplement() })
            .unwrap()
            .receipt;
    assert_eq!((receipt.total, receipt.payments[0].amount()), (-4900, -4900));
    assert_eq!((receipt.vat[0].rate, receipt.vat[0].vat), (2500, -980));
    assert_eq!(
        receipt.register, "EA38329",
        "WorkstationID's SerialNumber: the register's manufacturing number"
    );
    assert_eq!(receipt.serial, 123_789_798_712_433);
}

#[test]
fn sample_1_is_a_copy_and_lacks_a_postal_code() {
    let xml = published("swe-standard-dr-sample-1.xml");
    // se:copy="true": the digital receipt is a copy (kopia) of a paper original.
    assert_refused(&xml, "format.unsupported", "/DigitalReceipt/Transaction/@se:copy");
    let xml = patched(&xml, "se:copy=\"true\"", "se:copy=\"false\"");
    // The law: the address of the place of sale (its PostalCode is empty).
    assert_refused(&xml, "format.missing", "/DigitalReceipt/Transaction/BusinessUnit/Address/PostalCode");
}

#[test]
fn sample_2_is_a_copy_and_names_no_seller() {
    let xml = published("swe-standard-dr-sample-2.xml");
    assert_refused(&xml, "format.unsupported", "/DigitalReceipt/@se:copy");
    let xml = patched(&xml, "se:copy=\"true\"", "se:copy=\"false\"");
    // The law: the seller's name (BusinessUnit holds only a UnitID, no name, no address,
    // no organisation number).
    assert_refused(&xml, "format.missing", "/DigitalReceipt/Transaction/BusinessUnit/UnitID/@Name");
}

#[test]
fn the_minimal_samples_name_no_organisation_number_control_unit_or_goods() {
    for name in
        ["swe-standard-dr-sale-min-with-image.xml", "swe-standard-dr-sale-min-with-image-attachment.xml"]
    {
        let xml = published(name);
        // The law: the seller's organisation number.
        assert_refused(&xml, "format.missing", "/DigitalReceipt/Transaction/se:Issuer/se:OrganisationID");
        let xml = patched(
            &xml,
            "</nam:RetailTransaction>",
            "</nam:RetailTransaction><se:Issuer><se:OrganisationID>5560160680</se:OrganisationID></se:Issuer>",
        );
        // The law: the control unit's serial number.
        assert_refused(
            &xml,
            "format.missing",
            "/DigitalReceipt/se:ControlUnit/se:Text[@Name='Kontrollenhetens tillverkningsnummer:']",
        );
        let xml = patched(&xml, "</nam:DigitalReceipt>", CONTROL_UNIT);
        // The law: the goods or services sold (the lines carry only article numbers).
        assert_refused(
            &xml,
            "format.missing",
            "/DigitalReceipt/Transaction/RetailTransaction/LineItem[1]/Sale/Description",
        );
    }
}

#[test]
fn every_published_sample_is_judged_here() {
    let mut names: Vec<String> =
        std::fs::read_dir(format!("{}/fixtures/sdrs/published", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".xml"))
            .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "swe-standard-dr-return.xml",
            "swe-standard-dr-sale-min-with-image-attachment.xml",
            "swe-standard-dr-sale-min-with-image.xml",
            "swe-standard-dr-sale.xml",
            "swe-standard-dr-sample-1.xml",
            "swe-standard-dr-sample-2.xml",
        ],
        "a sample added to the folder gets a test above"
    );
}
