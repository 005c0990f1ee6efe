//! The real mode's client: one node's HTTP client API (spec/api.md) as one caller, with
//! answers split into what the workload acts on: a JSON answer, a refusal with its code,
//! or no answer at all (the node is down, killed mid-request, or too slow).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

/// How long one request may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What came of one request.
#[derive(Debug)]
pub enum Answer {
    /// A 2xx answer and its JSON body.
    Ok(u16, Value),
    /// A problem answer: status, its `code` and `detail`.
    Refused(u16, String, String),
    /// No answer: the transport failed.
    Unanswered(String),
}

impl Answer {
    /// The body of a 2xx answer, or a description of what came instead.
    pub fn ok(self) -> Result<Value, String> {
        match self {
            Answer::Ok(_, body) => Ok(body),
            Answer::Refused(status, code, detail) => Err(format!("{status} {code}: {detail}")),
            Answer::Unanswered(why) => Err(format!("no answer: {why}")),
        }
    }
}

/// One node's API as one caller.
#[derive(Clone)]
pub struct Api {
    agent: ureq::Agent,
    base: String,
    bearer: String,
}

impl Api {
    /// The API at `address` with `token`.
    pub fn new(address: SocketAddr, token: String) -> Api {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .proxy(None)
            .build();
        Api { agent: config.into(), base: format!("http://{address}"), bearer: format!("Bearer {token}") }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.call("GET", path, None).ok()
    }

    /// `GET path`, the whole answer.
    pub fn get_answer(&self, path: &str) -> Answer {
        self.call("GET", path, None)
    }

    /// `POST path` with `body` (JSON) or none.
    pub fn post(&self, path: &str, body: Option<&Value>) -> Answer {
        self.call("POST", path, body)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let url = format!("{}{path}", self.base);
        let result = match method {
            "GET" => self.agent.get(&url).header("authorization", &self.bearer).call(),
            _ => {
                let request = self.agent.post(&url).header("authorization", &self.bearer);
                match body {
                    Some(body) => request.content_type("application/json").send(body.to_string()),
                    None => request.send_empty(),
                }
            }
        };
        let mut response = match result {
            Ok(response) => response,
            Err(error) => return Answer::Unanswered(error.to_string()),
        };
        let status = response.status().as_u16();
        let text = match response.body_mut().read_to_string() {
            Ok(text) => text,
            Err(error) => return Answer::Unanswered(error.to_string()),
        };
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            return Answer::Ok(status, json);
        }
        let field = |name: &str| json.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        match status {
            // A node that is starting or overloaded says so; the caller tries again.
            502..=504 => Answer::Unanswered(format!("{status} {}", field("detail"))),
            _ => Answer::Refused(status, field("code"), field("detail")),
        }
    }
}
