//! Kivra's retail receipt JSON (schema v1.x), the parts kvitt reads. Numbers are kept as
//! written ([`Number`]) and read exactly; properties kvitt does not carry are skipped, but
//! the receipt object itself takes only the schema's properties (its
//! `additionalProperties: false`).

use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A JSON number, as its text: never a binary float.
#[derive(Debug)]
pub(crate) struct Number(pub String);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Ok(Number(text.to_owned()))
        } else {
            Err(D::Error::custom(format!("invalid type: {text}, expected a number")))
        }
    }
}

/// A receipt (`digital-receipt-schema.json`). The properties kvitt does not carry are read
/// (so that the receipt object takes exactly the schema's) and dropped: `_`-named.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    #[serde(default)]
    pub copy: bool,
    pub business_unit: BusinessUnit,
    #[serde(default, rename = "cashier")]
    _cashier: Option<IgnoredAny>,
    pub sales_recording_system: SalesRecordingSystem,
    pub receipt_identifier: ReceiptIdentifier,
    pub time_of_purchase: String,
    pub currency: String,
    pub totals: Vec<Total>,
    #[serde(default, rename = "header_text")]
    _header_text: Option<IgnoredAny>,
    #[serde(default, rename = "footer_text")]
    _footer_text: Option<IgnoredAny>,
    pub items: Vec<Item>,
    #[serde(default)]
    pub retail_price_modifiers: Vec<IgnoredAny>,
    pub payments: Vec<Payment>,
    #[serde(default, rename = "customer")]
    _customer: Option<IgnoredAny>,
    #[serde(default, rename = "customer_order")]
    _customer_order: Option<IgnoredAny>,
    #[serde(default)]
    pub control_unit: Option<ControlUnit>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BusinessUnit {
    pub name: Option<String>,
    pub organization_number: Option<String>,
    pub contact: Option<Contact>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Contact {
    pub address: Option<Address>,
}

/// An hCard-like address.
#[derive(Debug, Deserialize)]
pub(crate) struct Address {
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub postal_code: Option<String>,
    pub country_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SalesRecordingSystem {
    pub id: Option<String>,
    pub name: Option<String>,
    pub serial_number: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReceiptIdentifier {
    pub sequence_number: Number,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ControlUnit {
    pub id: Option<String>,
}

/// One of `totals`: `net`, `vat`, `gross`, `paid`, `discount`, `rounding`, `loyalty`.
#[derive(Debug, Deserialize)]
pub(crate) struct Total {
    #[serde(rename = "type")]
    pub kind: String,
    pub amount: Number,
    #[serde(default)]
    pub refund: bool,
    #[serde(default)]
    pub sub_totals: Vec<SubTotal>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubTotal {
    pub amount: Number,
    pub tax_percentage: Option<Number>,
}

/// An item: `sale`, `return`, `text` or `deposit`, with the properties of all four.
#[derive(Debug, Deserialize)]
pub(crate) struct Item {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    pub description: Option<String>,
    /// `{value, unit}` for goods, an integer for a deposit.
    pub quantity: Option<Box<RawValue>>,
    pub regular_sales_unit_price: Option<Number>,
    pub actual_sales_unit_price: Option<Number>,
    pub extended_amount: Option<Number>,
    pub extended_gross_amount: Option<Number>,
    pub extended_discount_amount: Option<Number>,
    #[serde(default)]
    pub retail_price_modifiers: Vec<Modifier>,
    pub tax_percentage: Option<Number>,
    pub points: Option<IgnoredAny>,
    pub foreign_currency: Option<IgnoredAny>,
    pub receipt_reference: Option<ReceiptReference>,
    pub text: Option<Texts>,
    pub refund: Option<bool>,
    pub unit_amount: Option<Number>,
    pub amount: Option<Number>,
    #[serde(default)]
    pub sub_deposits: Vec<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Identifier {
    pub identifier_type: String,
    pub value: String,
}

/// A goods item's quantity.
#[derive(Debug, Deserialize)]
pub(crate) struct Quantity {
    pub value: Number,
    pub unit: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Modifier {
    pub amount: Number,
    pub action: Option<String>,
    pub description: Option<Texts>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReceiptReference {
    pub value: String,
}

/// A `text_arr`: `{type: "array", collection: [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Texts {
    #[serde(default)]
    pub collection: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Payment {
    pub amount: Number,
    pub amount_applied_to_bill: Option<Number>,
    pub rounding: Option<Number>,
    #[serde(default)]
    pub refund: bool,
    pub foreign_currency_amount: Option<IgnoredAny>,
    pub tender: Tender,
}

/// A tender: `cash`, `creditdebit`, `giftcard`, `mobile`, `loyalty`, `coupon`, `other`, …
#[derive(Debug, Deserialize)]
pub(crate) struct Tender {
    #[serde(rename = "type")]
    pub kind: String,
    pub bank_identification_number: Option<String>,
    pub retrieval_reference_number: Option<String>,
    pub card_acceptor_terminal_id: Option<String>,
    pub approval_code: Option<String>,
    pub payment_slip: Option<Texts>,
    pub provider: Option<String>,
    pub tender_details: Option<serde_json::Value>,
    pub card_number: Option<String>,
    pub type_name: Option<String>,
    pub name: Option<String>,
    /// A card tender's tokenised card (v1.1 `card_token_element`).
    pub card_token: Option<CardToken>,
}

/// `card_token`: the token of the payment card and its scheme (which kvitt does not use:
/// the token alone is the reference an agency enrols).
#[derive(Debug, Deserialize)]
pub(crate) struct CardToken {
    pub value: String,
}
