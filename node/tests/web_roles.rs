//! The approver's, SSC staff's and operator's pages over HTTP: each page for its role
//! only, and every decision made by a form changes the claim exactly as the API does, or,
//! without the session's CSRF token, not at all. Three real nodes (merchant, agency, SSC),
//! each serving the web app and the API; claims are set up through the nodes' cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use kvitt_node::api::serve::ServeLimits;
use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse};
use kvitt_protocol::claim::{Booking, ClaimItem};
use kvitt_protocol::event::Status;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::RecordId;

const TOKENS: [common::api_nodes::Token; 2] = [
    ("merchant", "till-token", "kassa-1", CallerRole::Till),
    ("ssc", "staff-token", "ssc-greta", CallerRole::SscStaff),
];

/// Most polls of a condition that depends on delivery between nodes (50 ms apart).
const MAX_POLLS: usize = 200;

struct Page {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Vec<u8>,
}

impl Page {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }
}

/// A signed-in person at one node: the node, the session cookie and its CSRF token.
struct Person {
    node: &'static str,
    cookie: String,
    csrf: String,
}

struct Web {
    nodes: common::api_nodes::ApiNodes,
    access: tempfile::TempDir,
    agent: ureq::Agent,
}

impl Web {
    fn start() -> Web {
        let access = tempfile::tempdir().unwrap();
        let nodes = common::api_nodes::ApiNodes::start_serving(
            &TOKENS,
            kvitt_node::policy::Policy::default(),
            ServeLimits::for_open_files(None),
            Some(access.path()),
        );
        Web { nodes, access, agent: common::web::agent() }
    }

    fn url(&self, node: &str, path: &str) -> String {
        format!("http://{}{path}", self.nodes.apis[node])
    }

    /// Adds `person` with `role` at `node` and signs them in.
    fn sign_in(&self, node: &'static str, person: &str, role: CallerRole) -> Person {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let secret = kvitt_node::access::add_user(&self.access.path().join(node), person, role, now).unwrap();
        let page = self.get(node, &format!("/signin/{secret}"), None);
        assert_eq!(page.status, 200, "{}", page.text());
        let cookie = page.header("set-cookie").split(';').next().unwrap().to_owned();
        let home = self.get(node, "/", Some(&cookie)).text();
        let marker = "name=\"csrf\" value=\"";
        let start = home.find(marker).unwrap() + marker.len();
        let csrf = home[start..].split('"').next().unwrap().to_owned();
        Person { node, cookie, csrf }
    }

    fn get(&self, node: &str, path: &str, cookie: Option<&str>) -> Page {
        let mut request = self.agent.get(self.url(node, path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        answer(request.call().unwrap())
    }

    /// `person` opens `path`.
    fn open(&self, person: &Person, path: &str) -> Page {
        self.get(person.node, path, Some(&person.cookie))
    }

    /// `person` sends a form to `path`, with their CSRF token if `csrf`.
    fn send(&self, person: &Person, path: &str, csrf: bool, form: &[(&str, &str)]) -> Page {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        if csrf {
            pairs.push(("csrf", &person.csrf));
        }
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let request = self
            .agent
            .post(self.url(person.node, path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &person.cookie);
        answer(request.send(body).unwrap())
    }

    fn ask(&self, node: &str, caller: Caller, request: ClientRequest) -> ClientResponse {
        self.nodes.ask(node, caller, request).unwrap_or_else(|refusal| panic!("{refusal}"))
    }

    /// The till pushes `receipt`; its id once the agency holds it.
    fn push(&self, receipt: Receipt) -> RecordId {
        let till = Caller { person: "kassa-1".into(), role: CallerRole::Till };
        let ClientResponse::Pushed { id, .. } =
            self.ask("merchant", till, ClientRequest::PushReceipt(Box::new(receipt)))
        else {
            panic!("not pushed")
        };
        self.await_at("agency", id);
        id
    }

    /// Waits until `node` holds record `id`.
    fn await_at(&self, node: &str, id: RecordId) {
        let operator = Caller { person: "olof".into(), role: CallerRole::Operator };
        for _ in 0..MAX_POLLS {
            if self.nodes.ask(node, operator.clone(), ClientRequest::Record(id)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("record {id} at {node}: not within {MAX_POLLS} polls");
    }

    /// `claimant` claims `receipt` and submits; the claim's id.
    fn submit(&self, claimant: &str, receipt: RecordId, total: i64) -> RecordId {
        let employee = Caller { person: claimant.into(), role: CallerRole::Employee };
        let ClientResponse::Draft { draft, .. } =
            self.ask("agency", employee.clone(), ClientRequest::NewClaim { purpose: "Konferens".into() })
        else {
            panic!("no draft")
        };
        let item = ClaimItem::Receipt {
            receipt,
            business_purpose: "Logi under konferensen".into(),
            amount: total,
            booking: Booking { account: 5831, cost_center: "CC-100".into(), project: None },
            foreign: None,
            participants: Vec::new(),
        };
        let number = draft.number.clone();
        self.ask(
            "agency",
            employee.clone(),
            ClientRequest::AddItem { number: number.clone(), item: Box::new(item) },
        );
        let ClientResponse::Submitted { claim } =
            self.ask("agency", employee, ClientRequest::Submit { number })
        else {
            panic!("not submitted")
        };
        claim
    }

    /// A claim of `claimant` for a new receipt with `serial`, submitted.
    fn submitted_claim(&self, claimant: &str, serial: u64) -> RecordId {
        let mut receipt = common::receipt_body(serial);
        receipt.buyer.as_mut().expect("the sample receipt names its buyer").employee = Some(claimant.into());
        let total = receipt.total;
        let id = self.push(receipt);
        self.submit(claimant, id, total)
    }

    /// The status of `claim` at `node`, as the core says.
    fn status(&self, node: &str, claim: RecordId) -> Status {
        let operator = Caller { person: "olof".into(), role: CallerRole::Operator };
        match self.ask(node, operator, ClientRequest::ShowClaim { claim }) {
            ClientResponse::Claim(view) => view.status,
            other => panic!("{other:?}"),
        }
    }

    /// Waits until `claim` stands at `status` at `node`.
    fn await_status(&self, node: &str, claim: RecordId, status: Status) {
        self.await_at(node, claim);
        for _ in 0..MAX_POLLS {
            if self.status(node, claim) == status {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("claim {claim} at {node}: not {status:?} within {MAX_POLLS} polls");
    }
}

fn answer(response: ureq::http::Response<ureq::Body>) -> Page {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().read_to_vec().unwrap();
    Page { status, headers, body }
}

/// The approver's own role: "cecilia" is both an approver and, with another sign-in, an
/// employee with claims of her own.
#[test]
fn an_approver_approves_and_rejects_by_form_and_never_sees_a_button_on_her_own_claim() {
    let web = Web::start();
    let approver = web.sign_in("agency", "cecilia", CallerRole::Approver);
    let theirs = web.submitted_claim("emp-17", 1);
    let other = web.submitted_claim("emp-17", 2);
    let own = web.submitted_claim("cecilia", 3);

    let queue = web.open(&approver, "/attestera");
    assert_eq!(queue.status, 200);
    let queue = queue.text();
    assert!(queue.contains("Att attestera") && queue.contains(&format!("/beslut/{theirs}")), "{queue}");
    assert!(!queue.contains(&format!("/beslut/{own}")), "her own claim is not in her queue");

    let page = web.open(&approver, &format!("/beslut/{theirs}")).text();
    assert!(page.contains("value=\"approve\"") && page.contains("value=\"reject\""), "{page}");
    assert!(
        page.contains("Hotell") && page.contains("Logi under konferensen"),
        "receipt beside items: {page}"
    );
    let page = web.open(&approver, &format!("/beslut/{own}")).text();
    assert!(!page.contains("value=\"approve\"") && !page.contains("value=\"reject\""), "{page}");
    assert!(page.contains("Du kan inte fatta något beslut"));
    // Asked anyway, the core refuses, as the API would.
    let refused = web.send(&approver, &format!("/beslut/{own}"), true, &[("action", "approve")]);
    assert_eq!(refused.status, 422, "as the API refuses a transition: {}", refused.text());
    assert_eq!(web.status("agency", own), Status::Submitted);

    // Without the CSRF token: refused, nothing changed.
    let path = format!("/beslut/{theirs}");
    assert_eq!(web.send(&approver, &path, false, &[("action", "approve")]).status, 403);
    assert_eq!(web.status("agency", theirs), Status::Submitted);
    let approved = web.send(&approver, &path, true, &[("action", "approve")]);
    assert_eq!((approved.status, approved.header("location")), (303, path.as_str()));
    assert_eq!(web.status("agency", theirs), Status::Approved);
    let page = web.open(&approver, &path).text();
    assert!(!page.contains("value=\"approve\"") && page.contains("Attesterad"), "{page}");

    // A rejection needs a reason, which the event keeps.
    let path = format!("/beslut/{other}");
    let no_reason = web.send(&approver, &path, true, &[("action", "reject"), ("reason", "  ")]);
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.text().contains("role=\"alert\""));
    assert_eq!(web.status("agency", other), Status::Submitted);
    let rejected =
        web.send(&approver, &path, true, &[("action", "reject"), ("reason", "Kvitto saknas för taxi")]);
    assert_eq!(rejected.status, 303);
    assert_eq!(web.status("agency", other), Status::Rejected);
    assert!(web.open(&approver, &path).text().contains("Kvitto saknas för taxi"));
}

#[test]
fn ssc_staff_book_pay_reverse_and_download_the_same_sie_bytes_as_the_api() {
    let web = Web::start();
    let approver = web.sign_in("agency", "cecilia", CallerRole::Approver);
    let claim = web.submitted_claim("emp-17", 1);
    assert_eq!(web.send(&approver, &format!("/beslut/{claim}"), true, &[("action", "approve")]).status, 303);
    web.await_status("ssc", claim, Status::Approved);

    let staff = web.sign_in("ssc", "greta", CallerRole::SscStaff);
    let listed = web.open(&staff, "/ssc/rakningar").text();
    assert!(listed.contains(&format!("/beslut/{claim}")), "{listed}");
    assert!(!web.open(&staff, "/ssc/rakningar?status=paid").text().contains(&format!("/beslut/{claim}")));
    let path = format!("/beslut/{claim}");
    let page = web.open(&staff, &path).text();
    assert!(page.contains("value=\"book\"") && !page.contains("value=\"pay\""), "{page}");
    assert_eq!(web.send(&staff, &path, false, &[("action", "book")]).status, 403);
    assert_eq!(web.status("ssc", claim), Status::Approved);
    assert_eq!(web.send(&staff, &path, true, &[("action", "book")]).status, 303);
    assert_eq!(web.status("ssc", claim), Status::Booked);
    assert!(web.open(&staff, &path).text().contains("value=\"pay\""));
    assert_eq!(web.send(&staff, &path, true, &[("action", "pay")]).status, 303);
    assert_eq!(web.status("ssc", claim), Status::Paid);
    assert_eq!(
        web.send(&staff, &path, true, &[("action", "reverse")]).status,
        422,
        "a reversal needs a reason"
    );
    assert_eq!(web.status("ssc", claim), Status::Paid);
    let reversed = web.send(&staff, &path, true, &[("action", "reverse"), ("reason", "Fel kostnadsställe")]);
    assert_eq!(reversed.status, 303);
    assert_eq!(web.status("ssc", claim), Status::Reversed);

    let form = web.open(&staff, "/ssc/sie").text();
    assert!(form.contains(common::AGENCY_ORG) && form.contains("action=\"/ssc/sie/fil\""), "{form}");
    let today = time::OffsetDateTime::now_utc().date();
    let period = format!("agency={}&from={}-01-01&to={today}&again=true", common::AGENCY_ORG, today.year());
    let file = web.open(&staff, &format!("/ssc/sie/fil?{period}"));
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("content-type"), "text/plain; charset=IBM437");
    assert!(
        file.header("content-disposition").starts_with("attachment; filename=\"kvitt-"),
        "{:?}",
        file.headers
    );
    assert_eq!(file.header("kvitt-vouchers"), "2", "the booking and its reversal");
    let api = web
        .agent
        .get(web.url("ssc", &format!("/v1/sie?{period}")))
        .header("authorization", "Bearer staff-token")
        .call()
        .unwrap();
    assert_eq!(answer(api).body, file.body);
}

#[test]
fn a_duplicate_is_resolved_from_the_exceptions_queue_with_a_note() {
    let web = Web::start();
    let approver = web.sign_in("agency", "cecilia", CallerRole::Approver);
    let first = common::receipt_body(1);
    let mut reissue = common::receipt_body(2);
    reissue.payments = first.payments.clone();
    let total = first.total;
    let (first, reissue) = (web.push(first), web.push(reissue));
    let claims = [web.submit("emp-17", first, total), web.submit("emp-17", reissue, total)];
    for claim in claims {
        assert_eq!(
            web.send(&approver, &format!("/beslut/{claim}"), true, &[("action", "approve")]).status,
            303
        );
        web.await_status("ssc", claim, Status::Approved);
    }
    let staff = web.sign_in("ssc", "greta", CallerRole::SscStaff);
    let queue = web.open(&staff, "/ssc/undantag").text();
    let held =
        claims.into_iter().find(|claim| queue.contains(&format!("/ssc/undantag/{claim}"))).expect(&queue);
    assert!(queue.contains("Dubblett") && queue.contains("duplicate:"), "{queue}");
    let path = format!("/ssc/undantag/{held}");
    assert_eq!(web.send(&staff, &path, false, &[("decision", "reject"), ("note", "Dubblett")]).status, 403);
    assert_eq!(web.send(&staff, &path, true, &[("decision", "reject"), ("note", " ")]).status, 422);
    assert_eq!(web.status("ssc", held), Status::Approved);
    let resolved = web.send(&staff, &path, true, &[("decision", "reject"), ("note", "Kvittot finns redan")]);
    assert_eq!((resolved.status, resolved.header("location")), (303, "/ssc/undantag"));
    assert_eq!(web.status("ssc", held), Status::Rejected);
    assert!(web.open(&staff, "/ssc/undantag").text().contains("Inga undantag."));
    // Resolved already: refused as the API refuses it.
    assert_eq!(web.send(&staff, &path, true, &[("decision", "book"), ("note", "x")]).status, 409);
}

#[test]
fn each_page_is_for_its_role_only() {
    let web = Web::start();
    let employee = web.sign_in("agency", "anna", CallerRole::Employee);
    let till = web.sign_in("agency", "kassa-9", CallerRole::Till);
    let approver = web.sign_in("agency", "cecilia", CallerRole::Approver);
    let staff = web.sign_in("ssc", "greta", CallerRole::SscStaff);
    let ssc_pages = [
        "/ssc/rakningar",
        "/ssc/undantag",
        "/ssc/sie",
        "/ssc/sie/fil?agency=x&from=2026-01-01&to=2026-01-02",
    ];
    for person in [&employee, &till, &approver] {
        for page in ssc_pages {
            assert_eq!(web.open(person, page).status, 403, "{page}");
        }
    }
    for person in [&employee, &till, &staff] {
        assert_eq!(web.open(person, "/attestera").status, 403);
    }
    let claim = web.submitted_claim("emp-17", 1);
    for person in [&employee, &till] {
        assert_eq!(web.open(person, &format!("/beslut/{claim}")).status, 403);
        assert_eq!(web.send(person, &format!("/beslut/{claim}"), true, &[("action", "approve")]).status, 403);
    }
    assert_eq!(web.status("agency", claim), Status::Submitted);
    assert_eq!(web.open(&approver, "/beslut/not-an-id").status, 404);
    assert_eq!(web.open(&approver, &format!("/beslut/{}", RecordId([7; 32]))).status, 404);
    // Each role's menu names its pages.
    assert!(web.open(&approver, "/").text().contains("href=\"/attestera\""));
    let home = web.open(&staff, "/").text();
    assert!(["/ssc/rakningar", "/ssc/undantag", "/ssc/sie"].iter().all(|href| home.contains(href)), "{home}");
}

#[test]
fn the_operator_sees_the_directory_syncs_now_and_manages_people_and_tokens() {
    let web = Web::start();
    let operator = web.sign_in("agency", "olof", CallerRole::Operator);
    let approver = web.sign_in("agency", "cecilia", CallerRole::Approver);
    let page = web.open(&operator, "/drift");
    assert_eq!(page.status, 200);
    let page = page.text();
    for org in [common::MERCHANT_ORG, common::AGENCY_ORG, common::SSC_ORG] {
        assert!(page.contains(org), "{org} in {page}");
    }
    assert!(page.contains("<strong>olof</strong>") && page.contains("cecilia"), "{page}");
    assert!(page.contains("Parter") && page.contains("svarar"), "each peer's state: {page}");
    assert_eq!(web.open(&approver, "/drift").status, 403);
    assert_eq!(web.send(&approver, "/drift/synka", true, &[]).status, 403);

    // Synka nu: as POST /v1/sync, a session per peer.
    assert_eq!(web.send(&operator, "/drift/synka", false, &[]).status, 403);
    let synced = web.send(&operator, "/drift/synka", true, &[]);
    assert_eq!(synced.status, 200);
    let synced = synced.text();
    assert!(synced.contains("Avstämning") && synced.contains(common::SSC_ORG), "{synced}");
    // Each peer's last reconciliation: the sessions just ended, in UTC.
    assert!(synced.contains("Senaste avstämning") && synced.contains(" UTC</td>"), "{synced}");

    // A person added by form: their link, shown once, signs them in; revoked, they are out.
    let form = [("person", "bo"), ("role", "employee")];
    assert_eq!(web.send(&operator, "/drift/personer", false, &form).status, 403);
    let added = web.send(&operator, "/drift/personer", true, &form).text();
    let start = added.find("/signin/").expect(&added);
    let link = added[start..].split('<').next().unwrap().to_owned();
    let signed_in = web.get("agency", &link, None);
    assert_eq!(signed_in.status, 200);
    let bo = signed_in.header("set-cookie").split(';').next().unwrap().to_owned();
    assert_eq!(web.get("agency", "/", Some(&bo)).status, 200);
    let again = web.send(&operator, "/drift/personer", true, &form);
    assert_eq!(again.status, 422, "a user already");
    assert!(again.text().contains("role=\"alert\""));
    assert_eq!(web.send(&operator, "/drift/personer/aterkalla", true, &[("person", "bo")]).status, 200);
    assert_eq!(web.get("agency", "/", Some(&bo)).status, 401, "revoked without a restart");

    // A token made by form works on the API until revoked by form.
    let made =
        web.send(&operator, "/drift/nycklar", true, &[("person", "olof"), ("role", "operator")]).text();
    let marker = "<code class=\"secret\">";
    let start = made.find(marker).expect(&made) + marker.len();
    let token = made[start..].split('<').next().unwrap().to_owned();
    let api = |token: &str| {
        let request = web
            .agent
            .get(web.url("agency", "/v1/directory"))
            .header("authorization", format!("Bearer {token}"));
        request.call().unwrap().status().as_u16()
    };
    assert_eq!(api(&token), 200);
    let id = kvitt_node::access::AccessFile::load(&web.access.path().join("agency"))
        .unwrap()
        .tokens
        .iter()
        .find(|held| held.person == "olof")
        .unwrap()
        .id
        .clone();
    assert!(web.open(&operator, "/drift").text().contains(&id));
    assert_eq!(web.send(&operator, "/drift/nycklar/aterkalla", true, &[("id", &id)]).status, 200);
    assert_eq!(api(&token), 401);
}

#[test]
fn the_merchant_operator_sees_each_register_s_receipts_with_their_delivery_state() {
    let web = Web::start();
    let merchant = web.sign_in("merchant", "olle", CallerRole::Operator);
    let empty = web.open(&merchant, "/kassor");
    assert_eq!(empty.status, 200);
    assert!(empty.text().contains("Inga kvitton från kassorna än."));
    let id = web.push(common::receipt_body(7));
    let mut page = String::new();
    for _ in 0..MAX_POLLS {
        page = web.open(&merchant, "/kassor").text();
        if page.contains("levererat") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(page.contains("Kassa KASSA-1") && page.contains(&format!("/kvitton/{id}")), "{page}");
    assert!(page.contains("levererat") && page.contains(common::AGENCY_ORG), "{page}");
    // Only for the operator of a merchant node, as the core says.
    let till = web.sign_in("merchant", "kassa-2", CallerRole::Till);
    assert_eq!(web.open(&till, "/kassor").status, 403);
    let agency_operator = web.sign_in("agency", "olof", CallerRole::Operator);
    assert_eq!(web.open(&agency_operator, "/kassor").status, 403);
}

/// The menu's links (`<nav>` of the page's header), in order.
fn menu_links(page: &str) -> Vec<String> {
    let Some(nav) = page.split("<nav").nth(1).and_then(|rest| rest.split("</nav>").next()) else {
        return Vec::new();
    };
    nav.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

#[test]
fn every_menu_entry_opens_on_its_node_and_none_leads_to_a_refusal() {
    let web = Web::start();
    let roles = [CallerRole::Employee, CallerRole::Approver, CallerRole::SscStaff, CallerRole::Operator];
    let mut seen = Vec::new();
    for node in ["merchant", "agency", "ssc"] {
        for (serial, role) in roles.into_iter().enumerate() {
            let person = web.sign_in(node, &format!("person-{serial}"), role);
            let links = menu_links(&web.open(&person, "/").text());
            for link in &links {
                assert_eq!(web.open(&person, link).status, 200, "{role:?} at {node}: {link}");
            }
            seen.push((node, role, links));
        }
    }
    let menu = |node: &str, role: CallerRole| {
        seen.iter()
            .find(|(at, of, _)| *at == node && *of == role)
            .map(|(_, _, links)| links.join(" "))
            .unwrap()
    };
    // The tills' page is the merchant operator's; the operator's page is on every node.
    assert_eq!(menu("merchant", CallerRole::Operator), "/drift /kassor");
    assert_eq!(menu("agency", CallerRole::Operator), "/drift");
    assert_eq!(menu("ssc", CallerRole::Operator), "/drift");
    assert_eq!(menu("agency", CallerRole::Employee), "/kvitton /hamta /utkast /rakningar");
    assert_eq!(menu("agency", CallerRole::Approver), "/attestera");
    assert_eq!(menu("ssc", CallerRole::SscStaff), "/ssc/rakningar /ssc/undantag /ssc/sie");
    for node in ["merchant", "ssc"] {
        assert_eq!(menu(node, CallerRole::Employee), "", "an employee's pages are the agency's");
        assert_eq!(menu(node, CallerRole::Approver), "", "decisions are the agency's");
    }
    for node in ["merchant", "agency"] {
        assert_eq!(menu(node, CallerRole::SscStaff), "", "SSC staff's pages are the SSC's");
    }
}
