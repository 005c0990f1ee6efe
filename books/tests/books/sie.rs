//! The SIE 4I writer against the format's rules: PC8 (code page 437) bytes, quoting with
//! backslash escapes, CRLF, amounts and dates, balanced vouchers, and a whole small file
//! byte for byte.

use kvitt_books::{
    encode_pc8, format_amount, format_date, is_pc8, quote, to_pc8, write_sie, SieError, SieHeader, VoucherRow,
};

use super::*;

fn header() -> SieHeader {
    SieHeader {
        program: "kvitt".into(),
        program_version: "0.1.0".into(),
        generated: date!(2026 - 05 - 10),
        org: AGENCY_ORG.into(),
        company_name: "Myndigheten för kvitton".into(),
        fiscal_year: Some((date!(2026 - 01 - 01), date!(2026 - 12 - 31))),
    }
}

fn row(account: u16, amount: i64, text: &str) -> VoucherRow {
    VoucherRow { account, amount, text: text.into() }
}

/// Two vouchers written by hand: an unnumbered hotel claim and numbered mileage.
fn vouchers() -> Vec<Voucher> {
    vec![
        Voucher {
            series: "K".into(),
            number: None,
            date: date!(2026 - 05 - 10),
            text: "Räkning 2026-000042 emp-17".into(),
            rows: vec![
                row(5831, 133_482, "Hotell \"Kvitt\" AB kvitto 0a1b"),
                row(2640, 16_018, "Moms 12 % kvitto 0a1b"),
                row(2820, -149_500, "Att betala emp-17"),
            ],
            payroll: vec![],
        },
        Voucher {
            series: "K".into(),
            number: Some(7),
            date: date!(2026 - 05 - 11),
            text: "Milersättning".into(),
            rows: vec![
                row(7331, 30_750, "Milersättning 123 km Sundsvall - Härnösand"),
                row(2820, -30_750, "Att betala emp-17"),
            ],
            payroll: vec![],
        },
    ]
}

#[test]
fn a_small_file_byte_for_byte() {
    // Written by hand from the SIE 4 rules: PC8 bytes for ö (0x94), å (0x86), ä (0x84);
    // CR LF after every line; #KONTO ascending; "" for a voucher without a number. The
    // #TRANS lines start with three spaces, written \x20 as a continued line drops them.
    let expected: &[u8] = b"#FLAGGA 0\r\n\
#PROGRAM \"kvitt\" 0.1.0\r\n\
#FORMAT PC8\r\n\
#GEN 20260510\r\n\
#SIETYP 4\r\n\
#ORGNR 202100-5489\r\n\
#FNAMN \"Myndigheten f\x94r kvitton\"\r\n\
#RAR 0 20260101 20261231\r\n\
#KONTO 2640 \"Ing\x86ende moms\"\r\n\
#KONTO 2820 \"Kortfristiga skulder till anst\x84llda\"\r\n\
#KONTO 5831 \"Kost och logi i Sverige\"\r\n\
#KONTO 7331 \"Skattefria bilers\x84ttningar\"\r\n\
#VER K \"\" 20260510 \"R\x84kning 2026-000042 emp-17\"\r\n\
{\r\n\
\x20\x20\x20#TRANS 5831 {} 1334.82 20260510 \"Hotell \\\"Kvitt\\\" AB kvitto 0a1b\"\r\n\
\x20\x20\x20#TRANS 2640 {} 160.18 20260510 \"Moms 12 % kvitto 0a1b\"\r\n\
\x20\x20\x20#TRANS 2820 {} -1495.00 20260510 \"Att betala emp-17\"\r\n\
}\r\n\
#VER K 7 20260511 \"Milers\x84ttning\"\r\n\
{\r\n\
\x20\x20\x20#TRANS 7331 {} 307.50 20260511 \"Milers\x84ttning 123 km Sundsvall - H\x84rn\x94sand\"\r\n\
\x20\x20\x20#TRANS 2820 {} -307.50 20260511 \"Att betala emp-17\"\r\n\
}\r\n";
    let written = write_sie(&header(), table(), &vouchers()).unwrap();
    let first_difference = written.iter().zip(expected).position(|(a, b)| a != b);
    assert_eq!(
        first_difference,
        None,
        "{:?}",
        String::from_utf8_lossy(&written[first_difference.unwrap_or(0)..])
    );
    assert_eq!(written, expected);
}

#[test]
fn swedish_letters_are_their_code_page_437_bytes() {
    let cases: [(&str, &[u8]); 9] = [
        ("å", &[0x86]),
        ("ä", &[0x84]),
        ("ö", &[0x94]),
        ("Å", &[0x8F]),
        ("Ä", &[0x8E]),
        ("Ö", &[0x99]),
        ("é", &[0x82]),
        ("ü", &[0x81]),
        ("Växjö Café", &[b'V', 0x84, b'x', b'j', 0x94, b' ', b'C', b'a', b'f', 0x82]),
    ];
    for (text, bytes) in cases {
        assert_eq!(encode_pc8(text), bytes, "{text}");
    }
}

#[test]
fn what_code_page_437_lacks_is_transliterated_never_refused() {
    for (text, written) in [
        ("McDonald’s", "McDonald's"),
        ("‘Fika’ „Bar“ “Café”", "'Fika' \"Bar\" \"Café\""),
        ("Kaffe 3 €", "Kaffe 3 EUR"),
        ("Uppsala – Stockholm — åter", "Uppsala - Stockholm - åter"),
        ("Vänta…", "Vänta..."),
        ("1\u{a0}000 kr", "1 000 kr"),
        ("Østerbro Kø", "Osterbro Ko"),
        ("Łódź Škoda Čapek", "Lódz Skoda Capek"),
        ("São Paulo Ångström", "Sao Paulo Ångström"),
        // A decomposed é keeps its letter and loses the combining accent.
        ("Cafe\u{301}", "Cafe"),
        // An emoji (with its variation selector) and other scripts: one ? a character.
        ("Kaffe ☕\u{fe0f}", "Kaffe ?"),
        ("Кафе 東京", "???? ??"),
        // Tab and line break: a space. Bidi marks: invisible, left out.
        ("a\tb\nc", "a b c"),
        ("\u{200f}مقهى", "????"),
        ("", ""),
    ] {
        assert_eq!(to_pc8(text), written, "{text:?}");
        assert!(is_pc8(written), "{written:?}");
        assert_eq!(encode_pc8(text).len(), written.chars().count(), "one byte a character: {text:?}");
    }
    assert!(!is_pc8("€"));
    assert!(!is_pc8("a\tb"));
    assert!(is_pc8("Ingående moms"));
}

#[test]
fn a_row_text_pc8_lacks_is_written_transliterated_and_quoted_after() {
    let mut vouchers = vouchers();
    vouchers[1].rows[0].text = "Bro – tull ”Öresund” ☕".into();
    let written = write_sie(&header(), table(), &vouchers).unwrap();
    let expected: &[u8] = b"\"Bro - tull \\\"\x99resund\\\" ?\"\r\n";
    assert!(
        written.windows(expected.len()).any(|window| window == expected),
        "{}",
        String::from_utf8_lossy(&written)
    );
}

#[test]
fn quoting_escapes_quotes_and_backslashes() {
    assert_eq!(quote("Hotell Kvitt AB"), "\"Hotell Kvitt AB\"");
    assert_eq!(quote(""), "\"\"");
    assert_eq!(quote("Hotell \"Kvitt\""), "\"Hotell \\\"Kvitt\\\"\"");
    assert_eq!(quote("C:\\kvitto"), "\"C:\\\\kvitto\"");
    assert_eq!(quote("slut\\"), "\"slut\\\\\"", "a trailing backslash cannot eat the closing quote");
}

#[test]
fn amounts_have_two_decimals_and_a_dot() {
    assert_eq!(format_amount(123_450), "1234.50");
    assert_eq!(format_amount(-9_900), "-99.00");
    assert_eq!(format_amount(0), "0.00");
    assert_eq!(format_amount(5), "0.05");
    assert_eq!(format_amount(-5), "-0.05");
    assert_eq!(format_amount(i64::MIN), "-92233720368547758.08");
    assert_eq!(format_date(date!(2026 - 01 - 09)), "20260109");
}

#[test]
fn an_unbalanced_voucher_is_refused() {
    let mut vouchers = vouchers();
    vouchers[1].rows[1].amount = -30_749;
    assert_eq!(write_sie(&header(), table(), &vouchers), Err(SieError::Unbalanced { voucher: 1, sum: 1 }));
    vouchers[1].rows.clear();
    assert_eq!(write_sie(&header(), table(), &vouchers), Err(SieError::EmptyVoucher { voucher: 1 }));
}

#[test]
fn a_voucher_outside_the_fiscal_year_is_refused() {
    let mut vouchers = vouchers();
    vouchers[0].date = date!(2027 - 01 - 01);
    assert!(matches!(
        write_sie(&header(), table(), &vouchers),
        Err(SieError::OutsideFiscalYear { voucher: 0, .. })
    ));
    // Without #RAR, any date goes, and no #RAR line is written.
    let header = SieHeader { fiscal_year: None, ..header() };
    let written = write_sie(&header, table(), &vouchers).unwrap();
    assert!(!String::from_utf8_lossy(&written).contains("#RAR"));
}

#[test]
fn an_account_without_a_name_is_refused() {
    let mut vouchers = vouchers();
    vouchers[0].rows[0].account = 5999;
    vouchers[0].rows[1].account = 5999;
    assert_eq!(
        write_sie(&header(), table(), &vouchers),
        Err(SieError::AccountName { voucher: 0, account: 5999 })
    );
}

#[test]
fn identifiers_hold_no_spaces() {
    let mut vouchers = vouchers();
    vouchers[0].series = "K 1".into();
    assert_eq!(
        write_sie(&header(), table(), &vouchers),
        Err(SieError::Identifier { field: "vouchers[0].series".into(), value: "K 1".into() })
    );
    let header = SieHeader { org: "".into(), ..header() };
    assert!(matches!(write_sie(&header, table(), &[]), Err(SieError::Identifier { .. })));
}

#[test]
fn a_booked_claim_exports_to_the_same_bytes_twice() {
    // Booking and writing are deterministic: the same claim gives the same file.
    let receipt = sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 1000, 149_500, 1200)],
        Paid::CorporateCard,
        true,
    ));
    let export = || {
        let voucher =
            book_with(vec![whole(&receipt, 5831), mileage(12, 250)], std::slice::from_ref(&receipt)).unwrap();
        write_sie(&header(), table(), &[voucher]).unwrap()
    };
    let first = export();
    assert_eq!(first, export());
    let text = String::from_utf8_lossy(&first);
    assert!(text.contains(&format!("kvitto {}\"\r\n", receipt.id())), "the receipt id is in the row text");
    assert!(text.contains("#KONTO 2890 "), "the corporate card liability is declared");
    assert!(text.ends_with("}\r\n"));
    assert!(!text.contains("\n\n") && !text.replace("\r\n", "").contains('\n'), "only CRLF line ends");
}
