//! A small network of `kvitt` processes on loopback, set up with the `kvitt` command as an
//! operator would (`init`, `directory add/publish/import`, `token add`), each node run as
//! `kvitt run` in its own process, so that tests can kill one with SIGKILL and restart it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use serde_json::Value;

/// How long a test waits for something the network does by itself (a delivery, a node
/// coming up) before it fails. Generous: this is a bound on a hang, not a timing check.
pub const PATIENCE: Duration = Duration::from_secs(90);

pub const SSC_ORG: &str = "202100-6255";
pub const AGENCY_ORG: &str = "202100-5489";
pub const MERCHANT_ORG: &str = "556016-0680";

/// The `kvitt` binary: beside the test executable's folder (cargo builds it for the
/// workspace's tests), else built now.
pub fn kvitt_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let target = exe.parent().and_then(Path::parent).unwrap().to_owned();
        let binary = target.join(format!("kvitt{}", std::env::consts::EXE_SUFFIX));
        if !binary.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status =
                Command::new(cargo).args(["build", "-p", "kvitt-node", "--bin", "kvitt"]).status().unwrap();
            assert!(status.success(), "could not build the kvitt binary");
        }
        binary
    })
}

/// Runs `kvitt ARGS` to completion; returns its standard output, or panics with its
/// standard error.
pub fn kvitt(args: &[&str]) -> String {
    let output = Command::new(kvitt_binary()).args(args).output().unwrap();
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

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// The value after `label` on the line of `output` that starts with it.
fn field<'a>(output: &'a str, label: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{output}"))
}

/// One node: its data directory, addresses, and its process while it runs.
pub struct Node {
    pub name: &'static str,
    pub data: PathBuf,
    pub api: SocketAddr,
    pub peer: SocketAddr,
    pub key: String,
    process: Option<Child>,
    starts: u32,
}

impl Node {
    /// `kvitt init` for a new node in `root/name`.
    fn init(root: &Path, name: &'static str, role: &str, org: &str, operator_key: Option<&str>) -> Node {
        let data = root.join(name);
        let (peer, api) = (free_udp(), free_tcp());
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
        Node { name, data, api, peer, key, process: None, starts: 0 }
    }

    fn data_arg(&self) -> String {
        format!("--data={}", self.data.display())
    }

    /// Adds a token and returns it.
    pub fn token(&self, person: &str, role: &str) -> String {
        kvitt(&["token", "add", &self.data_arg(), &format!("--person={person}"), &format!("--role={role}")])
            .trim()
            .to_owned()
    }

    /// Starts `kvitt run` and waits until its API answers.
    pub fn start(&mut self) {
        assert!(self.process.is_none(), "{} is already running", self.name);
        self.starts += 1;
        let log = std::fs::File::create(self.data.join(format!("run-{}.log", self.starts))).unwrap();
        let child = Command::new(kvitt_binary())
            .args(["run", &self.data_arg()])
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
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let url = format!("http://{}{path}", self.api);
        let authorization = format!("Bearer {token}");
        let response = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &authorization).call(),
            (_, Some(body)) => agent
                .post(&url)
                .header("Authorization", &authorization)
                .header("Content-Type", "application/json")
                .send(body),
            (_, None) => agent.post(&url).header("Authorization", &authorization).send_empty(),
        };
        let mut response = response.unwrap_or_else(|error| panic!("{method} {url}: {error}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An SSC (the operator), an agency and a merchant, set up but not started.
pub struct Network {
    pub ssc: Node,
    pub agency: Node,
    pub merchant: Node,
    pub till: String,
    pub employee: String,
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
        let till = merchant.token("till-1", "till");
        let employee = agency.token("emp-17", "employee");
        Network { ssc, agency, merchant, till, employee, root }
    }

    /// The receipts the agency holds for the employee, by serial.
    pub fn agency_serials(&self) -> Vec<u64> {
        let (status, body) = self.agency.call("GET", "/v1/receipts", &self.employee, None);
        assert_eq!(status, 200, "{body}");
        let mut serials: Vec<u64> =
            body.as_array().unwrap().iter().map(|view| view["receipt"]["serial"].as_u64().unwrap()).collect();
        serials.sort_unstable();
        serials
    }

    /// Waits until the agency holds exactly `expected`; fails with every node's logs.
    pub fn wait_for_agency(&self, expected: &[u64]) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let held = self.agency_serials();
            if held == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the agency holds {held:?}, expected {expected:?}\n{}{}{}",
                self.merchant.logs(),
                self.agency.logs(),
                self.ssc.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A hotel night for employee emp-17 of the agency, register KASSA-1, `serial`, as the
/// till's JSON.
pub fn receipt_json(serial: u64) -> String {
    let line = |description: &str, category: &str, unit_price: i64, vat_rate: u32| Line {
        kind: LineKind::Sale,
        description: description.into(),
        article: None,
        gtin: None,
        category: Some(category.into()),
        quantity: Some(1000),
        unit: Some("st".into()),
        unit_price: Some(unit_price),
        discounts: vec![],
        amount: None,
        vat_rate: Some(vat_rate),
    };
    let receipt = Receipt {
        merchant: Merchant {
            name: "Hotell Kvitt AB".into(),
            org: MERCHANT_ORG.into(),
            vat_number: Some("SE556016068001".into()),
            address: Address {
                street: "Drottninggatan 1".into(),
                postal_code: "111 51".into(),
                city: "Stockholm".into(),
                country: "SE".into(),
            },
        },
        register: "KASSA-1".into(),
        serial,
        control_unit: "CU-0001-2345".into(),
        issued_at: "2026-11-30T08:15:00+01:00".into(),
        currency: "SEK".into(),
        lines: vec![line("Enkelrum, 1 natt", "hotel", 149_500, 1200), line("Frukost", "food", 12_900, 600)],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Buyer { agency: AGENCY_ORG.into(), employee: Some("emp-17".into()) },
        original: None,
    }
    .with_computed_totals();
    let receipt = Receipt {
        payments: vec![Payment::Card {
            amount: receipt.total,
            masked_pan: "************1234".into(),
            brand: "Visa".into(),
            rrn: format!("6123456{serial:05}"),
            terminal: "T-88001".into(),
            approval_code: "A1B2C3".into(),
        }],
        ..receipt
    };
    serde_json::to_string(&receipt).unwrap()
}
