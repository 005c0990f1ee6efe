//! Decimal numbers as both formats write them (`558.00`, `25.`, `1.29500`, JSON's `1.5e2`),
//! read exactly into integers: minor units, thousandths, basis points. Never a binary
//! float: `0.1 + 0.2` is `0.3` here.

use kvitt_protocol::fields::currency_exponent;

use crate::error::{bad_value, FormatError};

/// Most significant digits a decimal may have (a receipt amount has at most 14 before the
/// point and a few after; 30 leaves room for trailing zeros, `1.29500`).
pub const MAX_DECIMAL_DIGITS: usize = 30;

/// A decimal number: `mantissa × 10^-scale`, negative if `negative`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    /// Reads `text`: an optional sign, digits with at most one point (`1.`, `.5` and `1.50`
    /// as XML Schema's `xs:decimal` allows), and, for JSON, an optional exponent `e±N`.
    /// `None` for anything else, or more than [`MAX_DECIMAL_DIGITS`] digits.
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, text.get(1..)?),
            Some(b'+') => (false, text.get(1..)?),
            _ => (false, text),
        };
        let (number, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((number, exponent)) => (number, Some(exponent)),
            None => (unsigned, None),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let significant = whole.trim_start_matches('0').len() + fraction.len();
        if significant > MAX_DECIMAL_DIGITS {
            return None;
        }
        let mut mantissa: u128 = 0;
        for byte in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(u128::from(byte - b'0'))?;
        }
        let mut scale = i64::try_from(fraction.len()).ok()?;
        if let Some(exponent) = exponent {
            let exponent: i64 = exponent.parse().ok().filter(|value: &i64| value.abs() <= 40)?;
            scale -= exponent;
        }
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        Some(Decimal { negative: negative && mantissa != 0, mantissa, scale: u32::try_from(scale).ok()? })
    }

    /// The product of two decimals, exactly (`None` if it overflows).
    pub(crate) fn times(self, other: Decimal) -> Option<Decimal> {
        let mantissa = self.mantissa.checked_mul(other.mantissa)?;
        Some(Decimal {
            negative: (self.negative != other.negative) && mantissa != 0,
            mantissa,
            scale: self.scale.checked_add(other.scale)?,
        })
    }

    /// The value × 10^places as an integer, if that is exact and fits an `i64`.
    pub(crate) fn scaled(self, places: u32) -> Option<i64> {
        let value = if places >= self.scale {
            self.mantissa.checked_mul(10u128.checked_pow(places - self.scale)?)?
        } else {
            let divisor = 10u128.checked_pow(self.scale - places)?;
            if self.mantissa % divisor != 0 {
                return None;
            }
            self.mantissa / divisor
        };
        let value = i64::try_from(value).ok()?;
        Some(if self.negative { -value } else { value })
    }

    /// Whether the number is below zero.
    pub(crate) fn is_negative(self) -> bool {
        self.negative
    }
}

/// `text` read as a decimal, or `format.value` at `path`.
pub(crate) fn decimal(path: &str, text: &str) -> Result<Decimal, FormatError> {
    Decimal::parse(text).ok_or_else(|| bad_value(path, format!("{text:?} is not a decimal number")))
}

/// An amount of `currency` in its minor units (`558.00` SEK → 55800 öre), exactly.
pub(crate) fn minor_units(path: &str, value: Decimal, currency: &str) -> Result<i64, FormatError> {
    let exponent = currency_exponent(currency);
    value.scaled(exponent).ok_or_else(|| {
        bad_value(
            path,
            format!("not a whole number of {currency} minor units (10^-{exponent}), or out of range"),
        )
    })
}

/// A quantity in thousandths of its unit (`1.295` → 1295), exactly.
pub(crate) fn thousandths(path: &str, value: Decimal) -> Result<i64, FormatError> {
    value.scaled(3).ok_or_else(|| bad_value(path, "a quantity has at most three decimals (thousandths)"))
}

/// A VAT percentage in basis points (`25.` → 2500, `12.00` → 1200), 0 … 100 %.
pub(crate) fn basis_points(path: &str, value: Decimal) -> Result<u32, FormatError> {
    value
        .scaled(2)
        .and_then(|points| u32::try_from(points).ok())
        .filter(|points| *points <= 10_000)
        .ok_or_else(|| bad_value(path, "a VAT percentage is 0 … 100 with at most two decimals"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaled(text: &str, places: u32) -> Option<i64> {
        Decimal::parse(text)?.scaled(places)
    }

    #[test]
    fn decimals_read_exactly() {
        assert_eq!(scaled("558.00", 2), Some(55_800));
        assert_eq!(scaled("0.1", 2), Some(10));
        assert_eq!(scaled("25.", 2), Some(2500));
        assert_eq!(scaled(".5", 2), Some(50));
        assert_eq!(scaled("1.29500", 3), Some(1295));
        assert_eq!(scaled("1.2951", 3), None, "a fourth decimal that is not zero");
        assert_eq!(scaled("-49.00", 2), Some(-4900));
        assert_eq!(scaled("+7", 0), Some(7));
        assert_eq!(scaled("1.5e2", 0), Some(150));
        assert_eq!(scaled("15E-1", 1), Some(15));
        assert_eq!(scaled("-0", 0), Some(0));
        assert!(!Decimal::parse("-0.00").is_some_and(Decimal::is_negative));
        for bad in ["", ".", "-", "1.2.3", "1,5", "0x10", "1e", "1e99", " ", "NaN", "1 000"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digits_are_limited_at_the_edge() {
        let most = "9".repeat(MAX_DECIMAL_DIGITS);
        assert!(Decimal::parse(&most).is_some());
        assert!(Decimal::parse(&format!("{most}9")).is_none());
        assert!(Decimal::parse(&format!("000{most}")).is_some(), "leading zeros are not significant");
        assert_eq!(scaled(&most, 2), None, "does not fit an i64");
    }

    #[test]
    fn products_are_exact() {
        let quantity = Decimal::parse("1").unwrap().times(Decimal::parse("2").unwrap()).unwrap();
        assert_eq!(quantity.scaled(3), Some(2000));
        let weight = Decimal::parse("1.29500").unwrap().times(Decimal::parse("1.00").unwrap()).unwrap();
        assert_eq!(weight.scaled(3), Some(1295));
    }

    #[test]
    fn units_follow_the_currency() {
        let value = Decimal::parse("12.34").unwrap();
        assert_eq!(minor_units("p", value, "SEK"), Ok(1234));
        assert_eq!(minor_units("p", value, "JPY").unwrap_err().path(), "p");
        assert_eq!(basis_points("p", Decimal::parse("12.00").unwrap()), Ok(1200));
        assert!(basis_points("p", Decimal::parse("100.01").unwrap()).is_err());
        assert!(basis_points("p", Decimal::parse("-6").unwrap()).is_err());
        assert_eq!(thousandths("p", Decimal::parse("0.935").unwrap()), Ok(935));
    }
}
