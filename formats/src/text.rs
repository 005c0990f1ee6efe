//! Values both formats write the same way and kvitt writes its own way: organisation
//! numbers, codes, countries, masked card numbers, card brands on a terminal slip.

/// A Swedish organisation number as kvitt writes it, `NNNNNN-NNNN`, from what tills write:
/// ten digits (`5560160680`), the same with the hyphen, the twelve-digit form with the
/// century-like prefix `16`, or the VAT number `SE` + ten digits + `01`. Anything else is
/// passed on as written, for the receipt rules to name.
pub(crate) fn organisation_number(text: &str) -> String {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = |part: &str| part.len() == 10 && part.bytes().all(|byte| byte.is_ascii_digit());
    let ten = if digits(&compact) {
        Some(compact.as_str())
    } else if let Some(rest) = compact.strip_prefix("16").filter(|rest| digits(rest)) {
        Some(rest)
    } else if let Some(rest) = compact.strip_prefix("SE").and_then(|rest| rest.strip_suffix("01")) {
        Some(rest).filter(|rest| digits(rest))
    } else {
        None
    };
    match ten.and_then(|ten| Some((ten.get(..6)?, ten.get(6..)?))) {
        Some((head, tail)) => format!("{head}-{tail}"),
        None => compact,
    }
}

/// A kvitt code from a designation: surrounding space dropped, every character a code may
/// not hold (spec/protocol.md §Field formats: letters, digits, `- _ . / :`) replaced by `-`,
/// so `Kassa 1` is `Kassa-1`.
pub(crate) fn code(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_./:".contains(c) { c } else { '-' })
        .collect()
}

/// The ISO 3166 code of a country as an address writes it: a two-letter code as is,
/// Sweden by its Swedish or English name.
pub(crate) fn country(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() == 2 && text.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        return Some(text.to_ascii_uppercase());
    }
    ["sverige", "sweden"].contains(&text.to_lowercase().as_str()).then(|| "SE".to_owned())
}

/// A masked card number as kvitt writes it: spaces dropped, the mask characters `x`, `X`
/// and `#` written `*`.
pub(crate) fn masked_pan(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if matches!(c, 'x' | 'X' | '#') { '*' } else { c })
        .collect()
}

/// Whether a text (a terminal slip line) is a masked card number: 12 … 19 digits and mask
/// characters, at least one of each.
pub(crate) fn looks_masked(text: &str) -> bool {
    let pan = masked_pan(text);
    (12..=19).contains(&pan.len())
        && pan.bytes().all(|byte| byte.is_ascii_digit() || byte == b'*')
        && pan.contains('*')
        && pan.bytes().any(|byte| byte.is_ascii_digit())
}

/// Card brands as a terminal slip names them (upper case) and as kvitt writes them.
const CARD_BRANDS: [(&str, &str); 9] = [
    ("AMERICAN EXPRESS", "American Express"),
    ("AMEX", "American Express"),
    ("MASTERCARD", "Mastercard"),
    ("MAESTRO", "Maestro"),
    ("VISA", "Visa"),
    ("DINERS", "Diners Club"),
    ("JCB", "JCB"),
    ("DISCOVER", "Discover"),
    ("UNIONPAY", "UnionPay"),
];

/// The card brand a slip line names (`VISA`, `Bankkort VISA`, `Debit MasterCard`), as a
/// word of its own.
pub(crate) fn card_brand(text: &str) -> Option<&'static str> {
    let upper = text.to_uppercase();
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    CARD_BRANDS.iter().find_map(|(name, brand)| {
        let name_words: Vec<&str> = name.split(' ').collect();
        words.windows(name_words.len()).any(|window| window == name_words.as_slice()).then_some(*brand)
    })
}

/// A slip line's label as the terminal writes it (`Term:`, `Ref.nr: `, `AUT.KOD:`), for
/// comparison: trimmed, without a trailing colon, in upper case.
pub(crate) fn label(text: &str) -> String {
    text.trim().trim_end_matches(':').trim().to_uppercase()
}

/// Labels of the terminal id on Swedish payment slips.
pub(crate) const TERMINAL_LABELS: [&str; 5] = ["TERM", "TERMID", "TERM.ID", "TERMINAL-ID", "TERMINAL"];
/// Labels of the retrieval reference number.
pub(crate) const RRN_LABELS: [&str; 4] = ["REF", "REF.NR", "REFERENSNR", "REF.NR."];
/// Labels of the approval (authorisation) code.
pub(crate) const APPROVAL_LABELS: [&str; 4] = ["AUT.KOD", "AUT", "AUTH.CODE", "AUTH"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_numbers_get_their_hyphen() {
        assert_eq!(organisation_number("5560160680"), "556016-0680");
        assert_eq!(organisation_number("556016-0680"), "556016-0680");
        assert_eq!(organisation_number("165560160680"), "556016-0680");
        assert_eq!(organisation_number("SE556016068001"), "556016-0680");
        assert_eq!(organisation_number(" 5560160680 "), "556016-0680");
        assert_eq!(organisation_number("SE11223344449"), "SE11223344449", "not a VAT number's form");
        assert_eq!(organisation_number("DE:HRB12345"), "DE:HRB12345");
    }

    #[test]
    fn codes_and_countries() {
        assert_eq!(code(" Kassa 1 "), "Kassa-1");
        assert_eq!(code("Kassa Ö/2"), "Kassa--/2");
        assert_eq!(country("Sverige").as_deref(), Some("SE"));
        assert_eq!(country("se").as_deref(), Some("SE"));
        assert_eq!(country("Norge"), None);
    }

    #[test]
    fn card_data_on_slips() {
        assert_eq!(masked_pan("xxxxxxxxxxxx1234"), "************1234");
        assert_eq!(masked_pan("**** **** **** 0979"), "************0979");
        assert!(looks_masked("**** **** **** 0979"));
        assert!(!looks_masked("7320080100046136"), "a terminal id, all digits");
        assert_eq!(card_brand("Bankkort VISA"), Some("Visa"));
        assert_eq!(card_brand("Debit MasterCard"), Some("Mastercard"));
        assert_eq!(card_brand("AMERICAN EXPRESS"), Some("American Express"));
        assert_eq!(card_brand("VISAKORT"), None, "a brand is a word of its own");
        assert_eq!(label("Ref.nr: "), "REF.NR");
        assert!(TERMINAL_LABELS.contains(&label("Termid: ").as_str()));
    }
}
