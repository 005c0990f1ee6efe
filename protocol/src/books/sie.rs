//! SIE 4 type 4I ("import of vouchers") writer: the header, `#KONTO` for each account
//! used, and `#VER` … `{ #TRANS … }` per voucher. PC8 (IBM code page 437) bytes, CRLF line
//! ends, amounts with two decimals and a dot, dates `YYYYMMDD`. The same input gives the
//! same bytes. spec/books.md lists the subset written.

use std::collections::BTreeSet;

use time::Date;

use crate::books::table::BookingTable;
use crate::books::voucher::Voucher;

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
    /// A text holds a character that code page 437 cannot represent.
    #[error("{field}: {character:?} (U+{code:04X}) at character {position} has no code page 437 (PC8) byte")]
    Unmappable {
        /// Which field.
        field: String,
        /// The character.
        character: char,
        /// Its Unicode code point.
        code: u32,
        /// Its position in the text, counting characters from 0.
        position: usize,
    },
    /// A text holds a control character (tab, line break, …), which SIE does not allow.
    #[error("{field}: control character U+{code:04X} at character {position}")]
    ControlCharacter {
        /// Which field.
        field: String,
        /// Its Unicode code point.
        code: u32,
        /// Its position in the text.
        position: usize,
    },
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

/// The PC8 (code page 437) bytes of `text`, or an error naming the first character that
/// has none. Control characters are refused: SIE fields hold none.
pub fn encode_pc8(field: &str, text: &str) -> Result<Vec<u8>, SieError> {
    let mut bytes = Vec::with_capacity(text.len());
    for (position, character) in text.chars().enumerate() {
        let code = u32::from(character);
        if character.is_control() {
            return Err(SieError::ControlCharacter { field: field.into(), code, position });
        }
        if character.is_ascii() {
            bytes.push(code as u8);
            continue;
        }
        let high = CP437_HIGH.iter().position(|candidate| *candidate == character).and_then(|index| {
            // index < 128, so 0x80 + index is a byte
            u8::try_from(0x80 + index).ok()
        });
        match high {
            Some(byte) => bytes.push(byte),
            None => return Err(SieError::Unmappable { field: field.into(), character, code, position }),
        }
    }
    Ok(bytes)
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

/// `text` quoted, after checking it encodes, so that an error's position is within the
/// field's own text rather than the line.
fn text_field(field: &str, text: &str) -> Result<String, SieError> {
    encode_pc8(field, text)?;
    Ok(quote(text))
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
    fn push(&mut self, field: &str, line: &str) -> Result<(), SieError> {
        self.bytes.extend(encode_pc8(field, line)?);
        self.bytes.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Writes an SIE 4I file with `vouchers`, in the order given, account names from `table`.
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
        if voucher.rows.is_empty() {
            return Err(SieError::EmptyVoucher { voucher: index });
        }
        let sum = voucher.balance();
        if sum != 0 {
            return Err(SieError::Unbalanced { voucher: index, sum });
        }
        if let Some((start, end)) = header.fiscal_year {
            if voucher.date < start || voucher.date > end {
                return Err(SieError::OutsideFiscalYear { voucher: index, date: voucher.date, start, end });
            }
        }
        for row in &voucher.rows {
            if table.account_name(row.account).is_none() {
                return Err(SieError::AccountName { voucher: index, account: row.account });
            }
            accounts.insert(row.account);
        }
    }
    let mut lines = Lines { bytes: Vec::new() };
    lines.push("flagga", "#FLAGGA 0")?;
    lines.push(
        "program",
        &format!(
            "#PROGRAM {} {}",
            text_field("program", &header.program)?,
            identifier("program_version", &header.program_version)?
        ),
    )?;
    lines.push("format", "#FORMAT PC8")?;
    lines.push("gen", &format!("#GEN {}", format_date(header.generated)))?;
    lines.push("sietyp", "#SIETYP 4")?;
    lines.push("org", &format!("#ORGNR {}", identifier("org", &header.org)?))?;
    lines.push("company_name", &format!("#FNAMN {}", text_field("company_name", &header.company_name)?))?;
    if let Some((start, end)) = header.fiscal_year {
        lines.push("fiscal_year", &format!("#RAR 0 {} {}", format_date(start), format_date(end)))?;
    }
    for account in accounts {
        let field = format!("accounts.{account}");
        let name = text_field(&field, table.account_name(account).unwrap_or_default())?;
        lines.push(&field, &format!("#KONTO {account} {name}"))?;
    }
    for (index, voucher) in vouchers.iter().enumerate() {
        let field = format!("vouchers[{index}]");
        let series = identifier(&format!("{field}.series"), &voucher.series)?;
        let number = voucher.number.map_or_else(|| "\"\"".to_string(), |number| number.to_string());
        let date = format_date(voucher.date);
        let text = text_field(&format!("{field}.text"), &voucher.text)?;
        lines.push(&field, &format!("#VER {series} {number} {date} {text}"))?;
        lines.push(&field, "{")?;
        for (row_index, row) in voucher.rows.iter().enumerate() {
            let row_field = format!("{field}.rows[{row_index}]");
            let text = text_field(&format!("{row_field}.text"), &row.text)?;
            let amount = format_amount(row.amount);
            lines.push(&row_field, &format!("   #TRANS {} {{}} {amount} {date} {text}", row.account))?;
        }
        lines.push(&field, "}")?;
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
            ('\u{a0}', 0xFF),
        ] {
            assert_eq!(encode_pc8("t", &character.to_string()).unwrap(), vec![byte], "{character}");
        }
        let distinct: BTreeSet<char> = CP437_HIGH.iter().copied().collect();
        assert_eq!(distinct.len(), 128, "every byte has its own character");
    }
}
