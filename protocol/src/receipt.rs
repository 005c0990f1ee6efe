//! The receipt (kassakvitto): what a merchant's till issued, signed by the merchant.
//!
//! It carries what Skatteverket's SKVFS 2014:9 ch. 7 §1 requires a cash-register receipt
//! to show, the card data that identify the payment deterministically, and the buyer's
//! agency. A return or correction is a new receipt naming the original; a signed receipt
//! is never edited.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::envelope::{Record, RecordType};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::{
    check_amount, check_code, check_count, check_country, check_currency, check_gtin, check_masked_pan,
    check_optional_text, check_range, check_text, divide_rounded, parse_time, OrgId,
};
use crate::id::RecordId;
use crate::limits::*;
use crate::vat::{breakdown, format_rate, RateTable, VatAmount};

/// A receipt as the till issued it. Valid only once [`Record::validate`] accepts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Who sold.
    pub merchant: Merchant,
    /// The register's designation (kassaregistrets tillverkningsnummer or the merchant's id).
    pub register: String,
    /// Serial number in the register's unbroken ascending series.
    pub serial: u64,
    /// The control unit's identity (kontrollenhetens identifikationskod).
    pub control_unit: String,
    /// When the sale happened, with the place of sale's UTC offset.
    pub issued_at: String,
    /// ISO 4217 currency of every amount on the receipt.
    pub currency: String,
    /// The lines, in the order printed.
    pub lines: Vec<Line>,
    /// VAT per rate, ascending by rate: exactly the rates of the priced lines.
    pub vat: Vec<VatAmount>,
    /// Cash rounding (öresavrundning) added to the sum of the lines; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rounding: i64,
    /// Sum of line amounts plus rounding, VAT included.
    pub total: i64,
    /// How it was paid; the amounts add up to `total`.
    pub payments: Vec<Payment>,
    /// The buyer: the agency whose employee paid, and optionally that employee. Absent
    /// when the till did not know it and no enrolled card named it (spec/routing.md): the
    /// receipt then stays with the merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    /// For a return or correction: the receipt it refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<RecordId>,
}

/// The seller as the receipt must name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    /// The seller's name.
    pub name: String,
    /// Swedish organisation number `NNNNNN-NNNN`, or `CC:id` for a foreign seller.
    pub org: String,
    /// VAT number: for a Swedish seller `SE` + the ten digits + `01`; omitted only by a
    /// foreign seller without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    /// The address of the place of sale.
    pub address: Address,
}

/// A postal address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Goods or services sold.
    Sale,
    /// Goods or services taken back; its amount is negative.
    Return,
    /// A deposit (pant).
    Deposit,
    /// Printed text only: no quantity, price, amount or rate.
    Text,
}

/// One line of the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Sale, return, deposit or text.
    pub kind: LineKind,
    /// What was sold, as printed.
    pub description: String,
    /// The merchant's article id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// GS1 GTIN (EAN) of the article.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// Goods category from the VAT rate table (food, restaurant, hotel, …); when present,
    /// the line's rate must be the table's rate for it on the date of sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Quantity in thousandths of `unit` (1500 = 1.5 kg); priced lines only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// Unit of the quantity (st, kg, l, natt, km, …); priced lines only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Price per unit including VAT, in minor units; priced lines only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    /// Discounts taken off this line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<Discount>,
    /// The line's amount including VAT: quantity × unit price − discounts, negative for a
    /// return; priced lines only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// The line's VAT rate in basis points; priced lines only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate: Option<u32>,
}

/// A discount on one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discount {
    /// As printed, e.g. "3 för 2".
    pub description: String,
    /// The reduction, positive, in minor units including VAT.
    pub amount: i64,
}

/// One payment towards the total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payment {
    /// Cash.
    Cash {
        /// Amount applied to the receipt (change already deducted).
        amount: i64,
    },
    /// A payment card.
    Card {
        /// Amount charged.
        amount: i64,
        /// The card number as printed: at most the first 6 and last 4 digits, the rest `*`.
        masked_pan: String,
        /// Card brand (Visa, Mastercard, …).
        brand: String,
        /// Retrieval reference number of the transaction (up to 12 characters).
        rrn: String,
        /// Payment terminal id.
        terminal: String,
        /// Issuer's approval code (up to 6 characters).
        approval_code: String,
    },
    /// Swish mobile payment.
    Swish {
        /// Amount paid.
        amount: i64,
        /// Swish payment reference.
        reference: String,
    },
    /// Gift card.
    GiftCard {
        /// Amount drawn from the card.
        amount: i64,
        /// Gift card reference.
        reference: String,
    },
    /// Any other means.
    Other {
        /// Amount paid.
        amount: i64,
        /// What the means was.
        description: String,
    },
}

impl Payment {
    /// The amount this payment contributes to the total.
    pub fn amount(&self) -> i64 {
        match self {
            Payment::Cash { amount }
            | Payment::Card { amount, .. }
            | Payment::Swish { amount, .. }
            | Payment::GiftCard { amount, .. }
            | Payment::Other { amount, .. } => *amount,
        }
    }
}

/// The buyer of a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    /// The agency's Swedish organisation number.
    pub agency: String,
    /// The agency's reference for the employee who paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee: Option<String>,
}

impl Buyer {
    /// Checks the buyer: an agency's Swedish organisation number, and the employee's
    /// reference (a text of at most `MAX_CODE_BYTES`). Paths are relative to the buyer.
    pub fn validate(&self) -> Result<()> {
        let agency = OrgId::parse("agency", &self.agency)?;
        if !agency.is_swedish() {
            return Err(Error::new(
                ErrorCode::OrgFormat,
                "agency",
                "an agency has a Swedish organisation number",
            ));
        }
        check_optional_text("employee", self.employee.as_deref(), MAX_CODE_BYTES)
    }
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

impl Record for Receipt {
    const TYPE: RecordType = RecordType::Receipt;

    fn validate(&self) -> Result<()> {
        let merchant_org = self.merchant.validate()?;
        check_code("register", &self.register, MAX_CODE_BYTES)?;
        check_code("control_unit", &self.control_unit, MAX_CODE_BYTES)?;
        let issued_at = parse_time("issued_at", &self.issued_at)?;
        check_currency("currency", &self.currency)?;
        check_count("lines", self.lines.len(), MAX_LINES_PER_RECEIPT, true)?;
        let swedish = merchant_org.is_swedish();
        let table = RateTable::sweden();
        let sale_date = issued_at.date();
        for (index, line) in self.lines.iter().enumerate() {
            line.validate(swedish.then_some((table, sale_date)))
                .map_err(|error| error.within(&format!("lines[{index}]")))?;
        }
        self.check_vat_breakdown()?;
        check_range("rounding", self.rounding, -MAX_ROUNDING_MINOR, MAX_ROUNDING_MINOR)?;
        let lines_sum: i64 = self.lines.iter().filter_map(|line| line.amount).sum();
        check_amount("total", self.total)?;
        if self.total != lines_sum + self.rounding {
            return Err(Error::new(
                ErrorCode::Total,
                "total",
                format!(
                    "{}, expected {} (lines {lines_sum} + rounding {})",
                    self.total,
                    lines_sum + self.rounding,
                    self.rounding
                ),
            ));
        }
        check_count("payments", self.payments.len(), MAX_PAYMENTS_PER_RECEIPT, true)?;
        for (index, payment) in self.payments.iter().enumerate() {
            payment.validate().map_err(|error| error.within(&format!("payments[{index}]")))?;
        }
        let paid: i64 = self.payments.iter().map(Payment::amount).sum();
        if paid != self.total {
            return Err(Error::new(
                ErrorCode::Payments,
                "payments",
                format!("add up to {paid}, expected the total {}", self.total),
            ));
        }
        if let Some(buyer) = &self.buyer {
            buyer.validate().map_err(|error| error.within("buyer"))?;
        }
        let has_return_line = self.lines.iter().any(|line| line.kind == LineKind::Return);
        if has_return_line && self.original.is_none() {
            return Err(Error::new(
                ErrorCode::ReturnReference,
                "original",
                "a receipt with return lines names the original receipt",
            ));
        }
        Ok(())
    }
}

impl Receipt {
    /// The buyer's agency, if the receipt names one.
    pub fn buyer_agency(&self) -> Option<&str> {
        self.buyer.as_ref().map(|buyer| buyer.agency.as_str())
    }

    /// The buyer's employee, if the receipt names one.
    pub fn buyer_employee(&self) -> Option<&str> {
        self.buyer.as_ref().and_then(|buyer| buyer.employee.as_deref())
    }

    /// Whether the sale happened abroad: the place of sale is outside Sweden
    /// (`merchant.address.country` is not `SE`) or the receipt is in another currency than
    /// SEK. Lodging and meals abroad are booked apart from those in Sweden (BAS 5832,
    /// spec/books.md §Booking rules).
    pub fn sold_abroad(&self) -> bool {
        self.merchant.address.country != "SE" || self.currency != "SEK"
    }

    /// The receipt with every derived figure filled in from the lines: each priced line's
    /// amount, the VAT breakdown and the total (with the current rounding). Payments are
    /// left as they are. For tills, the demo and the simulator, which know the lines.
    pub fn with_computed_totals(mut self) -> Receipt {
        for line in &mut self.lines {
            if let (Some(quantity), Some(unit_price)) = (line.quantity, line.unit_price) {
                line.amount = line.expected_amount(quantity, unit_price).ok();
            }
        }
        self.vat = self.expected_vat();
        // Saturating: lines out of range make a total that validation refuses, not an
        // overflow.
        let lines = self.lines.iter().filter_map(|line| line.amount).fold(0i64, i64::saturating_add);
        self.total = lines.saturating_add(self.rounding);
        self
    }

    /// The breakdown the lines imply: one row per rate of the priced lines.
    pub fn expected_vat(&self) -> Vec<VatAmount> {
        breakdown(self.lines.iter().filter_map(|line| Some((line.vat_rate?, line.amount?))))
    }

    fn check_vat_breakdown(&self) -> Result<()> {
        let expected = self.expected_vat();
        for (index, (given_row, wanted_row)) in self.vat.iter().zip(&expected).enumerate() {
            let path = format!("vat[{index}]");
            if given_row.rate != wanted_row.rate {
                return Err(Error::new(
                    ErrorCode::VatBreakdown,
                    format!("{path}.rate"),
                    format!(
                        "{}, expected {} (rates ascending, one row per rate of the lines)",
                        format_rate(given_row.rate),
                        format_rate(wanted_row.rate)
                    ),
                ));
            }
            let rate = format_rate(wanted_row.rate);
            for (field, given, wanted) in [
                ("gross", given_row.gross, wanted_row.gross),
                ("vat", given_row.vat, wanted_row.vat),
                ("taxable", given_row.taxable, wanted_row.taxable),
            ] {
                if given != wanted {
                    return Err(Error::new(
                        ErrorCode::VatBreakdown,
                        format!("{path}.{field}"),
                        format!(
                            "{given} {unit}, expected {wanted} {unit} at {rate}",
                            unit = minor_unit(&self.currency)
                        ),
                    ));
                }
            }
        }
        if self.vat.len() != expected.len() {
            return Err(Error::new(
                ErrorCode::VatBreakdown,
                "vat",
                format!(
                    "{} rows, expected {} (one per rate of the priced lines)",
                    self.vat.len(),
                    expected.len()
                ),
            ));
        }
        Ok(())
    }
}

/// The name of the minor unit, for messages: öre for SEK, "minor units" otherwise.
fn minor_unit(currency: &str) -> &'static str {
    if currency == "SEK" {
        "öre"
    } else {
        "minor units"
    }
}

impl Merchant {
    fn validate(&self) -> Result<OrgId> {
        check_text("merchant.name", &self.name, MAX_NAME_BYTES)?;
        let org = OrgId::parse("merchant.org", &self.org)?;
        match (org.swedish_vat_number(), &self.vat_number) {
            (Some(expected), Some(given)) if *given != expected => {
                return Err(Error::new(
                    ErrorCode::VatNumber,
                    "merchant.vat_number",
                    format!("{given:?}, expected {expected:?} for {org}"),
                ));
            }
            (Some(expected), None) => {
                return Err(Error::new(
                    ErrorCode::VatNumber,
                    "merchant.vat_number",
                    format!("missing; a Swedish seller shows {expected:?}"),
                ));
            }
            (None, Some(given)) => check_code("merchant.vat_number", given, 32)?,
            _ => {}
        }
        check_text("merchant.address.street", &self.address.street, MAX_NAME_BYTES)?;
        check_text("merchant.address.postal_code", &self.address.postal_code, MAX_CODE_BYTES)?;
        check_text("merchant.address.city", &self.address.city, MAX_NAME_BYTES)?;
        check_country("merchant.address.country", &self.address.country)?;
        Ok(org)
    }
}

impl Line {
    /// Checks the line; `swedish_rates` is the table and date of sale when the seller is
    /// Swedish, so that rates and categories are checked against it.
    fn validate(&self, swedish_rates: Option<(&RateTable, Date)>) -> Result<()> {
        check_text("description", &self.description, MAX_NAME_BYTES)?;
        check_optional_text("article", self.article.as_deref(), MAX_CODE_BYTES)?;
        if let Some(gtin) = &self.gtin {
            check_gtin("gtin", gtin)?;
        }
        if self.kind == LineKind::Text {
            let priced = self.quantity.is_some()
                || self.unit.is_some()
                || self.unit_price.is_some()
                || self.amount.is_some()
                || self.vat_rate.is_some()
                || !self.discounts.is_empty()
                || self.category.is_some();
            if priced {
                return Err(Error::new(
                    ErrorCode::LineKind,
                    "kind",
                    "a text line has no quantity, unit, price, discounts, amount, rate or category",
                ));
            }
            return Ok(());
        }
        let missing = |field: &str| {
            Error::new(ErrorCode::LineKind, field, format!("a {:?} line needs {field}", self.kind))
        };
        let quantity = self.quantity.ok_or_else(|| missing("quantity"))?;
        let unit = self.unit.as_deref().ok_or_else(|| missing("unit"))?;
        let unit_price = self.unit_price.ok_or_else(|| missing("unit_price"))?;
        let amount = self.amount.ok_or_else(|| missing("amount"))?;
        let rate = self.vat_rate.ok_or_else(|| missing("vat_rate"))?;
        check_range("quantity", quantity, 1, MAX_QUANTITY_MILLI)?;
        check_text("unit", unit, MAX_CODE_BYTES)?;
        check_range("unit_price", unit_price, 0, MAX_AMOUNT_MINOR)?;
        check_count("discounts", self.discounts.len(), MAX_DISCOUNTS_PER_LINE, false)?;
        for (index, discount) in self.discounts.iter().enumerate() {
            check_text(&format!("discounts[{index}].description"), &discount.description, MAX_NAME_BYTES)?;
            check_range(&format!("discounts[{index}].amount"), discount.amount, 1, MAX_AMOUNT_MINOR)?;
        }
        check_amount("amount", amount)?;
        let expected = self.expected_amount(quantity, unit_price)?;
        if amount != expected {
            return Err(Error::new(
                ErrorCode::LineAmount,
                "amount",
                format!("{amount}, expected {expected} (quantity {quantity}/1000 × unit price {unit_price} − discounts{})", if self.kind == LineKind::Return { ", negated for a return" } else { "" }),
            ));
        }
        match swedish_rates {
            Some((table, sale_date)) => {
                if !table.covers(sale_date) || !table.has_rate(rate) {
                    return Err(Error::new(
                        ErrorCode::VatRate,
                        "vat_rate",
                        format!("{} is not a Swedish VAT rate on {sale_date}", format_rate(rate)),
                    ));
                }
                if let Some(category) = &self.category {
                    let wanted = table.category_rate(category, sale_date).ok_or_else(|| {
                        Error::new(
                            ErrorCode::CategoryRate,
                            "category",
                            format!("{category:?} is not a category of the rate table"),
                        )
                    })?;
                    if wanted != rate {
                        return Err(Error::new(
                            ErrorCode::CategoryRate,
                            "vat_rate",
                            format!(
                                "{} for {category} on {sale_date}, expected {}",
                                format_rate(rate),
                                format_rate(wanted)
                            ),
                        ));
                    }
                }
            }
            None => {
                check_range("vat_rate", i64::from(rate), 0, 5000)?;
                check_optional_text("category", self.category.as_deref(), MAX_CODE_BYTES)?;
            }
        }
        Ok(())
    }

    /// quantity × unit price / 1000 rounded, less discounts, negated for a return.
    fn expected_amount(&self, quantity: i64, unit_price: i64) -> Result<i64> {
        let gross = divide_rounded(i128::from(quantity) * i128::from(unit_price), 1000);
        let discounts: i128 = self.discounts.iter().map(|discount| i128::from(discount.amount)).sum();
        let net = gross - discounts;
        if net < 0 {
            return Err(Error::new(
                ErrorCode::Range,
                "discounts",
                format!("discounts {discounts} exceed the line's price {gross}"),
            ));
        }
        let signed = if self.kind == LineKind::Return { -net } else { net };
        i64::try_from(signed)
            .map_err(|_| Error::new(ErrorCode::Range, "amount", "quantity × unit price is out of range"))
    }
}

impl Payment {
    fn validate(&self) -> Result<()> {
        check_amount("amount", self.amount())?;
        match self {
            Payment::Cash { .. } => Ok(()),
            Payment::Card { masked_pan, brand, rrn, terminal, approval_code, .. } => {
                check_masked_pan("masked_pan", masked_pan)?;
                check_text("brand", brand, MAX_CODE_BYTES)?;
                check_code("rrn", rrn, 12)?;
                check_code("terminal", terminal, MAX_CODE_BYTES)?;
                check_code("approval_code", approval_code, 6)
            }
            Payment::Swish { reference, .. } | Payment::GiftCard { reference, .. } => {
                check_code("reference", reference, MAX_CODE_BYTES)
            }
            Payment::Other { description, .. } => check_text("description", description, MAX_NAME_BYTES),
        }
    }
}
