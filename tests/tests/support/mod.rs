//! A small network of `kvitt` processes on loopback, set up with the `kvitt` command as an
//! operator would (`init`, `directory add/publish/import`, `token add`), each node run as
//! `kvitt run` in its own process, so that tests can kill one with SIGKILL and restart it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{sample, PublicKey, RecordId};
use serde_json::Value;

/// The network's organisations are the samples'; [`EMPLOYEE`] is the employee every receipt
/// of [`receipt`] names as its buyer.
pub use kvitt_protocol::sample::{AGENCY_ORG, EMPLOYEE, MERCHANT_ORG, SSC_ORG};

/// How long a test waits for something the network does by itself (a delivery, a node
/// coming up) before it fails. Generous: this is a bound on a hang, not a timing check.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The `kvitt` binary beside the test executable's folder, built once per test run so
/// that the tests never run a stale binary (cargo builds a workspace's binaries only for
/// the tests of their own package).
pub fn kvitt_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let target = exe.parent().and_then(Path::parent).unwrap().to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "kvitt", "--bin", "kvitt"]);
        // What cargo set for this test executable (its package's name and folder, …) is
        // not the nested build's: build scripts that watch these variables (ring's does)
        // would otherwise rebuild, and the next `cargo test` rebuild them back.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_for_this_crate =
                ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_CFG_"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                    || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"]
                        .contains(&name.as_ref());
            if set_for_this_crate {
                build.env_remove(name.as_ref());
            }
        }
        if target.file_name().is_some_and(|profile| profile == "release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "could not build the kvitt binary");
        target.join(format!("kvitt{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Runs `kvitt ARGS` to completion, whatever its exit status.
pub fn kvitt_output(args: &[&str]) -> Output {
    Command::new(kvitt_binary()).args(args).output().unwrap()
}

/// Runs `kvitt ARGS` to completion; returns its standard output, or panics with its
/// standard error.
pub fn kvitt(args: &[&str]) -> String {
    let output = kvitt_output(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kvitt {} failed ({}):\n{stdout}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A loopback address for a node: the ports the kernel hands to clients are avoided, so a
/// node restarted after a kill can bind it again.
fn free_address() -> SocketAddr {
    kvitt_node::loopback::free_address().unwrap()
}

/// The value after `label` on the line of `output` that starts with it.
fn field<'a>(output: &'a str, label: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{output}"))
}

/// Calls `probe` until it gives `Ok`, for at most [`PATIENCE`]; the last `Err` (what it
/// saw instead) if it never does.
pub fn eventually<T>(mut probe: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match probe() {
            Ok(value) => return Ok(value),
            Err(seen) if Instant::now() >= deadline => return Err(seen),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// One client API request to the node whose API is at `api`: the HTTP status and the
/// JSON body, or the transport's error (a node that is down or was killed mid-request).
pub fn api_request(
    api: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Result<(u16, Value), ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("http://{api}{path}");
    let authorization = format!("Bearer {token}");
    let mut response = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &authorization).call(),
        (_, Some(body)) => agent
            .post(&url)
            .header("Authorization", &authorization)
            .header("Content-Type", "application/json")
            .send(body),
        (_, None) => agent.post(&url).header("Authorization", &authorization).send_empty(),
    }?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// One node: its data directory, addresses, operator token, and its process while it runs.
pub struct Node {
    pub name: &'static str,
    pub data: PathBuf,
    pub api: SocketAddr,
    pub peer: SocketAddr,
    pub key: String,
    /// A token of the node's `operator` role, which reads every record the node holds.
    pub operator: String,
    process: Option<Child>,
    starts: u32,
}

impl Node {
    /// `kvitt init` for a new node in `root/name`, with an operator token.
    fn init(root: &Path, name: &'static str, role: &str, org: &str, operator_key: Option<&str>) -> Node {
        let data = root.join(name);
        let (peer, api) = (free_address(), free_address());
        let mut args = vec![
            "init".to_owned(),
            format!("--data={}", data.display()),
            format!("--role={role}"),
            format!("--org={org}"),
            format!("--name={name}"),
            "--network=kvitt-e2e".to_owned(),
            format!("--listen={peer}"),
            format!("--address={peer}"),
            format!("--api={api}"),
        ];
        if let Some(operator) = operator_key {
            args.push(format!("--operator-key={operator}"));
        }
        let output = kvitt(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let key = field(&output, "node key").to_owned();
        let mut node = Node { name, data, api, peer, key, operator: String::new(), process: None, starts: 0 };
        node.operator = node.token("operator-1", "operator");
        node
    }

    fn data_arg(&self) -> String {
        format!("--data={}", self.data.display())
    }

    /// The node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.parse().unwrap()
    }

    /// The node's secret key, as its `node.key` holds it.
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        kvitt_node::config::read_key(&self.data.join(kvitt_node::config::NODE_KEY_FILE)).unwrap()
    }

    /// Adds a token and returns it. The node reads its tokens when it starts.
    pub fn token(&self, person: &str, role: &str) -> String {
        assert!(self.process.is_none(), "{} reads new tokens only when it starts", self.name);
        kvitt(&["token", "add", &self.data_arg(), &format!("--person={person}"), &format!("--role={role}")])
            .trim()
            .to_owned()
    }

    /// Starts `kvitt run` and waits until its API answers.
    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts `kvitt run` with `extra` flags and waits until its API answers.
    pub fn start_with(&mut self, extra: &[&str]) {
        assert!(self.process.is_none(), "{} is already running", self.name);
        self.starts += 1;
        let log = std::fs::File::create(self.data.join(format!("run-{}.log", self.starts))).unwrap();
        let child = Command::new(kvitt_binary())
            .args(["run", &self.data_arg()])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.process = Some(child);
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(self.api).is_err() {
            if let Some(status) = self.process.as_mut().and_then(|child| child.try_wait().unwrap()) {
                panic!("{} exited with {status}:\n{}", self.name, self.logs());
            }
            assert!(Instant::now() < deadline, "{} did not come up:\n{}", self.name, self.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.process.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Waits for the node's process to end by itself (at most [`PATIENCE`]); its exit
    /// status, or `None` if it is still running.
    pub fn wait_for_exit(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.process.as_mut().and_then(|child| child.try_wait().unwrap()) {
                self.process = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Everything the node's runs logged, for failure messages.
    pub fn logs(&self) -> String {
        (1..=self.starts)
            .map(|run| {
                let path = self.data.join(format!("run-{run}.log"));
                format!("--- {} run {run}\n{}", self.name, std::fs::read_to_string(path).unwrap_or_default())
            })
            .collect()
    }

    /// An API request; returns the HTTP status and the JSON body.
    pub fn call(&self, method: &str, path: &str, token: &str, body: Option<String>) -> (u16, Value) {
        api_request(self.api, method, path, token, body.as_deref())
            .unwrap_or_else(|error| panic!("{method} {path} at {}: {error}", self.name))
    }

    /// An API request that must answer `status`; returns the JSON body.
    pub fn expect(&self, status: u16, method: &str, path: &str, token: &str, body: Option<String>) -> Value {
        let (got, answer) = self.call(method, path, token, body);
        assert_eq!(got, status, "{method} {path} at {}: {answer}", self.name);
        answer
    }

    /// The HTTP status of `GET /v1/records/{id}` as the node's operator: 200 if the node
    /// holds the record, 404 if not.
    pub fn record_status(&self, id: &RecordId) -> u16 {
        self.call("GET", &format!("/v1/records/{id}"), &self.operator, None).0
    }

    /// The claim with its status and events, as `token` sees it; `None` while the node
    /// does not hold it (404).
    pub fn claim(&self, id: &str, token: &str) -> Option<Value> {
        match self.call("GET", &format!("/v1/claims/{id}"), token, None) {
            (200, claim) => Some(claim),
            (404, _) => None,
            (status, body) => panic!("GET /v1/claims/{id} at {}: {status} {body}", self.name),
        }
    }

    /// Runs a client command of `kvitt` against this node's API as `token`, with
    /// `--json`; returns its exit status (0 done, 1 refused) and the JSON it printed (the
    /// node's answer, or its problem document).
    pub fn cli(&self, token: &str, args: &[&str]) -> (i32, Value) {
        let api = format!("--api=http://{}", self.api);
        let token = format!("--token={token}");
        let mut full = args.to_vec();
        full.extend([api.as_str(), token.as_str(), "--json"]);
        let output = kvitt_output(&full);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json = serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!(
                "kvitt {} ({}) printed no JSON ({error}):\n{stdout}\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap_or(-1), json)
    }

    /// [`Node::cli`] for a command that must succeed.
    pub fn cli_ok(&self, token: &str, args: &[&str]) -> Value {
        let (code, json) = self.cli(token, args);
        assert_eq!(code, 0, "kvitt {} at {}: {json}", args.join(" "), self.name);
        json
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An SSC (the operator), an agency and a merchant, set up but not started, with the
/// tokens of a till, an employee (who also holds an approver token), an approver and SSC
/// staff.
pub struct Network {
    pub ssc: Node,
    pub agency: Node,
    pub merchant: Node,
    /// Till `till-1` at the merchant.
    pub till: String,
    /// Employee [`EMPLOYEE`] at the agency.
    pub employee: String,
    /// The same employee's approver token: approving their own claim must be refused.
    pub self_approver: String,
    /// Approver `appr-3` at the agency.
    pub approver: String,
    /// SSC staff `ssc-anna`.
    pub ssc_staff: String,
    root: tempfile::TempDir,
}

impl Network {
    pub fn set_up() -> Network {
        let root = tempfile::tempdir().unwrap();
        let ssc = Node::init(root.path(), "ssc", "ssc", SSC_ORG, None);
        let operator =
            field(&std::fs::read_to_string(ssc.data.join("config.toml")).unwrap(), "operator_key = ")
                .trim_matches('"')
                .to_owned();
        let agency = Node::init(root.path(), "agency", "agency", AGENCY_ORG, Some(&operator));
        let merchant = Node::init(root.path(), "merchant", "merchant", MERCHANT_ORG, Some(&operator));
        for (node, role, org) in [(&agency, "agency", AGENCY_ORG), (&merchant, "merchant", MERCHANT_ORG)] {
            kvitt(&[
                "directory",
                "add",
                &ssc.data_arg(),
                &format!("--role={role}"),
                &format!("--org={org}"),
                &format!("--name={}", node.name),
                &format!("--key={}", node.key),
                &format!("--address={}", node.peer),
            ]);
        }
        let published = root.path().join("directory.cbor");
        kvitt(&["directory", "publish", &ssc.data_arg(), &format!("--out={}", published.display())]);
        for node in [&agency, &merchant] {
            kvitt(&["directory", "import", &published.display().to_string(), &node.data_arg()]);
        }
        Network {
            till: merchant.token("till-1", "till"),
            employee: agency.token(EMPLOYEE, "employee"),
            self_approver: agency.token(EMPLOYEE, "approver"),
            approver: agency.token("appr-3", "approver"),
            ssc_staff: ssc.token("ssc-anna", "ssc-staff"),
            ssc,
            agency,
            merchant,
            root,
        }
    }

    /// A second agency `name` with organisation number `org`, not started: added to the
    /// directory, which is published again and imported by every node of the network.
    pub fn add_agency(&self, name: &'static str, org: &str) -> Node {
        let operator =
            field(&std::fs::read_to_string(self.ssc.data.join("config.toml")).unwrap(), "operator_key = ")
                .trim_matches('"')
                .to_owned();
        let root = self.root.path();
        let agency = Node::init(root, name, "agency", org, Some(&operator));
        kvitt(&[
            "directory",
            "add",
            &self.ssc.data_arg(),
            "--role=agency",
            &format!("--org={org}"),
            &format!("--name={name}"),
            &format!("--key={}", agency.key),
            &format!("--address={}", agency.peer),
        ]);
        let published = root.join("directory.cbor");
        kvitt(&["directory", "publish", &self.ssc.data_arg(), &format!("--out={}", published.display())]);
        for node in [&self.agency, &self.merchant, &agency] {
            kvitt(&["directory", "import", &published.display().to_string(), &node.data_arg()]);
        }
        agency
    }

    /// Every node's logs, for failure messages.
    pub fn logs(&self) -> String {
        [&self.merchant, &self.agency, &self.ssc].iter().map(|node| node.logs()).collect()
    }

    /// Waits until `probe` gives `Ok`, at most [`PATIENCE`]; fails with what it last saw
    /// and every node's logs.
    pub fn eventually<T>(&self, what: &str, probe: impl FnMut() -> Result<T, String>) -> T {
        eventually(probe).unwrap_or_else(|seen| panic!("{what}: {seen}\n{}", self.logs()))
    }

    /// The till pushes `receipt`, which must be new; returns its id.
    pub fn push(&self, receipt: &Receipt) -> String {
        let body = serde_json::to_string(receipt).unwrap();
        let answer = self.merchant.expect(201, "POST", "/v1/receipts", &self.till, Some(body));
        assert_eq!(answer["duplicate"], false, "{answer}");
        answer["id"].as_str().unwrap().to_owned()
    }

    /// The receipts the agency holds for the employee, by serial.
    pub fn agency_serials(&self) -> Vec<u64> {
        let body = self.agency.expect(200, "GET", "/v1/receipts", &self.employee, None);
        let mut serials: Vec<u64> =
            body.as_array().unwrap().iter().map(|view| view["receipt"]["serial"].as_u64().unwrap()).collect();
        serials.sort_unstable();
        serials
    }

    /// Waits until the agency holds exactly `expected`; fails with every node's logs.
    pub fn wait_for_agency(&self, expected: &[u64]) {
        self.eventually("the agency's receipts", || {
            let held = self.agency_serials();
            if held == expected {
                Ok(())
            } else {
                Err(format!("holds {held:?}, expected {expected:?}"))
            }
        });
    }

    /// Waits until `node` holds the claim `id` in `status`, as `token` sees it; returns it.
    pub fn wait_for_claim(&self, node: &Node, token: &str, id: &str, status: &str) -> Value {
        self.eventually(&format!("claim {id} at the {}", node.name), || match node.claim(id, token) {
            Some(claim) if claim["status"] == status => Ok(claim),
            Some(claim) => Err(format!("status {}, expected {status}: {claim}", claim["status"])),
            None => Err("not held yet".to_owned()),
        })
    }
}

/// The sample hotel night (1624.00 SEK) for employee [`EMPLOYEE`] of the agency on register
/// `register`, as the till sends it: paid by card on terminal `T-<register>` with a
/// retrieval reference number made of the serial, so that every receipt records its own
/// card payment.
pub fn receipt(register: &str, serial: u64) -> Receipt {
    sample::receipt(MERCHANT_ORG, AGENCY_ORG, register, serial)
}

/// [`receipt`] on register `KASSA-1` as the till's JSON.
pub fn receipt_json(serial: u64) -> String {
    serde_json::to_string(&receipt("KASSA-1", serial)).unwrap()
}
