//! Channels: who is entitled to hold each kind of record, and the reconciliation order.

use kvitt_test_support::named;

use std::collections::BTreeSet;

use kvitt_protocol::channel::{claim_parties, item_time, parties, record_time, Parties};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::{AnyRecord, PublicKey, Signed};
use named::{claim, directory, key, public, receipt, submitted};

fn members(names: &[&str]) -> Parties {
    Parties::Members(names.iter().map(|name| public(name)).collect::<BTreeSet<PublicKey>>())
}

#[test]
fn a_receipt_belongs_to_its_merchant_and_buyer_and_a_claim_to_the_agency_and_its_ssc() {
    let directory = directory();
    let signed = Signed::sign(receipt(), &key("merchant")).unwrap();
    let record = AnyRecord::Receipt(signed.clone());
    assert_eq!(parties(&record, &directory), members(&["merchant", "agency"]));

    let claim = AnyRecord::Claim(Signed::sign(claim(signed.id(), 100), &key("agency")).unwrap());
    assert_eq!(parties(&claim, &directory), members(&["agency", "ssc"]));

    let event = AnyRecord::ClaimEvent(Signed::sign(submitted(claim.id()), &key("agency")).unwrap());
    assert_eq!(parties(&event, &directory), Parties::OfClaim(claim.id()), "an event follows its claim");
}

#[test]
fn the_directory_belongs_to_every_member_and_evidence_to_the_parties_of_its_records() {
    let directory = directory();
    let signed_directory = AnyRecord::Directory(Signed::sign(directory.clone(), &key("operator")).unwrap());
    assert_eq!(parties(&signed_directory, &directory), members(&["merchant", "agency", "ssc"]));

    let first = AnyRecord::Receipt(Signed::sign(receipt(), &key("merchant")).unwrap());
    let mut other = receipt();
    other.lines[0].description = "Dubbelrum".into();
    let second = AnyRecord::Receipt(Signed::sign(other.with_computed_totals(), &key("merchant")).unwrap());
    let evidence = Evidence::new(&first, &second, "2026-05-07T09:00:00+02:00".into()).unwrap();
    let evidence = AnyRecord::Evidence(Signed::sign(evidence, &key("agency")).unwrap());
    assert_eq!(parties(&evidence, &directory), members(&["merchant", "agency"]));
}

#[test]
fn a_party_the_directory_does_not_list_is_left_out() {
    let mut directory = directory();
    directory.members.retain(|member| member.key != public("ssc"));
    assert_eq!(claim_parties(named::AGENCY_ORG, &directory), BTreeSet::from([public("agency")]));
    let record = AnyRecord::Receipt(Signed::sign(receipt(), &key("merchant")).unwrap());
    directory.members.retain(|member| member.key != public("agency"));
    assert_eq!(parties(&record, &directory), members(&["merchant"]));
}

#[test]
fn a_record_sits_at_the_time_it_states() {
    let record = AnyRecord::Receipt(Signed::sign(receipt(), &key("merchant")).unwrap());
    assert_eq!(receipt().issued_at, "2026-05-04T08:15:00+02:00");
    let stated = time::macros::datetime!(2026-05-04 06:15 UTC);
    assert_eq!(record_time(&record), u64::try_from(stated.unix_timestamp()).unwrap());
}

/// spec/protocol.md §Record time: every row of the example table (field text, time) is what
/// the reference gives, the instants before the epoch included.
#[test]
fn record_time_examples_match_the_spec() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/protocol.md")).unwrap();
    let rows: Vec<(String, u64)> = spec
        .lines()
        .skip_while(|line| *line != "### Record time")
        .take_while(|line| *line != "## Limits")
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let text = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((text.to_owned(), cells.get(2)?.parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), 8, "{rows:?}");
    for (text, expected) in rows {
        let time = kvitt_protocol::fields::parse_time("t", &text).unwrap();
        assert_eq!(item_time(&time), expected, "{text}");
    }
}
