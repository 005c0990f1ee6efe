//! Strategies for single fields: texts, codes, organisation numbers, dates and times, ids,
//! GTINs, card numbers and addresses.

use kvitt_protocol::fields::format_date;
use kvitt_protocol::RecordId;
use proptest::prelude::*;
use proptest::sample::select;
use time::macros::date;
use time::{Date, Duration};

use super::reference::{gtin, org_number};

/// Text of 1-16 characters, at most 64 bytes: Swedish letters, a euro sign, an emoji.
pub fn short_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 åäöÅÄÖé€🧾.,&()-]{1,16}"
}

/// A name or description: 1-60 characters, at most 240 bytes.
pub fn name_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 åäöÅÄÖéü€🧾.,&()'/-]{1,60}"
}

/// Free text: 1-300 characters, at most 1200 bytes.
pub fn free_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 åäöÅÄÖéü€🧾.,:;!?&()'/-]{1,300}"
}

/// An identifier-like code: 1-32 ASCII letters, digits and `-_./:`.
pub fn code() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./:-]{1,32}"
}

/// A Swedish organisation number with a computed check digit.
pub fn swedish_org() -> impl Strategy<Value = String> {
    (0u32..1_000_000_000).prop_map(org_number)
}

/// The dates of sale receipts are issued on: the days around the food-rate cut of
/// 2026-04-01 and its end on 2028-01-01, a leap day, or any day of 2026-2028.
pub fn sale_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        select(vec![
            date!(2026 - 03 - 30),
            date!(2026 - 03 - 31),
            date!(2026 - 04 - 01),
            date!(2026 - 04 - 02),
            date!(2027 - 06 - 15),
            date!(2027 - 12 - 31),
            date!(2028 - 01 - 01),
            date!(2028 - 02 - 29),
        ]),
        (0i64..1096).prop_map(|days| date!(2026 - 01 - 01) + Duration::days(days)),
    ]
}

/// Any day of 2020-2029.
pub fn any_date() -> impl Strategy<Value = Date> {
    (0i64..3653).prop_map(|days| date!(2020 - 01 - 01) + Duration::days(days))
}

/// UTC offsets the protocol accepts, the extremes included.
pub const OFFSETS: &[&str] =
    &["+00:00", "+01:00", "+02:00", "-05:00", "+05:30", "-09:30", "+14:00", "-14:00"];

/// A time on `date`: `YYYY-MM-DDTHH:MM:SS±HH:MM`.
pub fn time_on(date: Date) -> impl Strategy<Value = String> {
    (0u8..24, 0u8..60, 0u8..60, select(OFFSETS)).prop_map(move |(hour, minute, second, offset)| {
        format!("{}T{hour:02}:{minute:02}:{second:02}{offset}", format_date(date))
    })
}

/// A time on any day of 2020-2029, or now and then on the first or last day the format
/// allows (0000-01-01, 9999-12-31).
pub fn any_time() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => any_date(),
        1 => select(vec![date!(0000 - 01 - 01), date!(9999 - 12 - 31)]),
    ]
    .prop_flat_map(time_on)
}

/// A record id from 32 arbitrary bytes.
pub fn record_id() -> impl Strategy<Value = RecordId> {
    any::<[u8; 32]>().prop_map(RecordId)
}

/// A valid GTIN of 8, 12, 13 or 14 digits.
pub fn gtin_strategy() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{7}", "[0-9]{11}", "[0-9]{12}", "[0-9]{13}"].prop_map(|digits| gtin(&digits))
}

/// A masked card number: 12-19 characters, 0-6 leading and 0-4 trailing digits, `*` between.
pub fn masked_pan() -> impl Strategy<Value = String> {
    ("[0-9]{0,6}", "[0-9]{0,4}", 12usize..=19).prop_map(|(leading, trailing, length)| {
        format!("{leading}{}{trailing}", "*".repeat(length - leading.len() - trailing.len()))
    })
}

/// A network address: a host name, an IPv4 or a bracketed IPv6 address (each in its one
/// canonical text, spec/protocol.md §Field formats), and a port. A host name holds a
/// letter, so it is never read as an IPv4 address.
pub fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z0-9][a-z0-9.-]{0,15}", "[a-z]", "[a-z0-9.-]{0,15}", 1u16..)
            .prop_map(|(before, letter, after, port)| format!("{before}{letter}{after}:{port}")),
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| format!("{}:{port}", std::net::Ipv4Addr::from(ip))),
        (any::<[u16; 8]>(), 1u16..)
            .prop_map(|(ip, port)| format!("[{}]:{port}", std::net::Ipv6Addr::from(ip))),
    ]
}
