//! SDRS, the Swedish Digital Receipt Standard: ARTS DigitalReceipt 2.0.0 XML
//! (`DigitalReceiptV2.0.0.xsd`) with the Swedish extension (`SweArtsDR200ExtV1.0.0.xsd`,
//! prefix `se:`), as the Swedish Payment and ECR Group publishes it. One document, one
//! `Transaction`, one `RetailTransaction`: one receipt.

mod lines;
mod tenders;
pub mod write;
mod xml;

use kvitt_protocol::fields::OrgId;
use kvitt_protocol::receipt::{Address, Merchant};

use crate::assemble::{Draft, Reference, Sources};
use crate::card::{self, Candidate};
use crate::error::{bad_value, missing, required_by_law, unsupported, FormatCode, FormatError};
use crate::text;
use xml::{El, ARTS, SE};

/// The `Type`s of `se:Receiver` and `se:Customer/se:Identifier` (the part after the last
/// `:`, case aside) that name a card reference: the SDRS samples' `Nets:CardToken`, a
/// PAR, a network token reference. The schema's own types (`NationalIdentityNumber`,
/// `EmailAddress`, …) identify a private person and are not read.
const CARD_REFERENCE_TYPES: [&str; 4] = ["cardtoken", "par", "paymentaccountreference", "tokenreference"];

/// The label of the control unit's serial number among `se:ControlUnit/se:Text`.
const CONTROL_UNIT_LABEL: &str = "KONTROLLENHETENS TILLVERKNINGSNUMMER";

/// Reads an SDRS document into a draft receipt.
pub(crate) fn read(text: &str) -> Result<Draft, FormatError> {
    let document = xml::parse(text)?;
    let root = El(document.root_element());
    if !root.is(ARTS, "DigitalReceipt") {
        return Err(FormatError::new(
            FormatCode::Syntax,
            root.path(),
            format!(
                "not an ARTS DigitalReceipt: the root element is {{{}}}{}",
                root.0.tag_name().namespace().unwrap_or_default(),
                root.0.tag_name().name()
            ),
        ));
    }
    refuse_copy(root)?;
    let mut transactions = root.children(ARTS, "Transaction");
    let transaction = transactions
        .next()
        .ok_or_else(|| missing(root.child_path(ARTS, "Transaction"), "the Transaction"))?;
    if let Some(second) = transactions.next() {
        return Err(unsupported(second.path(), "a second Transaction: a kvitt receipt is one transaction"));
    }
    refuse_copy(transaction)?;
    let retail = transaction.child(ARTS, "RetailTransaction").ok_or_else(|| {
        missing(transaction.child_path(ARTS, "RetailTransaction"), "the RetailTransaction (the sale)")
    })?;

    let mut sources = Sources::new(&root.path());
    let merchant = merchant(transaction, &mut sources)?;
    let register = register(transaction, &mut sources)?;
    let serial = serial(transaction, &mut sources)?;
    let control_unit = control_unit(root, transaction, &mut sources)?;
    let issued_at = issued_at(transaction, &mut sources)?;
    let currency_element = transaction
        .child(ARTS, "CurrencyCode")
        .ok_or_else(|| missing(transaction.child_path(ARTS, "CurrencyCode"), "the receipt's currency"))?;
    let currency = currency_element.text().to_ascii_uppercase();
    sources.note("currency", currency_element.path());

    let read = lines::read(retail, &currency, &mut sources)?;
    let tenders = tenders::read(retail, &currency, &mut sources)?;
    let lines_sum: i64 = read.lines.iter().filter_map(|line| line.amount).fold(0, i64::saturating_add);
    let total_element = retail
        .children(ARTS, "Total")
        .find(|total| total.attr("TotalType") == Some("TransactionGrandAmount"))
        .ok_or_else(|| {
            required_by_law(
                retail.child_path(ARTS, "Total"),
                "the total (Total TotalType=\"TransactionGrandAmount\")",
            )
        })?;
    let magnitude = total_element.amount(&currency)?;
    // ARTS writes a return's total as a positive amount; kvitt's sign follows the lines.
    let total = if lines_sum < 0 { -magnitude } else { magnitude };
    sources.note("total", total_element.path());
    sources.note("rounding", tenders.rounding_path.clone().unwrap_or_else(|| total_element.path()));
    sources.note("payments", retail.path());
    sources.note("vat", retail.path());

    let reference = read.reference.or_else(|| reference(retail));
    let card = card::reference(&card_candidates(retail))?;
    Ok(Draft {
        merchant,
        register,
        serial,
        control_unit,
        issued_at,
        currency,
        lines: read.lines,
        total,
        rounding_declared: tenders.rounding_path.is_some(),
        payments: tenders.payments,
        declared_vat: read.declared_vat,
        declared_vat_path: retail.path(),
        reference,
        card,
        sources,
    })
}

/// The card references of the transaction: `se:Receiver` and `se:Customer/se:Identifier`
/// whose `Type` names one ([`CARD_REFERENCE_TYPES`]).
fn card_candidates(retail: El<'_, '_>) -> Vec<Candidate> {
    let names_card = |element: &El<'_, '_>| {
        element.attr("Type").is_some_and(|kind| {
            let last = kind.rsplit(':').next().unwrap_or(kind).to_ascii_lowercase();
            CARD_REFERENCE_TYPES.contains(&last.as_str())
        })
    };
    let identifiers = retail
        .children(SE, "Customer")
        .flat_map(|customer| customer.children(SE, "Identifier").collect::<Vec<_>>());
    retail
        .children(SE, "Receiver")
        .chain(identifiers)
        .filter(names_card)
        .map(|element| Candidate::new(element.text(), element.path()))
        .collect()
}

/// A copy (`se:copy="true"` on the receipt or its transaction) is refused: kvitt signs
/// the original, and a copy of a signed receipt is the same record.
fn refuse_copy(element: El<'_, '_>) -> Result<(), FormatError> {
    for name in ["copy", "Copy"] {
        if El::flag(element.attr_in(SE, name)) {
            return Err(unsupported(
                format!("{}/@se:{name}", element.path()),
                "a copy (kopia): push the original receipt; the signed kvitt receipt is the original, and a copy of it the same record",
            ));
        }
    }
    Ok(())
}

/// The seller: name, organisation number, VAT number and the place of sale's address.
fn merchant(transaction: El<'_, '_>, sources: &mut Sources) -> Result<Merchant, FormatError> {
    let arts_unit = transaction.child(ARTS, "BusinessUnit");
    let se_unit = transaction.child(SE, "BusinessUnit");
    let units: Vec<El<'_, '_>> = arts_unit.into_iter().chain(se_unit).collect();
    let unit_path =
        units.first().map_or_else(|| transaction.child_path(ARTS, "BusinessUnit"), |unit| unit.path());

    let name = units.iter().filter_map(|unit| unit.child(ARTS, "UnitID")).find_map(|id| {
        id.attr("Name").filter(|name| !name.is_empty()).map(|name| (name, id.attr_path("Name")))
    });
    let (name, name_path) =
        name.ok_or_else(|| required_by_law(format!("{unit_path}/UnitID/@Name"), "the seller's name"))?;
    sources.note("merchant.name", name_path);

    let issuer = transaction.child(SE, "Issuer").and_then(|issuer| issuer.child(SE, "OrganisationID"));
    let from_unit = se_unit.and_then(|unit| {
        unit.child(SE, "OrganisationID")
            .or_else(|| unit.child(SE, "Identifier").and_then(|id| id.child(SE, "OrganisationID")))
    });
    let org_element = issuer.or(from_unit).filter(|element| !element.text().is_empty()).ok_or_else(|| {
        required_by_law(
            format!("{}/se:Issuer/se:OrganisationID", transaction.path()),
            "the seller's organisation number",
        )
    })?;
    let org = text::organisation_number(org_element.text());
    sources.note("merchant.org", org_element.path());

    let vat_number = match transaction.child(ARTS, "VATRegistrationNumber") {
        Some(element) => {
            sources.note("merchant.vat_number", element.path());
            Some(element.text().to_owned())
        }
        None => {
            sources.note("merchant.vat_number", org_element.path());
            OrgId::parse("merchant.org", &org).ok().and_then(|org| org.swedish_vat_number())
        }
    };

    let address = units
        .iter()
        .find_map(|unit| unit.child(ARTS, "Address"))
        .ok_or_else(|| required_by_law(format!("{unit_path}/Address"), "the address of the place of sale"))?;
    sources.note("merchant.address", address.path());
    let lines: Vec<El<'_, '_>> = address.children(ARTS, "AddressLine").collect();
    let street = lines
        .iter()
        .find(|line| line.attr("TypeCode") == Some("Street"))
        .or(lines.first())
        .filter(|line| !line.text().is_empty())
        .ok_or_else(|| {
            required_by_law(address.child_path(ARTS, "AddressLine"), "the street of the place of sale")
        })?;
    sources.note("merchant.address.street", street.path());
    let part = |name: &'static str, what: &str| {
        address
            .child(ARTS, name)
            .filter(|element| !element.text().is_empty())
            .ok_or_else(|| required_by_law(address.child_path(ARTS, name), what))
    };
    let city = part("City", "the city of the place of sale")?;
    let postal_code = part("PostalCode", "the postal code of the place of sale")?;
    sources.note("merchant.address.city", city.path());
    sources.note("merchant.address.postal_code", postal_code.path());
    let country = match address.child(ARTS, "Country") {
        Some(element) => {
            let written = element.attr("Code").filter(|code| !code.is_empty()).unwrap_or(element.text());
            sources.note("merchant.address.country", element.path());
            text::country(written).ok_or_else(|| {
                bad_value(element.path(), format!("{written:?} is not a country code (ISO 3166, e.g. SE)"))
            })?
        }
        // A Swedish standard's receipt is from a Swedish place of sale unless it says so.
        None => "SE".to_owned(),
    };
    Ok(Merchant {
        name: name.to_owned(),
        org,
        vat_number,
        address: Address {
            street: street.text().to_owned(),
            postal_code: postal_code.text().to_owned(),
            city: city.text().to_owned(),
            country,
        },
    })
}

/// The register's designation: `WorkstationID`'s `SerialNumber` (kassaregistrets
/// tillverkningsnummer) if given, else its value, as a code.
fn register(transaction: El<'_, '_>, sources: &mut Sources) -> Result<String, FormatError> {
    let workstation = transaction.child(ARTS, "WorkstationID").ok_or_else(|| {
        required_by_law(transaction.child_path(ARTS, "WorkstationID"), "the register's designation")
    })?;
    match workstation.attr("SerialNumber").filter(|serial| !serial.is_empty()) {
        Some(serial) => {
            sources.note("register", workstation.attr_path("SerialNumber"));
            Ok(text::code(serial))
        }
        None if !workstation.text().is_empty() => {
            sources.note("register", workstation.path());
            Ok(text::code(workstation.text()))
        }
        None => Err(required_by_law(workstation.path(), "the register's designation")),
    }
}

/// The receipt's serial number: `Transaction/SequenceNumber`.
fn serial(transaction: El<'_, '_>, sources: &mut Sources) -> Result<u64, FormatError> {
    let element = transaction.child(ARTS, "SequenceNumber").ok_or_else(|| {
        required_by_law(transaction.child_path(ARTS, "SequenceNumber"), "the receipt's serial number")
    })?;
    sources.note("serial", element.path());
    element.text().parse().map_err(|_| {
        bad_value(element.path(), format!("{:?} is not a serial number (0 … 2^64 − 1)", element.text()))
    })
}

/// The control unit's serial number: the `se:ControlUnit/se:Text` named
/// `Kontrollenhetens tillverkningsnummer:`, on the receipt or its transaction.
fn control_unit(
    root: El<'_, '_>,
    transaction: El<'_, '_>,
    sources: &mut Sources,
) -> Result<String, FormatError> {
    let found = root
        .children(SE, "ControlUnit")
        .chain(transaction.children(SE, "ControlUnit"))
        .flat_map(|unit| unit.children(SE, "Text").collect::<Vec<_>>())
        .find(|line| {
            line.attr("Name").is_some_and(|name| text::label(name) == CONTROL_UNIT_LABEL)
                && !line.text().is_empty()
        });
    let line = found.ok_or_else(|| {
        required_by_law(
            format!("{}/se:ControlUnit/se:Text[@Name='Kontrollenhetens tillverkningsnummer:']", root.path()),
            "the control unit's serial number (kontrollenhetens tillverkningsnummer)",
        )
    })?;
    sources.note("control_unit", line.path());
    Ok(line.text().to_owned())
}

/// The time of sale: `ReceiptDateTime`, a `Z` written `+00:00` as kvitt writes UTC.
fn issued_at(transaction: El<'_, '_>, sources: &mut Sources) -> Result<String, FormatError> {
    let element = transaction.child(ARTS, "ReceiptDateTime").ok_or_else(|| {
        required_by_law(transaction.child_path(ARTS, "ReceiptDateTime"), "the date and time of sale")
    })?;
    sources.note("issued_at", element.path());
    let written = element.text();
    Ok(match written.strip_suffix('Z') {
        Some(local) => format!("{local}+00:00"),
        None => written.to_owned(),
    })
}

/// The sale a return refers to, named at the transaction: `TransactionLink/TransactionID`
/// (kvitt takes it if it is a kvitt receipt id), else `se:ReceiptCodeLink`.
fn reference(retail: El<'_, '_>) -> Option<Reference> {
    let link = retail.child(ARTS, "TransactionLink").and_then(|link| link.child(ARTS, "TransactionID"));
    link.or_else(|| retail.child(SE, "ReceiptCodeLink"))
        .map(|element| Reference { text: element.text().to_owned(), path: element.path() })
}
