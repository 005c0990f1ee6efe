//! The web app over HTTP, without a browser (tests/tests/web_browser.rs drives one): sign-in
//! links, the session cookie, CSRF, security headers, permissions. Three real nodes, each
//! serving the web app and the API on a loopback port, their people in access.json.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use kvitt_node::api::serve::ServeLimits;
use kvitt_node::core::CallerRole;

const TOKENS: [common::api_nodes::Token; 2] = [
    ("merchant", "till-token", "kassa-1", CallerRole::Till),
    ("agency", "employee-token", "emp-17", CallerRole::Employee),
];

/// The agency's policy in these tests: lodging above 1000 kr is remarked on, not refused.
const POLICY: &str =
    "format = 1\nrevision = \"2026-01\"\n[[max]]\naccount = 5831\nper_item_ore = 100000\nseverity = \"warning\"\n";

/// An answer of the web app.
pub struct Page {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }
}

pub struct Web {
    pub nodes: common::api_nodes::ApiNodes,
    pub access: tempfile::TempDir,
    agent: ureq::Agent,
}

impl Web {
    pub fn start() -> Web {
        let access = tempfile::tempdir().unwrap();
        let policy = kvitt_node::policy::Policy::parse(std::path::Path::new("policy.toml"), POLICY).unwrap();
        let nodes = common::api_nodes::ApiNodes::start_serving(
            &TOKENS,
            policy,
            ServeLimits::for_open_files(None),
            Some(access.path()),
        );
        Web { nodes, access, agent: common::web::agent() }
    }

    pub fn data(&self, node: &str) -> std::path::PathBuf {
        self.access.path().join(node)
    }

    /// A new user of the agency and their sign-in link's path.
    pub fn user(&self, person: &str, role: CallerRole) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let secret = kvitt_node::access::add_user(&self.data("agency"), person, role, now).unwrap();
        format!("/signin/{secret}")
    }

    pub fn get(&self, path: &str, cookie: Option<&str>) -> Page {
        let mut request = self.agent.get(format!("http://{}{path}", self.nodes.apis["agency"]));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        answer(request.call().unwrap())
    }

    pub fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Page {
        let mut request = self
            .agent
            .post(format!("http://{}{path}", self.nodes.apis["agency"]))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let body: String = form
            .iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        answer(request.send(body).unwrap())
    }

    /// Signs in with a link: the session cookie (`name=value`) and the page's CSRF token.
    pub fn sign_in(&self, link: &str) -> (String, String) {
        let page = self.get(link, None);
        assert_eq!(page.status, 200, "{}", page.body);
        let cookie = page.header("set-cookie").split(';').next().unwrap().to_owned();
        let home = self.get("/", Some(&cookie));
        (cookie, csrf_of(&home.body))
    }
}

impl Web {
    /// The till pushes the sample receipt `serial` (bought by emp-17) and the agency holds
    /// it: its id.
    pub fn receipt(&self, serial: u64) -> String {
        self.receipt_at(serial, "2026-05-04T08:15:00+02:00")
    }

    /// The same, sold at `issued_at`.
    pub fn receipt_at(&self, serial: u64, issued_at: &str) -> String {
        let till = kvitt_node::core::Caller { person: "kassa-1".into(), role: CallerRole::Till };
        let mut receipt = Box::new(common::receipt_body(serial));
        receipt.issued_at = issued_at.into();
        let id = match self
            .nodes
            .ask("merchant", till, kvitt_node::core::ClientRequest::PushReceipt(receipt))
            .unwrap()
        {
            kvitt_node::core::ClientResponse::Pushed { id, .. } => id,
            other => panic!("{other:?}"),
        };
        let employee = kvitt_node::core::Caller { person: "emp-17".into(), role: CallerRole::Employee };
        for _ in 0..200 {
            let request = kvitt_node::core::ClientRequest::Record(id);
            if self.nodes.ask("agency", employee.clone(), request).is_ok() {
                return id.to_string();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("receipt {id} never reached the agency");
    }
}

/// The path a `303 See Other` sends to.
fn location(page: &Page) -> String {
    assert_eq!(page.status, 303, "{}", page.body);
    page.header("location").to_owned()
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn answer(response: ureq::http::Response<ureq::Body>) -> Page {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().read_to_string().unwrap();
    Page { status, headers, body }
}

/// The CSRF token of the first form of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no CSRF field in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[test]
fn a_link_signs_in_once_into_a_strict_http_only_session_and_every_page_has_the_security_headers() {
    let web = Web::start();
    let link = web.user("anna", CallerRole::Employee);
    let page = web.get(&link, None);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("set-cookie").split_once('=').unwrap().1.split_once(';').unwrap().1,
        " HttpOnly; SameSite=Strict; Path=/; Max-Age=28800"
    );
    for (name, value) in [
        ("content-security-policy", kvitt_node::web::CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(page.header(name), value, "{name}");
    }
    assert!(page.body.contains("http-equiv=\"refresh\""));
    let cookie = page.header("set-cookie").split(';').next().unwrap().to_owned();
    let home = web.get("/", Some(&cookie));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<html lang=\"sv\">") && home.body.contains("Mina kvitton"), "{}", home.body);
    assert!(home.body.contains("<strong>anna</strong>"));

    // Used: refused, and no session.
    let again = web.get(&link, None);
    assert_eq!(again.status, 404);
    assert!(again.body.contains("redan använd") && again.headers.get("set-cookie").is_none());
    // Without a session: the sign-in page.
    let signed_out = web.get("/", None);
    assert_eq!(signed_out.status, 401);
    assert!(signed_out.body.contains("Logga in"));
    // The style sheet is cached, the API still answers under /v1.
    let css = web.get("/static/kvitt.css", None);
    assert_eq!((css.status, css.header("content-type")), (200, "text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), "public, max-age=86400");
    assert_eq!(web.get("/v1/claims", None).status, 401, "the API wants its token");
}

#[test]
fn an_expired_link_is_refused() {
    let web = Web::start();
    let long_ago = time::OffsetDateTime::now_utc().unix_timestamp() - kvitt_node::access::LINK_VALIDITY_SECS;
    let secret =
        kvitt_node::access::add_user(&web.data("agency"), "bo", CallerRole::Employee, long_ago).unwrap();
    let page = web.get(&format!("/signin/{secret}"), None);
    assert_eq!(page.status, 410);
    assert!(page.body.contains("gått ut") && page.headers.get("set-cookie").is_none(), "{}", page.body);
}

#[test]
fn a_post_without_the_session_csrf_token_is_refused_and_sign_out_ends_the_session() {
    let web = Web::start();
    let (cookie, csrf) = web.sign_in(&web.user("anna", CallerRole::Employee));
    for form in [vec![], vec![("csrf", "0000")], vec![("csrf", &csrf[1..])]] {
        let refused = web.post("/signout", Some(&cookie), &form);
        assert_eq!(refused.status, 403, "{form:?}");
        assert!(refused.body.contains("Åtgärden nekades"));
    }
    assert_eq!(web.get("/", Some(&cookie)).status, 200, "still signed in");
    // The right token without the session cookie is refused too.
    assert_eq!(web.post("/signout", None, &[("csrf", &csrf)]).status, 403);
    let out = web.post("/signout", Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(web.get("/", Some(&cookie)).status, 401, "the session ended");
}

#[test]
fn revoking_a_person_ends_their_session_without_a_restart() {
    let web = Web::start();
    let (cookie, _) = web.sign_in(&web.user("anna", CallerRole::Employee));
    assert_eq!(web.get("/", Some(&cookie)).status, 200);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    kvitt_node::access::revoke_user(&web.data("agency"), "anna", now).unwrap();
    assert_eq!(web.get("/", Some(&cookie)).status, 401);
}

#[test]
fn english_by_the_browser_or_the_switch() {
    let web = Web::start();
    let switched = web.get("/lang/en", None);
    assert_eq!(switched.status, 303);
    assert!(switched.header("set-cookie").starts_with("kvitt_lang=en;"));
    let page = web.get("/", Some("kvitt_lang=en"));
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Sign in"), "{}", page.body);
    assert_eq!(web.get("/lang/xx", None).status, 404);
}

#[test]
fn sign_in_attempts_are_limited_per_client() {
    let web = Web::start();
    for _ in 0..kvitt_node::web::limit::SIGN_INS_PER_CLIENT {
        assert_eq!(web.get("/signin/guess", None).status, 404);
    }
    let limited = web.get("/signin/guess", None);
    assert_eq!(limited.status, 429);
    // Even a good link waits for the next window.
    assert_eq!(web.get(&web.user("anna", CallerRole::Employee), None).status, 429);
}

#[test]
fn an_employee_builds_a_claim_from_her_receipts_and_mileage_and_sees_its_timeline() {
    let web = Web::start();
    let (first, second) = (web.receipt(7), web.receipt(8));
    let (cookie, csrf) = web.sign_in(&web.user("emp-17", CallerRole::Employee));
    let list = web.get("/kvitton", Some(&cookie));
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&first) && list.body.contains(&second), "{}", list.body);
    assert!(list.body.contains("1\u{a0}624,00\u{a0}kr"), "amounts the Swedish way");
    let search = web.get("/kvitton?merchant=nobody", Some(&cookie));
    assert!(search.body.contains("Inga kvitton hittades"));
    let bad = web.get("/kvitton?from=2026-13-01", Some(&cookie));
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("aria-describedby=\"search-error\"") && bad.body.contains("id=\"search-error\"")
    );

    let receipt = web.get(&format!("/kvitton/{first}"), Some(&cookie));
    assert!(receipt.body.contains("Signaturen är verifierad — signerad av"), "{}", receipt.body);
    assert_eq!(web.get(&format!("/kvitton/{first}/utskrift"), Some(&cookie)).status, 200);

    let draft = location(&web.post(
        "/utkast",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("receipt", &first),
            ("receipt", &second),
            ("purpose", "Konferens"),
            ("cost_center", "CC-100"),
        ],
    ));
    let page = web.get(&draft, Some(&cookie));
    assert!(page.body.contains("policy.max") && page.body.contains("5831"), "{}", page.body);
    let wrong = web.post(
        &format!("{draft}/milersattning"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("date", "2026-05-04"),
            ("km", "zero"),
            ("from", "Sthlm"),
            ("to", "Uppsala"),
            ("purpose", "Möte"),
            ("cost_center", "CC-100"),
        ],
    );
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains(
        "id=\"mileage-km\" name=\"km\" type=\"number\" value=\"zero\" required aria-invalid=\"true\""
    ));
    let added = web.post(
        &format!("{draft}/milersattning"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("date", "2026-05-04"),
            ("km", "142"),
            ("from", "Sthlm"),
            ("to", "Uppsala"),
            ("purpose", "Möte"),
            ("cost_center", "CC-100"),
        ],
    );
    assert_eq!(location(&added), draft);
    let page = web.get(&draft, Some(&cookie));
    assert!(page.body.contains("355,00\u{a0}kr"), "142 km at 2.50: {}", page.body);
    let claim = location(&web.post(&format!("{draft}/skicka"), Some(&cookie), &[("csrf", &csrf)]));
    let page = web.get(&claim, Some(&cookie));
    assert!(page.body.contains("Inskickad") && page.body.contains("emp-17"), "{}", page.body);
    assert!(page.body.contains("/aterkalla"), "withdrawing is offered while it may be");
    let claims = web.get("/rakningar", Some(&cookie));
    assert!(claims.body.contains(&claim));

    // Another employee reaches neither her claim nor her receipts by URL.
    let (other, _) = web.sign_in(&web.user("emp-42", CallerRole::Employee));
    assert_eq!(web.get(&claim, Some(&other)).status, 404);
    assert_eq!(web.get(&format!("/kvitton/{first}"), Some(&other)).status, 404);
    assert!(!web.get("/rakningar", Some(&other)).body.contains(&claim));
    // An approver is offered approve, never withdraw; the API lists the same actions.
    let id: kvitt_protocol::RecordId = claim.trim_start_matches("/rakningar/").parse().unwrap();
    let approver = kvitt_node::core::Caller { person: "chef".into(), role: CallerRole::Approver };
    let own = kvitt_node::core::Caller { person: "emp-17".into(), role: CallerRole::Approver };
    let actions = |caller| match web
        .nodes
        .ask("agency", caller, kvitt_node::core::ClientRequest::ShowClaim { claim: id })
        .unwrap()
    {
        kvitt_node::core::ClientResponse::Claim(view) => view.actions,
        other => panic!("{other:?}"),
    };
    use kvitt_node::core::ClaimAction;
    assert_eq!(actions(approver), vec![ClaimAction::Approve, ClaimAction::Reject]);
    assert_eq!(actions(own), vec![], "no self-approval offered");

    // CSRF: a withdrawal without the token changes nothing.
    assert_eq!(web.post(&format!("{claim}/aterkalla"), Some(&cookie), &[]).status, 403);
    assert!(web.get(&claim, Some(&cookie)).body.contains("Inskickad"));
    let withdrawn = location(&web.post(&format!("{claim}/aterkalla"), Some(&cookie), &[("csrf", &csrf)]));
    let page = web.get(&withdrawn, Some(&cookie));
    assert!(page.body.contains("Återkallad") && !page.body.contains("/aterkalla\""), "{}", page.body);
}

#[test]
fn mina_kvitton_lists_the_newest_sale_first_and_finds_by_date_and_amount() {
    let web = Web::start();
    let old = web.receipt_at(1, "2026-04-02T10:00:00+02:00");
    let new = web.receipt_at(2, "2026-05-20T10:00:00+02:00");
    let (cookie, _) = web.sign_in(&web.user("emp-17", CallerRole::Employee));
    let list = web.get("/kvitton", Some(&cookie)).body;
    assert!(list.find(&new).unwrap() < list.find(&old).unwrap(), "newest first");
    let april = web.get("/kvitton?from=2026-04-02&to=2026-04-02", Some(&cookie)).body;
    assert!(april.contains(&old) && !april.contains(&new));
    let cheap = web.get("/kvitton?max=1623,99", Some(&cookie)).body;
    assert!(!cheap.contains(&old) && !cheap.contains(&new));
    let exact = web.get("/kvitton?min=1624&max=1624&merchant=HOTELL", Some(&cookie)).body;
    assert!(exact.contains(&old) && exact.contains(&new), "{exact}");
}

#[test]
fn an_employee_fetches_a_cash_receipt_by_its_code_on_hamta_kvitto() {
    let web = Web::start();
    let till = kvitt_node::core::Caller { person: "kassa-1".into(), role: CallerRole::Till };
    let mut cash = Box::new(common::receipt_body(31));
    cash.buyer = None;
    let (id, code) =
        match web.nodes.ask("merchant", till, kvitt_node::core::ClientRequest::PushReceipt(cash)).unwrap() {
            kvitt_node::core::ClientResponse::Pushed { id, code: Some(code), .. } => {
                (id.to_string(), code.to_string())
            }
            other => panic!("{other:?}"),
        };
    let (cookie, csrf) = web.sign_in(&web.user("emp-17", CallerRole::Employee));
    let form = web.get("/hamta", Some(&cookie));
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("<h1>Hämta kvitto</h1>") && form.body.contains("<label for=\"code\">"),
        "{}",
        form.body
    );

    // A mistyped check character: the form again, the code kept, the error tied to the field.
    let last = code.chars().last().unwrap();
    let mistyped = format!("{}{}", &code[..code.len() - 1], if last == '0' { '1' } else { '0' });
    let wrong = web.post("/hamta", Some(&cookie), &[("csrf", &csrf), ("code", &mistyped)]);
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("ett tecken är felskrivet"), "{}", wrong.body);
    assert!(wrong.body.contains("aria-invalid=\"true\"") && wrong.body.contains("id=\"code-error\""));
    assert!(wrong.body.contains(&format!("value=\"{mistyped}\"")));
    // Without the session's CSRF token nothing is fetched.
    assert_eq!(web.post("/hamta", Some(&cookie), &[("code", &code)]).status, 403);

    // The right code, typed in lower case: the receipt's page.
    let fetched = web.post("/hamta", Some(&cookie), &[("csrf", &csrf), ("code", &code.to_lowercase())]);
    assert_eq!(location(&fetched), format!("/kvitton/{id}"));
    assert_eq!(web.get(&format!("/kvitton/{id}"), Some(&cookie)).status, 200);
    assert!(web.get("/kvitton", Some(&cookie)).body.contains(&id));
    // Used: a second try says so.
    let again = web.post("/hamta", Some(&cookie), &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(location(&again), format!("/kvitton/{id}"), "the same employee gets the same receipt again");
    let other = web.sign_in(&web.user("emp-18", CallerRole::Employee));
    let taken = web.post("/hamta", Some(&other.0), &[("csrf", &other.1), ("code", &code)]);
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("Koden är redan använd"), "{}", taken.body);
    // Approvers do not fetch receipts.
    let approver = web.sign_in(&web.user("appr-3", CallerRole::Approver));
    assert_eq!(web.get("/hamta", Some(&approver.0)).status, 403);
}

#[test]
fn per_diem_is_added_by_form_and_open_drafts_are_listed_from_home_until_submitted() {
    let web = Web::start();
    let (cookie, csrf) = web.sign_in(&web.user("emp-17", CallerRole::Employee));
    assert!(web.get("/", Some(&cookie)).body.contains("href=\"/utkast\""), "linked from home");
    assert!(web.get("/utkast", Some(&cookie)).body.contains("Du har inga öppna utkast"));
    let draft = location(&web.post(
        "/utkast",
        Some(&cookie),
        &[("csrf", &csrf), ("purpose", "Konferens i Göteborg"), ("cost_center", "CC-100")],
    ));
    let trip = |back_on: &'static str| {
        [
            ("csrf", csrf.as_str()),
            ("depart_date", "2026-05-04"),
            ("depart_time", "13:00"),
            ("return_date", back_on),
            ("return_time", "18:00"),
            ("destination", "Göteborg"),
            ("purpose", "Konferens"),
            ("cost_center", "CC-100"),
            ("breakfasts", "1"),
            ("lunches", ""),
            ("dinners", "0"),
        ]
    };
    // Back the same day: no overnight stay, named beside the field, in Swedish or English.
    let wrong = web.post(&format!("{draft}/traktamente"), Some(&cookie), &trip("2026-05-04"));
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("Traktamente gäller resor med övernattning"), "{}", wrong.body);
    assert!(wrong.body.contains(
        "id=\"per-diem-return_date\" name=\"return_date\" type=\"date\" value=\"2026-05-04\" required aria-invalid=\"true\" aria-describedby=\"per-diem-error\""
    ));
    let english = format!("{cookie}; kvitt_lang=en");
    let wrong = web.post(&format!("{draft}/traktamente"), Some(&english), &trip("2026-05-04"));
    assert!(wrong.body.contains("Per diem is for trips with an overnight stay"), "{}", wrong.body);
    assert!(web.get(&draft, Some(&cookie)).body.contains("Inga poster än."), "nothing added");

    // Left at 13:00, back at 18:00 two days later: one whole day (300 kr less a free
    // breakfast, 60 kr) and two half days (150 kr each).
    assert_eq!(
        location(&web.post(&format!("{draft}/traktamente"), Some(&cookie), &trip("2026-05-06"))),
        draft
    );
    let page = web.get(&draft, Some(&cookie)).body;
    assert!(page.contains("1 × 300,00\u{a0}kr") && page.contains("2 × 150,00\u{a0}kr"), "{page}");
    assert!(page.contains("540,00\u{a0}kr"), "{page}");

    // The open draft is listed, opens in the builder, and is no one else's.
    let number = draft.trim_start_matches("/utkast/");
    let list = web.get("/utkast", Some(&cookie)).body;
    assert!(list.contains(&format!("href=\"{draft}\"")) && list.contains("Konferens i Göteborg"), "{list}");
    let (other, _) = web.sign_in(&web.user("emp-42", CallerRole::Employee));
    assert!(!web.get("/utkast", Some(&other)).body.contains(number));
    assert_eq!(web.get(&draft, Some(&other)).status, 404);
    // Submitted, it leaves the list.
    location(&web.post(&format!("{draft}/skicka"), Some(&cookie), &[("csrf", &csrf)]));
    assert!(!web.get("/utkast", Some(&cookie)).body.contains(number));
}
