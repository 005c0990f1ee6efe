//! How the client commands print: the node's JSON as it is (`--json`), or text: tables
//! for lists, amounts in kronor with two decimals (`1624.00 SEK`, as `kvitt verify`).

use std::io::{self, Write};

use anyhow::anyhow;
use kvitt_node::verify::format_amount;
use kvitt_protocol::claim::ClaimItem;
use serde::de::DeserializeOwned;

use super::client::Failure;

/// Where a command's answer goes, and in which form.
pub struct Output {
    json: bool,
}

impl Output {
    /// Text, or the node's JSON with `json`.
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints the node's answer `body`: as it is with `--json`, else parsed as `T` and
    /// rendered as text by `render`.
    pub fn answer<T: DeserializeOwned>(
        &self,
        body: &str,
        render: impl FnOnce(T) -> String,
    ) -> Result<(), Failure> {
        if self.json {
            return Ok(print(body)?);
        }
        Ok(print(&render(parse(body)?))?)
    }
}

/// The node's answer parsed as `T`; an answer of another shape is an error (exit 2).
pub fn parse<T: DeserializeOwned>(body: &str) -> Result<T, Failure> {
    serde_json::from_str(body)
        .map_err(|error| Failure::Other(anyhow!("the node's answer is not what this kvitt expects: {error}")))
}

/// Writes `text` to standard output, ending it with one line break.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", text.trim_end_matches('\n'))?;
    stdout.flush()
}

/// Öre as kronor with two decimals: `162400` → `1624.00 SEK`.
pub fn sek(ore: i64) -> String {
    format_amount(ore, "SEK")
}

/// How a column's cells line up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers and amounts.
    Right,
}

/// A table: a header line and one line per row, columns two spaces apart.
pub fn table(columns: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(index, (name, _))| {
            rows.iter()
                .filter_map(|row| row.get(index))
                .map(|cell| cell.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for ((cell, (_, align)), width) in cells.zip(columns).zip(&widths) {
            let padding = " ".repeat(width.saturating_sub(cell.chars().count()));
            match align {
                Align::Left => text.push_str(&format!("{cell}{padding}  ")),
                Align::Right => text.push_str(&format!("{padding}{cell}  ")),
            }
        }
        text.trim_end().to_owned()
    };
    let mut text = line(&mut columns.iter().map(|(name, _)| *name));
    for row in rows {
        text.push('\n');
        text.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    text
}

/// A claim's items as a table: number, kind, what, booking (account / cost center /
/// project) and amount.
pub fn items(items: &[ClaimItem]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let (kind, what) = match item {
                ClaimItem::Receipt { receipt, business_purpose, foreign, .. } => {
                    let foreign = foreign
                        .as_ref()
                        .map(|foreign| format!(" ({})", format_amount(foreign.amount, &foreign.currency)))
                        .unwrap_or_default();
                    ("receipt", format!("{}{foreign}: {business_purpose}", receipt.short()))
                }
                ClaimItem::Mileage { date, route, business_purpose, km, rate_per_km, .. } => (
                    "mileage",
                    format!("{date} {route}, {km} km at {}/km: {business_purpose}", sek(*rate_per_km)),
                ),
                ClaimItem::PerDiem { start, end, destination, business_purpose, days, .. } => {
                    ("per diem", format!("{start}..{end} {destination}, {days} days: {business_purpose}"))
                }
            };
            let booking = item.booking();
            let mut booked = format!("{} / {}", booking.account, booking.cost_center);
            if let Some(project) = &booking.project {
                booked.push_str(&format!(" / {project}"));
            }
            vec![(index + 1).to_string(), kind.to_owned(), what, booked, sek(item.amount())]
        })
        .collect();
    table(
        &[
            ("#", Align::Right),
            ("KIND", Align::Left),
            ("WHAT", Align::Left),
            ("BOOKING", Align::Left),
            ("AMOUNT", Align::Right),
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_text_left_and_amounts_right() {
        let rows = vec![vec!["a".to_owned(), sek(162_400)], vec!["längre".to_owned(), sek(5)]];
        let text = table(&[("NAME", Align::Left), ("TOTAL", Align::Right)], &rows);
        assert_eq!(text, "NAME          TOTAL\na       1624.00 SEK\nlängre     0.05 SEK");
    }
}
