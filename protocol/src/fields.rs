//! Parsers for the field formats records share: texts, organisation ids, times, dates,
//! currencies, amounts, GTINs, masked card numbers, network addresses.
//!
//! Each takes the field's path so its error names where the value was found.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::error::{Error, ErrorCode, Result};
use crate::limits::MAX_AMOUNT_MINOR;

/// The bidirectional formatting characters a text may not hold: the embeddings and
/// overrides U+202A–U+202E and the isolates U+2066–U+2069. Invisible, they reorder what is
/// displayed around them, so a purpose or a merchant name could show other words than it
/// holds ("Trojan Source", CVE-2021-42574). The marks U+200E, U+200F and U+061C are
/// allowed: they reorder no strong letters, only neutral characters beside them, and
/// right-to-left text needs them to show punctuation right.
pub const BIDI_CONTROLS: [char; 9] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

/// Checks a text: not empty, at most `max_bytes` of UTF-8, no control characters, no
/// bidirectional formatting characters ([`BIDI_CONTROLS`]).
pub fn check_text(path: &str, text: &str, max_bytes: usize) -> Result<()> {
    if text.is_empty() {
        return Err(Error::new(ErrorCode::Text, path, "empty, a value is required"));
    }
    if text.len() > max_bytes {
        return Err(Error::new(ErrorCode::Text, path, format!("{} bytes, limit {max_bytes}", text.len())));
    }
    if let Some(control) = text.chars().find(|c| c.is_control()) {
        return Err(Error::new(
            ErrorCode::Text,
            path,
            format!("control character U+{:04X} is not allowed", u32::from(control)),
        ));
    }
    if let Some((position, bidi)) = text.chars().enumerate().find(|(_, c)| BIDI_CONTROLS.contains(c)) {
        return Err(Error::new(
            ErrorCode::TextBidi,
            path,
            format!(
                "bidirectional formatting character U+{:04X} at character {position} is not allowed: \
                 it could make the text display as other words than it holds",
                u32::from(bidi)
            ),
        ));
    }
    Ok(())
}

/// Checks an optional text with [`check_text`] when present.
pub fn check_optional_text(path: &str, text: Option<&str>, max_bytes: usize) -> Result<()> {
    text.map_or(Ok(()), |text| check_text(path, text, max_bytes))
}

/// Checks an identifier-like code: 1..=`max_bytes` of ASCII letters, digits and `-_./:`.
pub fn check_code(path: &str, code: &str, max_bytes: usize) -> Result<()> {
    check_text(path, code, max_bytes)?;
    if let Some(bad) = code.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_./:".contains(*c))) {
        return Err(Error::new(
            ErrorCode::Text,
            path,
            format!("{code:?} contains {bad:?}; codes are ASCII letters, digits and -_./:"),
        ));
    }
    Ok(())
}

/// Checks that an amount in minor units is within ±`MAX_AMOUNT_MINOR`.
pub fn check_amount(path: &str, amount: i64) -> Result<()> {
    if amount.unsigned_abs() > MAX_AMOUNT_MINOR.unsigned_abs() {
        return Err(Error::new(
            ErrorCode::Range,
            path,
            format!("{amount} is beyond the limit of ±{MAX_AMOUNT_MINOR} minor units"),
        ));
    }
    Ok(())
}

/// Checks that a count or amount lies in `min..=max`.
pub fn check_range(path: &str, value: i64, min: i64, max: i64) -> Result<()> {
    if value < min || value > max {
        return Err(Error::new(ErrorCode::Range, path, format!("{value} is outside {min}..={max}")));
    }
    Ok(())
}

/// Checks that a list has at most `max` entries and, if `required`, at least one.
pub fn check_count(path: &str, count: usize, max: usize, required: bool) -> Result<()> {
    if required && count == 0 {
        return Err(Error::new(ErrorCode::Empty, path, "at least one entry is required"));
    }
    if count > max {
        return Err(Error::new(ErrorCode::TooMany, path, format!("{count} entries, limit {max}")));
    }
    Ok(())
}

/// Divides and rounds half away from zero: the one rounding rule of the protocol.
///
/// `denominator` must be positive; callers pass constants or validated rates.
pub fn divide_rounded(numerator: i128, denominator: i128) -> i128 {
    if denominator <= 0 {
        return 0;
    }
    // In u128, where no numerator overflows: |i128::MIN| does not fit an i128, and twice a
    // large numerator would not either.
    let (magnitude, divisor) = (numerator.unsigned_abs(), denominator.unsigned_abs());
    let (quotient, remainder) = (magnitude / divisor, magnitude % divisor);
    // Half away from zero: up when the remainder is at least half the divisor.
    let rounded = if remainder >= divisor - remainder { quotient.saturating_add(1) } else { quotient };
    if numerator < 0 {
        0i128.checked_sub_unsigned(rounded).unwrap_or(i128::MIN)
    } else {
        i128::try_from(rounded).unwrap_or(i128::MAX)
    }
}

/// An organisation: a Swedish organisation number, or a foreign one with its country.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgId {
    /// `NNNNNN-NNNN`, ten digits whose last is a Luhn check digit.
    Swedish([u8; 10]),
    /// `CC:id`: an ISO 3166-1 alpha-2 country other than SE, and that country's id.
    Foreign {
        /// The country, e.g. `DE`.
        country: String,
        /// The organisation's id in that country.
        id: String,
    },
}

impl OrgId {
    /// Parses `556677-8899` or `DE:HRB12345`.
    pub fn parse(path: &str, text: &str) -> Result<OrgId> {
        if let Some((country, id)) = text.split_once(':') {
            if country == "SE" || !is_country(country) {
                return Err(Error::new(
                    ErrorCode::OrgFormat,
                    path,
                    format!("{text:?}: a foreign id is CC:id with CC an ISO country other than SE"),
                ));
            }
            check_code(path, id, 32).map_err(|_| {
                Error::new(
                    ErrorCode::OrgFormat,
                    path,
                    format!("{text:?}: the id after CC: is 1-32 letters, digits or -_./:"),
                )
            })?;
            return Ok(OrgId::Foreign { country: country.to_owned(), id: id.to_owned() });
        }
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 11
            && bytes.get(6) == Some(&b'-')
            && bytes.iter().enumerate().all(|(index, byte)| index == 6 || byte.is_ascii_digit());
        if !well_formed {
            return Err(Error::new(
                ErrorCode::OrgFormat,
                path,
                format!("{text:?} is not an organisation number NNNNNN-NNNN"),
            ));
        }
        let mut digits = [0u8; 10];
        for (slot, byte) in digits.iter_mut().zip(bytes.iter().filter(|byte| byte.is_ascii_digit())) {
            *slot = byte - b'0';
        }
        if !luhn_valid(&digits) {
            return Err(Error::new(ErrorCode::OrgLuhn, path, format!("{text:?} fails the Luhn check digit")));
        }
        Ok(OrgId::Swedish(digits))
    }

    /// Whether this is a Swedish organisation number.
    pub fn is_swedish(&self) -> bool {
        matches!(self, OrgId::Swedish(_))
    }

    /// The Swedish VAT number, `SE` + the ten digits + `01`; `None` for a foreign org.
    pub fn swedish_vat_number(&self) -> Option<String> {
        match self {
            OrgId::Swedish(digits) => {
                let digits: String = digits.iter().map(|digit| char::from(b'0' + digit)).collect();
                Some(format!("SE{digits}01"))
            }
            OrgId::Foreign { .. } => None,
        }
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrgId::Swedish(digits) => {
                for (index, digit) in digits.iter().enumerate() {
                    if index == 6 {
                        f.write_str("-")?;
                    }
                    write!(f, "{digit}")?;
                }
                Ok(())
            }
            OrgId::Foreign { country, id } => write!(f, "{country}:{id}"),
        }
    }
}

/// Luhn (mod 10) over all digits, the last being the check digit.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, &digit)| {
            let digit = u32::from(digit);
            if index % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    sum % 10 == 0
}

/// Whether `text` is two upper-case ASCII letters (an ISO 3166-1 alpha-2 shape).
pub fn is_country(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|byte| byte.is_ascii_uppercase())
}

/// Checks a country code: two upper-case letters.
pub fn check_country(path: &str, text: &str) -> Result<()> {
    if !is_country(text) {
        return Err(Error::new(
            ErrorCode::Text,
            path,
            format!("{text:?} is not an ISO 3166-1 alpha-2 country code"),
        ));
    }
    Ok(())
}

/// Checks a currency code: three upper-case ASCII letters (ISO 4217).
pub fn check_currency(path: &str, text: &str) -> Result<()> {
    if text.len() != 3 || !text.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(Error::new(
            ErrorCode::Currency,
            path,
            format!("{text:?} is not an ISO 4217 currency code"),
        ));
    }
    Ok(())
}

/// Digits after the decimal point of a currency's minor unit (ISO 4217): 0, 2 or 3.
pub fn currency_exponent(currency: &str) -> u32 {
    const NO_DECIMALS: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NO_DECIMALS.contains(&currency) {
        0
    } else if THREE_DECIMALS.contains(&currency) {
        3
    } else {
        2
    }
}

/// An amount in minor units written in major units with its currency, for messages:
/// `162400, "SEK"` → `1624.00 SEK`, `-500, "JPY"` → `-500 JPY`.
pub fn format_money(minor: i64, currency: &str) -> String {
    let exponent = currency_exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{magnitude} {currency}");
    }
    // currency_exponent is 0, 2 or 3.
    let scale = 10u64.pow(exponent);
    let width = exponent as usize;
    format!("{sign}{}.{:0width$} {currency}", magnitude / scale, magnitude % scale)
}

/// Parses a time `YYYY-MM-DDTHH:MM:SS±HH:MM`: seconds precision, a numeric UTC offset
/// within ±14:00 (never `Z`, so each instant-and-offset has one spelling).
pub fn parse_time(path: &str, text: &str) -> Result<OffsetDateTime> {
    let error = |why: &str| {
        Error::new(ErrorCode::TimeFormat, path, format!("{text:?} {why}; expected YYYY-MM-DDTHH:MM:SS±HH:MM"))
    };
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 25
        && bytes.iter().enumerate().all(|(index, &byte)| match index {
            4 | 7 => byte == b'-',
            10 => byte == b'T',
            13 | 16 | 22 => byte == b':',
            19 => byte == b'+' || byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(error("is not in the time format"));
    }
    let number = |range: std::ops::Range<usize>| -> u32 {
        text.get(range).and_then(|digits| digits.parse().ok()).unwrap_or(u32::MAX)
    };
    let date =
        date_from(number(0..4), number(5..7), number(8..10)).ok_or_else(|| error("is not a real date"))?;
    let clock = Time::from_hms(to_u8(number(11..13)), to_u8(number(14..16)), to_u8(number(17..19)))
        .map_err(|_| error("is not a real time of day"))?;
    let (offset_hours, offset_minutes) = (number(20..22), number(23..25));
    if offset_minutes > 59 || offset_hours * 60 + offset_minutes > 14 * 60 {
        return Err(error("has an offset beyond ±14:00"));
    }
    let sign: i32 = if bytes.get(19) == Some(&b'-') { -1 } else { 1 };
    let offset_seconds = sign * i32::try_from(offset_hours * 3600 + offset_minutes * 60).unwrap_or(0);
    if sign < 0 && offset_seconds == 0 {
        return Err(error("writes the zero offset as -00:00; use +00:00"));
    }
    let offset = UtcOffset::from_whole_seconds(offset_seconds).map_err(|_| error("has an invalid offset"))?;
    Ok(PrimitiveDateTime::new(date, clock).assume_offset(offset))
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(path: &str, text: &str) -> Result<Date> {
    let error = || Error::new(ErrorCode::DateFormat, path, format!("{text:?} is not a real date YYYY-MM-DD"));
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, &byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(error());
    }
    let number = |range: std::ops::Range<usize>| -> u32 {
        text.get(range).and_then(|digits| digits.parse().ok()).unwrap_or(u32::MAX)
    };
    date_from(number(0..4), number(5..7), number(8..10)).ok_or_else(error)
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Formats a time as the protocol writes it, `YYYY-MM-DDTHH:MM:SS±HH:MM`.
pub fn format_time(time: OffsetDateTime) -> String {
    let offset = time.offset();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!(
        "{}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        format_date(time.date()),
        time.hour(),
        time.minute(),
        time.second(),
        offset.whole_hours().unsigned_abs(),
        offset.minutes_past_hour().unsigned_abs(),
    )
}

fn to_u8(value: u32) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

fn date_from(year: u32, month: u32, day: u32) -> Option<Date> {
    let year = i32::try_from(year).ok()?;
    let month = Month::try_from(to_u8(month)).ok()?;
    Date::from_calendar_date(year, month, to_u8(day)).ok()
}

/// Checks a GTIN: 8, 12, 13 or 14 digits with a valid GS1 check digit.
pub fn check_gtin(path: &str, text: &str) -> Result<()> {
    let error = |why: &str| Error::new(ErrorCode::Gtin, path, format!("{text:?} {why}"));
    if ![8, 12, 13, 14].contains(&text.len()) || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(error("is not 8, 12, 13 or 14 digits"));
    }
    let digits: Vec<u32> = text.bytes().map(|byte| u32::from(byte - b'0')).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| if index % 2 == 0 { digit * 3 } else { *digit })
        .sum();
    if check.first() != Some(&((10 - sum % 10) % 10)) {
        return Err(error("fails the GS1 check digit"));
    }
    Ok(())
}

/// Checks a masked card number (PCI DSS): 12 to 19 characters, at most the first six and
/// the last four digits shown, the rest `*`, at least one `*`.
pub fn check_masked_pan(path: &str, text: &str) -> Result<()> {
    let leading = text.bytes().take_while(u8::is_ascii_digit).count();
    let trailing = text.bytes().rev().take_while(u8::is_ascii_digit).count();
    let stars = text.len().saturating_sub(leading + trailing);
    let middle_all_stars = text
        .get(leading..text.len().saturating_sub(trailing))
        .is_some_and(|middle| middle.bytes().all(|byte| byte == b'*'));
    if !(12..=19).contains(&text.len()) || leading > 6 || trailing > 4 || stars == 0 || !middle_all_stars {
        return Err(Error::new(
            ErrorCode::MaskedPan,
            path,
            format!("{text:?}: a masked card number is 12-19 characters, at most 6 leading and 4 trailing digits, the rest *"),
        ));
    }
    Ok(())
}

/// Checks a network address `host:port`. An IPv6 host is written in brackets in its one
/// canonical text (RFC 5952: lower case, no leading zeros, the longest run of zero groups
/// compressed, dotted IPv4 only in an IPv4-mapped address), and a host of digits and dots
/// is a dotted-quad IPv4 address without leading zeros: each address has one spelling, so
/// two members' addresses compare as texts (spec/protocol.md §Field formats).
pub fn check_address(path: &str, text: &str) -> Result<()> {
    let error = || Error::new(ErrorCode::Address, path, format!("{text:?} is not host:port"));
    let (host, port) = text.rsplit_once(':').ok_or_else(error)?;
    let port_ok = port.bytes().all(|byte| byte.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|port| port > 0)
        && !port.starts_with('0');
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        // std's Display of an Ipv6Addr is RFC 5952's text, IPv4-mapped in dotted form.
        inner.parse::<std::net::Ipv6Addr>().is_ok_and(|address| address.to_string() == inner)
    } else if host.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.') {
        // std refuses leading zeros and fewer than four parts.
        host.parse::<std::net::Ipv4Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-')
    };
    if !(host_ok && port_ok) {
        return Err(error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_have_one_spelling() {
        for good in [
            "[::1]:7400",
            "[2001:db8::7]:1",
            "[::ffff:192.0.2.7]:65535",
            "[2001:db8:0:1:1:1:1:1]:7400",
            "127.0.0.1:7401",
            "kvitt.example:7400",
        ] {
            assert!(check_address("a", good).is_ok(), "{good}");
        }
        for bad in [
            "[2001:DB8::7]:7400",          // upper case
            "[2001:0db8::7]:7400",         // a leading zero
            "[2001:db8:0:0:0:0:0:7]:7400", // zeros not compressed
            "[2001:db8::0:7]:7400",        // a zero group left beside the compressed run
            "[2001:db8:0:1::]:7400x",      // port
            "[::ffff:c000:207]:7400",      // IPv4-mapped in hex
            "[::192.0.2.7]:7400",          // dotted IPv4 outside the mapped prefix
            "[fe80::1%eth0]:7400",         // a zone
            "127.000.0.1:7401",            // IPv4 with leading zeros
            "10.1:7400",                   // IPv4 of two parts
            "kvitt.example:07400",         // port with a leading zero
        ] {
            assert_eq!(check_address("a", bad).unwrap_err().code(), ErrorCode::Address, "{bad}");
        }
    }

    #[test]
    fn organisation_numbers() {
        let org = OrgId::parse("p", "202100-5489").unwrap();
        assert_eq!(org.to_string(), "202100-5489");
        assert_eq!(org.swedish_vat_number().unwrap(), "SE202100548901");
        assert_eq!(OrgId::parse("p", "202100-5488").unwrap_err().code(), ErrorCode::OrgLuhn);
        assert_eq!(OrgId::parse("p", "2021005489").unwrap_err().code(), ErrorCode::OrgFormat);
        assert_eq!(OrgId::parse("p", "SE:202100-5489").unwrap_err().code(), ErrorCode::OrgFormat);
        let foreign = OrgId::parse("p", "DE:HRB12345").unwrap();
        assert!(!foreign.is_swedish());
        assert_eq!(foreign.to_string(), "DE:HRB12345");
    }

    #[test]
    fn times_have_one_spelling() {
        let time = parse_time("t", "2026-04-01T12:30:00+02:00").unwrap();
        assert_eq!(format_time(time), "2026-04-01T12:30:00+02:00");
        for bad in [
            "2026-04-01T12:30:00Z",
            "2026-04-01T12:30:00.5+02:00",
            "2026-02-30T12:30:00+02:00",
            "2026-04-01T24:00:00+02:00",
            "2026-04-01T12:30:00-00:00",
            "2026-04-01T12:30:00+14:01",
            "2026-04-01 12:30:00+02:00",
        ] {
            assert_eq!(parse_time("t", bad).unwrap_err().code(), ErrorCode::TimeFormat, "{bad}");
        }
        assert!(parse_time("t", "2026-04-01T12:30:00-14:00").is_ok());
        assert!(parse_date("d", "2028-02-29").is_ok());
        assert!(parse_date("d", "2027-02-29").is_err());
    }

    #[test]
    fn bidi_formatting_characters_are_refused_after_the_other_text_checks() {
        for bidi in BIDI_CONTROLS {
            let error = check_text("merchant.name", &format!("Taxi {bidi}BA"), 64).unwrap_err();
            assert_eq!((error.code(), error.path()), (ErrorCode::TextBidi, "merchant.name"), "{bidi:?}");
            assert!(error.detail().contains("at character 5"), "{error}");
            assert_eq!(check_code("c", &format!("A{bidi}"), 64).unwrap_err().code(), ErrorCode::TextBidi);
        }
        // Just outside the two ranges, and the marks right-to-left text needs: allowed.
        for allowed in ['\u{2029}', '\u{202F}', '\u{2065}', '\u{206A}', '\u{200E}', '\u{200F}', '\u{061C}'] {
            let text = format!("مقهى{allowed} 42");
            let verdict = check_text("t", &text, 64).map_err(|error| error.code());
            assert_ne!(verdict, Err(ErrorCode::TextBidi), "{allowed:?}");
        }
        // Length first, then control characters, then bidi.
        assert_eq!(check_text("t", "\u{202E}\u{0007}", 64).unwrap_err().code(), ErrorCode::Text);
        assert_eq!(check_text("t", "\u{202E}abc", 3).unwrap_err().code(), ErrorCode::Text);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(divide_rounded(5, 10), 1);
        assert_eq!(divide_rounded(-5, 10), -1);
        assert_eq!(divide_rounded(14, 10), 1);
        assert_eq!(divide_rounded(-15, 10), -2);
        assert_eq!(divide_rounded(25, 10), 3);
    }

    #[test]
    fn gtin_pan_and_address() {
        assert!(check_gtin("g", "7310865004703").is_ok());
        assert_eq!(check_gtin("g", "7310865004704").unwrap_err().code(), ErrorCode::Gtin);
        assert!(check_masked_pan("p", "************1234").is_ok());
        assert!(check_masked_pan("p", "492500******1234").is_ok());
        assert!(check_masked_pan("p", "4925001234561234").is_err());
        assert!(check_masked_pan("p", "4925001*****1234").is_err());
        assert!(check_address("a", "127.0.0.1:7400").is_ok());
        assert!(check_address("a", "[::1]:7400").is_ok());
        assert!(check_address("a", "node.example:0").is_err());
        assert!(check_address("a", "node example:80").is_err());
        assert!(check_address("a", "node.example:+80").is_err());
        assert!(check_address("a", "node.example:080").is_err());
    }
}
