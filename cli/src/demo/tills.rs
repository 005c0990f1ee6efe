//! The demo's two receipts that take another way than an enrolled card pushed as kvitt
//! JSON, both through the nodes' HTTP API as a real till and employee use it:
//!
//! - a till that speaks SDRS posts its own XML (`POST /v1/receipts`, `application/xml`);
//!   the document carries the card's PAR (`se:Customer/se:Identifier Type="PAR"`), so the
//!   merchant's node routes it by the card it names (spec/api.md §Card references);
//! - a cash sale is signed without a buyer, the till shows its receipt code, and the
//!   employee collects it at their agency (`POST /v1/receipts/fetch`, what the web page
//!   /hamta and `kvitt receipt fetch` do): the agency's node fetches it from the merchant.

use std::path::PathBuf;

use kvitt_formats::SDRS_MEDIA_TYPE;
use kvitt_node::core::CallerRole;
use kvitt_protocol::RecordId;
use serde::Deserialize;

use super::day::{DayError, Org};
use crate::cli::client::{Client, Failure};

/// What an SDRS till's sale is: one line, paid by card.
pub(super) struct SdrsSale<'a> {
    /// The seller's name and organisation number.
    pub seller: (&'a str, &'a str),
    /// The register and its serial.
    pub register: &'a str,
    pub serial: u64,
    /// When, as the XML writes it.
    pub at: &'a str,
    /// The line: description, price in öre (VAT 6 %, passenger transport).
    pub description: &'a str,
    pub price: i64,
    /// The card's PAR, and the last four digits the slip shows.
    pub par: &'a str,
    pub last_four: u32,
}

/// Öre as an SDRS amount: `19500` → `195.00`.
fn amount(ore: i64) -> String {
    format!("{}.{:02}", ore / 100, ore % 100)
}

/// `text` as XML character data or attribute value.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SDRS document (ARTS DigitalReceipt 2.0.0 with the Swedish extension) a till writes
/// for `sale`, the card's PAR in `se:Customer`.
pub(super) fn sdrs_document(sale: &SdrsSale<'_>) -> String {
    let SdrsSale { seller: (name, org), register, serial, at, description, price, par, last_four } = sale;
    let price = amount(*price);
    let (name, description) = (escape(name), escape(description));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DigitalReceipt MajorVersion="6" MinorVersion="0" FixVersion="0"
                xmlns="http://www.nrf-arts.org/IXRetail/namespace/"
                xmlns:se="http://www.sweretailstandard.se/schemas/namespace/se">
    <Transaction>
        <BusinessUnit>
            <UnitID Name="{name}">RT-1</UnitID>
            <Address>
                <AddressLine TypeCode="Street">Vasagatan 10</AddressLine>
                <City>Stockholm</City>
                <PostalCode>111 20</PostalCode>
                <Country Code="SE">Sverige</Country>
            </Address>
        </BusinessUnit>
        <WorkstationID Mode="Retail" TypeCode="POS">{register}</WorkstationID>
        <SequenceNumber>{serial}</SequenceNumber>
        <CurrencyCode>SEK</CurrencyCode>
        <ReceiptDateTime>{at}</ReceiptDateTime>
        <RetailTransaction>
            <LineItem>
                <Sale ItemType="Service">
                    <Description>{description}</Description>
                    <ActualSalesUnitPrice>{price}</ActualSalesUnitPrice>
                    <ExtendedAmount>{price}</ExtendedAmount>
                    <Quantity UnitOfMeasureCode="st">1</Quantity>
                    <Tax><Percent>6</Percent></Tax>
                </Sale>
                <SequenceNumber>1</SequenceNumber>
            </LineItem>
            <LineItem>
                <Tender TypeCode="Sale" TenderType="CreditDebit">
                    <Amount>{price}</Amount>
                    <CreditDebit CardType="Debit">
                        <PrimaryAccountNumber>************{last_four:04}</PrimaryAccountNumber>
                    </CreditDebit>
                    <se:PaymentTerminal>
                        <se:Text>VISA</se:Text>
                        <se:Text Name="Term:">T-{register}</se:Text>
                        <se:Text Name="AUT.KOD:">{serial:06}</se:Text>
                        <se:Text Name="REF:">{last_four:04}{serial:08}</se:Text>
                    </se:PaymentTerminal>
                </Tender>
                <SequenceNumber>2</SequenceNumber>
            </LineItem>
            <Total TotalType="TransactionGrandAmount">{price}</Total>
            <se:Customer><se:Identifier Type="PAR">{par}</se:Identifier></se:Customer>
        </RetailTransaction>
        <se:Issuer><se:OrganisationID>{org}</se:OrganisationID></se:Issuer>
    </Transaction>
    <se:ControlUnit>
        <se:Text Name="Kontrollenhetens tillverkningsnummer:">CU-{register}</se:Text>
    </se:ControlUnit>
</DigitalReceipt>
"#
    )
}

/// What `POST /v1/receipts` and `POST /v1/receipts/fetch` answer, the parts the demo reads.
#[derive(Deserialize)]
struct Answer {
    id: RecordId,
}

/// `POST path` of `body` (of `content_type`) to the node of `data` as `person` in `role`,
/// off the async runtime (the client is blocking); the answer's record id.
async fn post(
    step: String,
    data: PathBuf,
    (person, role): (&'static str, CallerRole),
    path: &'static str,
    (content_type, body): (&'static str, String),
) -> Result<RecordId, DayError> {
    let blocking = tokio::task::spawn_blocking(move || {
        let client = Client::as_person(&data, person, &[role]).map_err(|error| format!("{error:#}"))?;
        let answer =
            client.post_document(path, &[], content_type, body.as_bytes()).map_err(
                |failure| match failure {
                    Failure::Problem(problem) => problem.to_string(),
                    Failure::Other(error) => format!("{error:#}"),
                },
            )?;
        serde_json::from_str::<Answer>(&answer).map(|answer| answer.id).map_err(|error| error.to_string())
    });
    match blocking.await {
        Ok(result) => result.map_err(|why| DayError::Unexpected(format!("{step}: {why}"))),
        Err(error) => Err(DayError::Unexpected(format!("{step}: {error}"))),
    }
}

/// The SDRS till of `merchant` posts `sale`'s document to its node as `till-1`.
pub(super) async fn push_sdrs(merchant: &Org, sale: &SdrsSale<'_>) -> Result<RecordId, DayError> {
    let step = format!("{}'s SDRS till posts receipt {} #{}", merchant.name, sale.register, sale.serial);
    let body = (SDRS_MEDIA_TYPE, sdrs_document(sale));
    post(step, merchant.data.clone(), ("till-1", CallerRole::Till), "/v1/receipts", body).await
}

/// `employee` collects the receipt of `code` at `agency`, as the web page /hamta does.
pub(super) async fn fetch_by_code(
    agency: &Org,
    employee: &'static str,
    code: &str,
) -> Result<RecordId, DayError> {
    let step = format!("{employee} collects the receipt of code {code} at {}", agency.name);
    let body = ("application/json", serde_json::json!({ "code": code }).to_string());
    post(step, agency.data.clone(), (employee, CallerRole::Employee), "/v1/receipts/fetch", body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdrs_document_maps_to_the_sale_and_carries_the_par() {
        let par = "V0010013018209000000000001104";
        let sale = SdrsSale {
            seller: ("Resor & Taxi Kvitt AB", "556036-0793"),
            register: "SJ-AUTOMAT",
            serial: 1001,
            at: "2026-05-05T09:30:00+02:00",
            description: "Tåg Stockholm–Uppsala",
            price: 19_500,
            par,
            last_four: 1104,
        };
        let document = sdrs_document(&sale);
        let imported = kvitt_formats::import(
            kvitt_formats::Format::Sdrs,
            document.as_bytes(),
            &kvitt_formats::Supplement::default(),
        )
        .unwrap();
        assert_eq!(imported.card.unwrap().as_str(), par);
        let receipt = imported.receipt;
        assert_eq!((receipt.total, receipt.serial, receipt.register.as_str()), (19_500, 1001, "SJ-AUTOMAT"));
        assert_eq!((receipt.merchant.org.as_str(), receipt.buyer), ("556036-0793", None));
        assert_eq!(receipt.merchant.name, "Resor & Taxi Kvitt AB", "escaped in the XML, read back");
    }
}
