//! Claim events, directories, evidence.

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{Action, Actor, ClaimEvent, Role};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::fields::format_date;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{AnyRecord, Signed};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::envelopes::KEY_POOL;
use super::fields::{address, any_date, any_time, code, free_text, name_text, record_id, short_text};
use super::receipts::receipt;
use super::reference::org_number;

/// Every action, with its fields.
pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Submitted),
        option::of(free_text()).prop_map(|note| Action::Reviewed { note }),
        Just(Action::Approved),
        free_text().prop_map(|reason| Action::Rejected { reason }),
        Just(Action::Withdrawn),
        (code(), 1u64..).prop_map(|(series, number)| Action::Booked { series, number }),
        (any_date(), option::of(name_text()))
            .prop_map(|(date, reference)| Action::Paid { date: format_date(date), reference }),
    ]
}

/// A valid claim event with any action, role and (optional) predecessor.
pub fn claim_event() -> impl Strategy<Value = ClaimEvent> {
    (
        record_id(),
        option::of(record_id()),
        any_time(),
        short_text(),
        select(vec![Role::Employee, Role::Approver, Role::Ssc]),
        action(),
    )
        .prop_map(|(claim, previous, at, person, role, action)| ClaimEvent {
            claim,
            previous,
            at,
            actor: Actor { person, role },
            action,
        })
}

/// One member before its key, organisation and `serves` are assigned.
#[derive(Clone, Debug)]
struct MemberSeed {
    role: MemberRole,
    foreign: bool,
    name: String,
    addresses: Vec<String>,
    /// For an agency: which SSC serves it (modulo one more than their count: none).
    ssc_pick: usize,
}

fn member_seed() -> impl Strategy<Value = MemberSeed> {
    (
        prop_oneof![
            3 => Just(MemberRole::Merchant),
            3 => Just(MemberRole::Agency),
            1 => Just(MemberRole::Ssc),
        ],
        any::<bool>(),
        name_text(),
        vec(address(), 1..=3),
        any::<usize>(),
    )
        .prop_map(|(role, foreign, name, addresses, ssc_pick)| MemberSeed {
            role,
            foreign,
            name,
            addresses,
            ssc_pick,
        })
}

/// A valid directory: 1-30 members with distinct keys (from [`KEY_POOL`]) and distinct
/// organisations (Swedish, or `DE:` for some merchants); from three members on, the first
/// is an SSC; each agency is served by one SSC or none.
pub fn directory() -> impl Strategy<Value = Directory> {
    (1usize..=30)
        .prop_flat_map(|count| {
            (
                subsequence((0..64).collect::<Vec<usize>>(), count),
                btree_set(0u32..1_000_000_000, count),
                vec(member_seed(), count),
                code(),
                any::<u64>(),
                any_time(),
            )
        })
        .prop_map(|(keys, prefixes, seeds, network, version, issued_at)| {
            let count = seeds.len();
            let mut members: Vec<Member> = seeds
                .iter()
                .zip(keys.iter().zip(&prefixes))
                .enumerate()
                .map(|(index, (seed, (&key, &prefix)))| {
                    let role = if index == 0 && count >= 3 { MemberRole::Ssc } else { seed.role };
                    let org = if role == MemberRole::Merchant && seed.foreign {
                        format!("DE:HRB{index}")
                    } else {
                        org_number(prefix)
                    };
                    Member {
                        role,
                        org,
                        name: seed.name.clone(),
                        key: KEY_POOL[key],
                        addresses: seed.addresses.clone(),
                        serves: vec![],
                    }
                })
                .collect();
            let sscs: Vec<usize> =
                (0..count).filter(|&index| members[index].role == MemberRole::Ssc).collect();
            for (index, seed) in seeds.iter().enumerate() {
                let pick = seed.ssc_pick % (sscs.len() + 1);
                if members[index].role == MemberRole::Agency && pick < sscs.len() {
                    let agency = members[index].org.clone();
                    members[sscs[pick]].serves.push(agency);
                }
            }
            Directory { network, version, issued_at, members }
        })
}

/// Valid evidence: two different receipts on one register with one serial, signed by the
/// same merchant key, ordered by `Evidence::new`.
pub fn evidence() -> impl Strategy<Value = Evidence> {
    (receipt(), receipt(), any::<[u8; 32]>(), any_time())
        .prop_map(|(first, second, seed, detected_at)| {
            let second = Receipt { register: first.register.clone(), serial: first.serial, ..second };
            (first, second, seed, detected_at)
        })
        .prop_filter("the two receipts must differ", |(first, second, _, _)| first != second)
        .prop_map(|(first, second, seed, detected_at)| {
            let key = SigningKey::from_bytes(&seed);
            let first = AnyRecord::Receipt(Signed::sign(first, &key).unwrap());
            let second = AnyRecord::Receipt(Signed::sign(second, &key).unwrap());
            Evidence::new(&first, &second, detected_at).unwrap()
        })
}
