//! Writing SDRS: the document a till that speaks SDRS writes for a one-line card sale. The
//! demo and the simulator use it to play such a till; the reader (the parent module) is
//! what kvitt itself needs.

/// What an SDRS till's sale is: one line, paid by card.
#[derive(Clone, Copy, Debug)]
pub struct SdrsSale<'a> {
    /// The seller's name and organisation number.
    pub seller: (&'a str, &'a str),
    /// The register (its `WorkstationID`).
    pub register: &'a str,
    /// The receipt's serial at the register.
    pub serial: u64,
    /// When, as the XML writes it.
    pub at: &'a str,
    /// The line's description (a service at VAT 6 %, passenger transport).
    pub description: &'a str,
    /// The line's price in öre, VAT 6 % included.
    pub price: i64,
    /// The card's PAR (spec/api.md §Card references).
    pub par: &'a str,
    /// The last four digits of the card number the slip shows.
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
/// for `sale`, a one-line card sale, the card's PAR in `se:Customer`: what the demo and the
/// simulator post or import to play a till that speaks SDRS. [`crate::import`] reads it back
/// to the sale's receipt and card reference.
pub fn sdrs_document(sale: &SdrsSale<'_>) -> String {
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
