//! The OpenAPI document of the client API (kvitt_node::api::openapi): served at
//! `GET /v1/openapi.json` without a token, and the same as the committed spec/openapi.json.
//!
//! When the API changes on purpose, re-bless the committed document with
//! `KVITT_BLESS=1 cargo test -p kvitt-node --test openapi` and commit spec/openapi.json.

mod common;

use kvitt_node::api::openapi::{document_text, OPENAPI_PATH};
use kvitt_node::core::CallerRole;

const TOKENS: [common::api_nodes::Token; 1] = [("agency", "employee-token", "emp-17", CallerRole::Employee)];

/// The committed document.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/openapi.json");

#[test]
fn the_served_document_is_the_committed_one() {
    let nodes = common::api_nodes::ApiNodes::start(&TOKENS);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(&format!("http://{}{OPENAPI_PATH}", nodes.apis["agency"])).call().unwrap();
    assert_eq!(response.status().as_u16(), 200, "served without a token");
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json");
    let served = response.body_mut().read_to_string().unwrap();
    assert_eq!(served, document_text());

    let document: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(document["openapi"], "3.1.0", "{}", document["openapi"]);

    if std::env::var_os("KVITT_BLESS").is_some() {
        std::fs::write(COMMITTED, &served).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == served,
        "spec/openapi.json differs from the document the node serves: if the API changed on purpose, \
         run `KVITT_BLESS=1 cargo test -p kvitt-node --test openapi` and commit spec/openapi.json"
    );
}
