//! What decoding a signed record costs, beside the one step it cannot avoid: verifying its
//! ed25519 signature. A node's ingest is bounded by this on every core it has.
//!
//! Run: `cargo bench -p kvitt-protocol --bench records`. It signs a realistic receipt
//! (four lines at two VAT rates, a card payment), then times, single-threaded:
//! `verify_strict` alone, `cbor::decode` alone (well-formedness, profile, duplicate keys,
//! determinism), and the whole `AnyRecord::decode` (all of that, the typed body, its
//! rules and the signature), and prints each as a rate and as a ratio to LIMITS.md.
//! Last line: `result: decode_per_s=… verify_per_s=… decode_vs_verify=…`.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use ed25519_dalek::{Signature, SigningKey, Verifier as _};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{cbor, sample, AnyRecord, Signed};

/// LIMITS.md: ed25519 `verify_strict` on this machine, per second, one core.
const VERIFY_STRICT_PER_S: f64 = 29_200.0;
/// LIMITS.md: ciborium decode of a ~1.2 KB receipt, per second.
const CIBORIUM_DECODE_PER_S: f64 = 259_000.0;
const ROUNDS: usize = 20_000;

/// The sample hotel night with breakfast, a soft drink from the minibar and a charging
/// cable, each line with an article number.
fn receipt() -> Receipt {
    let mut receipt = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1042);
    receipt.lines.push(sample::line("Minibar, läsk", "food", 1000, 3_500, 600));
    receipt.lines.push(sample::line("Laddkabel", "general", 1000, 24_900, 2500));
    for line in &mut receipt.lines {
        line.article = Some("ART-1042".into());
    }
    sample::paid_by_card(receipt, "T-88001", "612345678901")
}

/// Runs `work` ROUNDS times (after a tenth as warm-up) and returns the rate per second.
fn rate(mut work: impl FnMut()) -> f64 {
    for _ in 0..ROUNDS / 10 {
        work();
    }
    let started = Instant::now();
    for _ in 0..ROUNDS {
        work();
    }
    ROUNDS as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let signed = Signed::sign(receipt(), &key).unwrap();
    let bytes = signed.bytes().to_vec();
    let message = b"a 1 KB message stands in for the signing input".repeat(22);
    let signature: Signature = ed25519_dalek::Signer::sign(&key, &message);
    let verifying = key.verifying_key();
    println!("signed receipt of {} bytes, {ROUNDS} rounds each, one thread", bytes.len());

    let verify = rate(|| {
        verifying.verify_strict(black_box(&message), &signature).unwrap();
    });
    println!(
        "verify_strict alone:   {verify:>9.0}/s ({:.2} of LIMITS.md's {VERIFY_STRICT_PER_S:.0}/s)",
        verify / VERIFY_STRICT_PER_S
    );
    let _ = verifying.verify(&message, &signature);
    let cbor = rate(|| {
        black_box(cbor::decode(black_box(&bytes)).unwrap());
    });
    println!(
        "cbor::decode alone:    {cbor:>9.0}/s ({:.2} of ciborium's {CIBORIUM_DECODE_PER_S:.0}/s decode)",
        cbor / CIBORIUM_DECODE_PER_S
    );
    let decode = rate(|| {
        black_box(AnyRecord::decode(black_box(&bytes)).unwrap());
    });
    println!(
        "AnyRecord::decode:     {decode:>9.0}/s ({:.2} of verify_strict alone: the rest is decoding and rules)",
        decode / verify
    );
    println!(
        "result: decode_per_s={decode:.0} verify_per_s={verify:.0} decode_vs_verify={:.2}",
        decode / verify
    );
}
