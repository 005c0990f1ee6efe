//! The client API over HTTP, as spec/api.md describes it: authentication before anything
//! else, every error a problem document, who may read which record, and query strings.
//! Three real nodes (merchant, agency, SSC), each a core with its driver and group commit,
//! joined by the in-process link, each serving the API on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use kvitt_node::api::MAX_BODY_BYTES;
use kvitt_node::core::CallerRole;
use kvitt_protocol::Signed;
use serde_json::{json, Value};

/// Who holds a token at which node: (node, token, person, role).
const TOKENS: [common::api_nodes::Token; 8] = [
    ("merchant", "till-token", "kassa-1", CallerRole::Till),
    ("merchant", "merchant-operator-token", "olle", CallerRole::Operator),
    ("agency", "employee-token", "emp-17", CallerRole::Employee),
    ("agency", "other-employee-token", "emp-42", CallerRole::Employee),
    ("agency", "approver-token", "chef-cecilia", CallerRole::Approver),
    ("agency", "operator-token", "olof", CallerRole::Operator),
    ("agency", "agency-till-token", "kassa-9", CallerRole::Till),
    ("ssc", "staff-token", "ssc-greta", CallerRole::SscStaff),
];

/// Most polls of a condition that depends on delivery between nodes (50 ms apart).
const MAX_POLLS: usize = 200;

/// The seven members of every problem document.
const PROBLEM_MEMBERS: [&str; 7] = ["type", "title", "status", "detail", "code", "path", "retry"];

/// An answer of the API: status, content type, `Allow`/`WWW-Authenticate`/`Connection`
/// headers, body.
struct Answer {
    status: u16,
    content_type: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        write!(f, "{} {:?} {:?} {body}", self.status, self.content_type, self.headers)
    }
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {self:?}"))
    }

    /// Asserts a problem document with `status` and `code`, all members present; the body.
    fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        let problem = self.json();
        for member in PROBLEM_MEMBERS {
            assert!(problem.get(member).is_some(), "{member} missing from {problem}");
        }
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["status"], status, "{problem}");
        problem
    }

    /// Asserts a `200` JSON answer; its body.
    fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        self.json()
    }
}

/// Three running nodes and where their APIs listen.
struct Network {
    nodes: common::api_nodes::ApiNodes,
    agent: ureq::Agent,
}

impl Network {
    fn start() -> Network {
        let nodes = common::api_nodes::ApiNodes::start(&TOKENS);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .timeout_global(Some(Duration::from_secs(30)))
            .proxy(None)
            .build()
            .into();
        Network { nodes, agent }
    }

    /// `METHOD path` at `node` with an `Authorization` header (if any) and a body (if any).
    fn call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.nodes.apis[node]));
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let result = match body {
            Some(body) => self.agent.run(request.body(body).unwrap()),
            None => self.agent.run(request.body(()).unwrap()),
        };
        let response = result.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let header = |name: &str| {
            response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
        };
        let content_type = header("content-type");
        let headers = ["allow", "www-authenticate", "kvitt-vouchers", "connection", "kvitt-next"]
            .into_iter()
            .filter(|name| response.headers().contains_key(*name))
            .map(|name| (name.to_owned(), header(name)))
            .collect();
        let body = response.into_body().read_to_vec().unwrap();
        Answer { status, content_type, headers, body }
    }

    /// `GET path` at `node` with `token`.
    fn get(&self, node: &str, token: &str, path: &str) -> Answer {
        self.call(node, "GET", path, Some(&format!("Bearer {token}")), None)
    }

    /// `POST path` at `node` with `token` and a JSON body (or none).
    fn post(&self, node: &str, token: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|body| serde_json::to_vec(&body).unwrap());
        self.call(node, "POST", path, Some(&format!("Bearer {token}")), body)
    }

    /// The till pushes the hotel receipt with `serial`, bought by `employee`; its id.
    fn push_receipt(&self, serial: u64, employee: Option<&str>) -> String {
        let mut receipt = common::receipt_body(serial);
        receipt.buyer.as_mut().unwrap().employee = employee.map(str::to_owned);
        let answer = self.post(
            "merchant",
            "till-token",
            "/v1/receipts",
            Some(serde_json::to_value(&receipt).unwrap()),
        );
        assert_eq!(answer.status, 201, "{answer:?}");
        answer.json()["id"].as_str().unwrap().to_owned()
    }

    /// Waits until the agency holds record `id`.
    fn await_at_agency(&self, id: &str) {
        for _ in 0..MAX_POLLS {
            if self.get("agency", "operator-token", &format!("/v1/records/{id}")).status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("record {id} at the agency: not within {MAX_POLLS} polls");
    }

    /// emp-17 opens a draft, adds `receipt` and submits it; the claim's id.
    fn submit_claim(&self, receipt: &str) -> String {
        let draft =
            self.post("agency", "employee-token", "/v1/drafts", Some(json!({ "purpose": "Konferens" })));
        let number = draft.ok()["number"].as_str().unwrap().to_owned();
        let item = json!({
            "kind": "receipt",
            "receipt": receipt,
            "business_purpose": "Logi",
            "amount": common::receipt_body(1).total,
            "booking": { "account": 5831, "cost_center": "CC-100" },
        });
        self.post("agency", "employee-token", &format!("/v1/drafts/{number}/items"), Some(item)).ok();
        let submitted = self.post("agency", "employee-token", &format!("/v1/drafts/{number}/submit"), None);
        assert_eq!(submitted.status, 201, "{submitted:?}");
        submitted.json()["claim"].as_str().unwrap().to_owned()
    }
}

const SOME_ID: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn authentication_comes_before_bodies_ids_queries_and_routes() {
    let network = Network::start();
    let not_utf8 = vec![0xff, 0xfe, b'{'];
    let requests: [(&str, &str, &str, Option<Vec<u8>>); 14] = [
        ("merchant", "POST", "/v1/receipts", Some(b"not json".to_vec())),
        ("merchant", "POST", "/v1/receipts", Some(not_utf8.clone())),
        ("agency", "POST", "/v1/drafts", Some(b"{\"purpose\": 5}".to_vec())),
        ("agency", "POST", "/v1/drafts/2026-000001/items", Some(b"{}".to_vec())),
        ("agency", "GET", "/v1/records/zz", None),
        ("agency", "GET", "/v1/records/%FF%FE", None),
        ("agency", "GET", "/v1/claims/zz", None),
        ("agency", "POST", "/v1/claims/zz/reject", Some(b"{\"why\": 1}".to_vec())),
        ("ssc", "POST", "/v1/claims/zz/book", None),
        ("agency", "GET", "/v1/receipts?limit=abc", None),
        ("agency", "GET", "/v1/claims?employee=emp-17", None),
        ("ssc", "PUT", "/v1/directory", Some(b"not cbor".to_vec())),
        ("agency", "GET", "/v1/nowhere", None),
        ("agency", "DELETE", "/v1/receipts", None),
    ];
    for (node, method, path, body) in requests {
        for authorization in [None, Some("Bearer no-such-token"), Some("Basic dGlsbDp0aWxs"), Some("Bearer")]
        {
            let answer = network.call(node, method, path, authorization, body.clone());
            let problem = answer.problem(401, "auth.unauthenticated");
            assert_eq!(problem["retry"], false);
            assert_eq!(
                answer.headers.get("www-authenticate").map(String::as_str),
                Some("Bearer"),
                "{answer:?}"
            );
            if body.is_some() {
                // The body was not read: the connection is not kept for another request.
                assert_eq!(answer.headers.get("connection").map(String::as_str), Some("close"), "{answer:?}");
            }
        }
    }
}

/// A request head sent over a new connection, with `body` (which may fall short of the
/// `Content-Length` the head declares); everything the node sends until it closes.
fn raw_exchange(address: std::net::SocketAddr, head: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

#[test]
fn an_answer_given_before_the_body_is_read_closes_the_connection() {
    let network = Network::start();
    let agency = network.nodes.apis["agency"];

    // 401 while the body declared is still on its way: `Connection: close`, then closed.
    let head = "POST /v1/drafts HTTP/1.1\r\nhost: kvitt\r\ncontent-length: 100\r\n\r\n";
    let answer = raw_exchange(agency, head, b"");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{answer}");

    // A route that takes no body, given one: answered, and the connection closed.
    let bearer = "authorization: Bearer staff-token\r\n";
    let head =
        format!("POST /v1/claims/zz/book HTTP/1.1\r\nhost: kvitt\r\n{bearer}content-length: 5\r\n\r\n");
    let answer = raw_exchange(network.nodes.apis["ssc"], &head, b"{}");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{answer}");

    // A body read to its end keeps the connection, and so does a request without one.
    let bearer = Some("Bearer employee-token");
    let body = serde_json::to_vec(&json!({ "purpose": "Konferens" })).unwrap();
    let answer = network.call("agency", "POST", "/v1/drafts", bearer, Some(body));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.headers.get("connection"), None, "{answer:?}");
    let answer = network.call("agency", "GET", "/v1/claims", None, None);
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(answer.headers.get("connection"), None, "{answer:?}");
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let network = Network::start();
    for authorization in
        ["Bearer employee-token", "bearer employee-token", "BEARER employee-token", "Bearer  employee-token"]
    {
        let answer = network.call("agency", "GET", "/v1/claims", Some(authorization), None);
        assert_eq!(answer.ok(), json!([]), "{authorization:?}");
    }
    for authorization in
        ["Bearer employee-token-x", "Bearer EMPLOYEE-TOKEN", "Beareremployee-token", "employee-token"]
    {
        let answer = network.call("agency", "GET", "/v1/claims", Some(authorization), None);
        answer.problem(401, "auth.unauthenticated");
    }
}

#[test]
fn every_error_is_a_problem_document() {
    let network = Network::start();
    let bearer = Some("Bearer employee-token");

    let too_large = vec![b' '; MAX_BODY_BYTES + 1];
    let answer = network.call("agency", "POST", "/v1/drafts", bearer, Some(too_large));
    let problem = answer.problem(413, "request.invalid");
    assert!(problem["detail"].as_str().unwrap().contains(&MAX_BODY_BYTES.to_string()), "{problem}");

    let answer = network.call("agency", "POST", "/v1/drafts", bearer, Some(vec![b'"', 0xff, b'"']));
    answer.problem(400, "request.invalid");

    let answer = network.call("agency", "GET", "/v1/receipts?limit=abc", bearer, None);
    let problem = answer.problem(400, "request.invalid");
    assert_eq!(problem["path"], "limit");
    let answer = network.call("agency", "GET", "/v1/claims?limit=-1", bearer, None);
    assert_eq!(answer.problem(400, "request.invalid")["path"], "limit");

    let answer = network.call("agency", "GET", "/v1/records/%FF%FE", bearer, None);
    answer.problem(400, "request.invalid");

    let problem =
        network.call("agency", "GET", "/v1/nowhere", bearer, None).problem(404, "request.not_found");
    assert_eq!(problem["detail"], "no route /v1/nowhere");
    for path in ["/v2/receipts", "/nowhere", "/v1/claims/x/y/z"] {
        let answer = network.call("agency", "GET", path, bearer, None);
        answer.problem(404, "request.not_found");
    }
    // `/` is the web app's (node/src/web), which answers in HTML.
    let answer = network.call("agency", "GET", "/", bearer, None);
    assert!(answer.content_type.starts_with("text/html"), "{}", answer.content_type);

    let answer = network.call("agency", "DELETE", "/v1/receipts", bearer, None);
    assert_eq!(answer.problem(405, "request.invalid")["detail"], "/v1/receipts does not take DELETE");
    assert_eq!(answer.headers.get("allow").map(String::as_str), Some("POST,GET,HEAD"));
    let answer = network.call("agency", "GET", "/v1/drafts", bearer, None);
    answer.problem(405, "request.invalid");

    // What the node decides was a problem document already, and still is.
    let answer = network.call("agency", "POST", "/v1/drafts", bearer, Some(b"{\"purpose\": 5}".to_vec()));
    assert_eq!(answer.problem(422, "schema.field")["path"], "purpose");
}

#[test]
fn records_are_read_only_by_those_they_concern() {
    let network = Network::start();
    let theirs = network.push_receipt(1, Some("emp-17"));
    let others = network.push_receipt(2, Some("emp-42"));
    let nobodys = network.push_receipt(3, None);
    for id in [&theirs, &others, &nobodys] {
        network.await_at_agency(id);
    }
    let claim = network.submit_claim(&theirs);
    let shown = network.get("agency", "employee-token", &format!("/v1/claims/{claim}")).ok();
    let event = shown["events"][0]["id"].as_str().unwrap().to_owned();
    // A directory record in the ledgers: the operators install version 2.
    let mut newer = common::directory().body().clone();
    newer.version = 2;
    let newer = Signed::sign(newer, &common::key("ssc")).unwrap();
    for (node, token) in [("agency", "operator-token"), ("merchant", "merchant-operator-token")] {
        let bearer = format!("Bearer {token}");
        let installed =
            network.call(node, "PUT", "/v1/directory", Some(&bearer), Some(newer.bytes().to_vec()));
        assert_eq!(installed.ok()["installed"], true);
    }
    let directory = newer.id().to_string();

    let record = |node: &str, token: &str, id: &str| network.get(node, token, &format!("/v1/records/{id}"));
    // emp-17 reads their receipt, their claim and its event, nothing else.
    assert_eq!(record("agency", "employee-token", &theirs).ok()["type"], "receipt");
    assert_eq!(record("agency", "employee-token", &claim).ok()["type"], "claim");
    assert_eq!(record("agency", "employee-token", &event).ok()["type"], "claim_event");
    for id in [&others, &nobodys, &directory, &SOME_ID.to_owned()] {
        let problem = record("agency", "employee-token", id).problem(404, "request.not_found");
        assert!(problem["detail"].as_str().unwrap().contains(id.as_str()), "{problem}");
    }
    // emp-42 reads only their own receipt: not emp-17's, nor emp-17's claim or event.
    assert_eq!(record("agency", "other-employee-token", &others).ok()["type"], "receipt");
    for id in [&theirs, &nobodys, &claim, &event, &directory] {
        record("agency", "other-employee-token", id).problem(404, "request.not_found");
    }
    network
        .get("agency", "other-employee-token", &format!("/v1/claims/{claim}"))
        .problem(404, "request.not_found");
    // Approvers and operators read everything the node holds.
    for token in ["approver-token", "operator-token"] {
        for id in [&theirs, &others, &nobodys, &claim, &event, &directory] {
            assert_eq!(record("agency", token, id).ok()["id"], id.as_str());
        }
    }
    // A till reads the receipts of its node, nothing else.
    assert_eq!(record("merchant", "till-token", &theirs).ok()["type"], "receipt");
    assert_eq!(record("merchant", "merchant-operator-token", &directory).ok()["type"], "directory");
    record("merchant", "till-token", &directory).problem(404, "request.not_found");
    // A till token on an agency node reads no receipt the agency bought.
    for id in [&theirs, &claim, &event, &directory] {
        record("agency", "agency-till-token", id).problem(404, "request.not_found");
    }
    // … and no claim at all, listed or shown.
    network.get("agency", "agency-till-token", &format!("/v1/claims/{claim}")).problem(403, "auth.forbidden");
    network.get("merchant", "till-token", &format!("/v1/claims/{SOME_ID}")).problem(403, "auth.forbidden");
    network.get("agency", "agency-till-token", "/v1/claims").problem(403, "auth.forbidden");
}

#[test]
fn the_sie_export_checks_its_query_and_answers_pc8_bytes() {
    let network = Network::start();
    let agency = common::AGENCY_ORG;
    let refused = [
        (format!("/v1/sie?agency={agency}&from=2026-05-01"), "to", "is required"),
        (format!("/v1/sie?agency={agency}&from=2026-02-30&to=2026-05-31"), "from", "not a date"),
        (
            format!("/v1/sie?agency={agency}&from=2026-05-01&to=2026-05-31&again=yes"),
            "again",
            "true or false",
        ),
        (format!("/v1/sie?agency={agency}&from=2026-05-01&to=2026-05-31&limit=1"), "limit", "unknown"),
        (
            format!("/v1/sie?agency={agency}&agency={agency}&from=2026-05-01&to=2026-05-31"),
            "agency",
            "more than once",
        ),
        (format!("/v1/sie?agency={agency}&from=2026-05-31&to=2026-05-01"), "to", "before"),
    ];
    for (path, parameter, says) in refused {
        let problem = network.get("ssc", "staff-token", &path).problem(400, "request.invalid");
        assert_eq!(problem["path"], parameter, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(says), "{path}: {problem}");
    }
    let path = format!("/v1/sie?agency={agency}&from=2026-05-01&to=2026-05-31");
    network.get("agency", "approver-token", &path).problem(403, "auth.forbidden");
    let unknown =
        network.get("ssc", "staff-token", "/v1/sie?agency=556016-0680&from=2026-05-01&to=2026-05-31");
    assert_eq!(unknown.problem(404, "request.not_found")["path"], "agency");

    let answer = network.get("ssc", "staff-token", &path);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.content_type, "text/plain; charset=IBM437");
    assert_eq!(answer.headers.get("kvitt-vouchers").map(String::as_str), Some("0"), "{answer:?}");
    assert!(answer.body.starts_with(b"#FLAGGA 0\r\n"), "{answer:?}");
    assert!(answer.body.windows(9).any(|window| window == b"#RAR 0 20"), "{answer:?}");
}

#[test]
fn query_parameters_are_checked_and_limit_0_lists_nothing() {
    let network = Network::start();
    let receipt = network.push_receipt(1, Some("emp-17"));
    network.await_at_agency(&receipt);
    let claim = network.submit_claim(&receipt);

    let refused = [
        ("/v1/claims?employee=emp-42", "employee"),
        ("/v1/claims?limit=1&limit=2", "limit"),
        ("/v1/receipts?employe=emp-17", "employe"),
        ("/v1/exceptions?employee=emp-17", "employee"),
        ("/v1/exceptions?all=yes", "all"),
        ("/v1/directory?version=2", "version"),
    ];
    for (path, parameter) in refused {
        let problem = network.get("agency", "approver-token", path).problem(400, "request.invalid");
        assert_eq!(problem["path"], parameter, "{path}: {problem}");
        if path == "/v1/claims?employee=emp-42" {
            let detail = "unknown query parameter \"employee\": this route takes only limit, after";
            assert_eq!(problem["detail"], detail);
        }
        assert!(problem["detail"].as_str().unwrap().contains(parameter), "{problem}");
    }
    let problem = network
        .get("agency", "approver-token", &format!("/v1/records/{claim}?full=1"))
        .problem(400, "request.invalid");
    assert_eq!(problem["path"], "full");
    let problem = network
        .get("agency", "approver-token", &format!("/v1/claims/{claim}?x"))
        .problem(400, "request.invalid");
    assert_eq!(problem["path"], "x");

    for token in ["employee-token", "approver-token", "operator-token"] {
        assert_eq!(network.get("agency", token, "/v1/claims?limit=0").ok(), json!([]), "{token}");
        assert_eq!(network.get("agency", token, "/v1/receipts?limit=0").ok(), json!([]), "{token}");
        assert_eq!(network.get("agency", token, "/v1/claims?limit=1").ok().as_array().unwrap().len(), 1);
        assert_eq!(network.get("agency", token, "/v1/receipts?limit=1").ok().as_array().unwrap().len(), 1);
    }
    assert_eq!(network.get("agency", "approver-token", "/v1/exceptions?limit=0").ok(), json!([]));
    let listed = network.get("agency", "approver-token", "/v1/receipts?employee=emp-17&limit=5").ok();
    assert_eq!(listed[0]["id"], receipt.as_str());
    assert_eq!(network.get("agency", "approver-token", "/v1/receipts?employee=emp-42").ok(), json!([]));

    // Pages: the answer names where the next starts (kvitt-next), the last page does not.
    let second = network.push_receipt(2, Some("emp-17"));
    network.await_at_agency(&second);
    let first_page = network.get("agency", "approver-token", "/v1/receipts?limit=1");
    assert_eq!(first_page.ok().as_array().unwrap().len(), 1);
    let next = first_page.headers.get("kvitt-next").cloned().expect("a next page");
    let last_page = network.get("agency", "approver-token", &format!("/v1/receipts?limit=1&after={next}"));
    assert_eq!(last_page.ok().as_array().unwrap().len(), 1);
    assert_ne!(last_page.ok()[0]["id"], first_page.ok()[0]["id"]);
    assert_eq!(last_page.headers.get("kvitt-next"), None, "{last_page:?}");
    for cursor in ["zz", "", "00"] {
        let path = format!("/v1/receipts?after={cursor}");
        let problem = network.get("agency", "approver-token", &path).problem(400, "request.invalid");
        assert_eq!(problem["path"], "after", "{path}: {problem}");
    }

    // An employee lists their own receipts; naming another employee is refused, not ignored.
    assert_eq!(
        network.get("agency", "employee-token", "/v1/receipts?employee=emp-17").ok()[0]["id"],
        receipt.as_str()
    );
    network
        .get("agency", "other-employee-token", "/v1/receipts?employee=emp-17")
        .problem(403, "auth.forbidden");
}

#[test]
fn resolving_an_exception_is_for_ssc_staff_with_a_decision_and_a_note() {
    let network = Network::start();
    let receipt = network.push_receipt(1, Some("emp-17"));
    network.await_at_agency(&receipt);
    let claim = network.submit_claim(&receipt);
    let path = format!("/v1/exceptions/{claim}/resolve");
    let body = json!({"decision": "reject", "note": "Dubblett"});
    network.post("agency", "approver-token", &path, Some(body.clone())).problem(403, "auth.forbidden");
    let problem = network
        .post("ssc", "staff-token", &path, Some(json!({"decision": "keep", "note": "x"})))
        .problem(422, "schema.field");
    assert_eq!(problem["path"], "decision", "{problem}");
    let problem = network
        .post("ssc", "staff-token", &path, Some(json!({"decision": "book"})))
        .problem(422, "schema.field");
    assert!(problem["detail"].as_str().unwrap().contains("note"), "{problem}");
    let problem = network.post("ssc", "staff-token", &path, Some(body)).problem(404, "request.not_found");
    assert_eq!(problem["detail"], format!("no exception {claim}"));
    assert_eq!(network.get("ssc", "staff-token", "/v1/exceptions?all=true").ok(), json!([]));
}
