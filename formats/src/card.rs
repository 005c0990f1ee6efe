//! The card reference a document carries for card routing (spec/routing.md): a payment
//! card token, a network token reference or an EMVCo Payment Account Reference (PAR), which
//! identifies the card account without its number, so that an imported receipt without a
//! buyer goes to the agency that enrolled the card.
//!
//! A masked card number is never a reference (its first six and last four digits are
//! shared by many cards: routing by it would deliver to a stranger's agency), so the
//! payment's masked number is not read here. Where a document puts a card number, masked
//! or whole, in an element that holds a reference, the document is refused at that
//! element: a till that sends one sends it where kvitt must not look for it.

use kvitt_protocol::routing::CardReference;
use kvitt_protocol::ErrorCode;

use crate::error::{bad_value, unsupported, FormatCode, FormatError};
use crate::text;

/// Length of an EMVCo Payment Account Reference.
pub(crate) const PAR_CHARS: usize = 29;

/// A reference as a document writes it, and where.
#[derive(Debug)]
pub(crate) struct Candidate {
    /// As written, surrounding space trimmed.
    pub text: String,
    /// The element or property.
    pub path: String,
}

impl Candidate {
    /// The reference `text` at `path`.
    pub(crate) fn new(text: &str, path: impl Into<String>) -> Candidate {
        Candidate { text: text.trim().to_owned(), path: path.into() }
    }
}

/// Whether `text` reads as a PAR: 29 upper-case letters and digits (EMVCo: a 4-character
/// BIN controller identifier, then 25), never a masked or whole card number (at most 19).
pub(crate) fn is_par(text: &str) -> bool {
    text.len() == PAR_CHARS && text.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

/// The document's card reference: none, or the one its candidates name (a document may
/// repeat it, as the SDRS samples do in `se:Receiver` and `se:Customer`). Refused at the
/// candidate's path: a card number (`payment.masked_pan`), text that is no reference
/// (`format.value`), two different references (`format.unsupported`).
pub(crate) fn reference(candidates: &[Candidate]) -> Result<Option<CardReference>, FormatError> {
    let mut found: Option<(&Candidate, CardReference)> = None;
    for candidate in candidates {
        if text::looks_masked(&candidate.text) {
            return Err(FormatError::new(
                FormatCode::Rule(ErrorCode::MaskedPan),
                &candidate.path,
                "a masked card number is no card reference (it is shared by many cards): give the payment account reference or token reference",
            ));
        }
        let parsed = CardReference::parse(&candidate.path, &candidate.text)
            .map_err(|error| refusal(candidate, &error))?;
        match &found {
            Some((first, _)) if first.text != candidate.text => {
                return Err(unsupported(
                    &candidate.path,
                    format!(
                        "a second card reference, unlike the one at {}: a receipt routes by one card",
                        first.path
                    ),
                ))
            }
            Some(_) => {}
            None => found = Some((candidate, parsed)),
        }
    }
    Ok(found.map(|(_, reference)| reference))
}

/// Why `candidate` is no reference: a card number (`payment.masked_pan`), or anything else
/// (`format.value`).
fn refusal(candidate: &Candidate, error: &kvitt_protocol::Error) -> FormatError {
    if error.code() == ErrorCode::MaskedPan {
        FormatError::new(FormatCode::Rule(ErrorCode::MaskedPan), &candidate.path, error.detail())
    } else {
        bad_value(&candidate.path, format!("not a card reference: {}", error.detail()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAR: &str = "V0010013018209568912345678912";

    #[test]
    fn a_par_is_29_upper_case_letters_and_digits() {
        assert!(is_par(PAR));
        assert!(!is_par(&PAR.to_lowercase()));
        assert!(!is_par(&PAR[1..]));
        assert!(!is_par("************3602"));
    }

    #[test]
    fn repeated_references_are_one_and_different_ones_are_refused() {
        let same = [Candidate::new(PAR, "/a"), Candidate::new(&format!(" {PAR} "), "/b")];
        assert_eq!(reference(&same).unwrap().unwrap().as_str(), PAR);
        assert!(reference(&[]).unwrap().is_none());
        let other = "V0010013018209568912345678913";
        let error = reference(&[Candidate::new(PAR, "/a"), Candidate::new(other, "/b")]).unwrap_err();
        assert_eq!((error.code(), error.path()), (FormatCode::Unsupported, "/b"));
    }

    #[test]
    fn card_numbers_whole_or_masked_are_refused_at_their_path() {
        for number in ["4111111111111111", "************1234", "4111 11xx xxxx 1111", "411111XXXXXX1111"] {
            let error = reference(&[Candidate::new(number, "/r")]).unwrap_err();
            assert_eq!((error.code().as_str(), error.path()), ("payment.masked_pan", "/r"), "{number}");
        }
        let error = reference(&[Candidate::new("short", "/r")]).unwrap_err();
        assert_eq!((error.code(), error.path()), (FormatCode::Value, "/r"));
    }
}
