//! How often a session of coded symbols needs a third round trip, and what it costs: many
//! salts over the same pair of sets, for a few sizes of difference, with the differing
//! items the newest or scattered. A measurement, not a check of a bound: run it with
//! `cargo test --release -p kvitt-protocol --test reconcile rounds -- --ignored --nocapture`.

use std::collections::BTreeSet;

use kvitt_protocol::reconcile::{Item, Salt};
use kvitt_protocol::RecordId;

use super::{assert_mirrors, run, sets};

/// Items a side.
const ITEMS: usize = 100_000;
/// Sessions per row, each under its own initiator salt.
const SALTS: u64 = 200;
/// negentropy's bytes for 100 differences among the newest of 1,000,000 items a side
/// (README.md §Reconciliation against negentropy): the goal a session of 100 stays within.
const NEGENTROPY_BYTES: usize = 5_229;
/// The times of the sets: one year.
const YEAR_SECONDS: u64 = 365 * 24 * 3600;

/// Two sets of `ITEMS` items that differ in `differences` (half on each side), the
/// differing items the newest of both sets when `newest`.
fn pair(differences: usize, newest: bool) -> (Vec<Item>, Vec<Item>, super::Outcome) {
    let half = differences / 2;
    let (mut ours, mut theirs, expected) = sets(differences as u64, ITEMS - half, half, half, YEAR_SECONDS);
    if newest {
        let differing: BTreeSet<RecordId> =
            expected.have.iter().chain(expected.need.ids().unwrap_or_default()).copied().collect();
        for items in [&mut ours, &mut theirs] {
            for item in items.iter_mut().filter(|item| differing.contains(&item.id)) {
                item.time += YEAR_SECONDS;
            }
            items.sort_unstable();
        }
    }
    (ours, theirs, expected)
}

#[test]
#[ignore = "a measurement of many sessions; run it in release with --ignored --nocapture"]
fn share_of_sessions_that_need_a_third_round_trip() {
    println!("{ITEMS} items a side, {SALTS} salts a row");
    println!("| differences | where | sessions over 2 round trips | mean bytes | largest bytes | sessions over {NEGENTROPY_BYTES} B |");
    println!("|---|---|---|---|---|---|");
    for differences in [10, 100, 1_000] {
        for newest in [true, false] {
            let (ours, theirs, expected) = pair(differences, newest);
            let (mut over, mut bytes, mut largest, mut heavy) = (0u64, 0usize, 0usize, 0u64);
            for seed in 0..SALTS {
                let mut salt = [0x5a; 16];
                salt[..8].copy_from_slice(&seed.to_le_bytes());
                let session = run(&ours, &theirs, Salt(salt)).unwrap();
                assert_eq!(session.initiator, expected, "initiator's outcome");
                assert_mirrors(&session.responder, &expected);
                over += u64::from(session.round_trips() > 2);
                bytes += session.bytes;
                largest = largest.max(session.bytes);
                heavy += u64::from(session.bytes > NEGENTROPY_BYTES);
            }
            println!(
                "| {differences} | {} | {:.1} % ({over}) | {} | {largest} | {:.1} % |",
                if newest { "newest" } else { "scattered" },
                over as f64 * 100.0 / SALTS as f64,
                bytes / SALTS as usize,
                heavy as f64 * 100.0 / SALTS as f64,
            );
        }
    }
}
