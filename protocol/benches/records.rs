//! What decoding a signed record costs, beside the one step it cannot avoid: verifying its
//! ed25519 signature. A node's ingest is bounded by this on every core it has.
//!
//! Run: `cargo bench -p kvitt-protocol --bench records`. It signs a realistic receipt
//! (four lines at two VAT rates, a card payment), then times, single-threaded and in the
//! same run: `verify_strict` alone (the key decoded once); plain ciborium decoding the
//! receipt's bytes into a value tree, and `cbor::decode` doing the same with every check of
//! the profile; the strict decode and rules of the receipt without its signature
//! (`AnyRecord::decode_trusted`, which skips the signature and the rules, then the rules);
//! and the whole `AnyRecord::decode` (the signature included, its key decoded each time).
//! Last lines: `result: decode_per_s=… verify_per_s=… decode_vs_verify=…`, where
//! `decode_vs_verify` is how many strict decodes fit in the time of one signature check
//! (goal ≥ 3), and `result: cbor_decode_per_s=… ciborium_decode_per_s=… cbor_vs_ciborium=…`
//! (goal ≥ 0.5). Then whole messages, in one pass against the value tree:
//! `result: deliver_decode_per_s=… deliver_by_value_per_s=… reconcile_decode_per_s=…
//! reconcile_by_value_per_s=…` for a 512-record delivery and a reconciliation frame.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use ed25519_dalek::{Signature, SigningKey};
use kvitt_protocol::limits::MAX_RECORDS_PER_DELIVERY;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::reconcile::{Fingerprint, Message, SYMBOL_BYTES};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody};
use kvitt_protocol::{cbor, sample, AnyRecord, Record as _, Signed};

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
fn rate(work: impl FnMut()) -> f64 {
    rate_of(ROUNDS, work)
}

/// Runs `work` `rounds` times (after a tenth as warm-up) and returns the rate per second.
fn rate_of(rounds: usize, mut work: impl FnMut()) -> f64 {
    for _ in 0..rounds / 10 {
        work();
    }
    let started = Instant::now();
    for _ in 0..rounds {
        work();
    }
    rounds as f64 / started.elapsed().as_secs_f64()
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
    println!("verify_strict alone:      {verify:>9.0}/s");
    let ciborium = rate(|| {
        black_box(ciborium::de::from_reader::<ciborium::Value, _>(black_box(bytes.as_slice())).unwrap());
    });
    println!("plain ciborium decode:    {ciborium:>9.0}/s (a value tree, nothing checked)");
    let cbor = rate(|| {
        black_box(cbor::decode(black_box(&bytes)).unwrap());
    });
    println!("cbor::decode alone:       {cbor:>9.0}/s ({:.2} of plain ciborium)", cbor / ciborium);
    let decode = rate(|| {
        let record = AnyRecord::decode_trusted(black_box(&bytes)).unwrap();
        if let AnyRecord::Receipt(receipt) = &record {
            receipt.body().validate().unwrap();
        }
        black_box(record);
    });
    println!(
        "strict decode and rules:  {decode:>9.0}/s ({:.2} per signature check: all but the signature)",
        decode / verify
    );
    let whole = rate(|| {
        black_box(AnyRecord::decode(black_box(&bytes)).unwrap());
    });
    println!("AnyRecord::decode:        {whole:>9.0}/s (the signature and its key included)");
    batch_figures(&key, verify);
    message_figures(&key);
    println!(
        "result: decode_per_s={decode:.0} verify_per_s={verify:.0} decode_vs_verify={:.2}",
        decode / verify
    );
    println!(
        "result: cbor_decode_per_s={cbor:.0} ciborium_decode_per_s={ciborium:.0} cbor_vs_ciborium={:.2}",
        cbor / ciborium
    );
}

/// Signatures per batch in the batch figures: a delivery of receipts from one merchant.
const BATCH: usize = 64;

/// What checking a batch of signatures by one signer costs per signature, beside
/// `verify_strict` alone (`verify`): ed25519-dalek's `verify_batch`, which is
/// cofactorless and so not strict for points with a small-order component, and the check
/// that would make it strict, that R has no such component (a scalar multiplication by
/// the group order per signature); then decoding a batch of receipts with
/// `AnyRecord::decode_batch`, which decodes the signer's key once, against one by one.
fn batch_figures(key: &SigningKey, verify: f64) {
    let verifying = key.verifying_key();
    let messages: Vec<Vec<u8>> =
        (0..BATCH).map(|index| format!("receipt {index}").repeat(60).into_bytes()).collect();
    let signatures: Vec<Signature> =
        messages.iter().map(|message| ed25519_dalek::Signer::sign(key, message)).collect();
    let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let keys = vec![verifying; BATCH];
    let batch = rate_of(ROUNDS / BATCH, || {
        ed25519_dalek::verify_batch(black_box(&slices), &signatures, &keys).unwrap();
    }) * BATCH as f64;
    println!(
        "verify_batch of {BATCH}:       {batch:>9.0}/s ({:.2} of verify_strict; not strict)",
        batch / verify
    );
    let torsion = rate_of(ROUNDS / BATCH, || {
        for signature in &signatures {
            let r = ed25519_dalek::VerifyingKey::from_bytes(signature.r_bytes()).unwrap();
            assert!(black_box(r.to_edwards().is_torsion_free()));
        }
    }) * BATCH as f64;
    println!("R torsion-free check:     {torsion:>9.0}/s ({:.2} of verify_strict)", torsion / verify);
    let receipts: Vec<Vec<u8>> = (0..BATCH as u64)
        .map(|serial| {
            let mut receipt = receipt();
            receipt.serial = 2000 + serial;
            Signed::sign(receipt, key).unwrap().bytes().to_vec()
        })
        .collect();
    let one_by_one = rate_of(ROUNDS / BATCH, || {
        for bytes in &receipts {
            black_box(AnyRecord::decode(black_box(bytes)).unwrap());
        }
    }) * BATCH as f64;
    let together = rate_of(ROUNDS / BATCH, || {
        for record in AnyRecord::decode_batch(receipts.iter().map(Vec::as_slice)) {
            black_box(record.unwrap());
        }
    }) * BATCH as f64;
    println!(
        "AnyRecord::decode_batch:  {together:>9.0}/s ({:.2} of AnyRecord::decode one by one, {one_by_one:.0}/s)",
        together / one_by_one
    );
    let key_decode = rate(|| {
        black_box(kvitt_protocol::PublicKey::from(verifying).verifying_key().unwrap());
    });
    println!("signer key decode:        {key_decode:>9.0}/s ({:.2} of verify_strict)", key_decode / verify);
}

/// Rounds of the message figures: a 512-record delivery is about 600 KB.
const DELIVERY_ROUNDS: usize = 200;

/// What decoding a whole message costs, in one pass (`Request::decode`,
/// `Message::decode`) against the value tree they used before
/// (`cbor::decode_by_value`), in the same run: a delivery of
/// [`MAX_RECORDS_PER_DELIVERY`] receipts, and the first symbols frame of a reconciliation
/// (count, fingerprint and 1,000 coded symbols).
fn message_figures(key: &SigningKey) {
    let records = (0..MAX_RECORDS_PER_DELIVERY as u64)
        .map(|serial| {
            let mut receipt = receipt();
            receipt.serial = 5000 + serial;
            RecordBytes(Signed::sign(receipt, key).unwrap().bytes().to_vec())
        })
        .collect();
    let delivery = Request { directory_version: 7, body: RequestBody::Deliver { records } };
    let delivery = delivery.encode().unwrap();
    let deliver = rate_of(DELIVERY_ROUNDS, || {
        black_box(Request::decode(black_box(&delivery)).unwrap());
    });
    let deliver_by_value = rate_of(DELIVERY_ROUNDS, || {
        black_box(cbor::decode_by_value::<Request>(black_box(&delivery)).unwrap());
    });
    println!(
        "deliver request decode:   {deliver:>9.1}/s one pass, {deliver_by_value:.1}/s by the value tree \
         ({} records, {} bytes; {:.2}x)",
        MAX_RECORDS_PER_DELIVERY,
        delivery.len(),
        deliver / deliver_by_value
    );
    let frame = Message::Symbols {
        count: Some(1_000_000),
        fingerprint: Some(Fingerprint([9; 16])),
        start: 0,
        symbols: vec![0x5a; 1000 * SYMBOL_BYTES],
    };
    let frame = frame.encode().unwrap();
    let reconcile = rate(|| {
        black_box(Message::decode(black_box(&frame)).unwrap());
    });
    let reconcile_by_value = rate(|| {
        black_box(cbor::decode_by_value::<Message>(black_box(&frame)).unwrap());
    });
    println!(
        "reconcile frame decode:   {reconcile:>9.0}/s one pass, {reconcile_by_value:.0}/s by the value tree \
         ({} bytes; {:.2}x)",
        frame.len(),
        reconcile / reconcile_by_value
    );
    println!(
        "result: deliver_decode_per_s={deliver:.1} deliver_by_value_per_s={deliver_by_value:.1} \
         reconcile_decode_per_s={reconcile:.0} reconcile_by_value_per_s={reconcile_by_value:.0}"
    );
}
