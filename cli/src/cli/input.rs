//! What the user gives the client commands: JSON files (or standard input), record ids,
//! amounts in kronor. A mistake here is a usage or input error (exit 2), found before
//! anything is sent.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use kvitt_node::api::MAX_BODY_BYTES;
use kvitt_protocol::RecordId;

/// Reads a JSON document from `path`, or from standard input for `-`, refusing one the
/// node would not read (over [`MAX_BODY_BYTES`]) or that is not JSON at all.
pub fn read_json(path: &Path) -> anyhow::Result<String> {
    let bytes = read_document(path)?;
    let name = display(path);
    let text = String::from_utf8(bytes).with_context(|| format!("{name} is not JSON (not UTF-8)"))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text).with_context(|| format!("{name} is not JSON"))?;
    Ok(text)
}

/// Reads a document (a receipt to import) from `path`, or from standard input for `-`,
/// refusing one the node would not read (over [`MAX_BODY_BYTES`]).
pub fn read_document(path: &Path) -> anyhow::Result<Vec<u8>> {
    let name = display(path);
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX);
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(limit + 1).read_to_end(&mut bytes)
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
        file.take(limit + 1).read_to_end(&mut bytes)
    };
    read.with_context(|| format!("reading {name}"))?;
    if bytes.len() > MAX_BODY_BYTES {
        anyhow::bail!("{name} is larger than the {MAX_BODY_BYTES} bytes the node reads");
    }
    Ok(bytes)
}

/// How a path given on the command line is named in messages.
fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// A record id on the command line: 64 hex digits.
pub fn record_id(text: &str) -> Result<RecordId, String> {
    text.parse().map_err(|_| format!("{text:?} is not a record id (64 hex digits)"))
}

/// An amount in kronor on the command line, as öre: `1624`, `1624.5`, `1624,50`.
pub fn kronor(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not an amount in kronor (e.g. 1624.50)");
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    whole.checked_mul(100).and_then(|ore| ore.checked_add(fraction)).ok_or_else(invalid)
}

/// A date `YYYY-MM-DD`, checked here so that a typo is a usage error, not a refusal.
pub fn date(text: &str) -> Result<String, String> {
    kvitt_protocol::fields::parse_date("date", text)
        .map(|_| text.to_owned())
        .map_err(|_| format!("{text:?} is not a date YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kronor_become_exact_ore() {
        assert_eq!(kronor("1624"), Ok(162_400));
        assert_eq!(kronor("1624.5"), Ok(162_450));
        assert_eq!(kronor("0,05"), Ok(5));
        assert_eq!(kronor("2.50"), Ok(250));
        for bad in ["", ".5", "1.234", "-3", "1e3", "12 000", "99999999999999999999"] {
            assert!(kronor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_ids_are_64_hex_digits() {
        assert!(record_id(&"ab".repeat(32)).is_ok());
        assert!(record_id("abc").unwrap_err().contains("64 hex digits"));
    }
}
