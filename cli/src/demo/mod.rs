//! `kvitt demo`: a whole network on this machine, playing one working day.
//!
//! Six nodes (an SSC that also operates the network, two agencies, three merchants), each
//! with its own key, sled ledger in a temporary folder and group commit, play the day in
//! [`day`]; the command prints what happens and a summary, and exits 0 only if every step
//! the day expected succeeded.

pub mod day;
pub mod network;
mod shopping;
mod tills;

use std::fmt::Write as _;

/// Formats öre as kronor with two decimals: `1 388 679` → `13 886,79 kr`.
pub fn kronor(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    let ore = ore.unsigned_abs();
    let whole = (ore / 100).to_string();
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped},{:02} kr", ore % 100)
}

/// The summary table printed at the end of the day.
pub fn summary(report: &day::DayReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nSummary of the day");
    let _ = writeln!(out, "  {:<36} {:>8}", "merchant", "receipts");
    for (merchant, count) in &report.receipts {
        let _ = writeln!(out, "  {merchant:<36} {count:>8}");
    }
    let _ = writeln!(out, "\n  {:<36} {:<30} {:>8}", "merchant", "how it reached the agency", "receipts");
    for ((merchant, route), count) in &report.routes {
        let _ = writeln!(out, "  {merchant:<36} {:<30} {count:>8}", route.describe());
    }
    let _ = writeln!(out, "\n  {:<36} {:<10} {:>6}", "agency", "status", "claims");
    for ((agency, status), count) in &report.claims {
        let _ = writeln!(out, "  {agency:<36} {status:<10} {count:>6}");
    }
    let _ = writeln!(out, "\n  {:<36} {:>16}", "agency", "paid");
    for (agency, ore) in &report.paid {
        let _ = writeln!(out, "  {agency:<36} {:>16}", kronor(*ore));
    }
    let _ = writeln!(out, "\n  exceptions at the SSC: {}", report.exceptions.len());
    for exception in &report.exceptions {
        let _ = writeln!(out, "    {exception}");
    }
    let _ = writeln!(out, "  refusals the nodes gave as expected: {}", report.refusals.len());
    for refusal in &report.refusals {
        let _ = writeln!(out, "    {refusal}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kronor_group_thousands_and_keep_ore() {
        assert_eq!(kronor(1_388_679), "13 886,79 kr");
        assert_eq!(kronor(5), "0,05 kr");
        assert_eq!(kronor(-100_000), "-1 000,00 kr");
    }
}
