//! spec/kvitt.cddl as the tests read it, and validation of encoded CBOR against it.

/// spec/kvitt.cddl as the `cddl` crate should read it. RFC 8610 §3.8.3 makes `.regexp` an
/// XSD regular expression, which matches the whole text; the crate (0.10.7) calls
/// `Regex::is_match`, which matches any substring, so `"[A-Z]{3}"` would pass `"SEKX"`.
/// Each pattern is therefore anchored here, `^(?:…)$`, to validate by the RFC's meaning.
pub fn kvitt_cddl() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/kvitt.cddl");
    anchor_patterns(&std::fs::read_to_string(path).unwrap())
}

/// `document` with each `.regexp "…"` pattern anchored at both ends.
fn anchor_patterns(document: &str) -> String {
    let mut anchored = String::with_capacity(document.len() + 256);
    let mut rest = document;
    while let Some(at) = rest.find(".regexp \"") {
        let (before, pattern) = rest.split_at(at + ".regexp \"".len());
        anchored.push_str(before);
        // The pattern ends at the first quote not escaped by a backslash.
        let mut end = 0;
        let mut escaped = false;
        for (index, character) in pattern.char_indices() {
            match character {
                '"' if !escaped => {
                    end = index;
                    break;
                }
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
        }
        anchored.push_str(&format!("^(?:{})$", &pattern[..end]));
        rest = &pattern[end..];
    }
    anchored.push_str(rest);
    anchored
}

/// Validates `bytes` against the root rule (the first) of a parsed CDDL document.
pub fn validate_cddl(schema: &cddl::ast::CDDL<'_>, bytes: &[u8]) -> Result<(), String> {
    let value: ciborium::value::Value = ciborium::from_reader(bytes).map_err(|error| error.to_string())?;
    let mut validator = cddl::validator::cbor::CBORValidator::new(schema, value.into(), None);
    cddl::validator::Validator::validate(&mut validator).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_anchored_and_escaped_quotes_kept() {
        let document = r#"a = tstr .regexp "[A-Z]{3}" b = tstr .regexp "x\"y""#;
        assert_eq!(
            anchor_patterns(document),
            r#"a = tstr .regexp "^(?:[A-Z]{3})$" b = tstr .regexp "^(?:x\"y)$""#
        );
    }

    #[test]
    fn an_anchored_pattern_refuses_a_longer_text() {
        let text = "root = tstr .regexp \"[A-Z]{3}\"";
        let document = anchor_patterns(text);
        let schema = cddl::parser::cddl_from_str(&document, false).unwrap();
        let mut sekx = Vec::new();
        ciborium::into_writer(&"SEKX", &mut sekx).unwrap();
        let mut sek = Vec::new();
        ciborium::into_writer(&"SEK", &mut sek).unwrap();
        assert!(validate_cddl(&schema, &sek).is_ok());
        assert!(validate_cddl(&schema, &sekx).is_err());
    }
}
