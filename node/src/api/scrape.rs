//! The metrics listener's one route, `GET /metrics` (crate::metrics), served apart from
//! the client API (`metrics_addr` of config.toml, `kvitt run --metrics`): a scraper needs
//! no token and a firewall can open it to the monitoring network alone.

use std::time::Instant;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::core::{Caller, CallerRole, ClientRequest, ClientResponse, MAX_PAGE_ENTRIES};
use crate::handle::NodeHandle;
use crate::metrics::METRICS_CONTENT_TYPE;

/// Most exceptions a scrape counts: past it the gauge reads this many (a node with
/// that many open exceptions has a problem the gauge has already shown).
pub const MAX_COUNTED_EXCEPTIONS: usize = 10 * MAX_PAGE_ENTRIES;

/// The metrics listener's routes over a node.
pub fn metrics_router(node: NodeHandle) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(node)
}

async fn metrics(State(node): State<NodeHandle>) -> Response {
    match open_exceptions(&node).await {
        Some(open) => node.metrics().set_open_exceptions(open),
        None => tracing::debug!("the core did not count the open exceptions for a scrape"),
    }
    let text = node.metrics().encode(Instant::now());
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

/// The open exceptions the core holds, counted a page at a time up to
/// [`MAX_COUNTED_EXCEPTIONS`]; `None` if the core did not answer.
async fn open_exceptions(node: &NodeHandle) -> Option<usize> {
    let caller = Caller { person: "metrics".into(), role: CallerRole::Operator };
    let mut open = 0usize;
    let mut after = None;
    while open < MAX_COUNTED_EXCEPTIONS {
        let request = ClientRequest::Exceptions { limit: MAX_PAGE_ENTRIES, all: false, after };
        let answer =
            tokio::time::timeout(super::CORE_ANSWER_TIMEOUT, node.ask(caller.clone(), request)).await;
        let Ok(Ok(ClientResponse::Exceptions(page))) = answer else { return None };
        open = open.saturating_add(page.items.len());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Some(open.min(MAX_COUNTED_EXCEPTIONS))
}
