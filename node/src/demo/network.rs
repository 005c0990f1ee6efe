//! Starts the demo network: an SSC (also the operator), two agencies and three
//! merchants, each a full node with its own key, sled ledger and group commit.

use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::{PublicKey, Signed};

use super::day::{Cast, Org};
use crate::core::{CoreConfig, Identity, NodeCore, RetryPolicy};
use crate::local_link::LocalNetwork;
use crate::store::group_commit::GroupCommit;
use crate::store::SledStore;

/// The members of the demo, in the order their nodes start.
pub const MEMBERS: [(MemberRole, &str, &str); 6] = [
    (MemberRole::Ssc, "202100-6255", "Statens servicecenter (demo)"),
    (MemberRole::Agency, "202100-5448", "Myndigheten för digitala kvitton"),
    (MemberRole::Agency, "202100-5489", "Verket för tjänsteresor"),
    (MemberRole::Merchant, "556016-0680", "Hotell Centralen Kvitt AB"),
    (MemberRole::Merchant, "556036-0793", "Resor & Taxi Kvitt AB"),
    (MemberRole::Merchant, "DE:HRB12345", "Hotel Kvitt Berlin GmbH"),
];

/// Sled's cache per demo node: six nodes share one machine.
const DEMO_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Why the demo network could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A ledger could not be opened.
    #[error("ledger of {name}: {source}")]
    Store {
        /// The member.
        name: String,
        /// What went wrong.
        source: crate::store::StoreError,
    },
    /// A core refused to start, or a record could not be signed.
    #[error("{0}")]
    Setup(String),
}

/// A running demo network.
pub struct DemoNetwork {
    /// The organisations and their client handles.
    pub cast: Cast,
    /// The directory every node started from.
    pub directory: Signed<Directory>,
}

/// Keys, directory and nodes of the demo, in `base` (one folder per member).
pub async fn start(base: &Path, network: &LocalNetwork) -> Result<DemoNetwork, StartError> {
    let mut rng = rand_core::OsRng;
    let operator = SigningKey::generate(&mut rng);
    let keys: Vec<SigningKey> = MEMBERS.iter().map(|_| SigningKey::generate(&mut rng)).collect();
    let agencies: Vec<String> = MEMBERS
        .iter()
        .filter(|(role, ..)| *role == MemberRole::Agency)
        .map(|(_, org, _)| (*org).to_owned())
        .collect();
    let members = MEMBERS
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(index, ((role, org, name), key))| Member {
            role: *role,
            org: (*org).into(),
            name: (*name).into(),
            key: PublicKey::from(key.verifying_key()),
            addresses: vec![format!("127.0.0.1:{}", 47400 + index)],
            serves: if *role == MemberRole::Ssc { agencies.clone() } else { Vec::new() },
        })
        .collect();
    let directory = Directory {
        network: "kvitt-demo".into(),
        version: 1,
        issued_at: kvitt_protocol::fields::format_time(time::OffsetDateTime::now_utc()),
        members,
    };
    let directory =
        Signed::sign(directory, &operator).map_err(|error| StartError::Setup(error.to_string()))?;
    let mut handles = Vec::new();
    for (index, ((role, org, name), key)) in MEMBERS.iter().zip(keys).enumerate() {
        let folder = base.join(format!("node-{index}"));
        let store = SledStore::open(&folder.join("ledger"), DEMO_CACHE_BYTES, 0)
            .map_err(|source| StartError::Store { name: (*name).into(), source })?
            .store;
        let store: Arc<dyn crate::store::Store> = Arc::new(store);
        let commit = Arc::new(
            GroupCommit::start(Arc::clone(&store)).map_err(|error| StartError::Setup(error.to_string()))?,
        );
        let identity = Identity { signing_key: key, org: (*org).into(), role: *role };
        let public = identity.key();
        let config = CoreConfig {
            operator: PublicKey::from(operator.verifying_key()),
            retry: RetryPolicy { initial_ms: 50, max_ms: 2_000 },
            delivery_batch: kvitt_protocol::limits::MAX_RECORDS_PER_DELIVERY,
            seed: u64::try_from(index).unwrap_or(0),
        };
        let core = NodeCore::start(identity, config, directory.clone(), store)
            .map_err(|error| StartError::Setup(error.to_string()))?;
        let (handle, inbox) = crate::runtime::spawn(core, commit, network.endpoint(public));
        network.attach(public, inbox);
        handles.push(handle);
    }
    let mut orgs = MEMBERS.iter().zip(handles).map(|((_, org, name), node)| Org { org, name, node });
    let mut next = || orgs.next().ok_or_else(|| StartError::Setup("a node did not start".into()));
    let cast =
        Cast { ssc: next()?, agencies: [next()?, next()?], hotel: next()?, travel: next()?, berlin: next()? };
    Ok(DemoNetwork { cast, directory })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_day_plays_through_real_ledgers_and_drivers() {
        let dir = tempfile::tempdir().unwrap();
        let network = LocalNetwork::new();
        let demo = start(dir.path(), &network).await.unwrap();
        let mut lines = Vec::new();
        let report = super::super::day::play(&demo.cast, &mut |line| lines.push(line))
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", lines.join("\n")));
        let receipts: usize = report.receipts.values().sum();
        assert!(receipts >= 40, "{receipts} receipts");
        let rejected: usize = report
            .claims
            .iter()
            .filter(|((_, status), _)| status == "rejected")
            .map(|(_, count)| count)
            .sum();
        let paid: usize =
            report.claims.iter().filter(|((_, status), _)| status == "paid").map(|(_, count)| count).sum();
        assert_eq!(rejected, 2, "eva's claim by her approver, bo's second claim by the SSC: {report:?}");
        assert_eq!(paid, 5, "{report:?}");
        assert_eq!(report.exceptions.len(), 1, "{report:?}");
        assert_eq!(report.refusals.len(), 1, "one self-approval refused: {report:?}");
    }
}
