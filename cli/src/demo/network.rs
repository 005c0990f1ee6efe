//! Starts the demo network: an SSC (also the operator), two agencies and three
//! merchants, each a real node set up as `kvitt init` does (own key, configuration, sled
//! ledger), under a directory the operator published, and running as `kvitt run` does
//! (QUIC on loopback, client API on a loopback port).

use std::path::{Path, PathBuf};

use kvitt_protocol::directory::{Directory, MemberRole};
use kvitt_protocol::Signed;

use super::day::{Cast, Org};
use kvitt_node::core::CallerRole;
use kvitt_node::daemon::{self, RunError, RunningNode};
use kvitt_node::loopback;
use kvitt_node::setup::{self, InitOptions, SetupError};

/// The members of the demo, in the order their nodes start: role, organisation number,
/// name, and the folder of its data directory.
pub const MEMBERS: [(MemberRole, &str, &str, &str); 6] = [
    (MemberRole::Ssc, "202100-6255", "Statens servicecenter (demo)", "ssc"),
    (MemberRole::Agency, "202100-5448", "Myndigheten för digitala kvitton", "agency-mdk"),
    (MemberRole::Agency, "202100-5489", "Verket för tjänsteresor", "agency-vft"),
    (MemberRole::Merchant, "556016-0680", "Hotell Centralen Kvitt AB", "hotel"),
    (MemberRole::Merchant, "556036-0793", "Resor & Taxi Kvitt AB", "travel"),
    (MemberRole::Merchant, "DE:HRB12345", "Hotel Kvitt Berlin GmbH", "berlin"),
];

/// The demo's network name.
pub const NETWORK: &str = "kvitt-demo";

/// The people of each kind of node, for using a kept demo network in the browser or with
/// the `kvitt` command: tills get an API token, the others sign in to the web app.
fn people(role: MemberRole, folder: &str) -> &'static [(&'static str, CallerRole)] {
    match (role, folder) {
        (MemberRole::Ssc, _) => &[("ssc-greta", CallerRole::SscStaff)],
        (MemberRole::Agency, "agency-mdk") => &[
            ("anna", CallerRole::Employee),
            ("bo", CallerRole::Employee),
            ("chef-cecilia", CallerRole::Approver),
        ],
        (MemberRole::Agency, _) => &[
            ("david", CallerRole::Employee),
            ("eva", CallerRole::Employee),
            ("chef-filip", CallerRole::Approver),
        ],
        (MemberRole::Merchant, _) => &[("till-1", CallerRole::Till)],
    }
}

/// Sled's cache per demo node, in MiB: six nodes share one machine.
const DEMO_CACHE_MIB: u64 = 16;

/// Why the demo network could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Setting a node up failed.
    #[error("setting up {name}: {error}")]
    Setup {
        /// The member.
        name: String,
        /// What went wrong.
        error: SetupError,
    },
    /// A node did not start.
    #[error("starting {name}: {error}")]
    Run {
        /// The member.
        name: String,
        /// What went wrong.
        error: Box<RunError>,
    },
    /// No free loopback port could be found.
    #[error("finding a free loopback port: {0}")]
    Port(std::io::Error),
}

/// A node of a kept demo network as a newcomer's browser reaches it.
pub struct NodeLinks {
    /// The node's organisation.
    pub name: String,
    /// Its web app.
    pub url: String,
    /// Each person who signs in there, with a fresh one-time sign-in link.
    pub links: Vec<(String, String)>,
}

/// A running demo network.
pub struct DemoNetwork {
    /// The organisations and their client handles.
    pub cast: Cast,
    /// The directory every node started from.
    pub directory: Signed<Directory>,
    /// The nodes, in the order of [`MEMBERS`], with their data directories.
    pub nodes: Vec<(PathBuf, RunningNode)>,
}

impl DemoNetwork {
    /// Waits until a failure stops one of the nodes (kvitt_node::fatal): its name and the cause.
    pub async fn stopped(&self) -> String {
        let mut waiting = tokio::task::JoinSet::new();
        for (_, node) in &self.nodes {
            let (handle, name) = (node.handle.clone(), node.config.name.clone());
            waiting.spawn(async move { format!("{name}: {}", handle.stopped().await) });
        }
        match waiting.join_next().await {
            Some(Ok(cause)) => cause,
            _ => std::future::pending().await,
        }
    }

    /// Per node: its name, its web app's address, and a fresh sign-in link (valid 15
    /// minutes) for each person of the cast who signs in there.
    pub fn sign_in_links(&self) -> Result<Vec<NodeLinks>, kvitt_node::access::AccessError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut nodes = Vec::new();
        for (data, node) in &self.nodes {
            let base = format!("{}://{}", node.scheme, node.api_address);
            let mut links = Vec::new();
            for user in kvitt_node::access::AccessFile::load(data)?.users {
                let secret = kvitt_node::access::new_link(data, &user.person, now)?;
                links.push((user.person, format!("{base}/signin/{secret}")));
            }
            nodes.push(NodeLinks { name: node.config.name.clone(), url: format!("{base}/"), links });
        }
        Ok(nodes)
    }

    /// Stops every node.
    pub async fn stop(self) {
        for (_, node) in self.nodes {
            node.stop().await;
        }
    }
}

/// The demo network's routing key (a real network's operator draws one at random).
const DEMO_ROUTING_KEY: &str = "6b7669747420646d6f20726f7574696e67206b657920666f722063617264732e";

/// Sets the six nodes up in `base` (one data directory each), publishes the directory
/// and starts them.
pub async fn start(base: &Path) -> Result<DemoNetwork, StartError> {
    let setup_error = |name: &str| {
        let name = name.to_owned();
        move |error| StartError::Setup { name, error }
    };
    let mut operator_key = None;
    let mut members = Vec::new();
    for (role, org, name, folder) in MEMBERS {
        let data = base.join(folder);
        let listen = loopback::free_address().map_err(StartError::Port)?;
        let mut options = InitOptions::new(role, org, name);
        options.network = NETWORK.into();
        options.listen = listen;
        options.address = listen.to_string();
        options.api = loopback::free_address().map_err(StartError::Port)?;
        options.operator_key = operator_key;
        let made = setup::init(&data, &options).map_err(setup_error(name))?;
        operator_key = Some(made.operator_key);
        let mut config = kvitt_node::config::NodeConfig::load(&data)
            .map_err(|error| StartError::Setup { name: name.into(), error: error.into() })?;
        config.cache_mib = DEMO_CACHE_MIB;
        config.metrics_addr = Some(loopback::free_address().map_err(StartError::Port)?);
        config.save(&data).map_err(|error| StartError::Setup { name: name.into(), error: error.into() })?;
        for (person, caller_role) in people(role, folder) {
            if *caller_role == CallerRole::Till {
                setup::add_token(&data, person, *caller_role).map_err(setup_error(name))?;
            } else {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                kvitt_node::access::add_user(&data, person, *caller_role, now).map_err(|error| {
                    StartError::Setup { name: name.into(), error: SetupError::Usage(error.to_string()) }
                })?;
            }
        }
        members.push((data, made.member));
    }
    let mut folders = members.iter().map(|(data, _)| data);
    let operator = folders.next().ok_or_else(|| StartError::Port(std::io::Error::other("no SSC")))?;
    for (_, member) in members.iter().skip(1) {
        setup::add_member(operator, member.clone()).map_err(setup_error(&member.name))?;
    }
    let issued_at = kvitt_protocol::fields::format_time(time::OffsetDateTime::now_utc());
    let directory = setup::publish(operator, issued_at).map_err(setup_error("the operator"))?;
    let published = operator.join(kvitt_node::config::DIRECTORY_FILE);
    // The SSC checks foreign rates against the example table (its figures are
    // illustrative; a real SSC loads Riksbanken's).
    let rates = operator.join(kvitt_node::config::RATES_FILE);
    std::fs::write(&rates, kvitt_books::rates::EXAMPLE_RATES_JSON).map_err(|error| StartError::Setup {
        name: "the operator".into(),
        error: kvitt_node::config::ConfigError::Io { path: rates, error }.into(),
    })?;
    for data in folders {
        setup::import(data, &published).map_err(setup_error(&data.display().to_string()))?;
        // Merchants and agencies hold the network's routing key; the SSC does not
        // (spec/routing.md).
        let key = data.join(kvitt_node::config::ROUTING_KEY_FILE);
        std::fs::write(&key, DEMO_ROUTING_KEY).map_err(|error| StartError::Setup {
            name: data.display().to_string(),
            error: kvitt_node::config::ConfigError::Io { path: key, error }.into(),
        })?;
    }
    let mut nodes = Vec::new();
    for ((_, _, name, _), (data, _)) in MEMBERS.iter().zip(members) {
        let node = daemon::start(&data)
            .await
            .map_err(|source| StartError::Run { name: (*name).into(), error: Box::new(source) })?;
        nodes.push((data, node));
    }
    let mut orgs = MEMBERS.iter().zip(&nodes).map(|((_, org, name, _), (data, node))| Org {
        org,
        name,
        node: node.handle.clone(),
        data: data.clone(),
    });
    let mut next =
        || orgs.next().ok_or_else(|| StartError::Port(std::io::Error::other("fewer nodes than members")));
    let cast =
        Cast { ssc: next()?, agencies: [next()?, next()?], hotel: next()?, travel: next()?, berlin: next()? };
    Ok(DemoNetwork { cast, directory, nodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_day_plays_through_real_nodes_over_quic() {
        let dir = tempfile::tempdir().unwrap();
        let demo = start(dir.path()).await.unwrap();
        let mut lines = Vec::new();
        let report = super::super::day::play(&demo.cast, &mut |line| lines.push(line))
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", lines.join("\n")));
        let receipts: usize = report.receipts.values().sum();
        assert!(receipts >= 40, "{receipts} receipts");
        let by = |route: super::super::day::Route| -> usize {
            report.routes.iter().filter(|((_, way), _)| *way == route).map(|(_, count)| count).sum()
        };
        use super::super::day::Route;
        assert_eq!((by(Route::SdrsCard), by(Route::Code)), (1, 1), "{:?}", report.routes);
        assert!(by(Route::Card) > receipts / 2, "most receipts go by card: {:?}", report.routes);
        assert_eq!(by(Route::Card) + by(Route::SdrsCard) + by(Route::Code) + by(Route::Buyer), receipts);
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
        let vouchers: usize = report.sie.iter().map(|file| file.vouchers).sum();
        assert_eq!(vouchers, 5, "every paid claim in its agency's SIE file");
        for file in &report.sie {
            let vers = file.bytes.windows(5).filter(|window| window == b"#VER ").count();
            assert_eq!(vers, file.vouchers, "{}", file.name);
        }
        // Regression: anna's Berlin hotel was booked to 5831 Kost och logi i Sverige.
        let first = &report.sie[0];
        let abroad = first.bytes.windows(13).filter(|window| window == b"#TRANS 5832 {").count();
        assert_eq!(
            abroad,
            1,
            "the Berlin hotel is lodging abroad: {}",
            String::from_utf8_lossy(&first.bytes)
        );
    }
}
