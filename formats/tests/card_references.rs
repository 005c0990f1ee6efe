//! The card references documents carry (spec/api.md §Card references): read so that an
//! imported receipt without a buyer routes by its card, and never a card number, whole or
//! masked, taken for one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_refused, fixture, patched};
use kvitt_formats::{import, Format, Imported, Supplement};
use kvitt_protocol::receipt::Payment;

/// An EMVCo Payment Account Reference (29 characters).
const PAR: &str = "V0010013018209568912345678912";
/// The card token of the published SDRS samples (`swe-standard-dr-sale-min-with-image.xml`,
/// `se:Receiver Type="Nets:CardToken"`): 70 hex digits.
const NETS_TOKEN: &str = "B216ADDEEC6495D34418323F6E46633C71B01D45557C138EB5A28723C5F4E897DAD647";

const RETAIL: &str = "/DigitalReceipt/Transaction/RetailTransaction";
const SDRS_TOTAL: &str = r#"<Total TotalType="TransactionGrandAmount">1624.00</Total>"#;

/// The SDRS card sale with `elements` after its total, imported without a buyer.
fn sdrs_with(elements: &str) -> String {
    patched(&fixture("sdrs/kvitt-sale-card.xml"), SDRS_TOTAL, &format!("{SDRS_TOTAL}\n{elements}"))
}

fn imported(format: Format, text: &str) -> Imported {
    import(format, text.as_bytes(), &Supplement::default()).unwrap_or_else(|error| panic!("refused: {error}"))
}

fn card_of(format: Format, text: &str) -> Option<String> {
    imported(format, text).card.map(|card| card.as_str().to_owned())
}

#[test]
fn an_sdrs_receiver_or_customer_naming_a_card_token_or_par_is_the_card_reference() {
    let receiver = sdrs_with(&format!(r#"<se:Receiver Type="Nets:CardToken">{NETS_TOKEN}</se:Receiver>"#));
    let receipt = imported(Format::Sdrs, &receiver);
    assert_eq!(receipt.receipt.buyer, None, "the buyer is found by the card");
    assert_eq!(receipt.card.unwrap().as_str(), NETS_TOKEN);
    let customer =
        sdrs_with(&format!(r#"<se:Customer><se:Identifier Type="PAR">{PAR}</se:Identifier></se:Customer>"#));
    assert_eq!(card_of(Format::Sdrs, &customer).as_deref(), Some(PAR));
    // As the published samples do: the same token in both places is one reference.
    let both = sdrs_with(&format!(
        r#"<se:Customer><se:Identifier Type="Nets:CardToken">{NETS_TOKEN}</se:Identifier></se:Customer>
           <se:Receiver Type="Nets:CardToken">{NETS_TOKEN}</se:Receiver>"#
    ));
    assert_eq!(card_of(Format::Sdrs, &both).as_deref(), Some(NETS_TOKEN));
}

#[test]
fn an_sdrs_receiver_that_identifies_a_person_is_not_read() {
    for (kind, value) in [("NationalIdentityNumber", "2210228884"), ("EmailAddress", "anna@example.se")] {
        let xml = sdrs_with(&format!(r#"<se:Receiver Type="{kind}">{value}</se:Receiver>"#));
        assert_eq!(card_of(Format::Sdrs, &xml), None, "{kind}");
    }
}

#[test]
fn an_sdrs_card_reference_that_is_a_card_number_is_refused_at_its_element() {
    let path = format!("{RETAIL}/se:Receiver");
    for number in ["4111111111111111", "************1234", "411111xxxxxx1111"] {
        let xml = sdrs_with(&format!(r#"<se:Receiver Type="CardToken">{number}</se:Receiver>"#));
        assert_refused(Format::Sdrs, &xml, "payment.masked_pan", &path);
    }
    let xml = sdrs_with(r#"<se:Receiver Type="CardToken">not a token</se:Receiver>"#);
    assert_refused(Format::Sdrs, &xml, "format.value", &path);
}

#[test]
fn two_different_sdrs_card_references_are_refused_at_the_customer_s() {
    let xml = sdrs_with(&format!(
        r#"<se:Customer><se:Identifier Type="PAR">{PAR}</se:Identifier></se:Customer>
           <se:Receiver Type="Nets:CardToken">{NETS_TOKEN}</se:Receiver>"#
    ));
    // se:Receiver is read first, then se:Customer.
    let path = format!("{RETAIL}/se:Customer/se:Identifier");
    let error = assert_refused(Format::Sdrs, &xml, "format.unsupported", &path);
    assert!(error.detail().contains("se:Receiver"), "{error}");
}

const KIVRA_BIN: &str = r#""bank_identification_number": "************3602","#;

#[test]
fn a_kivra_card_token_is_the_card_reference() {
    let json = patched(
        &fixture("kivra/sale-card.json"),
        KIVRA_BIN,
        &format!(r#"{KIVRA_BIN} "card_token": {{"value": "{NETS_TOKEN}", "scheme": "payprov_nets"}},"#),
    );
    assert_eq!(card_of(Format::Kivra, &json).as_deref(), Some(NETS_TOKEN));
    assert_eq!(
        card_of(Format::Kivra, &fixture("kivra/sale-card.json")),
        None,
        "a masked number routes nothing"
    );
    let pan = patched(
        &fixture("kivra/sale-card.json"),
        KIVRA_BIN,
        &format!(r#"{KIVRA_BIN} "card_token": {{"value": "4111111111111111", "scheme": "x"}},"#),
    );
    assert_refused(Format::Kivra, &pan, "payment.masked_pan", "/payments/0/tender/card_token/value");
}

#[test]
fn a_kivra_par_in_field_56_is_the_card_reference_and_the_slip_gives_the_masked_number() {
    let json = patched(
        &patched(
            &fixture("kivra/sale-card.json"),
            KIVRA_BIN,
            &format!(r#""bank_identification_number": "{PAR}","#),
        ),
        r#""Bankkort VISA","#,
        r#""Bankkort VISA", "************3602","#,
    );
    let receipt = imported(Format::Kivra, &json);
    assert_eq!(receipt.card.unwrap().as_str(), PAR);
    let Payment::Card { masked_pan, .. } = &receipt.receipt.payments[0] else { panic!() };
    assert_eq!(masked_pan, "************3602");
    // A PAR and a token in one tender: the PAR, which names the account whatever the token.
    let with_token = patched(
        &json,
        r#""approval_code""#,
        &format!(r#""card_token": {{"value": "{NETS_TOKEN}", "scheme": "s"}}, "approval_code""#),
    );
    assert_eq!(card_of(Format::Kivra, &with_token).as_deref(), Some(PAR));
    let without_slip = patched(
        &fixture("kivra/sale-card.json"),
        KIVRA_BIN,
        &format!(r#""bank_identification_number": "{PAR}","#),
    );
    assert_refused(Format::Kivra, &without_slip, "format.missing", "/payments/0/tender/payment_slip");
}
