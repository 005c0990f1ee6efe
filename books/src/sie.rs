//! SIE 4 type 4I ("import of vouchers") writer: the header, `#KONTO` for each account
//! used, and `#VER` … `{ #TRANS … }` per voucher. PC8 (IBM code page 437) bytes, CRLF line
//! ends, amounts with two decimals and a dot, dates `YYYYMMDD`. The same input gives the
//! same bytes. spec/books.md lists the subset written.
//!
//! Text never fails the file: what code page 437 cannot hold is transliterated (`’` → `'`,
//! `€` → `EUR`, `Ø` → `O`, …; [`to_pc8`]) and anything else becomes `?`. Records are
//! everyday text (typographic quotes, emoji, other scripts), and an accepted record must
//! never keep a voucher out of the books.

use std::collections::BTreeSet;

use time::Date;

use crate::table::BookingTable;
use crate::voucher::Voucher;

/// The header of an SIE file: who wrote it, when, and for whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieHeader {
    /// The program that wrote the file (`#PROGRAM`), e.g. `kvitt`.
    pub program: String,
    /// Its version.
    pub program_version: String,
    /// The date the file was generated (`#GEN`); passed in, never read from a clock.
    pub generated: Date,
    /// The organisation number of the books (`#ORGNR`), `NNNNNN-NNNN`.
    pub org: String,
    /// The name of the organisation (`#FNAMN`).
    pub company_name: String,
    /// The fiscal year (`#RAR 0 start end`), if given; every voucher must fall in it.
    pub fiscal_year: Option<(Date, Date)>,
}

/// Why an SIE file could not be written. Each variant names the field and the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SieError {
    /// An identifier field (series, organisation number, version) is empty or holds a
    /// space, a quote or a brace.
    #[error("{field}: {value:?} is not an SIE identifier (non-empty, no spaces, quotes or braces)")]
    Identifier {
        /// Which field.
        field: String,
        /// The value.
        value: String,
    },
    /// A voucher's rows do not add up to zero.
    #[error("vouchers[{voucher}]: rows add up to {sum} öre, not 0")]
    Unbalanced {
        /// The voucher's index.
        voucher: usize,
        /// What the rows add up to.
        sum: i128,
    },
    /// A voucher has no rows.
    #[error("vouchers[{voucher}]: no rows")]
    EmptyVoucher {
        /// The voucher's index.
        voucher: usize,
    },
    /// A voucher uses an account the booking table has no name for.
    #[error("vouchers[{voucher}]: account {account} has no name in the booking table")]
    AccountName {
        /// The voucher's index.
        voucher: usize,
        /// The account.
        account: u16,
    },
    /// A voucher's date is outside the fiscal year given.
    #[error("vouchers[{voucher}]: date {date} is outside the fiscal year {start} - {end}")]
    OutsideFiscalYear {
        /// The voucher's index.
        voucher: usize,
        /// Its date.
        date: Date,
        /// First day of the fiscal year.
        start: Date,
        /// Last day.
        end: Date,
    },
    /// The fiscal year ends before it starts.
    #[error("fiscal_year: ends {end}, before it starts {start}")]
    FiscalYear {
        /// First day.
        start: Date,
        /// Last day.
        end: Date,
    },
}

/// Code page 437, bytes 0x80 to 0xFF, as Unicode (bytes 0x20 to 0x7E are ASCII).
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', // 0x80
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', // 0x90
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', // 0xA0
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', // 0xB0
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', // 0xC0
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', // 0xD0
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', // 0xE0
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}', // 0xF0
];

/// What stands for a character code page 437 lacks, by the rule of spec/books.md §SIE:
/// typographic punctuation by its ASCII form, the euro by `EUR`, and letters with
/// diacritics the code page lacks by the letter without them. Sorted by character.
const TRANSLITERATIONS: &[(char, &str)] = &[
    ('\u{a0}', " "),
    ('À', "A"),
    ('Á', "A"),
    ('Â', "A"),
    ('Ã', "A"),
    ('È', "E"),
    ('Ê', "E"),
    ('Ë', "E"),
    ('Ì', "I"),
    ('Í', "I"),
    ('Î', "I"),
    ('Ï', "I"),
    ('Ð', "D"),
    ('Ò', "O"),
    ('Ó', "O"),
    ('Ô', "O"),
    ('Õ', "O"),
    ('×', "x"),
    ('Ø', "O"),
    ('Ù', "U"),
    ('Ú', "U"),
    ('Û', "U"),
    ('Ý', "Y"),
    ('Þ', "TH"),
    ('ã', "a"),
    ('ð', "d"),
    ('õ', "o"),
    ('ø', "o"),
    ('ý', "y"),
    ('þ', "th"),
    ('Ā', "A"),
    ('ā', "a"),
    ('Ą', "A"),
    ('ą', "a"),
    ('Ć', "C"),
    ('ć', "c"),
    ('Č', "C"),
    ('č', "c"),
    ('Ď', "D"),
    ('ď', "d"),
    ('Đ', "D"),
    ('đ', "d"),
    ('Ē', "E"),
    ('ē', "e"),
    ('Ė', "E"),
    ('ė', "e"),
    ('Ę', "E"),
    ('ę', "e"),
    ('Ě', "E"),
    ('ě', "e"),
    ('Ğ', "G"),
    ('ğ', "g"),
    ('Ģ', "G"),
    ('ģ', "g"),
    ('Ī', "I"),
    ('ī', "i"),
    ('Į', "I"),
    ('į', "i"),
    ('İ', "I"),
    ('ı', "i"),
    ('Ķ', "K"),
    ('ķ', "k"),
    ('Ļ', "L"),
    ('ļ', "l"),
    ('Ł', "L"),
    ('ł', "l"),
    ('Ń', "N"),
    ('ń', "n"),
    ('Ņ', "N"),
    ('ņ', "n"),
    ('Ň', "N"),
    ('ň', "n"),
    ('Ő', "O"),
    ('ő', "o"),
    ('Œ', "OE"),
    ('œ', "oe"),
    ('Ř', "R"),
    ('ř', "r"),
    ('Ś', "S"),
    ('ś', "s"),
    ('Ş', "S"),
    ('ş', "s"),
    ('Š', "S"),
    ('š', "s"),
    ('Ť', "T"),
    ('ť', "t"),
    ('Ū', "U"),
    ('ū', "u"),
    ('Ů', "U"),
    ('ů', "u"),
    ('Ű', "U"),
    ('ű', "u"),
    ('Ų', "U"),
    ('ų', "u"),
    ('Ź', "Z"),
    ('ź', "z"),
    ('Ż', "Z"),
    ('ż', "z"),
    ('Ž', "Z"),
    ('ž', "z"),
    ('Ș', "S"),
    ('ș', "s"),
    ('Ț', "T"),
    ('ț', "t"),
    ('\u{2002}', " "),
    ('\u{2003}', " "),
    ('\u{2007}', " "),
    ('\u{2009}', " "),
    ('‐', "-"),
    ('‑', "-"),
    ('‒', "-"),
    ('–', "-"),
    ('—', "-"),
    ('―', "-"),
    ('‘', "'"),
    ('’', "'"),
    ('‚', "'"),
    ('‛', "'"),
    ('“', "\""),
    ('”', "\""),
    ('„', "\""),
    ('‟', "\""),
    ('•', "*"),
    ('…', "..."),
    ('\u{202f}', " "),
    ('′', "'"),
    ('″', "\""),
    ('‹', "<"),
    ('›', ">"),
    ('€', "EUR"),
    ('−', "-"),
];

/// Whether `character` shows nothing by itself and is left out of PC8 text: combining
/// marks (a decomposed `é` is `e` and U+0301), zero-width characters and joiners, the
/// directional marks, variation selectors (an emoji's U+FE0F), skin-tone modifiers and the
/// byte order mark.
fn invisible(character: char) -> bool {
    matches!(
        character,
        '\u{0300}'..='\u{036F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{1F3FB}'..='\u{1F3FF}'
    )
}

/// The byte of `character` in code page 437, if it has one of its own: printable ASCII as
/// itself, the high half by [`CP437_HIGH`]. The no-break space (0xFF) is not used: it is
/// written as a space, which every importer reads alike.
fn pc8_byte(character: char) -> Option<u8> {
    if character.is_ascii() {
        return (!character.is_ascii_control()).then_some(character as u8);
    }
    if character == '\u{a0}' {
        return None;
    }
    CP437_HIGH.iter().position(|candidate| *candidate == character).and_then(|index| {
        // index < 128, so 0x80 + index is a byte
        u8::try_from(0x80 + index).ok()
    })
}

/// `text` as code page 437 can hold it: each character that has a PC8 byte as itself,
/// what [`TRANSLITERATIONS`] says for those it lists, nothing for an [`invisible`] one, a
/// space for a line break or tab, and `?` for anything else (an emoji, another script).
/// Never fails: SIE text is a voucher's description, and the record it came from is kept
/// whole in the ledger.
pub fn to_pc8(text: &str) -> String {
    let mut written = String::with_capacity(text.len());
    for character in text.chars() {
        if pc8_byte(character).is_some() {
            written.push(character);
            continue;
        }
        if invisible(character) {
            continue;
        }
        let listed = TRANSLITERATIONS.binary_search_by(|(candidate, _)| candidate.cmp(&character)).ok();
        let replacement = match listed.and_then(|index| TRANSLITERATIONS.get(index)) {
            Some((_, replacement)) => replacement,
            None if matches!(character, '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}') => " ",
            None => "?",
        };
        written.push_str(replacement);
    }
    written
}

/// The PC8 (code page 437) bytes of `text`, transliterated by [`to_pc8`] where the code
/// page lacks a character.
pub fn encode_pc8(text: &str) -> Vec<u8> {
    to_pc8(text).chars().filter_map(pc8_byte).collect()
}

/// Whether every character of `text` has a code page 437 byte of its own, so that PC8
/// holds it as written (what a booking table's account names must be).
pub fn is_pc8(text: &str) -> bool {
    text.chars().all(|character| pc8_byte(character).is_some())
}

/// `text` as one quoted SIE field: `"` … `"`, with `\` before each `"` and `\` inside.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        if character == '"' || character == '\\' {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

/// Öre as an SIE amount: `1234.50`, `-99.00`, `0.00`.
pub fn format_amount(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    let magnitude = ore.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

/// A date as SIE writes it: `YYYYMMDD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day())
}

/// `text` as PC8 holds it, quoted: transliterated first, so that a typographic quote that
/// becomes `"` is escaped like any other.
fn text_field(text: &str) -> String {
    quote(&to_pc8(text))
}

fn identifier(field: &str, value: &str) -> Result<String, SieError> {
    let valid = !value.is_empty()
        && value.chars().all(|character| !character.is_whitespace() && !matches!(character, '"' | '{' | '}'));
    if valid {
        Ok(value.into())
    } else {
        Err(SieError::Identifier { field: field.into(), value: value.into() })
    }
}

/// Accumulates lines and encodes each as PC8 with CRLF.
struct Lines {
    bytes: Vec<u8>,
}

impl Lines {
    fn push(&mut self, line: &str) {
        self.bytes.extend(encode_pc8(line));
        self.bytes.extend_from_slice(b"\r\n");
    }
}

/// Whether the SIE writer takes `voucher` (the `index`-th of a file): rows, which add up
/// to zero, each on an account `table` names, a series that is an identifier, and a date
/// within `fiscal_year` if one is given. Booking checks a voucher with this before it is
/// kept, so that a kept voucher never fails an export.
pub fn check_voucher(
    index: usize,
    table: &BookingTable,
    voucher: &Voucher,
    fiscal_year: Option<(Date, Date)>,
) -> Result<(), SieError> {
    if voucher.rows.is_empty() {
        return Err(SieError::EmptyVoucher { voucher: index });
    }
    let sum = voucher.balance();
    if sum != 0 {
        return Err(SieError::Unbalanced { voucher: index, sum });
    }
    if let Some((start, end)) = fiscal_year {
        if voucher.date < start || voucher.date > end {
            return Err(SieError::OutsideFiscalYear { voucher: index, date: voucher.date, start, end });
        }
    }
    if let Some(row) = voucher.rows.iter().find(|row| table.account_name(row.account).is_none()) {
        return Err(SieError::AccountName { voucher: index, account: row.account });
    }
    identifier(&format!("vouchers[{index}].series"), &voucher.series)?;
    Ok(())
}

/// Writes an SIE 4I file with `vouchers`, in the order given, account names from `table`.
/// Refused only for what [`check_voucher`] refuses, a fiscal year that ends before it
/// starts, or a header identifier that is not one: never for text.
pub fn write_sie(
    header: &SieHeader,
    table: &BookingTable,
    vouchers: &[Voucher],
) -> Result<Vec<u8>, SieError> {
    if let Some((start, end)) = header.fiscal_year {
        if end < start {
            return Err(SieError::FiscalYear { start, end });
        }
    }
    let mut accounts = BTreeSet::new();
    for (index, voucher) in vouchers.iter().enumerate() {
        check_voucher(index, table, voucher, header.fiscal_year)?;
        accounts.extend(voucher.rows.iter().map(|row| row.account));
    }
    let mut lines = Lines { bytes: Vec::new() };
    lines.push("#FLAGGA 0");
    lines.push(&format!(
        "#PROGRAM {} {}",
        text_field(&header.program),
        identifier("program_version", &header.program_version)?
    ));
    lines.push("#FORMAT PC8");
    lines.push(&format!("#GEN {}", format_date(header.generated)));
    lines.push("#SIETYP 4");
    lines.push(&format!("#ORGNR {}", identifier("org", &header.org)?));
    lines.push(&format!("#FNAMN {}", text_field(&header.company_name)));
    if let Some((start, end)) = header.fiscal_year {
        lines.push(&format!("#RAR 0 {} {}", format_date(start), format_date(end)));
    }
    for account in accounts {
        let name = text_field(table.account_name(account).unwrap_or_default());
        lines.push(&format!("#KONTO {account} {name}"));
    }
    for voucher in vouchers {
        let number = voucher.number.map_or_else(|| "\"\"".to_string(), |number| number.to_string());
        let date = format_date(voucher.date);
        let text = text_field(&voucher.text);
        lines.push(&format!("#VER {} {number} {date} {text}", voucher.series));
        lines.push("{");
        for row in &voucher.rows {
            let text = text_field(&row.text);
            let amount = format_amount(row.amount);
            lines.push(&format!("   #TRANS {} {{}} {amount} {date} {text}", row.account));
        }
        lines.push("}");
    }
    Ok(lines.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_half_is_code_page_437() {
        // Spot checks against the code page's published chart, one per row.
        for (character, byte) in [
            ('Ç', 0x80),
            ('å', 0x86),
            ('Ä', 0x8E),
            ('Å', 0x8F),
            ('É', 0x90),
            ('Ö', 0x99),
            ('á', 0xA0),
            ('░', 0xB0),
            ('└', 0xC0),
            ('╨', 0xD0),
            ('α', 0xE0),
            ('≡', 0xF0),
        ] {
            assert_eq!(encode_pc8(&character.to_string()), vec![byte], "{character}");
        }
        // 0xFF is the no-break space, which is written as a plain space.
        assert_eq!(CP437_HIGH[0x7F], '\u{a0}');
        assert_eq!(encode_pc8("1\u{a0}000"), b"1 000");
        let distinct: BTreeSet<char> = CP437_HIGH.iter().copied().collect();
        assert_eq!(distinct.len(), 128, "every byte has its own character");
    }

    #[test]
    fn the_transliteration_table_is_sorted_and_only_for_what_the_code_page_lacks() {
        assert!(TRANSLITERATIONS.windows(2).all(|pair| pair[0].0 < pair[1].0), "sorted, no twice");
        for (character, replacement) in TRANSLITERATIONS {
            assert!(*character == '\u{a0}' || pc8_byte(*character).is_none(), "{character} has a byte");
            assert!(is_pc8(replacement), "{character} → {replacement}");
        }
    }
}
