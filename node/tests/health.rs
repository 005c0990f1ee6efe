//! The probes (`GET /healthz`, `GET /readyz`, kvitt_node::api) over in-process nodes: no
//! token needed, each check named, and readiness following the ledger's disk floor both
//! ways at its edge.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kvitt_node::core::CallerRole;
use kvitt_node::store::{MemoryStore, SpaceGuard};
use serde_json::Value;

const TOKENS: [common::api_nodes::Token; 1] = [("merchant", "till-token", "kassa-1", CallerRole::Till)];

/// The merchant's floor in this test, in bytes.
const FLOOR_BYTES: u64 = 4096;

fn get(address: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(&format!("http://{address}{path}")).call().unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    (
        response.status().as_u16(),
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}")),
    )
}

#[test]
fn the_probes_need_no_token_and_readiness_follows_the_disk_floor() {
    let nodes = common::api_nodes::ApiNodes::start(&TOKENS);
    let api = nodes.apis["merchant"];
    let free = Arc::new(AtomicU64::new(FLOOR_BYTES));
    let probe = Arc::clone(&free);
    let guard = SpaceGuard::with_free_space(
        Arc::new(MemoryStore::new()),
        Path::new("/ledger"),
        FLOOR_BYTES,
        Box::new(move |_| Ok(probe.load(Ordering::Relaxed))),
    );
    nodes.handles["merchant"].status().watch_disk(guard.watch());

    let (status, live) = get(api, "/healthz");
    assert_eq!((status, &live["checks"]["core"]["ok"]), (200, &true.into()), "{live}");
    let (status, ready) = get(api, "/readyz");
    assert_eq!(status, 200, "exactly at the floor is ready: {ready}");
    assert_eq!(ready["checks"]["disk"]["detail"], format!("{FLOOR_BYTES} bytes free"), "{ready}");

    free.store(FLOOR_BYTES - 1, Ordering::Relaxed);
    let (status, ready) = get(api, "/readyz");
    assert_eq!((status, &ready["status"]), (503, &"failing".into()), "{ready}");
    assert_eq!(ready["checks"]["disk"]["ok"], false, "{ready}");
    assert!(ready["checks"]["disk"]["detail"].as_str().unwrap().contains("below the floor"), "{ready}");
    for check in ["core", "directory", "ledger", "recovery"] {
        assert_eq!(ready["checks"][check]["ok"], true, "{check}: {ready}");
    }
    assert_eq!(get(api, "/healthz").0, 200, "a full disk does not make the node dead");

    free.store(FLOOR_BYTES, Ordering::Relaxed);
    assert_eq!(get(api, "/readyz").0, 200, "ready again once space is freed");
}
