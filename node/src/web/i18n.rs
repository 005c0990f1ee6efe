//! The web app's words, one table per language, and how amounts and dates are written.
//!
//! Swedish by default (the users are Swedish agencies), English when the browser asks for
//! it first (Accept-Language) or the person chose it (cookie [`LANG_COOKIE`]). Amounts are
//! written the Swedish way in both: `1 624,00 kr`, the thousands grouped by a no-break
//! space (U+00A0, so an amount never breaks across lines), a decimal comma; dates ISO 8601
//! (`2026-05-04`).

mod text;

pub use text::{Text, EN, SV};

/// The cookie that holds a person's choice of language (`sv` or `en`).
pub const LANG_COOKIE: &str = "kvitt_lang";

/// The thousands separator in amounts: a no-break space.
pub const THOUSANDS_SEPARATOR: char = '\u{a0}';

/// A language of the web app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Svenska (the default).
    #[default]
    Sv,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 code, as `<html lang>` takes it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// A language code of the cookie or switch, if it is one of ours.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim() {
            "sv" => Some(Lang::Sv),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language for a request: the cookie's choice, else the first of ours that
    /// Accept-Language names (in its order; weights are not ranked), else Swedish.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::parse) {
            return lang;
        }
        accept_language
            .into_iter()
            .flat_map(|header| header.split(','))
            .filter_map(|range| range.split(';').next())
            .find_map(|tag| {
                let primary = tag.trim().split('-').next().unwrap_or_default().to_ascii_lowercase();
                Lang::parse(&primary)
            })
            .unwrap_or_default()
    }

    /// This language's words.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::Sv => &SV,
            Lang::En => &EN,
        }
    }
}

/// An amount in öre as `1 624,00 kr` (`-12,50 kr` for a negative one), with
/// [`THOUSANDS_SEPARATOR`] between groups.
pub fn amount(ore: i64) -> String {
    amount_in(ore, "kr")
}

/// An amount in minor units with a currency word or code after it (`12,00 EUR`).
pub fn amount_in(minor: i64, unit: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    let (whole, cents) = (magnitude / 100, magnitude % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(THOUSANDS_SEPARATOR);
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped},{cents:02}{THOUSANDS_SEPARATOR}{unit}")
}

/// The date of an RFC 3339 time as the web app writes it (`2026-05-04`): its first ten
/// characters, the date at the place of sale.
pub fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// The date and minute of an RFC 3339 time (`2026-05-04 14:03`).
pub fn date_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_by_a_no_break_space_with_a_decimal_comma() {
        assert_eq!(amount(162_400), "1\u{a0}624,00\u{a0}kr");
        assert_eq!(amount(0), "0,00\u{a0}kr");
        assert_eq!(amount(5), "0,05\u{a0}kr");
        assert_eq!(amount(99_999), "999,99\u{a0}kr");
        assert_eq!(amount(100_000), "1\u{a0}000,00\u{a0}kr");
        assert_eq!(amount(-1_250), "-12,50\u{a0}kr");
        assert_eq!(amount(12_345_678_900), "123\u{a0}456\u{a0}789,00\u{a0}kr");
        assert_eq!(amount(i64::MIN), "-92\u{a0}233\u{a0}720\u{a0}368\u{a0}547\u{a0}758,08\u{a0}kr");
        assert_eq!(amount_in(1_200, "EUR"), "12,00\u{a0}EUR");
    }

    #[test]
    fn dates_are_iso_and_the_language_follows_the_cookie_then_the_browser() {
        assert_eq!(date("2026-05-04T14:03:00+02:00"), "2026-05-04");
        assert_eq!(date_time("2026-05-04T14:03:00+02:00"), "2026-05-04 14:03");
        assert_eq!(Lang::choose(None, None), Lang::Sv);
        assert_eq!(Lang::choose(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::choose(None, Some("de-DE, sv;q=0.5, en;q=0.4")), Lang::Sv);
        assert_eq!(Lang::choose(Some("sv"), Some("en")), Lang::Sv);
        assert_eq!(Lang::choose(Some("xx"), Some("en")), Lang::En);
        assert_eq!(Lang::choose(None, Some("fr")), Lang::Sv);
        assert_eq!(Lang::En.text().my_receipts, "My receipts");
        assert_eq!(Lang::Sv.text().my_receipts, "Mina kvitton");
    }
}
