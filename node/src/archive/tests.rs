//! Export from a ledger holding receipts and a paid claim, verify, and damage the bundle
//! in each way the verifier must name.

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kvitt_protocol::event::{Action, Actor, ClaimEvent, Role};
use kvitt_protocol::sample::{self, AGENCY_ORG, MERCHANT_ORG};
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, RecordType, Signed};
use time::macros::{date, datetime};

use super::export::{bundle, write_tar, Source};
use super::layout::{self, MANIFEST};
use super::{manifest, verify, ArchiveError, Period};
use crate::ledger::{keys, put_record, Ledger};
use crate::store::{Batch, MemoryStore, Store};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(key: &SigningKey) -> PublicKey {
    PublicKey::from(key.verifying_key())
}

/// What the fixture ledger holds.
struct Fixture {
    ledger: Ledger,
    operator: PublicKey,
    claimed: RecordId,
    unclaimed: RecordId,
    claim: RecordId,
    events: Vec<RecordId>,
}

/// A ledger with two receipts of 2026-05-04 and a claim of 2026-05-06 for the first,
/// submitted, approved, booked and paid.
fn fixture() -> Fixture {
    let (merchant, agency, ssc, operator) = (key(1), key(2), key(3), key(4));
    let directory =
        Signed::sign(sample::directory(public(&merchant), public(&agency), public(&ssc)), &operator).unwrap();
    let claimed = Signed::sign(sample::receipt(MERCHANT_ORG, AGENCY_ORG, "KASSA-1", 1), &merchant).unwrap();
    let unclaimed = Signed::sign(sample::receipt(MERCHANT_ORG, AGENCY_ORG, "KASSA-1", 2), &merchant).unwrap();
    let claim = Signed::sign(sample::claim(claimed.id(), 162_400), &agency).unwrap();
    let steps = [
        (Role::Employee, Action::Submitted, &agency, "2026-05-06T10:05:00+02:00"),
        (Role::Approver, Action::Approved, &agency, "2026-05-07T09:00:00+02:00"),
        (Role::Ssc, Action::Booked { series: "K".into(), number: 1 }, &ssc, "2026-05-08T09:00:00+02:00"),
        (
            Role::Ssc,
            Action::Paid { date: "2026-05-25".into(), reference: None },
            &ssc,
            "2026-05-25T09:00:00+02:00",
        ),
    ];
    let mut batch = Batch::new();
    let mut events = Vec::new();
    let mut previous = None;
    for (position, (role, action, signer, at)) in steps.into_iter().enumerate() {
        let event = ClaimEvent {
            claim: claim.id(),
            previous,
            at: at.into(),
            actor: Actor { person: "person".into(), role },
            action,
        };
        let event = Signed::sign(event, signer).unwrap();
        batch.insert(
            keys::chain(&claim.id(), u32::try_from(position).unwrap()),
            event.id().as_bytes().to_vec(),
        );
        previous = Some(event.id());
        events.push(event.id());
        put_record(&mut batch, &AnyRecord::ClaimEvent(event));
    }
    put_record(&mut batch, &AnyRecord::Directory(directory));
    put_record(&mut batch, &AnyRecord::Receipt(claimed.clone()));
    put_record(&mut batch, &AnyRecord::Receipt(unclaimed.clone()));
    put_record(&mut batch, &AnyRecord::Claim(claim.clone()));
    let store = Arc::new(MemoryStore::new());
    store.apply(&batch).unwrap();
    Fixture {
        ledger: Ledger::new(store),
        operator: public(&operator),
        claimed: claimed.id(),
        unclaimed: unclaimed.id(),
        claim: claim.id(),
        events,
    }
}

/// The bundle of May 6 to 31, 2026 from the fixture.
fn may_bundle(fixture: &Fixture) -> BTreeMap<String, Vec<u8>> {
    let source = Source {
        ledger: &fixture.ledger,
        directories: vec![],
        network: "kvitt-test".into(),
        org: "202100-5489".into(),
        operator_key: fixture.operator,
    };
    let period = Period::new(date!(2026 - 05 - 06), date!(2026 - 05 - 31)).unwrap();
    bundle(&source, period, datetime!(2026-06-01 12:00 UTC)).unwrap().0
}

/// Writes the manifest again, as a forger who changed a file would.
fn reseal(files: &mut BTreeMap<String, Vec<u8>>) {
    files.remove(MANIFEST);
    let text = manifest::render(files);
    files.insert(MANIFEST.into(), text.into_bytes());
}

#[test]
fn a_period_with_a_paid_claim_exports_whole_and_verifies() {
    let fixture = fixture();
    let files = may_bundle(&fixture);
    // The claim of May 6 brings its receipt of May 4; the other receipt of May 4 stays out.
    assert!(files.contains_key(&layout::record_file(RecordType::Receipt, &fixture.claimed)));
    assert!(!files.contains_key(&layout::record_file(RecordType::Receipt, &fixture.unclaimed)));
    let chain: Vec<String> = fixture.events.iter().map(ToString::to_string).collect();
    assert_eq!(files[&layout::chain_file(&fixture.claim)], format!("{}\n", chain.join("\n")).into_bytes());
    let report = verify::verify_files(&files).unwrap();
    assert_eq!(report.records, [("claim", 1), ("claim_event", 4), ("receipt", 1)].into());
    assert_eq!((report.directories, report.chains), (1, 1));
    assert_eq!(report.files, files.len() - 1);
    assert_eq!(report.info.operator_key, fixture.operator);
    assert_eq!((report.info.from.as_str(), report.info.to.as_str()), ("2026-05-06", "2026-05-31"));
}

#[test]
fn the_tar_on_disk_verifies_and_is_never_overwritten() {
    let fixture = fixture();
    let files = may_bundle(&fixture);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("2026-05.tar");
    write_tar(&files, &out).unwrap();
    let report = verify::verify_bundle(&out).unwrap();
    assert_eq!(report.records.values().sum::<usize>(), 6);
    let before = std::fs::read(&out).unwrap();
    assert!(matches!(write_tar(&files, &out), Err(ArchiveError::OutExists(_))));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // README first: a person listing the tar meets it first.
    let mut archive = tar::Archive::new(before.as_slice());
    let first = archive.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(first.path().unwrap().to_str(), Some(layout::README));
}

#[test]
fn a_flipped_byte_in_a_record_is_named() {
    let fixture = fixture();
    let file = layout::record_file(RecordType::Receipt, &fixture.claimed);
    let mut files = may_bundle(&fixture);
    let byte = files.get_mut(&file).unwrap().get_mut(40).unwrap();
    *byte ^= 1;
    match verify::verify_files(&files) {
        Err(ArchiveError::HashMismatch { file: named, .. }) => assert_eq!(named, file),
        other => panic!("{other:?}"),
    }
    // With the manifest written again, the content id and signature still catch it.
    reseal(&mut files);
    let error = verify::verify_files(&files).unwrap_err();
    assert!(
        matches!(&error, ArchiveError::Invalid { file: named, .. } | ArchiveError::Misnamed { file: named, .. } if *named == file),
        "{error}"
    );
}

#[test]
fn a_deleted_file_is_named() {
    let fixture = fixture();
    let mut files = may_bundle(&fixture);
    let event = layout::record_file(RecordType::ClaimEvent, &fixture.events[2]);
    files.remove(&event).unwrap();
    match verify::verify_files(&files) {
        Err(ArchiveError::Missing { file }) => assert_eq!(file, event),
        other => panic!("{other:?}"),
    }
    // Deleted from the manifest too: the chain misses it.
    reseal(&mut files);
    let error = verify::verify_files(&files).unwrap_err();
    assert!(matches!(&error, ArchiveError::Chain { claim, .. } if *claim == fixture.claim), "{error}");
    assert!(error.to_string().contains(&fixture.events[2].to_string()), "{error}");
}

#[test]
fn a_record_whose_signer_no_bundled_directory_lists_is_named() {
    let fixture = fixture();
    let mut files = may_bundle(&fixture);
    let stranger = Signed::sign(sample::receipt(MERCHANT_ORG, AGENCY_ORG, "KASSA-9", 1), &key(9)).unwrap();
    let file = layout::record_file(RecordType::Receipt, &stranger.id());
    files.insert(file.clone(), stranger.bytes().to_vec());
    reseal(&mut files);
    match verify::verify_files(&files) {
        Err(ArchiveError::SignerNotVouched { file: named, record, signer }) => {
            assert_eq!((named, record, signer), (file, stranger.id(), public(&key(9))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directory_not_signed_by_the_operator_is_named() {
    let fixture = fixture();
    let mut files = may_bundle(&fixture);
    let info = files.get_mut(layout::INFO).unwrap();
    let text = String::from_utf8(info.clone())
        .unwrap()
        .replace(&fixture.operator.to_string(), &public(&key(8)).to_string());
    *info = text.into_bytes();
    reseal(&mut files);
    let error = verify::verify_files(&files).unwrap_err();
    assert!(matches!(error, ArchiveError::NotOperator { .. }), "{error}");
}

#[test]
fn an_unlisted_file_and_an_unsafe_path_are_refused() {
    let fixture = fixture();
    let mut files = may_bundle(&fixture);
    files.insert("extra.txt".into(), b"x".to_vec());
    assert!(
        matches!(verify::verify_files(&files), Err(ArchiveError::Unlisted { file }) if file == "extra.txt")
    );
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_entry_type(tar::EntryType::Regular);
    // `append_data` refuses `..`; write the name into the header as a hostile tool would.
    header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
    header.set_cksum();
    tar.append(&header, &b"x"[..]).unwrap();
    let bytes = tar.into_inner().unwrap();
    let error = verify::read_tar(bytes.as_slice(), "hostile.tar").unwrap_err();
    assert!(matches!(error, ArchiveError::Unreadable { ref file, .. } if file == "../escape"), "{error}");
}

#[test]
fn a_period_that_ends_before_it_begins_is_refused() {
    let error = Period::new(date!(2026 - 06 - 01), date!(2026 - 05 - 31)).unwrap_err();
    assert!(matches!(error, ArchiveError::EmptyPeriod { .. }), "{error}");
}

#[test]
fn a_ledger_missing_a_claim_its_events_name_makes_no_bundle() {
    let fixture = fixture();
    let mut batch = Batch::new();
    batch.remove(keys::record(&fixture.claim));
    fixture.ledger.store().apply(&batch).unwrap();
    let source = Source {
        ledger: &fixture.ledger,
        directories: vec![],
        network: "kvitt-test".into(),
        org: "202100-5489".into(),
        operator_key: fixture.operator,
    };
    let period = Period::new(date!(2026 - 05 - 06), date!(2026 - 05 - 31)).unwrap();
    match bundle(&source, period, datetime!(2026-06-01 12:00 UTC)) {
        Err(ArchiveError::Dangling { missing, .. }) => assert_eq!(missing, fixture.claim),
        other => panic!("{:?}", other.map(|(_, summary)| summary)),
    }
}
