//! The receipt formats tills already speak, mapped onto kvitt's receipt: SDRS (ARTS
//! DigitalReceipt 2.0.0 XML with the Swedish extension) and Kivra's retail receipt JSON
//! (schema v1.x). Pure: bytes in, a [`Receipt`] or a [`FormatError`] out, no I/O. The
//! node's API and the `kvitt receipt import` command call it; spec/api.md §Mapping from
//! SDRS/ARTS and Kivra-style receipt data is the mapping, field by field.
//!
//! A document is refused, at the path of its element or property, when it cannot be
//! mapped, when it lacks what a Swedish cash-register receipt must show (SKVFS 2014:9 ch. 7
//! §1: seller and organisation number, address, register, serial number, control unit,
//! …), or when the receipt it maps to breaks a receipt rule (the till's figures and
//! kvitt's disagree).
//!
//! ```
//! use kvitt_formats::{import, Format, Supplement};
//!
//! let error = import(Format::Sdrs, b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
//!                    &Supplement::default()).unwrap_err();
//! assert_eq!(error.code().as_str(), "format.syntax"); // no DTD, so no entity is ever expanded
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod assemble;
mod card;
mod decimal;
mod error;
mod kivra;
mod sdrs;
mod text;

pub use assemble::Supplement;
pub use decimal::MAX_DECIMAL_DIGITS;
pub use error::{FormatCode, FormatError};
pub use kvitt_protocol::receipt::Receipt;
pub use kvitt_protocol::routing::CardReference;
pub use sdrs::write::{sdrs_document, SdrsSale};

/// A document mapped: the receipt, and the card reference it carries for card routing
/// (spec/routing.md), if any: the till pushes the receipt without a buyer, and the merchant's
/// node finds the agency that enrolled the card.
#[derive(Debug, PartialEq, Eq)]
pub struct Imported {
    /// The receipt, its buyer the supplement's.
    pub receipt: Receipt,
    /// The card reference the document names (a card token, network token reference or PAR;
    /// spec/api.md §Payments), checked: never a card number.
    pub card: Option<CardReference>,
}

/// Largest document read, in bytes: the client API's body limit (spec/api.md §Limits).
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Most nodes (elements, attributes' owners, text runs) of an SDRS document: a receipt at
/// its 1000-line limit is about 60 000; more is refused before it costs memory.
pub const MAX_XML_NODES: u32 = 200_000;

/// A format a till speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SDRS: ARTS DigitalReceipt 2.0.0 XML with the Swedish extension.
    Sdrs,
    /// Kivra's retail receipt JSON, schema v1.x.
    Kivra,
}

/// The media type of an SDRS receipt in `POST /v1/receipts` (`text/xml` is read too).
pub const SDRS_MEDIA_TYPE: &str = "application/xml";
/// The media type of a Kivra retail receipt in `POST /v1/receipts`: its own, since kvitt's
/// receipt JSON is `application/json`.
pub const KIVRA_MEDIA_TYPE: &str = "application/vnd.kivra.receipt+json";

impl Format {
    /// The format's name on the command line (`--format sdrs`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Sdrs => "sdrs",
            Format::Kivra => "kivra",
        }
    }

    /// The format named `name` (`sdrs`, `kivra`).
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Sdrs, Format::Kivra].into_iter().find(|format| format.name() == name)
    }

    /// The media type a request carrying the format names.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Sdrs => SDRS_MEDIA_TYPE,
            Format::Kivra => KIVRA_MEDIA_TYPE,
        }
    }

    /// The format a `Content-Type` value names, parameters (`; charset=utf-8`) and case
    /// aside; `None` for any other type, kvitt's own `application/json` among them.
    pub fn from_content_type(value: &str) -> Option<Format> {
        let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            SDRS_MEDIA_TYPE | "text/xml" => Some(Format::Sdrs),
            KIVRA_MEDIA_TYPE => Some(Format::Kivra),
            _ => None,
        }
    }
}

/// Maps one document of `format` onto a kvitt receipt, with the buyer and the sale a
/// return refers to taken from `supplement`, and reads the card reference it carries. The
/// receipt returned passes every receipt rule (spec/protocol.md §Receipt rules); what only
/// the merchant's node can check (its own organisation, the buyer's membership, the serial
/// series) is left to it.
pub fn import(format: Format, input: &[u8], supplement: &Supplement) -> Result<Imported, FormatError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(FormatError::new(
            FormatCode::TooLarge,
            "",
            format!("{} bytes, over the limit of {MAX_INPUT_BYTES}", input.len()),
        ));
    }
    let text = std::str::from_utf8(input).map_err(|error| {
        FormatError::new(
            FormatCode::Syntax,
            "",
            format!("not UTF-8 (invalid byte at offset {})", error.valid_up_to()),
        )
    })?;
    let draft = match format {
        Format::Sdrs => sdrs::read(text)?,
        Format::Kivra => kivra::read(text)?,
    };
    draft.finish(supplement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_choose_the_format() {
        assert_eq!(Format::from_content_type("application/xml"), Some(Format::Sdrs));
        assert_eq!(Format::from_content_type("Text/XML; charset=utf-8"), Some(Format::Sdrs));
        assert_eq!(Format::from_content_type(KIVRA_MEDIA_TYPE), Some(Format::Kivra));
        assert_eq!(Format::from_content_type("application/json"), None);
        assert_eq!(Format::from_content_type(""), None);
        assert_eq!(Format::from_name("kivra"), Some(Format::Kivra));
        assert_eq!(Format::from_name("poslog"), None);
    }

    #[test]
    fn input_is_bounded_at_the_limit() {
        let at_limit = vec![b' '; MAX_INPUT_BYTES];
        let error = import(Format::Kivra, &at_limit, &Supplement::default()).unwrap_err();
        assert_eq!(error.code(), FormatCode::Syntax, "read, and found not to be JSON");
        let over = vec![b' '; MAX_INPUT_BYTES + 1];
        let error = import(Format::Kivra, &over, &Supplement::default()).unwrap_err();
        assert_eq!(error.code(), FormatCode::TooLarge);
    }

    #[test]
    fn input_is_utf8() {
        let error = import(Format::Sdrs, b"<a>\xff</a>", &Supplement::default()).unwrap_err();
        assert_eq!(
            (error.code(), error.detail()),
            (FormatCode::Syntax, "not UTF-8 (invalid byte at offset 3)")
        );
    }
}
