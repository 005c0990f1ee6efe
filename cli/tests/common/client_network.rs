//! The three-node network the client-command tests run `kvitt` against (a merchant, an
//! agency and an SSC, each serving the client API on a loopback port, with their tokens),
//! and the helpers those tests share: parsing `--json` output, polling for delivery, and
//! writing input files.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use kvitt_node::core::CallerRole;
use serde_json::Value;

use super::process::{assert_exit, kvitt, text};

/// Who holds a token at which node: (node, token, person, role).
pub const TOKENS: [super::api_nodes::Token; 6] = [
    ("merchant", "till-token", "kassa-1", CallerRole::Till),
    ("agency", "employee-token", "emp-17", CallerRole::Employee),
    ("agency", "approver-token", "chef-cecilia", CallerRole::Approver),
    // emp-17 is an approver too, to show that nobody approves their own claim.
    ("agency", "own-approver-token", "emp-17", CallerRole::Approver),
    ("ssc", "staff-token", "ssc-greta", CallerRole::SscStaff),
    ("agency", "operator-token", "operator", CallerRole::Operator),
];

/// Most polls of a condition that depends on delivery between nodes (50 ms apart).
pub const MAX_POLLS: usize = 200;

/// Three running nodes and where their APIs listen.
pub struct Network {
    pub nodes: super::api_nodes::ApiNodes,
}

impl Network {
    pub fn start() -> Network {
        Network::with_policy(kvitt_node::policy::Policy::default())
    }

    /// The three nodes, the agency applying `policy`.
    pub fn with_policy(policy: kvitt_node::policy::Policy) -> Network {
        let nodes = super::api_nodes::ApiNodes::start_with_policy(&TOKENS, policy);
        Network { nodes }
    }

    /// Runs `kvitt ARGS --api <node's API> --token TOKEN`.
    pub fn kvitt(&self, node: &str, token: &str, args: &[&str]) -> Output {
        self.kvitt_with_input(node, token, args, b"")
    }

    pub fn kvitt_with_input(&self, node: &str, token: &str, args: &[&str], stdin: &[u8]) -> Output {
        let api = format!("http://{}", self.nodes.apis[node]);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--api", &api, "--token", token]);
        kvitt(&all, stdin)
    }

    /// Pushes the hotel receipt with `serial` at the merchant; its id.
    pub fn push_receipt(&self, serial: u64) -> String {
        let file = receipt_file(serial);
        let output = self.kvitt("merchant", "till-token", &["receipt", "push", file.to_str().unwrap()]);
        assert_exit(&output, 0);
        text(&output.stdout).trim().to_owned()
    }

    /// Waits until the agency holds receipt `id`.
    pub fn await_receipt_at_agency(&self, id: &str) {
        eventually(&format!("receipt {id} at the agency"), || {
            let output = self.kvitt("agency", "employee-token", &["receipt", "list", "--json"]);
            json(&output).as_array().unwrap().iter().any(|receipt| receipt["id"] == id)
        });
    }

    /// emp-17 adds the receipt to draft `number` as lodging (5831, CC-100).
    pub fn add_lodging(&self, number: &str, receipt: &str) -> Output {
        let add = [
            "claim",
            "add",
            number,
            "--receipt",
            receipt,
            "--purpose",
            "Logi",
            "--account",
            "5831",
            "--cost-center",
            "CC-100",
        ];
        self.kvitt("agency", "employee-token", &add)
    }

    /// emp-17 opens a draft, adds the receipt and submits it; the claim's id.
    pub fn submit_claim(&self, receipt: &str) -> String {
        let output =
            self.kvitt("agency", "employee-token", &["claim", "new", "--purpose", "Konferens", "--json"]);
        let number = json(&output)["number"].as_str().unwrap().to_owned();
        assert_exit(&self.add_lodging(&number, receipt), 0);
        let output = self.kvitt("agency", "employee-token", &["claim", "submit", &number, "--json"]);
        json(&output)["claim"].as_str().unwrap().to_owned()
    }
}

/// Standard output of a successful `--json` command, parsed.
pub fn json(output: &Output) -> Value {
    assert_exit(output, 0);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Polls `condition` until it holds, or fails the test naming `what`.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..MAX_POLLS {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {MAX_POLLS} polls");
}

pub fn temporary_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kvitt-cli-client-{name}"));
    std::fs::write(&path, contents).unwrap();
    path
}

/// The hotel receipt of the fixtures as a till sends it: JSON.
pub fn receipt_file(serial: u64) -> PathBuf {
    let json = serde_json::to_vec(&super::receipt_body(serial)).unwrap();
    temporary_file(&format!("receipt-{serial}.json"), &json)
}
