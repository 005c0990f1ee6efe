//! Single sign-on to the web app against a real OpenID Connect provider: `oidc-provider`
//! (npm, pinned in tests/oidc/package-lock.json) run by Node.js from tests/oidc/provider.mjs,
//! never a mock. An HTTP client with a cookie jar plays the browser: it follows the
//! redirects and fills in the provider's development login and consent forms.
//!
//! Needs `node` and `npm` (Node.js 20 or later); `npm ci` runs in tests/oidc once when its
//! node_modules is missing. Without Node.js the tests are skipped with a message, unless
//! CI is set: then they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use support::{kvitt, Network};

const CLIENT_ID: &str = "kvitt-agency";
const CLIENT_SECRET: &str = "test-only-client-secret";
/// An employee of the agency, a user in its access.json.
const EVA: &str = "eva@myndigheten.se";
/// Known to the provider, not a user of the node.
const OLLE: &str = "olle@myndigheten.se";
/// Most requests one sign-in takes through the provider's redirects and forms.
const MAX_STEPS: usize = 20;

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// The provider's process, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_node() -> bool {
    Command::new("node").arg("--version").stdout(Stdio::null()).status().is_ok_and(|status| status.success())
}

/// Starts oidc-provider for one client redirecting to `redirect_uri`, with the accounts
/// `eva` and `olle`; `None` (with a message) without Node.js unless CI is set.
fn provider(redirect_uri: &str) -> Option<Provider> {
    if !has_node() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Node.js is not installed: the OIDC tests need node and npm"
        );
        eprintln!("SKIPPED: the OIDC tests need Node.js (node and npm)");
        return None;
    }
    let dir = provider_dir();
    // Once per test process: the tests run in parallel, and two `npm ci` in one folder
    // remove each other's node_modules.
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        if !dir.join("node_modules").is_dir() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
    });
    let accounts = serde_json::json!({
        "eva": { "email": EVA, "email_verified": true },
        "olle": { "email": OLLE, "email_verified": true },
    });
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env("OIDC_REDIRECT_URI", redirect_uri)
        .env("OIDC_ACCOUNTS", accounts.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // The provider's later notices go to a reader that stays, not a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let issuer =
        line.trim().strip_prefix("issuer ").unwrap_or_else(|| panic!("provider said {line:?}")).to_owned();
    Some(Provider { child, issuer })
}

/// An agency node whose config.toml signs in through `provider`, mapping `email`, with
/// the employee [`EVA`] in its access.json; started.
fn agency_with_sso(network: &mut Network, issuer: &str) {
    let data = format!("--data={}", network.agency.data.display());
    kvitt(&["user", "add", &data, &format!("--person={EVA}"), "--role=employee"]);
    let config = network.agency.data.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[oidc]\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         redirect_url = \"http://{}/oidc/callback\"\nclaim = \"email\"\n",
        network.agency.api
    ));
    std::fs::write(&config, text).unwrap();
    network.agency.start();
}

/// An answer: status, `Location`, body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// A browser without script: cookies per host (paths ignored), redirects followed by hand.
struct Browser {
    agent: ureq::Agent,
    cookies: BTreeMap<String, BTreeMap<String, String>>,
}

fn origin(url: &str) -> &str {
    let rest = url.find("://").map_or(0, |at| at + 3);
    url[rest..].find('/').map_or(url, |slash| &url[..rest + slash])
}

impl Browser {
    fn new() -> Browser {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        Browser { agent, cookies: BTreeMap::new() }
    }

    fn cookie_header(&self, url: &str) -> String {
        let jar = self.cookies.get(origin(url)).cloned().unwrap_or_default();
        jar.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    fn request(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let cookie = self.cookie_header(url);
        let mut response = match form {
            None => self.agent.get(url).header("Cookie", &cookie).call(),
            Some(form) => self.agent.post(url).header("Cookie", &cookie).send_form(form.iter().copied()),
        }
        .unwrap_or_else(|error| panic!("{url}: {error}"));
        let jar = self.cookies.entry(origin(url).to_owned()).or_default();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") || attributes.contains("1970") {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.to_owned());
            }
        }
        let location = response.headers().get("location").map(|value| {
            let value = value.to_str().unwrap();
            if value.starts_with('/') {
                format!("{}{value}", origin(url))
            } else {
                value.to_owned()
            }
        });
        Answer {
            status: response.status().as_u16(),
            location,
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    /// Follows redirects from `url` and signs in at the provider's forms as `login`, until
    /// a page that is neither: the node's answer to the callback.
    fn sign_in(&mut self, url: &str, login: &str) -> Answer {
        let mut next = (url.to_owned(), None::<Vec<(&str, &str)>>);
        for _ in 0..MAX_STEPS {
            let answer = self.request(&next.0, next.1.as_deref());
            if let Some(location) = answer.location {
                next = (location, None);
                continue;
            }
            let Some(action) = form_action(&answer.body).filter(|action| action.contains("/interaction/"))
            else {
                return answer;
            };
            let url = if action.starts_with('/') {
                format!("{}{action}", origin(&next.0))
            } else {
                action.to_owned()
            };
            let form = if answer.body.contains("name=\"prompt\" value=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            next = (url, Some(form));
        }
        panic!("the sign-in took more than {MAX_STEPS} steps");
    }
}

fn form_action(body: &str) -> Option<&str> {
    let start = body.find("action=\"")? + "action=\"".len();
    body[start..].split('"').next()
}

#[test]
fn an_employee_signs_in_through_the_identity_provider_and_sees_their_pages() {
    let mut network = Network::set_up();
    let Some(provider) = provider(&format!("http://{}/oidc/callback", network.agency.api)) else { return };
    agency_with_sso(&mut network, &provider.issuer);
    let node = format!("http://{}", network.agency.api);
    let mut browser = Browser::new();

    let page = browser.request(&format!("{node}/kvitton"), None);
    assert_eq!(page.status, 401, "signed out: the sign-in page");
    assert!(page.body.contains("href=\"/logga-in/oidc\""), "which offers single sign-on");

    let answer = browser.sign_in(&format!("{node}/logga-in/oidc"), "eva");
    assert_eq!(answer.status, 200, "{}\n{}", answer.body, network.agency.logs());
    let cookie = browser.cookie_header(&node);
    assert!(cookie.contains("kvitt_session="), "a session was opened: {cookie}");
    assert!(!cookie.contains("kvitt_oidc_state="), "and the state cookie cleared");

    let page = browser.request(&format!("{node}/kvitton"), None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(EVA), "the employee's own page names them");
    let logs = network.agency.logs();
    assert!(!logs.contains(CLIENT_SECRET) && !logs.contains("eyJ"), "no secret or token logged:\n{logs}");
}

#[test]
fn a_person_who_is_not_a_user_or_a_forged_state_is_refused() {
    let mut network = Network::set_up();
    let Some(provider) = provider(&format!("http://{}/oidc/callback", network.agency.api)) else { return };
    agency_with_sso(&mut network, &provider.issuer);
    let node = format!("http://{}", network.agency.api);

    let mut browser = Browser::new();
    let answer = browser.sign_in(&format!("{node}/logga-in/oidc"), "olle");
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("du är inte användare av den här noden"), "{}", answer.body);
    assert!(!browser.cookie_header(&node).contains("kvitt_session="), "no session");
    assert_eq!(browser.request(&format!("{node}/kvitton"), None).status, 401);

    // A callback this browser did not start: refused before the code is looked at.
    let forged = browser.request(&format!("{node}/oidc/callback?code=abc&state=forged"), None);
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("Inloggningen kunde inte slutföras"), "{}", forged.body);
    assert!(!browser.cookie_header(&node).contains("kvitt_session="));
}
