//! How long the web app takes to render each page server-side at a busy agency (issue 13:
//! every page paged and rendered in ≤ 50 ms p99 with 100,000 receipts and 10,000 claims).
//!
//! Fills an agency node (in-memory store, the real core and runtime) with 100,000 signed
//! receipts for 200 employees, delivered by its merchant as a merchant would, and 10,000
//! claims in mixed statuses made through the core as people would (30 % waiting for the
//! approver, 40 % approved, 10 % rejected, 10 % withdrawn, 10 % drafts), 200 of the
//! approved held as exceptions; and a merchant node with 20 tills that pushed 2,000
//! receipts. Then renders every page through the real router (`web::app`, sign-in by a
//! one-time link, the session's cookie on each request, no socket), `REQUESTS` times
//! each, and prints p50/p99/max per page and p99 as a share of the 50 ms goal.
//!
//! The SSC's pages are rendered at the agency with an SSC staff session: the core lists
//! claims and exceptions for SSC staff at any node, over the same 10,000 claims.
//!
//! Run: `cargo bench -p kvitt-node --bench pages`. Last line:
//! `result: pages=… worst_page=… worst_p99_ms=… goal_ratio=…`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use ed25519_dalek::SigningKey;
use hdrhistogram::Histogram;
use kvitt_node::core::{
    Caller, CallerRole, ClientRequest, ClientResponse, CoreConfig, Identity, NodeCore, RetryPolicy,
};
use kvitt_node::handle::NodeHandle;
use kvitt_node::ledger::keys;
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::runtime::{IncomingRequest, PeerInbox};
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{Batch, MemoryStore, Store};
use kvitt_protocol::claim::{Booking, ClaimItem};
use kvitt_protocol::directory::{Directory, MemberRole};
use kvitt_protocol::event::Action;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{
    RecordBytes, Request as PeerRequest, RequestBody, Response, ResponseBody, Verdict,
};
use kvitt_protocol::{sample, PublicKey, RecordId, Signed};
use tokio::sync::oneshot;
use tower::ServiceExt;

/// Receipts that reach the agency.
const RECEIPTS: usize = 100_000;
/// Employees they are bought for.
const EMPLOYEES: usize = 200;
/// Registers of the merchant they come from (serials run per register).
const REGISTERS: usize = 50;
/// Claims made at the agency, one receipt each.
const CLAIMS: usize = 10_000;
/// Approved claims noted as exceptions.
const EXCEPTIONS: usize = 200;
/// Tills that push to the merchant node, and pushes each.
const TILLS: usize = 20;
const PUSHES_PER_TILL: usize = 100;
/// Requests measured per page (after `WARMUP` unmeasured ones).
const REQUESTS: usize = 200;
const WARMUP: usize = 5;
/// Issue 13's goal for a page's p99, in microseconds.
const GOAL_US: u64 = 50_000;
/// Concurrent people making claims while filling (so commits are grouped as in use).
const CLAIM_WORKERS: usize = 16;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(seed: u8) -> PublicKey {
    PublicKey::from(key(seed).verifying_key())
}

const MERCHANT_SEED: u8 = 10;
const AGENCY_SEED: u8 = 20;
const SSC_SEED: u8 = 30;

fn directory() -> Signed<Directory> {
    let body = sample::directory(public(MERCHANT_SEED), public(AGENCY_SEED), public(SSC_SEED));
    Signed::sign(body, &key(SSC_SEED)).expect("sign the directory")
}

/// Receipt `index` of the agency's 100,000: its register and serial, a day from April to
/// December 2026, and its employee (`emp-<index % 200>`).
fn receipt(index: usize) -> Receipt {
    let register = format!("KASSA-{:02}", index % REGISTERS);
    let serial = u64::try_from(index / REGISTERS + 1).unwrap_or(u64::MAX);
    let mut receipt = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, &register, serial);
    // From April 2026 on: food's VAT was 12 % before.
    let day = index * 270 / RECEIPTS;
    let (month, day_of_month) = (4 + day / 30, day % 28 + 1);
    receipt.issued_at = format!("2026-{month:02}-{day_of_month:02}T{:02}:15:00+01:00", 7 + index % 12);
    receipt.buyer.as_mut().expect("the sample names its buyer").employee = Some(employee(index));
    receipt
}

fn employee(index: usize) -> String {
    format!("emp-{}", index % EMPLOYEES)
}

/// A node on an in-memory store, driven by the real runtime, reachable on `network`.
fn start(seed: u8, role: MemberRole, network: &LocalNetwork) -> (NodeHandle, PeerInbox, Arc<dyn Store>) {
    let org = match role {
        MemberRole::Merchant => sample::MERCHANT_ORG,
        MemberRole::Agency => sample::AGENCY_ORG,
        _ => sample::SSC_ORG,
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).expect("group commit"));
    let identity = Identity { signing_key: key(seed), org: org.into(), role };
    let config = CoreConfig {
        operator: public(SSC_SEED),
        retry: RetryPolicy::default(),
        delivery_batch: 256,
        seed: u64::from(seed),
        entropy: [1; 32],
        reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
        reference_rates: Some(kvitt_books::ReferenceRates::example().expect("rates")),
        policy: Default::default(),
        uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    };
    let core = NodeCore::start(identity.clone(), config, directory(), Arc::clone(&store)).expect("core");
    let (handle, inbox) = kvitt_node::runtime::spawn(core, commit, network.endpoint(identity.key()));
    network.attach(identity.key(), inbox.clone());
    (handle, inbox, store)
}

/// The merchant delivers the agency's receipts, 256 a request; their ids in order.
async fn deliver_receipts(agency: &PeerInbox) -> Vec<RecordId> {
    let signer = key(MERCHANT_SEED);
    let mut ids = Vec::with_capacity(RECEIPTS);
    let indices: Vec<usize> = (0..RECEIPTS).collect();
    for chunk in indices.chunks(256) {
        let records = chunk
            .iter()
            .map(|index| RecordBytes(Signed::sign(receipt(*index), &signer).expect("sign").bytes().to_vec()))
            .collect();
        let bytes = PeerRequest { directory_version: 1, body: RequestBody::Deliver { records } }
            .encode()
            .expect("encode");
        let (reply, answer) = oneshot::channel();
        agency.deliver(IncomingRequest { peer: public(MERCHANT_SEED), bytes, reply }).await;
        let response = Response::decode(&answer.await.expect("answer")).expect("decode");
        let ResponseBody::Delivered { results } = response.body else { panic!("refused: {response:?}") };
        for verdict in results {
            let Verdict::Stored { id } = verdict else { panic!("not stored: {verdict:?}") };
            ids.push(id);
        }
    }
    ids
}

async fn ask(node: &NodeHandle, caller: &Caller, request: ClientRequest) -> ClientResponse {
    node.ask(caller.clone(), request).await.unwrap_or_else(|refusal| panic!("{refusal}"))
}

/// Claim `index` for receipt `index`, by its employee, taken as far as its status says.
/// The claim's id, unless it stays a draft.
async fn claim(agency: &NodeHandle, index: usize, receipt: RecordId) -> Option<RecordId> {
    let employee = Caller { person: employee(index), role: CallerRole::Employee };
    let ClientResponse::Draft { draft, .. } =
        ask(agency, &employee, ClientRequest::NewClaim { purpose: format!("Resa {index}") }).await
    else {
        panic!("no draft")
    };
    let item = ClaimItem::Receipt {
        receipt,
        business_purpose: "Logi under tjänsteresa".into(),
        amount: receipt_total(),
        booking: Booking { account: 5831, cost_center: "CC-100".into(), project: None },
        foreign: None,
        participants: Vec::new(),
    };
    let number = draft.number.clone();
    ask(agency, &employee, ClientRequest::AddItem { number: number.clone(), item: Box::new(item) }).await;
    if status_of(index) == 8 {
        return None;
    }
    let ClientResponse::Submitted { claim } = ask(agency, &employee, ClientRequest::Submit { number }).await
    else {
        panic!("not submitted")
    };
    let approver = Caller { person: "chef-anna".into(), role: CallerRole::Approver };
    let decision = match status_of(index) {
        3..=5 | 9 => Some((approver, Action::Approved)),
        6 => Some((approver, Action::Rejected { reason: "Saknar syfte".into() })),
        7 => Some((employee, Action::Withdrawn)),
        _ => None,
    };
    if let Some((caller, action)) = decision {
        ask(agency, &caller, ClientRequest::Decide { claim, action }).await;
    }
    Some(claim)
}

/// Where claim `index` stops, 0 to 9 (0–2 submitted, 3–5 and 9 approved, 6 rejected, 7
/// withdrawn, 8 a draft): by the employee's how-many-th claim, so that each employee has
/// claims in every status.
fn status_of(index: usize) -> usize {
    index / EMPLOYEES % 10
}

/// Every sample receipt's total (the same lines each).
fn receipt_total() -> i64 {
    receipt(0).with_computed_totals().total
}

/// The agency's 10,000 claims, `CLAIM_WORKERS` people at a time; the ids of claims made.
async fn make_claims(agency: &NodeHandle, receipts: &[RecordId]) -> Vec<Option<RecordId>> {
    let mut workers = Vec::new();
    for worker in 0..CLAIM_WORKERS {
        let agency = agency.clone();
        let mine: Vec<(usize, RecordId)> =
            (worker..CLAIMS).step_by(CLAIM_WORKERS).map(|index| (index, receipts[index])).collect();
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for (index, receipt) in mine {
                made.push((index, claim(&agency, index, receipt).await));
            }
            made
        }));
    }
    let mut claims = vec![None; CLAIMS];
    for worker in workers {
        for (index, id) in worker.await.expect("worker") {
            claims[index] = id;
        }
    }
    claims
}

/// Notes `EXCEPTIONS` approved claims as duplicates, as the ledger notes them.
fn note_exceptions(store: &dyn Store, claims: &[Option<RecordId>]) {
    let mut batch = Batch::new();
    let approved =
        claims.iter().enumerate().filter(|(index, _)| status_of(*index) == 3).filter_map(|(_, id)| *id);
    for id in approved.take(EXCEPTIONS) {
        batch.insert(keys::exception(&id), b"duplicate: the same card payment as another claim".to_vec());
    }
    store.apply(&batch).expect("note exceptions");
}

/// The merchant's tills push their receipts (its outbox waits: no agency on its network).
async fn push_receipts(merchant: &NodeHandle) {
    for till in 0..TILLS {
        let caller = Caller { person: format!("till-{till}"), role: CallerRole::Till };
        for serial in 1..=PUSHES_PER_TILL {
            let mut body = receipt(serial);
            body.register = format!("KASSA-T{till:02}");
            body.serial = u64::try_from(serial).unwrap_or(u64::MAX);
            ask(merchant, &caller, ClientRequest::PushReceipt(Box::new(body))).await;
        }
    }
}

/// The web app of `node`, with its people in a temporary access file.
struct Web {
    app: Router,
    /// Holds the access file while the app is measured.
    _data: tempfile::TempDir,
}

impl Web {
    fn new(node: NodeHandle, node_role: MemberRole, people: &[(&str, CallerRole)]) -> (Web, Vec<String>) {
        let data = tempfile::tempdir().expect("temporary folder");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let secrets: Vec<String> = people
            .iter()
            .map(|(person, role)| {
                kvitt_node::access::add_user(data.path(), person, *role, now).expect("add user")
            })
            .collect();
        let access = kvitt_node::access::Access::open(data.path()).expect("access");
        let settings = kvitt_node::web::WebSettings {
            secure_cookies: false,
            node_name: "Myndigheten".into(),
            node_role,
            oidc: None,
        };
        let app = kvitt_node::web::app(node, Arc::new(access), settings).expect("web app");
        let web = Web { app, _data: data };
        (web, secrets)
    }

    /// Follows a sign-in link; the session's cookie.
    async fn sign_in(&self, secret: &str) -> String {
        let response = self.get(&format!("/signin/{secret}"), "").await;
        assert_eq!(response.status(), StatusCode::OK, "sign-in");
        let cookie = response.headers()[header::SET_COOKIE].to_str().expect("cookie");
        cookie.split(';').next().expect("cookie pair").to_owned()
    }

    async fn get(&self, path: &str, cookie: &str) -> axum::response::Response {
        let request = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
        self.app.clone().oneshot(request).await.expect("infallible")
    }

    /// Renders `path` `REQUESTS` times (whole body read, which must contain `shows`); each
    /// time in µs.
    async fn measure(&self, path: &str, cookie: &str, shows: &str) -> Histogram<u64> {
        let mut histogram = Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram");
        for round in 0..WARMUP + REQUESTS {
            let started = Instant::now();
            let response = self.get(path, cookie).await;
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
            let text = String::from_utf8_lossy(&body);
            assert!(
                status == StatusCode::OK && text.contains(shows),
                "{path} ({status}) lacks {shows:?}: {text}"
            );
            if round >= WARMUP {
                histogram.record(micros).expect("record");
            }
        }
        histogram
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
    runtime.shutdown_timeout(Duration::from_secs(5));
}

async fn run() {
    let network = LocalNetwork::new();
    let (agency, inbox, store) = start(AGENCY_SEED, MemberRole::Agency, &network);
    let started = Instant::now();
    let receipts = deliver_receipts(&inbox).await;
    println!("{RECEIPTS} receipts delivered to the agency in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let claims = make_claims(&agency, &receipts).await;
    note_exceptions(store.as_ref(), &claims);
    println!(
        "{CLAIMS} claims made in {:.1} s, {EXCEPTIONS} held as exceptions",
        started.elapsed().as_secs_f64()
    );
    let (merchant, _merchant_inbox, _) = start(MERCHANT_SEED, MemberRole::Merchant, &LocalNetwork::new());
    push_receipts(&merchant).await;

    // emp-7: 500 receipts, 50 claims (45 submitted, 5 open drafts); claim 7 is waiting for
    // the approver.
    let (web, secrets) = Web::new(
        agency,
        MemberRole::Agency,
        &[
            ("emp-7", CallerRole::Employee),
            ("chef-anna", CallerRole::Approver),
            ("ssc-greta", CallerRole::SscStaff),
            ("olof", CallerRole::Operator),
        ],
    );
    let mut cookies = Vec::new();
    for secret in &secrets {
        cookies.push(web.sign_in(secret).await);
    }
    let (employee, approver, staff, operator) = (&cookies[0], &cookies[1], &cookies[2], &cookies[3]);
    let (till_web, till_secrets) =
        Web::new(merchant, MemberRole::Merchant, &[("olle", CallerRole::Operator)]);
    let till_operator = till_web.sign_in(&till_secrets[0]).await;

    let claim = claims[7].expect("claim 7 was submitted");
    // Each page with what it must show (so that a fast empty page cannot pass).
    let pages: Vec<(&str, &Web, String, &str, &str)> = vec![
        ("Mina kvitton", &web, "/kvitton".into(), employee, "href=\"/kvitton/"),
        (
            "Mina kvitton, searched",
            &web,
            "/kvitton?merchant=Hotell&from=2026-06-01&to=2026-09-30&min=100&max=5000".into(),
            employee,
            "href=\"/kvitton/",
        ),
        ("a receipt", &web, format!("/kvitton/{}", receipts[7]), employee, sample::MERCHANT_ORG),
        ("a claim", &web, format!("/rakningar/{claim}"), employee, "Resa 7"),
        ("Mina räkningar", &web, "/rakningar".into(), employee, "href=\"/rakningar/"),
        ("Mina utkast", &web, "/utkast".into(), employee, "href=\"/utkast/"),
        ("Att attestera", &web, "/attestera".into(), approver, "href=\"/beslut/"),
        ("the approver's claim", &web, format!("/beslut/{claim}"), approver, "Resa 7"),
        ("SSC: claims", &web, "/ssc/rakningar".into(), staff, "href=\"/beslut/"),
        ("SSC: exceptions", &web, "/ssc/undantag".into(), staff, "href=\"/beslut/"),
        ("operator", &web, "/drift".into(), operator, sample::AGENCY_ORG),
        ("tills (merchant)", &till_web, "/kassor".into(), &till_operator, "KASSA-T19"),
    ];
    println!(
        "{REQUESTS} requests a page, one at a time, through the router (2 tokio workers); goal p99 ≤ {} ms",
        ms(GOAL_US)
    );
    println!("| page | p50 ms | p99 ms | max ms | p99 / goal |");
    println!("|---|---:|---:|---:|---:|");
    let mut worst = ("", 0);
    for (name, site, path, cookie, shows) in &pages {
        let histogram = site.measure(path, cookie, shows).await;
        let p99 = histogram.value_at_quantile(0.99);
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
            ms(histogram.value_at_quantile(0.5)),
            ms(p99),
            ms(histogram.max()),
            p99 as f64 / GOAL_US as f64
        );
        if p99 > worst.1 {
            worst = (name, p99);
        }
    }
    println!(
        "result: pages={} worst_page=\"{}\" worst_p99_ms={:.2} goal_ratio={:.2}",
        pages.len(),
        worst.0,
        ms(worst.1),
        worst.1 as f64 / GOAL_US as f64
    );
}
