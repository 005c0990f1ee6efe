//! The client API's access log and request counts: one `tracing` event per request
//! (target `kvitt::access`) with a request id, the caller's person (as their token names
//! them, or `-`), the method, the route template (`/v1/claims/{id}`, never the path with
//! its ids), the status and the latency; and `kvitt_api_requests_total` by route and
//! status (crate::metrics).
//!
//! It never logs a token, a cookie, a query string or a body: the Authorization header
//! is only looked up among the node's tokens, and the receipt a till pushes stays out of
//! the log. The request id also goes back as the [`REQUEST_ID_HEADER`] of the answer, so
//! a caller can quote it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::ApiState;

/// The answer's header carrying the request's id, as the access log names it.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The route of a request no route matched, in the log and the metrics (the path itself
/// could be anything a caller sends: it would make a label per path).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The method label of a request's count: a standard method, or `other` (a caller may
/// send any token as a method, and each would make a new series).
pub const OTHER_METHOD: &str = "other";

fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => OTHER_METHOD,
    }
}

/// Numbers the requests of this process.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// Logs and counts a request once it is answered.
pub(super) async fn access_log(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = format!("{:x}-{}", std::process::id(), NEXT_REQUEST.fetch_add(1, Ordering::Relaxed));
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |path| path.as_str().to_owned());
    let person =
        super::caller(&state, request.headers()).map_or_else(|_| "-".to_owned(), |caller| caller.person);
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "kvitt::access",
        request_id = %id,
        person = %person,
        method = %method,
        route = %route,
        status,
        latency_ms,
        "request"
    );
    state.node.metrics().api_request(method_label(&method), &route, status);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_of_the_caller_s_own_making_is_counted_as_other() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), OTHER_METHOD);
    }
}
