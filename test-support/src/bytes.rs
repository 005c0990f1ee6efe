//! Byte surgery on encoded records and messages, for tests that need bytes no encoder makes.

/// `bytes` with the one occurrence of `from` replaced by `to` (of any length). Panics unless
/// `from` occurs exactly once: a test that changes nothing, or not the place it means,
/// proves nothing.
pub fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let found: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, window)| *window == from)
        .map(|(at, _)| at)
        .collect();
    let hex: String = from.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(found.len(), 1, "{hex} must occur exactly once");
    [&bytes[..found[0]], to, &bytes[found[0] + from.len()..]].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_one_occurrence_with_bytes_of_any_length() {
        assert_eq!(replace_once(b"abcd", b"bc", b"XY"), b"aXYd");
        assert_eq!(replace_once(b"abcd", b"bc", b"XYZ"), b"aXYZd");
        assert_eq!(replace_once(b"abcd", b"bc", b""), b"ad");
    }

    #[test]
    #[should_panic(expected = "7a7a must occur exactly once")]
    fn refuses_bytes_that_are_not_there() {
        replace_once(b"abc", b"zz", b"yy");
    }

    #[test]
    #[should_panic(expected = "6263 must occur exactly once")]
    fn refuses_bytes_that_occur_twice() {
        replace_once(b"abcabc", b"bc", b"XY");
    }
}
