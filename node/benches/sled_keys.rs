//! What sled costs a node per receipt, by the ledger keys a receipt writes at an agency
//! (spec/node.md §Ledger layout): the record (`rec/`, its 1.6 KB of bytes under a random
//! id), its channel entry (`chan/`), its buyer-index entry (`buyer/`) and its slot
//! (`slot/`), alone and together; and, for the four together, sled's own `apply_batch`
//! (the node's way: atomic, but sled 0.34 keeps a batch in a `HashMap`, so it inserts in
//! random order) against the same keys inserted one by one in key order (not atomic, so
//! not something the node may do; it prices the order alone).
//!
//! Each variant writes [`RECEIPTS`] receipts into a fresh sled ledger in groups of
//! [`GROUP`], flushing after each as the group commit does (without the fsync, which is
//! waiting, not CPU), and reports the process's CPU per receipt: the figure to compare on
//! a shared machine, where wall time follows the load.
//!
//! Run: `cargo bench -p kvitt-node --bench sled_keys` (`KVITT_BENCH_DIR` says where the
//! temporary ledgers go, default the current directory). Last line:
//! `result: sled_us_per_receipt_four_keys=… record_only=… record_key_only=… four_keys_in_key_order=…`
//! (`record_key_only`: `rec/` keys with 16-byte values, the price of the key without the
//! record's bytes).

#[path = "shared/cpu.rs"]
mod cpu;

use kvitt_node::ledger::keys;
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::{PublicKey, RecordId};

/// Receipts each variant writes.
const RECEIPTS: u64 = 40_960;
/// Receipts per group commit (four merchants' batches of 256, as in the ingest bench).
const GROUP: u64 = 1_024;
/// The size of the ingest bench's receipts as stored.
const RECORD_BYTES: usize = 1_586;

/// Which key families a variant writes, and how.
struct Variant {
    name: &'static str,
    families: &'static [Family],
    in_key_order: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Record,
    /// `rec/` with 16 bytes for a value (where a record kept outside the B-tree would be),
    /// to tell sled's price of a key from its price of the record's bytes.
    RecordPointer,
    Channel,
    Buyer,
    Slot,
}

const ALL: &[Family] = &[Family::Record, Family::Channel, Family::Buyer, Family::Slot];

const VARIANTS: [Variant; 8] = [
    Variant { name: "rec/ alone", families: &[Family::Record], in_key_order: false },
    Variant { name: "rec/ alone, 16-byte values", families: &[Family::RecordPointer], in_key_order: false },
    Variant { name: "chan/ alone", families: &[Family::Channel], in_key_order: false },
    Variant { name: "buyer/ alone", families: &[Family::Buyer], in_key_order: false },
    Variant { name: "slot/ alone", families: &[Family::Slot], in_key_order: false },
    Variant {
        name: "chan/ + buyer/ + slot/",
        families: &[Family::Channel, Family::Buyer, Family::Slot],
        in_key_order: false,
    },
    Variant { name: "all four (apply_batch)", families: ALL, in_key_order: false },
    Variant { name: "all four, one by one in key order", families: ALL, in_key_order: true },
];

/// The keys and values receipt number `serial` writes in `families`.
fn entries(serial: u64, families: &[Family], record: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let merchant = PublicKey([3; 32]);
    let id = RecordId::of(&serial.to_be_bytes());
    let time = 1_767_222_000 + serial / 4;
    let employee = format!("emp-{}", serial % 50);
    families
        .iter()
        .map(|family| match family {
            Family::Record => (keys::record(&id), record.to_vec()),
            Family::RecordPointer => (keys::record(&id), serial.to_be_bytes().repeat(2)),
            Family::Channel => (keys::channel(&merchant, time, &id), Vec::new()),
            Family::Buyer => (
                keys::buyer("202100-5489", Some(&employee), i64::try_from(time).unwrap_or(0), &id),
                Vec::new(),
            ),
            Family::Slot => {
                let slot = Slot::Receipt { signer: merchant, register: "KASSA-1".into(), serial };
                (keys::slot(&slot), id.as_bytes().to_vec())
            }
        })
        .collect()
}

/// CPU microseconds per receipt of writing [`RECEIPTS`] receipts as `variant` says.
fn run(dir: &std::path::Path, variant: &Variant) -> f64 {
    let ledger = tempfile::tempdir_in(dir).unwrap();
    let db = sled::Config::new().path(ledger.path()).cache_capacity(256 << 20).open().unwrap();
    let record = vec![0xa5; RECORD_BYTES];
    let before = cpu::process_time().expect("/proc/self/stat");
    for group in 0..RECEIPTS / GROUP {
        let mut group_entries: Vec<(Vec<u8>, Vec<u8>)> = (group * GROUP..(group + 1) * GROUP)
            .flat_map(|serial| entries(serial, variant.families, &record))
            .collect();
        if variant.in_key_order {
            group_entries.sort();
            for (key, value) in group_entries {
                db.insert(key, value).unwrap();
            }
        } else {
            let mut batch = sled::Batch::default();
            for (key, value) in group_entries {
                batch.insert(key, value);
            }
            db.apply_batch(batch).unwrap();
        }
        db.flush().unwrap();
    }
    let used = cpu::process_time().expect("/proc/self/stat").saturating_sub(before);
    used.as_secs_f64() * 1e6 / RECEIPTS as f64
}

fn main() {
    let dir = std::env::var_os("KVITT_BENCH_DIR").unwrap_or_else(|| ".".into());
    println!(
        "sled CPU per receipt by key family, {RECEIPTS} receipts in groups of {GROUP}, each group flushed"
    );
    let mut figures = Vec::new();
    for variant in &VARIANTS {
        let micros = run(std::path::Path::new(&dir), variant);
        println!("  {:<36} {micros:>6.1} µs CPU a receipt", variant.name);
        figures.push(micros);
    }
    println!(
        "result: sled_us_per_receipt_four_keys={:.1} record_only={:.1} record_key_only={:.1} four_keys_in_key_order={:.1}",
        figures[6], figures[0], figures[1], figures[7]
    );
}
