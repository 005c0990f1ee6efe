//! What the web app's HTTP tests share: an HTTP agent that shows every answer as the
//! browser would get it.
#![allow(dead_code)]

use std::time::Duration;

/// An agent that follows no redirect (a test looks at the `303` and its `Location`), takes
/// every status as an answer rather than an error, and uses no proxy.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .proxy(None)
        .build()
        .into()
}
