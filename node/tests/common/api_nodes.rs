//! Three real nodes (merchant, agency, SSC) for the API and client-command tests: each a
//! core with its driver and group commit over a memory store, joined by the in-process
//! link, each serving the client API on a loopback port.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use kvitt_node::api::serve::ServeLimits;
use kvitt_node::config::TokenConfig;
use kvitt_node::core::{
    Caller, CallerRole, ClientRequest, ClientResponse, CoreConfig, Identity, NodeCore, RetryPolicy,
};
use kvitt_node::handle::NodeHandle;
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{MemoryStore, Store};
use kvitt_protocol::directory::MemberRole;

use super::{AGENCY_ORG, MERCHANT_ORG, SSC_ORG};

/// Who holds a token at which node: (node, token, person, role).
pub type Token = (&'static str, &'static str, &'static str, CallerRole);

/// The tokens of `tokens` held at `node`, as its config.toml would list them.
pub fn tokens_of(tokens: &[Token], node: &str) -> Vec<TokenConfig> {
    tokens
        .iter()
        .filter(|(at, ..)| *at == node)
        .map(|(_, token, person, role)| TokenConfig {
            token: (*token).into(),
            person: (*person).into(),
            role: *role,
        })
        .collect()
}

/// The running nodes and where their APIs listen.
pub struct ApiNodes {
    /// The API address of "merchant", "agency" and "ssc".
    pub apis: BTreeMap<&'static str, SocketAddr>,
    /// In-process access to the same nodes' cores.
    pub handles: BTreeMap<&'static str, NodeHandle>,
    // Dropped last: the nodes run on it.
    _runtime: tokio::runtime::Runtime,
}

impl ApiNodes {
    /// Starts the three nodes with `tokens`.
    pub fn start(tokens: &[Token]) -> ApiNodes {
        ApiNodes::start_with_policy(tokens, kvitt_node::policy::Policy::default())
    }

    /// Starts the three nodes with `tokens`, the agency applying `policy`.
    pub fn start_with_policy(tokens: &[Token], policy: kvitt_node::policy::Policy) -> ApiNodes {
        ApiNodes::start_with(tokens, policy, ServeLimits::for_open_files(None))
    }

    /// Starts the three nodes with `tokens`, the agency applying `policy`, each API
    /// serving within `limits`.
    pub fn start_with(tokens: &[Token], policy: kvitt_node::policy::Policy, limits: ServeLimits) -> ApiNodes {
        ApiNodes::start_serving(tokens, policy, limits, None)
    }

    /// Starts the three nodes, each serving the web app and the API; with `access`, each
    /// node's people and tokens are in `access/<party>/access.json` (its `tokens` put
    /// there), so that sign-in links work.
    pub fn start_serving(
        tokens: &[Token],
        policy: kvitt_node::policy::Policy,
        limits: ServeLimits,
        access: Option<&std::path::Path>,
    ) -> ApiNodes {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (apis, handles) = runtime.block_on(async {
            let link = LocalNetwork::new();
            let mut apis = BTreeMap::new();
            let mut handles = BTreeMap::new();
            for (party, org, role) in [
                ("merchant", MERCHANT_ORG, MemberRole::Merchant),
                ("agency", AGENCY_ORG, MemberRole::Agency),
                ("ssc", SSC_ORG, MemberRole::Ssc),
            ] {
                let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
                let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).unwrap());
                let identity = Identity { signing_key: super::key(party), org: org.into(), role };
                let config = CoreConfig {
                    operator: super::public("ssc"),
                    retry: RetryPolicy { initial_ms: 20, max_ms: 200 },
                    delivery_batch: 256,
                    seed: 1,
                    entropy: [1; 32],
                    reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
                    reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
                    policy: if role == MemberRole::Agency { policy.clone() } else { Default::default() },
                    uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
                    routing_key: None,
                };
                let core = NodeCore::start(identity, config, super::directory(), store).unwrap();
                let (handle, inbox) =
                    kvitt_node::runtime::spawn(core, commit, link.endpoint(super::public(party)));
                link.attach(super::public(party), inbox);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                apis.insert(party, listener.local_addr().unwrap());
                handles.insert(party, handle.clone());
                let access = match access {
                    Some(dir) => {
                        let data = dir.join(party);
                        std::fs::create_dir_all(&data).unwrap();
                        kvitt_node::access::import_tokens(&data, &tokens_of(tokens, party), 0).unwrap();
                        kvitt_node::access::Access::open(&data).unwrap()
                    }
                    None => kvitt_node::access::Access::fixed(&tokens_of(tokens, party)),
                };
                let settings = kvitt_node::web::WebSettings {
                    secure_cookies: false,
                    node_name: party.into(),
                    node_role: role,
                    oidc: None,
                };
                let router = kvitt_node::web::app(handle, Arc::new(access), settings).unwrap();
                tokio::spawn(kvitt_node::api::serve::serve(listener, router, limits));
            }
            (apis, handles)
        });
        ApiNodes { apis, handles, _runtime: runtime }
    }

    /// Asks `node`'s core in-process, as `caller`, and waits for the answer.
    pub fn ask(
        &self,
        node: &str,
        caller: Caller,
        request: ClientRequest,
    ) -> Result<ClientResponse, kvitt_protocol::wire::Refusal> {
        self._runtime.block_on(self.handles[node].ask(caller, request))
    }
}
