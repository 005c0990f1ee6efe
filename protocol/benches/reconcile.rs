//! kvitt's set reconciliation beside negentropy's, on the same sets, in the same run.
//!
//! Run: `cargo bench -p kvitt-protocol --bench reconcile`. Each side holds 1,000,000 items
//! (times spread over a year, ids random, from a fixed seed); the scenarios differ in which
//! items one side lacks, split evenly between the two sides:
//!
//! - `identical`: none;
//! - `newest_100`: the 100 newest;
//! - `scattered_100`: 100 anywhere;
//! - `scattered_10000`: 10,000 anywhere.
//!
//! kvitt runs twice: hashing each side's items for the session (`ours`), and with hello
//! summaries both sides keep under a reused initiator salt (`ours kept`, spec/reconcile.md
//! §Keys and hashes), which hold the hello's sums and the set's first coded symbols. The
//! summaries are made before the clock starts, as a node's channel index keeps them while
//! its channel grows (`ChannelIndex::hello`, one `HelloSummary::add` per stored item); what
//! that costs an item is measured too (`keeping`), on a summary of a million items.
//!
//! For each implementation it prints round trips (frames both ways, halved and rounded up:
//! negentropy's initiator learns the difference when its last answer arrives; kvitt's
//! sessions end with both sides knowing it), bytes each way, and the CPU time of each side
//! (single-threaded, so wall time), and checks every outcome against the truth. negentropy
//! runs without a frame limit (its best round trips); kvitt keeps every frame within
//! `MAX_RECONCILE_FRAME_BYTES`. The last lines, one per scenario:
//! `result: scenario=<name> ours_rtt=<n> ours_bytes=<total> negentropy_rtt=<n>
//! negentropy_bytes=<total> kept_cpu_ms=<initiator>/<responder> negentropy_cpu_ms=<initiator>/<responder>
//! kept_cpu_ratio=<the larger side's ratio>`, then `result: keeping_us_per_item=<µs>`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kvitt_protocol::reconcile::{HelloSummary, Initiator, Item, Need, Outcome, Responder, Salt, Step};
use kvitt_protocol::RecordId;
use negentropy::{Id, Negentropy, NegentropyStorageVector};

const ITEMS: usize = 1_000_000;
/// 2026-01-01T00:00:00Z; times spread over the year after it.
const YEAR_START: u64 = 1_767_225_600;
const YEAR_SECONDS: u64 = 365 * 24 * 3600;
/// The most differences a scenario has.
const MAX_DIFFERENCES: usize = 10_000;

/// splitmix64: a fixed, seedable stream for the sets (the bench needs no randomness crate).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn id(&mut self) -> RecordId {
        let mut id = [0u8; 32];
        for chunk in id.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        RecordId(id)
    }

    fn salt(&mut self) -> Salt {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&self.next().to_le_bytes());
        salt[8..].copy_from_slice(&self.next().to_le_bytes());
        Salt(salt)
    }
}

struct Scenario {
    name: &'static str,
    ours: Vec<Item>,
    theirs: Vec<Item>,
    /// What the initiator (ours) lacks and has that the responder lacks.
    expected: Outcome,
}

/// Where the differing items are.
enum Where {
    Newest,
    Scattered,
}

/// The first `ITEMS + differences / 2` items of `base` are the union; `differences` of them
/// (the newest, or picked at random) are each dropped from one side, half from each, so
/// that each side holds exactly `ITEMS`.
fn scenario(
    name: &'static str,
    base: &[Item],
    differences: usize,
    at: Where,
    stream: &mut Stream,
) -> Scenario {
    let union = &base[..ITEMS + differences / 2];
    let mut differing: Vec<usize> = match at {
        Where::Newest => (union.len() - differences..union.len()).collect(),
        Where::Scattered => {
            let mut chosen = BTreeSet::new();
            while chosen.len() < differences {
                chosen.insert((stream.next() % union.len() as u64) as usize);
            }
            chosen.into_iter().collect()
        }
    };
    for at in (1..differing.len()).rev() {
        differing.swap(at, (stream.next() % (at as u64 + 1)) as usize);
    }
    let (to_ours, to_theirs) = differing.split_at(differing.len() / 2);
    let only_ours: BTreeSet<usize> = to_ours.iter().copied().collect();
    let only_theirs: BTreeSet<usize> = to_theirs.iter().copied().collect();
    let ours: Vec<Item> =
        union.iter().enumerate().filter(|(at, _)| !only_theirs.contains(at)).map(|(_, item)| *item).collect();
    let theirs: Vec<Item> =
        union.iter().enumerate().filter(|(at, _)| !only_ours.contains(at)).map(|(_, item)| *item).collect();
    let sorted_ids = |positions: &BTreeSet<usize>| {
        let mut ids: Vec<RecordId> = positions.iter().map(|at| union[*at].id).collect();
        ids.sort_unstable();
        ids
    };
    let expected = Outcome { have: sorted_ids(&only_ours), need: Need::Ids(sorted_ids(&only_theirs)) };
    Scenario { name, ours, theirs, expected }
}

/// What one run cost.
#[derive(Default)]
struct Cost {
    frames: usize,
    bytes_to_responder: usize,
    bytes_to_initiator: usize,
    initiator_time: Duration,
    responder_time: Duration,
}

impl Cost {
    fn rtt(&self) -> usize {
        self.frames.div_ceil(2)
    }

    fn bytes(&self) -> usize {
        self.bytes_to_responder + self.bytes_to_initiator
    }

    fn milliseconds(&self) -> (f64, f64) {
        (self.initiator_time.as_secs_f64() * 1e3, self.responder_time.as_secs_f64() * 1e3)
    }
}

/// Whether both sides keep their hello summaries under the initiator's salt.
#[derive(Clone, Copy, PartialEq)]
enum Hello {
    Hashed,
    Kept,
}

fn run_ours(scenario: &Scenario, stream: &mut Stream, hello: Hello) -> Cost {
    let mut cost = Cost::default();
    let initiator_salt = stream.salt();
    // Drawn and dropped: the responder's salt before the protocol dropped it. Drawing it
    // still gives every run the initiator salt of earlier runs, so figures compare.
    stream.salt();
    let (mut initiator, mut responder) = match hello {
        Hello::Hashed => (
            Initiator::new(&scenario.ours, initiator_salt).unwrap(),
            Responder::new(&scenario.theirs).unwrap(),
        ),
        Hello::Kept => (
            Initiator::with_hello(&scenario.ours, HelloSummary::of(&scenario.ours, initiator_salt)).unwrap(),
            Responder::with_hello(&scenario.theirs, HelloSummary::of(&scenario.theirs, initiator_salt))
                .unwrap(),
        ),
    };
    let clock = Instant::now();
    let mut to_responder = Some(initiator.start().unwrap());
    cost.initiator_time += clock.elapsed();
    let (mut initiator_outcome, mut responder_outcome) = (None, None);
    while let Some(frame) = to_responder.take() {
        cost.frames += 1;
        cost.bytes_to_responder += frame.len();
        let clock = Instant::now();
        let step = responder.receive(&frame).unwrap();
        cost.responder_time += clock.elapsed();
        let to_initiator = match step {
            Step::Send(bytes) => Some(bytes),
            Step::Done { last, outcome } => {
                responder_outcome = Some(outcome);
                last
            }
        };
        let Some(frame) = to_initiator else { break };
        cost.frames += 1;
        cost.bytes_to_initiator += frame.len();
        let clock = Instant::now();
        let step = initiator.receive(&frame).unwrap();
        cost.initiator_time += clock.elapsed();
        match step {
            Step::Send(bytes) => to_responder = Some(bytes),
            Step::Done { last, outcome } => {
                initiator_outcome = Some(outcome);
                to_responder = last;
            }
        }
    }
    let (initiator_outcome, responder_outcome) = (initiator_outcome.unwrap(), responder_outcome.unwrap());
    assert_eq!(initiator_outcome, scenario.expected, "{}: initiator's outcome", scenario.name);
    let responder_have = Some(responder_outcome.have.as_slice());
    assert_eq!(responder_have, scenario.expected.need.ids(), "{}: responder's have", scenario.name);
    // After coded symbols the responder learns only how many it lacks.
    let lacking = scenario.expected.have.len() as u64;
    assert_eq!(responder_outcome.need.count(), lacking, "{}: responder's need", scenario.name);
    cost
}

fn storage(items: &[Item]) -> NegentropyStorageVector {
    let mut storage = NegentropyStorageVector::with_capacity(items.len());
    for item in items {
        storage.insert(item.time, Id::from_byte_array(item.id.0)).unwrap();
    }
    storage.seal().unwrap();
    storage
}

fn run_negentropy(scenario: &Scenario) -> Cost {
    let mut cost = Cost::default();
    let (ours, theirs) = (storage(&scenario.ours), storage(&scenario.theirs));
    let mut initiator = Negentropy::borrowed(&ours, 0).unwrap();
    let mut responder = Negentropy::borrowed(&theirs, 0).unwrap();
    let (mut have, mut need) = (Vec::new(), Vec::new());
    let clock = Instant::now();
    let mut query = initiator.initiate().unwrap();
    cost.initiator_time += clock.elapsed();
    loop {
        cost.frames += 1;
        cost.bytes_to_responder += query.len();
        let clock = Instant::now();
        let answer = responder.reconcile(&query).unwrap();
        cost.responder_time += clock.elapsed();
        cost.frames += 1;
        cost.bytes_to_initiator += answer.len();
        let clock = Instant::now();
        let next = initiator.reconcile_with_ids(&answer, &mut have, &mut need).unwrap();
        cost.initiator_time += clock.elapsed();
        match next {
            Some(next) => query = next,
            None => break,
        }
    }
    let sorted = |ids: Vec<Id>| -> BTreeSet<[u8; 32]> { ids.into_iter().map(|id| id.to_bytes()).collect() };
    let truth = |ids: &[RecordId]| -> BTreeSet<[u8; 32]> { ids.iter().map(|id| id.0).collect() };
    assert_eq!(sorted(have), truth(&scenario.expected.have), "{}: negentropy's have", scenario.name);
    assert_eq!(
        sorted(need),
        truth(scenario.expected.need.ids().unwrap_or_default()),
        "{}: negentropy's need",
        scenario.name
    );
    cost
}

fn describe(who: &str, cost: &Cost) {
    println!(
        "  {who:<10} rtt {:>2}  frames {:>3}  bytes {:>10} (→ {:>9}, ← {:>9})  cpu initiator {:>7.1} ms, responder {:>7.1} ms",
        cost.rtt(),
        cost.frames,
        cost.bytes(),
        cost.bytes_to_responder,
        cost.bytes_to_initiator,
        cost.initiator_time.as_secs_f64() * 1e3,
        cost.responder_time.as_secs_f64() * 1e3,
    );
}

fn main() {
    let mut stream = Stream(0x6b76_6974_7421);
    let mut base: Vec<Item> = (0..ITEMS + MAX_DIFFERENCES / 2)
        .map(|_| Item { time: YEAR_START + stream.next() % YEAR_SECONDS, id: stream.id() })
        .collect();
    base.sort_unstable();
    base.dedup();
    assert_eq!(base.len(), ITEMS + MAX_DIFFERENCES / 2);
    let scenarios = vec![
        scenario("identical", &base, 0, Where::Scattered, &mut stream),
        scenario("newest_100", &base, 100, Where::Newest, &mut stream),
        scenario("scattered_100", &base, 100, Where::Scattered, &mut stream),
        scenario("scattered_10000", &base, 10_000, Where::Scattered, &mut stream),
    ];
    println!(
        "set reconciliation, {} items a side (differences split between the sides); kvitt (ours) vs negentropy 0.5",
        ITEMS
    );
    let mut results = Vec::new();
    for scenario in &scenarios {
        println!(
            "{}: initiator {} items, responder {}, differences {} + {}",
            scenario.name,
            scenario.ours.len(),
            scenario.theirs.len(),
            scenario.expected.have.len(),
            scenario.expected.need.count()
        );
        let ours = run_ours(scenario, &mut stream, Hello::Hashed);
        describe("ours", &ours);
        let kept = run_ours(scenario, &mut stream, Hello::Kept);
        describe("ours kept", &kept);
        let negentropy = run_negentropy(scenario);
        describe("negentropy", &negentropy);
        let ((kept_i, kept_r), (neg_i, neg_r)) = (kept.milliseconds(), negentropy.milliseconds());
        results.push(format!(
            "result: scenario={} ours_rtt={} ours_bytes={} negentropy_rtt={} negentropy_bytes={} \
             kept_cpu_ms={kept_i:.1}/{kept_r:.1} negentropy_cpu_ms={neg_i:.1}/{neg_r:.1} kept_cpu_ratio={:.2}",
            scenario.name,
            ours.rtt(),
            ours.bytes(),
            negentropy.rtt(),
            negentropy.bytes(),
            (kept_i / neg_i).max(kept_r / neg_r),
        ));
    }
    let keeping = keeping_cost(&scenarios[0].ours, &base[ITEMS..], &mut stream);
    println!("keeping a summary of {ITEMS} items: {keeping:.2} µs an added item");
    results.push(format!("result: keeping_us_per_item={keeping:.2}"));
    for line in results {
        println!("{line}");
    }
}

/// What a node pays per stored item to keep a summary up to date: `HelloSummary::add` of
/// each of `added` to a summary of `items`.
fn keeping_cost(items: &[Item], added: &[Item], stream: &mut Stream) -> f64 {
    let mut summary = HelloSummary::of(items, stream.salt());
    let clock = Instant::now();
    for item in added {
        summary.add(item);
    }
    clock.elapsed().as_secs_f64() * 1e6 / added.len() as f64
}
