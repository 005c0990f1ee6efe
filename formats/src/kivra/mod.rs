//! Kivra's retail receipt JSON, schema v1.x (`kivra/developer.kivra.com`,
//! `receipt/schemas/json/retail/`). Paths are JSON pointers (`/items/1/extended_amount`).

mod items;
mod model;
mod payments;

use kvitt_protocol::fields::OrgId;
use kvitt_protocol::receipt::{Address, Merchant};

use crate::assemble::{Draft, Sources};
use crate::decimal::{decimal, Decimal};
use crate::error::{bad_value, required_by_law, unsupported, FormatCode, FormatError};
use crate::text;
use model::{Document, Number};

/// Reads a Kivra receipt into a draft receipt.
pub(crate) fn read(text: &str) -> Result<Draft, FormatError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document: Document = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        FormatError::new(FormatCode::Syntax, pointer(error.path()), error.inner().to_string())
    })?;
    deserializer.end().map_err(|error| {
        FormatError::new(FormatCode::Syntax, "", format!("not one JSON document: {error}"))
    })?;
    if document.copy {
        return Err(unsupported(
            "/copy",
            "a copy: push the original receipt; the signed kvitt receipt is the original, and a copy of it the same record",
        ));
    }
    if !document.retail_price_modifiers.is_empty() {
        return Err(unsupported(
            "/retail_price_modifiers/0",
            "a discount on the whole receipt: kvitt's discounts belong to lines (an item's retail_price_modifiers)",
        ));
    }
    let mut sources = Sources::new("");
    let merchant = merchant(&document, &mut sources)?;
    let register = register(&document, &mut sources)?;
    let serial = number(&document.receipt_identifier.sequence_number, "/receipt_identifier/sequence_number")?
        .scaled(0)
        .and_then(|serial| u64::try_from(serial).ok())
        .ok_or_else(|| {
            bad_value("/receipt_identifier/sequence_number", "not a serial number (0 … 2^63 − 1)")
        })?;
    sources.note("serial", "/receipt_identifier/sequence_number");
    let control_unit = document
        .control_unit
        .as_ref()
        .and_then(|unit| unit.id.clone())
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| required_by_law("/control_unit/id", "the control unit's serial number"))?;
    sources.note("control_unit", "/control_unit/id");
    let issued_at = match document.time_of_purchase.strip_suffix('Z') {
        Some(local) => format!("{local}+00:00"),
        None => document.time_of_purchase.clone(),
    };
    sources.note("issued_at", "/time_of_purchase");
    let currency = document.currency.to_ascii_uppercase();
    sources.note("currency", "/currency");

    let read = items::read(&document.items, &currency, &mut sources)?;
    let totals = payments::totals(&document.totals, &currency)?;
    let paid = payments::read(&document.payments, &currency, &mut sources)?;
    sources.note("total", totals.total_path.clone());
    sources.note(
        "rounding",
        paid.rounding_path.clone().or(totals.rounding_path.clone()).unwrap_or_else(|| "/totals".to_owned()),
    );
    sources.note("payments", "/payments");
    sources.note("vat", totals.vat_path.clone());
    Ok(Draft {
        merchant,
        register,
        serial,
        control_unit: control_unit.trim().to_owned(),
        issued_at,
        currency,
        lines: read.lines,
        total: totals.total,
        rounding_declared: totals.rounding_path.is_some() || paid.rounding_path.is_some(),
        payments: paid.payments,
        declared_vat: totals.declared_vat,
        declared_vat_path: totals.vat_path,
        reference: read.reference,
        card: crate::card::reference(&paid.cards)?,
        sources,
    })
}

/// serde_path_to_error's path as a JSON pointer (RFC 6901: `~` written `~0`, `/` `~1`).
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                Some(key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => None,
        })
        .map(|step| format!("/{step}"))
        .collect()
}

/// A number as a decimal, or `format.value` at `path`.
pub(crate) fn number(value: &Number, path: &str) -> Result<Decimal, FormatError> {
    decimal(path, &value.0)
}

/// The seller from `business_unit`; its VAT number derived from the organisation number,
/// which Kivra's schema does not carry apart.
fn merchant(document: &Document, sources: &mut Sources) -> Result<Merchant, FormatError> {
    let unit = &document.business_unit;
    let name = non_empty(unit.name.as_deref())
        .ok_or_else(|| required_by_law("/business_unit/name", "the seller's name"))?;
    sources.note("merchant.name", "/business_unit/name");
    let org =
        non_empty(unit.organization_number.as_deref()).map(text::organisation_number).ok_or_else(|| {
            required_by_law("/business_unit/organization_number", "the seller's organisation number")
        })?;
    sources.note("merchant.org", "/business_unit/organization_number");
    sources.note("merchant.vat_number", "/business_unit/organization_number");
    let vat_number = OrgId::parse("merchant.org", &org).ok().and_then(|org| org.swedish_vat_number());
    let base = "/business_unit/contact/address";
    let address = unit
        .contact
        .as_ref()
        .and_then(|contact| contact.address.as_ref())
        .ok_or_else(|| required_by_law(base, "the address of the place of sale"))?;
    let part = |value: &Option<String>, name: &str, what: &str| {
        non_empty(value.as_deref())
            .map(str::to_owned)
            .ok_or_else(|| required_by_law(format!("{base}/{name}"), what))
    };
    let street = part(&address.street_address, "street_address", "the street of the place of sale")?;
    let city = part(&address.locality, "locality", "the city of the place of sale")?;
    let postal_code = part(&address.postal_code, "postal_code", "the postal code of the place of sale")?;
    for (field, name) in [("street", "street_address"), ("city", "locality"), ("postal_code", "postal_code")]
    {
        sources.note(format!("merchant.address.{field}"), format!("{base}/{name}"));
    }
    let country = match non_empty(address.country_name.as_deref()) {
        Some(written) => text::country(written).ok_or_else(|| {
            bad_value(
                format!("{base}/country_name"),
                format!("{written:?} is not a country kvitt knows (SE, Sverige)"),
            )
        })?,
        None => "SE".to_owned(),
    };
    Ok(Merchant {
        name: name.to_owned(),
        org,
        vat_number,
        address: Address { street, postal_code, city, country },
    })
}

/// The register: `sales_recording_system`'s `serial_number` (the register's manufacturing
/// number), else `id`, else `name`, as a code.
fn register(document: &Document, sources: &mut Sources) -> Result<String, FormatError> {
    let system = &document.sales_recording_system;
    let found = [("serial_number", &system.serial_number), ("id", &system.id), ("name", &system.name)]
        .into_iter()
        .find_map(|(name, value)| non_empty(value.as_deref()).map(|value| (name, value)));
    let (name, value) =
        found.ok_or_else(|| required_by_law("/sales_recording_system/id", "the register's designation"))?;
    sources.note("register", format!("/sales_recording_system/{name}"));
    Ok(text::code(value))
}

/// A text that holds more than white space, trimmed.
pub(crate) fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_at(json: &str) -> String {
        read(json).unwrap_err().path().to_owned()
    }

    #[test]
    fn paths_become_pointers() {
        assert_eq!(refused_at(r#"{"items": [{"type": "sale"}, {"type": 5}]}"#), "/items/1/type");
        assert_eq!(refused_at(r#"{"a/b~c": 1}"#), "/a~1b~0c");
        assert_eq!(refused_at("[]"), "");
    }
}
