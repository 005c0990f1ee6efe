//! SDRS line items: `Sale` and `Return` become priced lines, `se:ItemText` text lines, and
//! `Tax` the VAT the document declares per rate. Tenders are read apart (tenders.rs).

use kvitt_protocol::fields::divide_rounded;
use kvitt_protocol::receipt::{Discount, Line, LineKind};
use kvitt_protocol::ErrorCode;

use super::xml::{El, ARTS, SE};
use crate::assemble::{bare_line, DeclaredVat, Reference, Sources};
use crate::decimal::{basis_points, thousandths, Decimal};
use crate::error::{missing, required_by_law, unsupported, FormatCode, FormatError};

/// What the line items hold besides tenders.
pub(super) struct ReadLines {
    pub lines: Vec<Line>,
    pub declared_vat: Vec<DeclaredVat>,
    /// A return's `TransactionLink/TransactionID` or `se:ReceiptCodeLink`.
    pub reference: Option<Reference>,
}

/// Children of a `LineItem` that say nothing about what was sold or paid.
const BOOKKEEPING: [&str; 3] = ["SequenceNumber", "BeginDateTime", "EndDateTime"];
/// Children of a `LineItem` that the tender reader maps (or, for change, leaves out).
const TENDERS: [&str; 2] = ["Tender", "TenderChange"];

/// The description of a discount whose document gives none.
const DISCOUNT_DESCRIPTION: &str = "Rabatt";

/// Reads every `LineItem` of `retail` but the tenders, in document order.
pub(super) fn read(
    retail: El<'_, '_>,
    currency: &str,
    sources: &mut Sources,
) -> Result<ReadLines, FormatError> {
    let mut read = ReadLines { lines: Vec::new(), declared_vat: Vec::new(), reference: None };
    for item in retail.children(ARTS, "LineItem") {
        if El::flag(item.attr("VoidFlag")) || El::flag(item.attr("CancelFlag")) {
            continue; // voided at the till: not on the receipt
        }
        for child in item.elements() {
            let name = child.0.tag_name().name();
            if child.is(ARTS, "Sale") || child.is(ARTS, "Return") {
                let line = priced(child, currency, read.lines.len(), sources)?;
                read.lines.push(line);
                if read.reference.is_none() {
                    read.reference = return_reference(child);
                }
            } else if child.is(ARTS, "Tax") {
                read.declared_vat.push(declared_vat(child, currency)?);
            } else if child.is(SE, "ItemText") {
                for text in child.children(SE, "Text").filter(|text| !text.text().is_empty()) {
                    sources.note(format!("lines[{}]", read.lines.len()), text.path());
                    read.lines
                        .push(Line { description: text.text().to_owned(), ..bare_line(LineKind::Text) });
                }
            } else if child.0.tag_name().namespace() == Some(ARTS)
                && !BOOKKEEPING.contains(&name)
                && !TENDERS.contains(&name)
            {
                return Err(unsupported(
                    child.path(),
                    format!("a {name} line item has no place in a kvitt receipt (a discount belongs to its line: ExtendedDiscountAmount)"),
                ));
            }
        }
    }
    Ok(read)
}

/// A `Sale` or `Return` as kvitt line `index`. ARTS: `ActualSalesUnitPrice` is the price
/// per unit after discounts (`DiscountAmount` per unit), `ExtendedAmount` the line's
/// amount after discounts, `ExtendedDiscountAmount` the line's discount; `Quantity` ×
/// its `Units` is the number of units.
fn priced(
    item: El<'_, '_>,
    currency: &str,
    index: usize,
    sources: &mut Sources,
) -> Result<Line, FormatError> {
    let kind = if item.is(ARTS, "Return") {
        LineKind::Return
    } else if item.attr("ItemType") == Some("Deposit") {
        LineKind::Deposit // pant, sold with the goods it is on
    } else {
        LineKind::Sale
    };
    let at = |field: &str| format!("lines[{index}].{field}");
    sources.note(format!("lines[{index}]"), item.path());

    let description = item
        .child(ARTS, "Description")
        .filter(|element| !element.text().is_empty())
        .ok_or_else(|| required_by_law(item.child_path(ARTS, "Description"), "the goods or services sold"))?;
    sources.note(at("description"), description.path());
    let article = item
        .children(ARTS, "POSIdentity")
        .find(|identity| identity.attr("POSIDType").is_none())
        .and_then(|identity| identity.child(ARTS, "POSItemID"))
        .filter(|id| !id.text().is_empty());
    if let Some(article) = article {
        sources.note(at("article"), article.path());
    }
    let gtin = item.children(ARTS, "ItemID").find(|id| id.attr("Type") == Some("GTIN"));
    if let Some(gtin) = gtin {
        sources.note(at("gtin"), gtin.path());
    }

    let quantity_element = item
        .child(ARTS, "Quantity")
        .ok_or_else(|| required_by_law(item.child_path(ARTS, "Quantity"), "the quantity sold"))?;
    sources.note(at("quantity"), quantity_element.path());
    let units = match quantity_element.attr("Units") {
        Some(units) => crate::decimal::decimal(&quantity_element.attr_path("Units"), units)?,
        None => Decimal::parse("1").ok_or_else(|| missing(quantity_element.path(), "a quantity"))?,
    };
    let count = quantity_element.decimal()?.times(units).ok_or_else(|| {
        FormatError::new(FormatCode::Value, quantity_element.path(), "the quantity × Units is out of range")
    })?;
    let quantity = thousandths(&quantity_element.path(), count)?;
    let unit = quantity_element.attr("UnitOfMeasureCode").filter(|unit| !unit.is_empty()).unwrap_or("st");

    let (unit_price, price_path) = unit_price(item, currency)?;
    sources.note(at("unit_price"), price_path);
    let extended = item
        .child(ARTS, "ExtendedAmount")
        .ok_or_else(|| missing(item.child_path(ARTS, "ExtendedAmount"), "the line's amount"))?;
    if kind != LineKind::Return && extended.attr("Action") == Some("Subtract") {
        return Err(unsupported(
            extended.attr_path("Action"),
            "a sale line that subtracts: kvitt's lines are goods sold or returned (öresavrundning is Tender/Rounding)",
        ));
    }
    let amount = extended.amount(currency)?;
    sources.note(at("amount"), extended.path());
    let gross = divide_rounded(i128::from(quantity) * i128::from(unit_price), 1000);
    let discount_total = i64::try_from(gross - i128::from(amount)).map_err(|_| {
        FormatError::new(FormatCode::Value, extended.path(), "quantity × unit price is out of range")
    })?;
    if discount_total < 0 {
        return Err(unsupported(
            extended.path(),
            format!("{amount} minor units, more than quantity × unit price ({gross}): a surcharge has no place in a kvitt line"),
        ));
    }
    let discounts = discounts(item, currency, discount_total, &at("discounts"), sources)?;

    let percent = item
        .child(ARTS, "Tax")
        .and_then(|tax| tax.child(ARTS, "Percent"))
        .ok_or_else(|| required_by_law(format!("{}/Tax/Percent", item.path()), "the line's VAT rate"))?;
    let vat_rate = basis_points(&percent.path(), percent.decimal()?)?;
    sources.note(at("vat_rate"), percent.path());

    Ok(Line {
        description: description.text().to_owned(),
        article: article.map(|article| article.text().to_owned()),
        gtin: gtin.map(|gtin| gtin.text().to_owned()),
        quantity: Some(quantity),
        unit: Some(unit.to_owned()),
        unit_price: Some(unit_price),
        discounts,
        amount: Some(if kind == LineKind::Return { -amount } else { amount }),
        vat_rate: Some(vat_rate),
        ..bare_line(kind)
    })
}

/// The price per unit before discounts and where it is written: `RegularSalesUnitPrice`
/// (POSLog), else `ActualSalesUnitPrice` + `DiscountAmount`.
fn unit_price(item: El<'_, '_>, currency: &str) -> Result<(i64, String), FormatError> {
    if let Some(regular) = item.child(ARTS, "RegularSalesUnitPrice") {
        return Ok((regular.amount(currency)?, regular.path()));
    }
    let actual = item.child(ARTS, "ActualSalesUnitPrice").ok_or_else(|| {
        required_by_law(item.child_path(ARTS, "ActualSalesUnitPrice"), "the price per item")
    })?;
    let per_unit_discount = match item.child(ARTS, "DiscountAmount") {
        Some(discount) => discount.amount(currency)?,
        None => 0,
    };
    let price = actual.amount(currency)?.checked_add(per_unit_discount).ok_or_else(|| {
        FormatError::new(FormatCode::Value, actual.path(), "the price per item is out of range")
    })?;
    Ok((price, actual.path()))
}

/// The line's discounts, adding up to `total` (quantity × price − amount): one per
/// `RetailPriceModifier` that subtracts if they add up to it, else one. A document's
/// `ExtendedDiscountAmount` must be that total.
fn discounts(
    item: El<'_, '_>,
    currency: &str,
    total: i64,
    path: &str,
    sources: &mut Sources,
) -> Result<Vec<Discount>, FormatError> {
    let declared = item.child(ARTS, "ExtendedDiscountAmount");
    if let Some(declared) = declared {
        sources.note(path, declared.path());
        let written = declared.amount(currency)?;
        if written != total {
            return Err(FormatError::new(
                FormatCode::Rule(ErrorCode::LineAmount),
                declared.path(),
                format!(
                    "a discount of {written} minor units, but quantity × unit price − ExtendedAmount is {total} \
                     (ARTS: ActualSalesUnitPrice is the price after the per-unit DiscountAmount)"
                ),
            ));
        }
    }
    if total == 0 {
        return Ok(Vec::new());
    }
    let mut modifiers = Vec::new();
    for modifier in item.children(ARTS, "RetailPriceModifier") {
        let amount = modifier.child(ARTS, "Amount").filter(|amount| amount.attr("Action") != Some("Add"));
        if let Some(amount) = amount {
            let description =
                modifier.child(ARTS, "Description").map(El::text).filter(|text| !text.is_empty());
            modifiers.push(Discount {
                description: description.unwrap_or(DISCOUNT_DESCRIPTION).to_owned(),
                amount: amount.amount(currency)?,
            });
        }
    }
    if modifiers.iter().map(|discount| discount.amount).sum::<i64>() == total {
        return Ok(modifiers);
    }
    Ok(vec![Discount { description: DISCOUNT_DESCRIPTION.to_owned(), amount: total }])
}

/// A `LineItem/Tax`: the VAT amount the document declares at a rate.
fn declared_vat(tax: El<'_, '_>, currency: &str) -> Result<DeclaredVat, FormatError> {
    let percent = tax
        .child(ARTS, "Percent")
        .ok_or_else(|| missing(tax.child_path(ARTS, "Percent"), "the VAT rate of the tax line"))?;
    let amount = tax
        .child(ARTS, "Amount")
        .ok_or_else(|| required_by_law(tax.child_path(ARTS, "Amount"), "the VAT amount at the rate"))?;
    Ok(DeclaredVat {
        rate: basis_points(&percent.path(), percent.decimal()?)?,
        vat: amount.amount(currency)?,
        path: amount.path(),
    })
}

/// A `Return`'s own link to the sale.
fn return_reference(item: El<'_, '_>) -> Option<Reference> {
    let link = item.child(ARTS, "TransactionLink").and_then(|link| link.child(ARTS, "TransactionID"));
    link.or_else(|| item.child(SE, "ReceiptCodeLink"))
        .map(|element| Reference { text: element.text().to_owned(), path: element.path() })
}
