//! Receipt codes (spec/codes.md): what a till prints for a receipt signed without a buyer,
//! so that the employee who paid can collect it at their agency.
//!
//! A code names the merchant (its organisation number, which the receipt shows anyway and
//! which tells the agency's node whom to ask) and holds 50 random bits, written as ten
//! Crockford base32 characters and one check character:
//!
//! ```text
//! 556036-0793-ABCDE-FGHJK-M        read aloud, typed, or scanned from the QR payload
//! KVITT:R:556036-0793-ABCDE-FGHJK-M
//! ```
//!
//! Reading is forgiving (any case, spaces or hyphens anywhere, `I`/`L` read as `1` and `O`
//! as `0`) and precise: a wrong character, length or check character is a [`CodeError`]
//! naming it, before anything is asked of the merchant.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::fields::luhn_valid;
use crate::wire::{Refusal, RefusalCode};

/// Random bits in a code.
pub const CODE_BITS: u32 = 50;
/// Characters of the random part (5 bits each).
pub const CODE_SECRET_CHARS: usize = 10;
/// Digits of the merchant's organisation number at the front of a code.
pub const CODE_MERCHANT_DIGITS: usize = 10;
/// Significant characters of a whole code: merchant, random part, check character.
pub const CODE_CHARS: usize = CODE_MERCHANT_DIGITS + CODE_SECRET_CHARS + 1;
/// The prefix of a code's QR payload (QR alphanumeric mode: upper case, digits, `:` `-`).
pub const QR_PREFIX: &str = "KVITT:R:";
/// Longest text [`ReceiptCode::parse`] reads, separators and prefix included: a bound on
/// what a form or a command line can make it scan.
pub const MAX_CODE_TEXT_BYTES: usize = 128;

/// Crockford's base32 alphabet: digits and letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The domain prefix of a code hash, so the key hashes nothing else alike.
const CODE_HASH_DOMAIN: &[u8] = b"kvitt/1/code\0";

/// What is wrong with a typed or scanned code. Positions count the significant characters
/// from 1 (separators and the QR prefix are not counted).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Too many or too few letters and digits.
    #[error("a receipt code has {CODE_CHARS} letters and digits (the merchant's organisation number, then 11), this has {found}")]
    Length {
        /// How many the text had (counted up to the first surplus).
        found: usize,
    },
    /// A character that cannot be in a code at its position.
    #[error("character {position} ({character:?}) cannot be in a receipt code there: {expected}")]
    Character {
        /// The position, from 1.
        position: usize,
        /// The character as typed.
        character: char,
        /// What may stand there.
        expected: &'static str,
    },
    /// The merchant's organisation number fails its Luhn check digit: a digit is mistyped.
    #[error(
        "the merchant's organisation number {merchant} fails its check digit: a digit of it is mistyped"
    )]
    MerchantCheck {
        /// The number as read.
        merchant: String,
    },
    /// The check character does not match the ten before it: one is mistyped.
    #[error("the check character does not match the code: a character is mistyped")]
    Check,
}

impl From<&CodeError> for Refusal {
    fn from(error: &CodeError) -> Refusal {
        let code = match error {
            CodeError::Length { .. } | CodeError::Character { .. } => RefusalCode::CodeFormat,
            CodeError::MerchantCheck { .. } | CodeError::Check => RefusalCode::CodeCheck,
        };
        let mut refusal = Refusal::new(code, error.to_string());
        refusal.path = "code".into();
        refusal
    }
}

/// A well-formed receipt code: the merchant's organisation number and 50 random bits.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptCode {
    merchant: [u8; CODE_MERCHANT_DIGITS],
    secret: u64,
}

impl ReceiptCode {
    /// A new code for `merchant` (an organisation number `NNNNNN-NNNN`) from 8 bytes of a
    /// cryptographic random source; the low 50 bits are used. `None` if `merchant` is not a
    /// Swedish organisation number (only those fit in a code).
    pub fn generate(merchant: &str, random: [u8; 8]) -> Option<ReceiptCode> {
        let merchant = merchant_digits(merchant)?;
        Some(ReceiptCode { merchant, secret: u64::from_le_bytes(random) & ((1 << CODE_BITS) - 1) })
    }

    /// Reads a code as typed or scanned: with or without the QR prefix, in any case, with
    /// spaces and hyphens anywhere, `I`/`L` as `1` and `O` as `0`.
    pub fn parse(text: &str) -> Result<ReceiptCode, CodeError> {
        let text = text.trim();
        let text = match text.get(..QR_PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(QR_PREFIX) => {
                text.get(QR_PREFIX.len()..).unwrap_or("")
            }
            _ => text,
        };
        if text.len() > MAX_CODE_TEXT_BYTES {
            return Err(CodeError::Length {
                found: text.chars().filter(|c| !matches!(c, ' ' | '-')).count(),
            });
        }
        let significant: Vec<char> = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if significant.len() != CODE_CHARS {
            return Err(CodeError::Length { found: significant.len() });
        }
        let (merchant_chars, rest) = significant.split_at(CODE_MERCHANT_DIGITS);
        let mut merchant = [0u8; CODE_MERCHANT_DIGITS];
        for (index, (slot, character)) in merchant.iter_mut().zip(merchant_chars).enumerate() {
            *slot = character.to_digit(10).and_then(|digit| u8::try_from(digit).ok()).ok_or(
                CodeError::Character {
                    position: index + 1,
                    character: *character,
                    expected: "the merchant's organisation number, ten digits",
                },
            )?;
        }
        if !luhn_valid(&merchant) {
            return Err(CodeError::MerchantCheck { merchant: format_merchant(&merchant) });
        }
        let secret = parse_secret_chars(rest, CODE_MERCHANT_DIGITS)?;
        Ok(ReceiptCode { merchant, secret })
    }

    /// Reads the random part and check character alone (11 characters, as a `collect`
    /// request carries them to the merchant named by the rest), for `merchant`.
    pub fn parse_secret(merchant: &str, text: &str) -> Result<ReceiptCode, CodeError> {
        let merchant =
            merchant_digits(merchant).ok_or(CodeError::MerchantCheck { merchant: merchant.to_owned() })?;
        if text.len() > MAX_CODE_TEXT_BYTES {
            return Err(CodeError::Length { found: text.len() });
        }
        let characters: Vec<char> = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if characters.len() != CODE_SECRET_CHARS + 1 {
            return Err(CodeError::Length { found: characters.len() + CODE_MERCHANT_DIGITS });
        }
        Ok(ReceiptCode { merchant, secret: parse_secret_chars(&characters, CODE_MERCHANT_DIGITS)? })
    }

    /// The merchant's organisation number, `NNNNNN-NNNN`.
    pub fn merchant(&self) -> String {
        format_merchant(&self.merchant)
    }

    /// The random part and check character, 11 characters without separators: what a
    /// `collect` request carries.
    pub fn secret_text(&self) -> String {
        let mut values: Vec<u8> =
            (0..CODE_SECRET_CHARS).rev().map(|index| ((self.secret >> (5 * index)) & 31) as u8).collect();
        values.push(check_value(&values));
        values.iter().map(|value| symbol(*value)).collect()
    }

    /// The QR payload: [`QR_PREFIX`] and the code as displayed.
    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{self}")
    }

    /// The keyed hash a merchant stores in place of the code:
    /// `HMAC-SHA256(key, "kvitt/1/code\0" || merchant digits || random part and check)`.
    pub fn hash(&self, key: &[u8; 32]) -> [u8; 32] {
        // HMAC takes a key of any length; 32 bytes always fit.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            unreachable!("HMAC accepts keys of every length")
        };
        mac.update(CODE_HASH_DOMAIN);
        mac.update(&self.merchant.map(|digit| b'0' + digit));
        mac.update(self.secret_text().as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Shown as `NNNNNN-NNNN-XXXXX-XXXXX-C`: groups short enough to read aloud.
impl std::fmt::Display for ReceiptCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = self.secret_text();
        let (first, rest) = secret.split_at(5);
        let (second, check) = rest.split_at(5);
        write!(f, "{}-{first}-{second}-{check}", self.merchant())
    }
}

/// A code is a bearer credential: logs and debug output show only the merchant.
impl std::fmt::Debug for ReceiptCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiptCode({}-…)", self.merchant())
    }
}

fn merchant_digits(org: &str) -> Option<[u8; CODE_MERCHANT_DIGITS]> {
    let bytes = org.as_bytes();
    if bytes.len() != 11 || bytes.get(6) != Some(&b'-') {
        return None;
    }
    let mut digits = [0u8; CODE_MERCHANT_DIGITS];
    let mut source = bytes.iter().enumerate().filter(|(index, _)| *index != 6).map(|(_, byte)| *byte);
    for slot in &mut digits {
        let byte = source.next().filter(u8::is_ascii_digit)?;
        *slot = byte - b'0';
    }
    luhn_valid(&digits).then_some(digits)
}

fn format_merchant(digits: &[u8; CODE_MERCHANT_DIGITS]) -> String {
    let text: String = digits.iter().map(|digit| char::from(b'0' + digit)).collect();
    let (first, last) = text.split_at(6);
    format!("{first}-{last}")
}

/// The base32 character of a 5-bit value.
fn symbol(value: u8) -> char {
    ALPHABET.get(usize::from(value & 31)).map_or('0', |byte| char::from(*byte))
}

/// The value of a base32 character as Crockford reads it, if it has one.
fn value_of(character: char) -> Option<u8> {
    let upper = match character.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    ALPHABET.iter().position(|&symbol| char::from(symbol) == upper).and_then(|value| u8::try_from(value).ok())
}

/// Ten base32 characters and a check character; `offset` is the position before the first.
fn parse_secret_chars(characters: &[char], offset: usize) -> Result<u64, CodeError> {
    let mut values = Vec::with_capacity(CODE_SECRET_CHARS + 1);
    for (index, character) in characters.iter().enumerate() {
        values.push(value_of(*character).ok_or(CodeError::Character {
            position: offset + index + 1,
            character: *character,
            expected: "a digit or a letter other than U",
        })?);
    }
    let Some((check, data)) = values.split_last() else {
        return Err(CodeError::Length { found: offset });
    };
    if check_value(data) != *check {
        return Err(CodeError::Check);
    }
    Ok(data.iter().fold(0u64, |secret, value| (secret << 5) | u64::from(*value)))
}

/// The Luhn mod 32 check value of `values` (Luhn's algorithm in base 32): it catches every
/// single mistyped character and every swap of two neighbours but `0`↔`Z`, and stays in the
/// alphabet, unlike Crockford's mod 37 symbols `* ~ $ = U`, which cannot be read aloud.
fn check_value(values: &[u8]) -> u8 {
    let sum: u32 = values
        .iter()
        .rev()
        .enumerate()
        .map(|(index, value)| {
            let addend = u32::from(*value) * if index % 2 == 0 { 2 } else { 1 };
            addend / 32 + addend % 32
        })
        .sum();
    ((32 - sum % 32) % 32) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERCHANT: &str = "556016-0680";

    fn code(secret: u64) -> ReceiptCode {
        ReceiptCode::generate(MERCHANT, secret.to_le_bytes()).unwrap()
    }

    #[test]
    fn a_code_displays_in_groups_and_parses_back_from_every_form() {
        let code = code(0x3_FFFF_FFFF_FFFF);
        let shown = code.to_string();
        assert_eq!(shown.len(), 11 + 1 + 5 + 1 + 5 + 1 + 1);
        assert_eq!(ReceiptCode::parse(&shown).unwrap(), code);
        assert_eq!(ReceiptCode::parse(&code.qr_payload()).unwrap(), code);
        assert_eq!(ReceiptCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap(), code);
        let secret = code.secret_text();
        assert_eq!(ReceiptCode::parse_secret(MERCHANT, &secret).unwrap(), code);
    }

    #[test]
    fn generation_keeps_fifty_bits() {
        assert_eq!(code(u64::MAX), code((1 << CODE_BITS) - 1));
        assert_ne!(code(1), code(2));
        assert!(ReceiptCode::generate("DE:HRB12345", [0; 8]).is_none());
        assert!(ReceiptCode::generate("556016-0681", [0; 8]).is_none());
    }

    #[test]
    fn i_l_and_o_read_as_one_and_zero() {
        let code = code(0); // random part all zeros: "0000000000" and check "0"
        assert_eq!(code.secret_text(), "00000000000");
        assert_eq!(ReceiptCode::parse("5560160680 OOOOO ooooo O").unwrap(), code);
        let ones = ReceiptCode::parse_secret(MERCHANT, &code_text_of(1)).unwrap();
        let typed = code_text_of(1).replace('1', "l");
        assert_eq!(ReceiptCode::parse_secret(MERCHANT, &typed).unwrap(), ones);
    }

    fn code_text_of(secret: u64) -> String {
        code(secret).secret_text()
    }

    #[test]
    fn every_single_mistyped_character_is_caught_by_the_check() {
        let code = code(0x1234_5678_9ABC);
        let secret: Vec<char> = code.secret_text().chars().collect();
        for position in 0..secret.len() {
            for replacement in ALPHABET.iter().map(|b| char::from(*b)) {
                if replacement == secret[position] {
                    continue;
                }
                let mut typed = secret.clone();
                typed[position] = replacement;
                let typed: String = typed.into_iter().collect();
                assert_eq!(ReceiptCode::parse_secret(MERCHANT, &typed), Err(CodeError::Check), "{typed}");
            }
        }
    }

    #[test]
    fn swapped_neighbours_are_caught_by_the_check() {
        let code = code(0x0ABC_DEF1_2345);
        let secret: Vec<char> = code.secret_text().chars().collect();
        for position in 0..secret.len() - 1 {
            let mut typed = secret.clone();
            typed.swap(position, position + 1);
            if typed == secret
                || (typed[position], typed[position + 1]) == ('0', 'Z')
                || (typed[position], typed[position + 1]) == ('Z', '0')
            {
                continue;
            }
            let typed: String = typed.into_iter().collect();
            assert_eq!(ReceiptCode::parse_secret(MERCHANT, &typed), Err(CodeError::Check), "{typed}");
        }
    }

    #[test]
    fn each_fault_gets_its_own_error_and_refusal_code() {
        let good = code(42).to_string();
        let cases = [
            (good[..good.len() - 1].to_owned(), CodeError::Length { found: CODE_CHARS - 1 }, "code.format"),
            (format!("{good}0"), CodeError::Length { found: CODE_CHARS + 1 }, "code.format"),
            (
                good.replacen('5', "X", 1),
                CodeError::Character {
                    position: 1,
                    character: 'X',
                    expected: "the merchant's organisation number, ten digits",
                },
                "code.format",
            ),
            (
                format!("{}U", &good[..good.len() - 1]),
                CodeError::Character {
                    position: CODE_CHARS,
                    character: 'U',
                    expected: "a digit or a letter other than U",
                },
                "code.format",
            ),
            (
                good.replacen("556016-0680", "556016-0681", 1),
                CodeError::MerchantCheck { merchant: "556016-0681".into() },
                "code.check",
            ),
        ];
        for (text, error, refusal) in cases {
            assert_eq!(ReceiptCode::parse(&text), Err(error.clone()), "{text}");
            let refused = Refusal::from(&error);
            assert_eq!((refused.code.as_str(), refused.path.as_str()), (refusal, "code"), "{text}");
        }
        let last = good.chars().last().unwrap();
        let wrong_check = if last == '0' { '1' } else { '0' };
        let typed = format!("{}{wrong_check}", &good[..good.len() - 1]);
        assert_eq!(ReceiptCode::parse(&typed), Err(CodeError::Check));
        assert_eq!(Refusal::from(&CodeError::Check).code.as_str(), "code.check");
    }

    /// spec/codes.md §Code format: the example's check character, computed independently.
    #[test]
    fn the_example_of_the_spec_reads_and_one_wrong_check_character_does_not() {
        let code = ReceiptCode::parse("KVITT:R:556016-0680-7KQ2M-X9D4T-C").unwrap();
        assert_eq!(code.to_string(), "556016-0680-7KQ2M-X9D4T-C");
        assert_eq!(ReceiptCode::parse("556016-0680-7KQ2M-X9D4T-B"), Err(CodeError::Check));
    }

    #[test]
    fn an_overlong_text_is_refused_without_scanning_it_all() {
        let long = format!("{}{}", code(7), "-".repeat(MAX_CODE_TEXT_BYTES));
        assert!(matches!(ReceiptCode::parse(&long), Err(CodeError::Length { .. })));
    }

    #[test]
    fn the_hash_depends_on_key_merchant_and_code_and_debug_hides_the_code() {
        let a = code(1);
        assert_ne!(a.hash(&[1; 32]), a.hash(&[2; 32]));
        assert_ne!(a.hash(&[1; 32]), code(2).hash(&[1; 32]));
        let other = ReceiptCode::generate("556036-0793", 1u64.to_le_bytes()).unwrap();
        assert_ne!(a.hash(&[1; 32]), other.hash(&[1; 32]));
        assert!(!format!("{a:?}").contains(&a.secret_text()));
    }
}
