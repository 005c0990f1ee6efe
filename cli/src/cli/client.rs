//! The HTTP client of the client commands: which node to talk to and as whom (the
//! connection options), one blocking request at a time, and the node's problem+json
//! refusals as [`Failure::Problem`].

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use kvitt_node::config::{NodeConfig, TokenConfig, CONFIG_FILE};
use kvitt_node::core::CallerRole;
use serde::Deserialize;

/// How long one request may take, connecting and reading the answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read from the node (a list at its default limit of 1000 entries fits).
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// Environment variable naming the node's API when `--api` is not given.
const API_ENV: &str = "KVITT_API";
/// Environment variable holding the bearer token when `--token` is not given.
const TOKEN_ENV: &str = "KVITT_TOKEN";

/// Which node to ask and as whom, and how to print; accepted before or after the
/// subcommand (`kvitt claim --json list`, `kvitt claim list --json`).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Connection and output")]
pub struct ClientOptions {
    /// The node's client API, e.g. http://127.0.0.1:8400 [env: KVITT_API].
    #[arg(long, value_name = "URL", global = true, conflicts_with = "data")]
    api: Option<String>,
    /// Bearer token for the API (`kvitt token add` prints one) [env: KVITT_TOKEN].
    #[arg(long, value_name = "TOKEN", global = true, conflicts_with = "data")]
    token: Option<String>,
    /// Instead of --api/--token: the node's data folder, whose config.toml names the API
    /// address and whose access.json the people (needs --as).
    #[arg(long, value_name = "DIR", global = true, requires = "person")]
    data: Option<PathBuf>,
    /// With --data: act as this person, with a token for this command (10 minutes) added
    /// to DIR/access.json for the role they hold there.
    #[arg(long = "as", value_name = "PERSON", global = true, requires = "data")]
    person: Option<String>,
    /// Print the node's JSON answer as it is, one document (a refusal's problem document
    /// too), instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

impl ClientOptions {
    /// `--data DIR --as PERSON`, for a command that has the data folder anyway
    /// (`kvitt backup`).
    pub fn for_person(data: PathBuf, person: String) -> ClientOptions {
        ClientOptions { api: None, token: None, data: Some(data), person: Some(person), json: false }
    }
}

/// How long `GET` of a long answer ([`Client::get_into`]) waits for its head (the node
/// dumps its ledger before it answers); the body then takes as long as it takes.
pub const LONG_ANSWER_WAIT: Duration = Duration::from_secs(600);

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The node answered with a problem document (exit 1 for a 4xx refusal, else 2).
    Problem(Problem),
    /// Usage, input, connection or an answer that makes no sense (exit 2).
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::Other(error.into())
    }
}

/// An `application/problem+json` answer of the node (node/src/api.rs).
#[derive(Debug, Deserialize)]
pub struct Problem {
    /// The HTTP status.
    #[serde(default)]
    pub status: u16,
    /// The protocol's error or refusal code (spec/protocol.md).
    pub code: String,
    /// The field path, empty when the whole request is concerned.
    #[serde(default)]
    pub path: String,
    /// What was wrong.
    #[serde(default)]
    pub detail: String,
    /// Whether the same request may succeed later.
    #[serde(default)]
    pub retry: bool,
    /// The document as the node sent it, for `--json`.
    #[serde(skip)]
    pub body: String,
}

impl Problem {
    /// A refusal of this request (4xx), not a failure of the node.
    pub fn is_refusal(&self) -> bool {
        (400..500).contains(&self.status)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_refusal() { "refused" } else { "node error" };
        write!(f, "{verdict}: {}", self.code)?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.detail)?;
        if self.retry {
            write!(f, " (the node may accept it later: try again)")?;
        }
        Ok(())
    }
}

/// A connection to one node's client API as one caller.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
    /// How to start the node, for the message when none answers.
    start_hint: String,
}

impl Client {
    /// Resolves the connection options: `--data DIR --as PERSON` (PERSON's token, the
    /// first of a role in `roles` when they hold several), else `--api`/`--token`, else
    /// the environment.
    pub fn connect(options: &ClientOptions, roles: &[CallerRole]) -> anyhow::Result<Client> {
        if let (Some(data), Some(person)) = (&options.data, &options.person) {
            return Client::as_person(data, person, roles);
        }
        let api = options.api.clone().or_else(|| std::env::var(API_ENV).ok());
        let token = options.token.clone().or_else(|| std::env::var(TOKEN_ENV).ok());
        match (api, token) {
            (Some(api), Some(token)) => {
                Ok(Client::new(normalise(&api), token, "kvitt run --data …".to_owned()))
            }
            (Some(_), None) => anyhow::bail!("--api needs --token TOKEN (or {TOKEN_ENV})"),
            (None, Some(_)) => anyhow::bail!("--token needs --api URL (or {API_ENV})"),
            (None, None) => anyhow::bail!(
                "which node? give --api URL --token TOKEN (or set {API_ENV} and {TOKEN_ENV}), \
                 or --data DIR --as PERSON to read them from the node's config.toml"
            ),
        }
    }

    /// `--data DIR --as PERSON`: the node whose data directory is `data`, as `person` (a
    /// token for this command, of the first role of `roles` they hold). `kvitt demo` acts
    /// through it as its tills and employees.
    pub fn as_person(data: &Path, person: &str, roles: &[CallerRole]) -> anyhow::Result<Client> {
        let config = NodeConfig::load(data)?;
        // A config.toml of an older version, not yet started since, still lists plain
        // tokens; otherwise a token for this command goes into access.json.
        let token = match token_of(&config.tokens, person, roles) {
            Some(token) => token.token.clone(),
            None if !config.tokens.is_empty() => {
                let people: Vec<&str> = config.tokens.iter().map(|token| token.person.as_str()).collect();
                anyhow::bail!(
                    "{person} has no token in {}; people with tokens: {}",
                    data.join(CONFIG_FILE).display(),
                    people.join(", ")
                )
            }
            None => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                kvitt_node::access::command_token(data, person, roles, now)?
            }
        };
        let base = format!("http://{}", reachable(config.api));
        Ok(Client::new(base, token, format!("kvitt run --data {}", data.display())))
    }

    fn new(base: String, token: String, start_hint: String) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            // The API is on loopback: a proxy from the environment must not get in between.
            .proxy(None)
            .build();
        Client { agent: config.into(), base, token, start_hint }
    }

    /// `GET path`; the answer's body on success.
    pub fn get(&self, path: &str) -> Result<String, Failure> {
        let url = self.url(path);
        let result = self.agent.get(&url).header("authorization", self.bearer()).call();
        self.answer("GET", &url, result)
    }

    /// `GET path` of an answer that is bytes, not text (an SIE file): its body and headers.
    pub fn get_bytes(&self, path: &str) -> Result<(Vec<u8>, ureq::http::HeaderMap), Failure> {
        let url = self.url(path);
        let result = self.agent.get(&url).header("authorization", self.bearer()).call();
        self.answer_bytes("GET", &url, result)
    }

    /// `GET path` of an answer of any length (a ledger's dump), copied into `out` as it
    /// arrives; its headers on success.
    pub fn get_into(&self, path: &str, out: &mut impl io::Write) -> Result<ureq::http::HeaderMap, Failure> {
        let url = self.url(path);
        let result = self
            .agent
            .get(&url)
            .header("authorization", self.bearer())
            .config()
            .timeout_global(None)
            .timeout_recv_response(Some(LONG_ANSWER_WAIT))
            .build()
            .call();
        let response = result.map_err(|error| self.transport_error("GET", &url, error))?;
        if !response.status().is_success() {
            return self.answer_bytes("GET", &url, Ok(response)).map(|(_, headers)| headers);
        }
        let headers = response.headers().clone();
        io::copy(&mut response.into_body().into_reader(), out)
            .map_err(|error| Failure::Other(anyhow!("GET {url}: reading the answer: {error}")))?;
        Ok(headers)
    }

    /// `POST path` with a JSON body, or none; the answer's body on success.
    pub fn post(&self, path: &str, json: Option<&str>) -> Result<String, Failure> {
        let url = self.url(path);
        let request = self.agent.post(&url).header("authorization", self.bearer());
        let result = match json {
            Some(json) => request.content_type("application/json").send(json),
            None => request.send_empty(),
        };
        self.answer("POST", &url, result)
    }

    /// `POST path?query` with `body` of `content_type` (a document to import); the
    /// answer's body on success. The query's values are percent-encoded.
    pub fn post_document(
        &self,
        path: &str,
        query: &[(&str, String)],
        content_type: &str,
        body: &[u8],
    ) -> Result<String, Failure> {
        let url = self.url(path);
        let mut request = self.agent.post(&url).header("authorization", self.bearer());
        for (name, value) in query {
            request = request.query(*name, value);
        }
        let result = request.content_type(content_type).send(body);
        self.answer("POST", &url, result)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn answer(
        &self,
        method: &str,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, Failure> {
        let (body, _) = self.answer_bytes(method, url, result)?;
        String::from_utf8(body)
            .map_err(|error| Failure::Other(anyhow!("{method} {url}: the answer is not UTF-8: {error}")))
    }

    fn answer_bytes(
        &self,
        method: &str,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(Vec<u8>, ureq::http::HeaderMap), Failure> {
        let response = result.map_err(|error| self.transport_error(method, url, error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let problem = headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/problem+json"));
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|error| self.transport_error(method, url, error))?;
        if status.is_success() {
            return Ok((body, headers));
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if problem {
            if let Ok(mut parsed) = serde_json::from_str::<Problem>(&body) {
                parsed.status = status.as_u16();
                parsed.body = body;
                return Err(Failure::Problem(parsed));
            }
        }
        Err(Failure::Other(anyhow!("{method} {url}: the node answered {status}: {}", body.trim())))
    }

    fn transport_error(&self, method: &str, url: &str, error: ureq::Error) -> Failure {
        let unreachable = match &error {
            ureq::Error::Io(error) => matches!(
                error.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::NotConnected
            ),
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
            _ => false,
        };
        if unreachable {
            return Failure::Other(anyhow!(
                "no kvitt node answers at {}; is `{}` running?",
                self.base,
                self.start_hint
            ));
        }
        if matches!(error, ureq::Error::Timeout(_)) {
            return Failure::Other(anyhow!(
                "{method} {url}: no answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ));
        }
        Failure::Other(anyhow::Error::new(error).context(format!("{method} {url}")))
    }
}

/// PERSON's token: the first whose role is one of `roles`, else their first.
fn token_of<'a>(tokens: &'a [TokenConfig], person: &str, roles: &[CallerRole]) -> Option<&'a TokenConfig> {
    let mut theirs = tokens.iter().filter(|token| token.person == person);
    let first = theirs.clone().next();
    theirs.find(|token| roles.contains(&token.role)).or(first)
}

/// Where to connect for a node listening on `address`: loopback for "any address".
fn reachable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port()),
        _ => address,
    }
}

/// `127.0.0.1:8400` and `http://127.0.0.1:8400/` both become `http://127.0.0.1:8400`.
fn normalise(api: &str) -> String {
    let api = api.trim().trim_end_matches('/');
    if api.contains("://") {
        api.to_owned()
    } else {
        format!("http://{api}")
    }
}

/// `text` as one URL path segment or query value: everything but unreserved characters
/// percent-encoded.
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A query string of the pairs that have a value: `?employee=eva&limit=10`, or nothing.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let pairs: Vec<String> = pairs
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}={}", encode(value))))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_characters_only() {
        assert_eq!(encode("2026-000001"), "2026-000001");
        assert_eq!(encode("a/b c?ö"), "a%2Fb%20c%3F%C3%B6");
        assert_eq!(query(&[("employee", Some("e v".into())), ("limit", None)]), "?employee=e%20v");
        assert_eq!(query(&[("limit", None)]), "");
    }

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(normalise("127.0.0.1:8400/"), "http://127.0.0.1:8400");
        assert_eq!(normalise("http://[::1]:8400"), "http://[::1]:8400");
        assert_eq!(reachable("0.0.0.0:8400".parse().unwrap()).to_string(), "127.0.0.1:8400");
        assert_eq!(reachable("[::]:8400".parse().unwrap()).to_string(), "[::1]:8400");
    }

    #[test]
    fn a_person_with_several_tokens_gets_the_one_for_the_command() {
        let token = |token: &str, role| TokenConfig { token: token.into(), person: "eva".into(), role };
        let tokens = [token("e", CallerRole::Employee), token("a", CallerRole::Approver)];
        assert_eq!(token_of(&tokens, "eva", &[CallerRole::Approver]).unwrap().token, "a");
        assert_eq!(token_of(&tokens, "eva", &[CallerRole::Till]).unwrap().token, "e");
        assert!(token_of(&tokens, "bo", &[CallerRole::Employee]).is_none());
    }
}
