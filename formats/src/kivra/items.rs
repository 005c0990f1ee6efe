//! Kivra items: `sale` and `return` become priced lines, `deposit` a deposit line, `text`
//! one text line per string.

use kvitt_protocol::fields::divide_rounded;
use kvitt_protocol::receipt::{Discount, Line, LineKind};
use kvitt_protocol::ErrorCode;

use super::model::{Item, Number, Quantity};
use super::{non_empty, number};
use crate::assemble::{bare_line, Reference, Sources};
use crate::decimal::{basis_points, minor_units, thousandths};
use crate::error::{bad_value, missing, required_by_law, unsupported, FormatCode, FormatError};

/// The lines, and a return's reference to its sale.
pub(super) struct ReadItems {
    pub lines: Vec<Line>,
    pub reference: Option<Reference>,
}

/// The description of a discount whose modifier gives none.
const DISCOUNT_DESCRIPTION: &str = "Rabatt";
/// The description of a deposit item that gives none.
const DEPOSIT_DESCRIPTION: &str = "Pant";

/// Reads `items` in order.
pub(super) fn read(items: &[Item], currency: &str, sources: &mut Sources) -> Result<ReadItems, FormatError> {
    let mut read = ReadItems { lines: Vec::new(), reference: None };
    for (index, item) in items.iter().enumerate() {
        let path = format!("/items/{index}");
        match item.kind.as_str() {
            "sale" | "return" => {
                let line = priced(item, &path, currency, read.lines.len(), sources)?;
                read.lines.push(line);
                if let (None, Some(reference)) = (&read.reference, &item.receipt_reference) {
                    read.reference = Some(Reference {
                        text: reference.value.clone(),
                        path: format!("{path}/receipt_reference/value"),
                    });
                }
            }
            "deposit" => {
                let line = deposit(item, &path, currency, read.lines.len(), sources)?;
                read.lines.push(line);
            }
            "text" => {
                let texts =
                    item.text.as_ref().ok_or_else(|| missing(format!("{path}/text"), "the item's text"))?;
                for (row, text) in texts.collection.iter().enumerate() {
                    if let Some(text) = non_empty(Some(text)) {
                        sources.note(
                            format!("lines[{}]", read.lines.len()),
                            format!("{path}/text/collection/{row}"),
                        );
                        read.lines.push(Line { description: text.to_owned(), ..bare_line(LineKind::Text) });
                    }
                }
            }
            other => {
                return Err(bad_value(
                    format!("{path}/type"),
                    format!("{other:?} is not an item type (sale, return, deposit, text)"),
                ))
            }
        }
    }
    Ok(read)
}

/// An amount property of an item, required.
fn amount(value: Option<&Number>, path: &str, what: &str, currency: &str) -> Result<i64, FormatError> {
    let value = value.ok_or_else(|| missing(path, what))?;
    let decimal = number(value, path)?;
    if decimal.is_negative() {
        return Err(bad_value(
            path,
            "Kivra's amounts are not negative: a return says so by its type or refund",
        ));
    }
    minor_units(path, decimal, currency)
}

/// A `sale` or `return` as kvitt line `index`: the unit price before discounts
/// (`regular_sales_unit_price`, else `actual_sales_unit_price`), the discounts adding up to
/// quantity × that price − `extended_amount`.
fn priced(
    item: &Item,
    path: &str,
    currency: &str,
    index: usize,
    sources: &mut Sources,
) -> Result<Line, FormatError> {
    let kind = if item.kind == "return" { LineKind::Return } else { LineKind::Sale };
    let at = |field: &str| format!("lines[{index}].{field}");
    sources.note(format!("lines[{index}]"), path);
    if item.points.is_some() {
        return Err(unsupported(
            format!("{path}/points"),
            "a price in loyalty points: kvitt's prices are money",
        ));
    }
    if item.foreign_currency.is_some() {
        return Err(unsupported(
            format!("{path}/foreign_currency"),
            "an item in another currency: one currency a receipt",
        ));
    }
    let description = non_empty(item.description.as_deref())
        .ok_or_else(|| required_by_law(format!("{path}/description"), "the goods or services sold"))?;
    sources.note(at("description"), format!("{path}/description"));
    let identifier = |kind: &str| {
        item.identifiers.iter().enumerate().find(|(_, identifier)| identifier.identifier_type == kind)
    };
    let article = identifier("pos");
    if let Some((row, _)) = article {
        sources.note(at("article"), format!("{path}/identifiers/{row}/value"));
    }
    let gtin = identifier("gtin");
    if let Some((row, _)) = gtin {
        sources.note(at("gtin"), format!("{path}/identifiers/{row}/value"));
    }

    let quantity_path = format!("{path}/quantity");
    let raw = item.quantity.as_ref().ok_or_else(|| required_by_law(&quantity_path, "the quantity sold"))?;
    let quantity: Quantity = serde_json::from_str(raw.get())
        .map_err(|error| bad_value(&quantity_path, format!("not a quantity {{value, unit}}: {error}")))?;
    let value_path = format!("{quantity_path}/value");
    let milli = thousandths(&value_path, number(&quantity.value, &value_path)?)?;
    sources.note(at("quantity"), value_path);

    let (price, price_path) = match &item.regular_sales_unit_price {
        Some(regular) => (Some(regular), format!("{path}/regular_sales_unit_price")),
        None => (item.actual_sales_unit_price.as_ref(), format!("{path}/actual_sales_unit_price")),
    };
    let unit_price = amount(price, &price_path, "the price per item", currency)?;
    sources.note(at("unit_price"), price_path);
    let extended_path = format!("{path}/extended_amount");
    let extended = amount(item.extended_amount.as_ref(), &extended_path, "the item's amount", currency)?;
    sources.note(at("amount"), extended_path.clone());
    let gross = i64::try_from(divide_rounded(i128::from(milli) * i128::from(unit_price), 1000))
        .map_err(|_| bad_value(&extended_path, "quantity × unit price is out of range"))?;
    let discount_total = gross - extended;
    if discount_total < 0 {
        return Err(unsupported(
            extended_path,
            format!("{extended} minor units, more than quantity × unit price ({gross}): a surcharge has no place in a kvitt line"),
        ));
    }
    for (name, expected) in [("extended_gross_amount", gross), ("extended_discount_amount", discount_total)] {
        let property = if name == "extended_gross_amount" {
            &item.extended_gross_amount
        } else {
            &item.extended_discount_amount
        };
        if let Some(value) = property {
            let written = amount(Some(value), &format!("{path}/{name}"), name, currency)?;
            if written != expected {
                return Err(FormatError::new(
                    FormatCode::Rule(ErrorCode::LineAmount),
                    format!("{path}/{name}"),
                    format!("{written} minor units, but quantity × unit price and extended_amount make it {expected}"),
                ));
            }
        }
    }
    let discounts = discounts(item, path, currency, discount_total)?;
    if !discounts.is_empty() {
        sources.note(at("discounts"), format!("{path}/retail_price_modifiers"));
    }
    let rate_path = format!("{path}/tax_percentage");
    let rate =
        item.tax_percentage.as_ref().ok_or_else(|| required_by_law(&rate_path, "the item's VAT rate"))?;
    let vat_rate = basis_points(&rate_path, number(rate, &rate_path)?)?;
    sources.note(at("vat_rate"), rate_path);

    Ok(Line {
        description: description.to_owned(),
        article: article.map(|(_, identifier)| identifier.value.clone()),
        gtin: gtin.map(|(_, identifier)| identifier.value.clone()),
        quantity: Some(milli),
        unit: Some(quantity.unit),
        unit_price: Some(unit_price),
        discounts,
        amount: Some(if kind == LineKind::Return { -extended } else { extended }),
        vat_rate: Some(vat_rate),
        ..bare_line(kind)
    })
}

/// The discounts of an item, adding up to `total`: one per modifier that subtracts if they
/// add up to it (its description the modifier's text), else one.
fn discounts(item: &Item, path: &str, currency: &str, total: i64) -> Result<Vec<Discount>, FormatError> {
    if total == 0 {
        return Ok(Vec::new());
    }
    let mut modifiers = Vec::new();
    for (row, modifier) in item.retail_price_modifiers.iter().enumerate() {
        if modifier.action.as_deref().is_some_and(|action| action != "subtract") {
            continue;
        }
        let amount_path = format!("{path}/retail_price_modifiers/{row}/amount");
        let description = modifier.description.as_ref().map(|texts| texts.collection.join(" "));
        modifiers.push(Discount {
            description: non_empty(description.as_deref()).unwrap_or(DISCOUNT_DESCRIPTION).to_owned(),
            amount: amount(Some(&modifier.amount), &amount_path, "the modifier's amount", currency)?,
        });
    }
    if modifiers.iter().map(|discount| discount.amount).sum::<i64>() == total {
        return Ok(modifiers);
    }
    Ok(vec![Discount { description: DISCOUNT_DESCRIPTION.to_owned(), amount: total }])
}

/// A `deposit` (pant) as a kvitt deposit line. One paid back (`refund: true`, a
/// pantretur) has no kvitt line: a deposit line is not negative, and a return line needs
/// the sale it returns.
fn deposit(
    item: &Item,
    path: &str,
    currency: &str,
    index: usize,
    sources: &mut Sources,
) -> Result<Line, FormatError> {
    sources.note(format!("lines[{index}]"), path);
    if item.refund == Some(true) {
        return Err(unsupported(
            format!("{path}/refund"),
            "a deposit paid back (pantretur): a kvitt deposit line is not negative",
        ));
    }
    if !item.sub_deposits.is_empty() {
        return Err(unsupported(
            format!("{path}/sub_deposits"),
            "a deposit at several VAT rates: make one item a rate",
        ));
    }
    let quantity_path = format!("{path}/quantity");
    let raw = item.quantity.as_ref().ok_or_else(|| missing(&quantity_path, "the deposit's quantity"))?;
    let count: u32 =
        raw.get().parse().map_err(|_| bad_value(&quantity_path, "a deposit's quantity is a whole number"))?;
    sources.note(format!("lines[{index}].quantity"), quantity_path);
    let unit_path = format!("{path}/unit_amount");
    let unit_price = amount(item.unit_amount.as_ref(), &unit_path, "the deposit per unit", currency)?;
    sources.note(format!("lines[{index}].unit_price"), unit_path);
    let amount_path = format!("{path}/amount");
    let total = amount(item.amount.as_ref(), &amount_path, "the deposit's amount", currency)?;
    sources.note(format!("lines[{index}].amount"), amount_path);
    let rate_path = format!("{path}/tax_percentage");
    let rate =
        item.tax_percentage.as_ref().ok_or_else(|| required_by_law(&rate_path, "the deposit's VAT rate"))?;
    let vat_rate = basis_points(&rate_path, number(rate, &rate_path)?)?;
    sources.note(format!("lines[{index}].vat_rate"), rate_path);
    Ok(Line {
        description: non_empty(item.description.as_deref()).unwrap_or(DEPOSIT_DESCRIPTION).to_owned(),
        quantity: Some(i64::from(count) * 1000),
        unit: Some("st".to_owned()),
        unit_price: Some(unit_price),
        amount: Some(total),
        vat_rate: Some(vat_rate),
        ..bare_line(LineKind::Deposit)
    })
}
