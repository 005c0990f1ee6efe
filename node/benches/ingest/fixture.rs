//! What every part of the ingest bench shares: the keys, the directory, the receipts and
//! a node on a sled ledger driven by the real runtime.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kvitt_node::core::{CoreConfig, Identity, NodeCore, RetryPolicy};
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::runtime::PeerInbox;
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{SledStore, Store};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::receipt::{Line, Receipt};
use kvitt_protocol::{sample, PublicKey, Signed};

pub const AGENCY: &str = "202100-5489";
pub const MERCHANTS: [&str; 4] = ["556016-0680", "556036-0793", "556677-8899", "556123-4567"];

/// The signing key derived from `seed`: 1 the operator, 2 the agency, 10.. the merchants.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The key of merchant number `index` in [`MERCHANTS`].
pub fn merchant_key(index: usize) -> SigningKey {
    key(10 + u8::try_from(index).unwrap_or(0))
}

/// The sample receipt of `merchant` with eight lines at 6 % and 25 % instead of its two,
/// their prices and article number varying with the serial, for one of 50 employees.
pub fn receipt(merchant: &str, serial: u64) -> Receipt {
    let variant = i64::try_from(serial % 100).unwrap_or(0) * 10;
    let mut receipt = sample::receipt(merchant, AGENCY, "KASSA-1", serial);
    receipt.lines = (0..8)
        .map(|index| {
            let (category, rate) = if index % 2 == 0 { ("food", 600) } else { ("general", 2500) };
            let line = sample::line(&format!("Vara {index}"), category, 1000, 1_000 + variant + index, rate);
            Line { article: Some(format!("ART-{}", serial % 977)), ..line }
        })
        .collect();
    receipt.buyer.as_mut().unwrap().employee = Some(format!("emp-{}", serial % 50));
    sample::paid_by_card(receipt, "T-1", &format!("{serial:012}"))
}

/// The bench network's directory: the four merchants and the agency.
pub fn directory(operator: &SigningKey) -> Signed<Directory> {
    let mut members: Vec<Member> = MERCHANTS
        .iter()
        .enumerate()
        .map(|(index, org)| Member {
            role: MemberRole::Merchant,
            org: (*org).into(),
            name: format!("Handlare {index}"),
            key: PublicKey::from(merchant_key(index).verifying_key()),
            addresses: vec![format!("127.0.0.1:{}", 48000 + index)],
            serves: vec![],
        })
        .collect();
    members.push(Member {
        role: MemberRole::Agency,
        org: AGENCY.into(),
        name: "Myndigheten".into(),
        key: PublicKey::from(key(2).verifying_key()),
        addresses: vec!["127.0.0.1:48100".into()],
        serves: vec![],
    });
    let body = Directory {
        network: "kvitt-bench".into(),
        version: 1,
        issued_at: "2026-01-01T00:00:00+01:00".into(),
        members,
    };
    Signed::sign(body, operator).unwrap()
}

/// A node on a sled ledger in `dir`, driven by the real runtime.
pub fn start(
    dir: &std::path::Path,
    seed: u8,
    org: &str,
    role: MemberRole,
    operator: &SigningKey,
    directory: &Signed<Directory>,
    network: &LocalNetwork,
) -> (kvitt_node::handle::NodeHandle, PeerInbox, Arc<GroupCommit>) {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.join(org), 256 << 20).unwrap());
    let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).unwrap());
    let identity = Identity { signing_key: key(seed), org: org.into(), role };
    let config = CoreConfig {
        operator: PublicKey::from(operator.verifying_key()),
        retry: RetryPolicy::default(),
        delivery_batch: 512,
        seed: u64::from(seed),
        entropy: [1; 32],
        reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
        reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
        policy: Default::default(),
        uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    };
    let core = NodeCore::start(identity.clone(), config, directory.clone(), store).unwrap();
    let (handle, inbox) =
        kvitt_node::runtime::spawn(core, Arc::clone(&commit), network.endpoint(identity.key()));
    network.attach(identity.key(), inbox.clone());
    (handle, inbox, commit)
}

/// Milliseconds of a histogram value recorded in microseconds.
pub fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Microseconds of `elapsed`, saturating, for the histograms.
pub fn micros(elapsed: std::time::Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}
