//! spec/reconcile.md §Sizes, written from the spec alone: every committed session's
//! responder chose symbols or lists, and sized its first batch, by the estimate d =
//! max(⌈Σδ²/128⌉, |count difference|, 1), and the initiator asked for ⌊n/2⌋ (at least 16)
//! more. These are the roundings an implementation needs to reproduce the frames.

use kvitt_protocol::reconcile::{MAX_RECONCILE_SYMBOLS, MAX_SYMBOLS_PER_FRAME};

use super::*;

/// The estimate d of §Sizes from two estimators on the wire (128 counters, 2 bytes each).
fn spec_estimate(ours: &[u8], theirs: &[u8], our_count: u64, their_count: u64) -> u64 {
    let squares: u64 = ours
        .chunks(2)
        .zip(theirs.chunks(2))
        .map(|(a, b)| {
            let a = u16::from_be_bytes([a[0], a[1]]);
            let b = u16::from_be_bytes([b[0], b[1]]);
            let delta = i64::from(a.wrapping_sub(b) as i16);
            (delta * delta) as u64
        })
        .sum();
    squares.div_ceil(128).max(our_count.abs_diff(their_count)).max(1)
}

impl Committed {
    /// The sizes of every frame of a session, by §Sizes.
    fn follow_the_sizes(&self) -> Result<(), String> {
        let keys = SpecKeys::new(&self.initiator.initiator_salt()?);
        let (their_count, our_count) = (self.initiator.items.len() as u64, self.responder.items.len() as u64);
        let mut symbols_received = 0u64;
        let mut estimate = None;
        for (index, (frame, kind)) in self.frames.iter().enumerate() {
            let map: Value =
                ciborium::from_reader(frame.bytes.as_slice()).map_err(|error| error.to_string())?;
            let at = |why: String| format!("frames[{index}] ({kind}): {why}");
            match kind.as_str() {
                "hello" => {
                    let (_, ours) = spec_summary(&keys, &self.responder.items);
                    let d = spec_estimate(&ours, field_bytes(&map, "estimator")?, our_count, their_count);
                    estimate = Some(d);
                }
                "symbols" | "list" if index == 1 => {
                    let d = estimate.ok_or("no hello")?;
                    let lists = our_count == 0
                        || their_count == 0
                        || u128::from(d) * 70 >= u128::from(our_count + their_count) * 40
                        || u128::from(d) * 14 > MAX_RECONCILE_SYMBOLS as u128 * 10;
                    if lists != (kind == "list") {
                        return Err(at(format!(
                            "d = {d} calls for {}",
                            if lists { "lists" } else { "symbols" }
                        )));
                    }
                    if kind == "symbols" {
                        let first = ((d * 18).div_ceil(10) + 12).min(MAX_SYMBOLS_PER_FRAME as u64);
                        let sent = (field_bytes(&map, "symbols")?.len() / SYMBOL_BYTES) as u64;
                        if sent != first {
                            return Err(at(format!("{sent} symbols, d = {d} calls for {first}")));
                        }
                        symbols_received = sent;
                    }
                }
                "symbols" => symbols_received += (field_bytes(&map, "symbols")?.len() / SYMBOL_BYTES) as u64,
                "more" => {
                    let n = symbols_received;
                    let expected =
                        (n / 2).clamp(16, MAX_SYMBOLS_PER_FRAME as u64).min(MAX_RECONCILE_SYMBOLS as u64 - n);
                    let asked = field_uint(&map, "symbols")?;
                    if asked != expected {
                        return Err(at(format!("asks for {asked} after {n}, §Sizes says {expected}")));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[test]
fn session_vectors_follow_the_spec_sizes() {
    let sessions: Vec<Committed> =
        committed_vectors().into_iter().filter(|vector| vector.kind == "session").collect();
    let failures: Vec<String> = sessions
        .iter()
        .filter_map(|vector| vector.follow_the_sizes().err().map(|why| format!("{}: {why}", vector.name)))
        .collect();
    assert!(failures.is_empty(), "{} vectors fail:\n  {}", failures.len(), failures.join("\n  "));
    // Both branches and a `more` are exercised, or the check proves little.
    let kinds: BTreeSet<&str> =
        sessions.iter().flat_map(|vector| vector.frames.iter().map(|(_, kind)| kind.as_str())).collect();
    assert!(["symbols", "list", "more"].iter().all(|kind| kinds.contains(kind)), "{kinds:?}");
}
