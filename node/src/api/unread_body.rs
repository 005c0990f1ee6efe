//! `Connection: close` on an answer given before the request's body was read.
//!
//! Many answers go out without reading the body: `401` before anything else, `404` and
//! `405` from the fallbacks, `413` from the length alone, a route that takes no body. hyper
//! then drains what of the body has already arrived, but if the rest is still in flight it
//! closes the connection after the answer, which it sent as keep-alive. A client that pools
//! connections sends its next request into a closed socket ("broken pipe", "peer
//! disconnected"): seen in the API tests under load. RFC 9112 §9.6: a server that closes
//! says so with `Connection: close`, so this layer says it whenever the body was not read
//! to its end, and the client opens a new connection for its next request.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// Runs `request` and adds `Connection: close` to the answer if the request declared a
/// body that was not read to its end.
pub async fn close_if_body_unread(request: Request, next: Next) -> Response {
    if !declares_body(&request) {
        return next.run(request).await;
    }
    let read_to_end = Arc::new(AtomicBool::new(false));
    let watched = Arc::clone(&read_to_end);
    let request = request.map(|body| Body::new(WatchedBody { body, read_to_end: watched }));
    let mut response = next.run(request).await;
    if !read_to_end.load(Ordering::Acquire) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether `request` says a body follows its head (RFC 9112 §6.3): chunked, or a
/// `Content-Length` other than 0. A length that does not parse counts as a body.
fn declares_body(request: &Request) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers.get(header::CONTENT_LENGTH).is_some_and(|length| {
            length.to_str().ok().and_then(|length| length.parse::<u64>().ok()) != Some(0)
        })
}

/// A request body that notes when it has been read to its end.
struct WatchedBody {
    body: Body,
    read_to_end: Arc<AtomicBool>,
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(context);
        if matches!(frame, Poll::Ready(None)) || self.body.is_end_stream() {
            self.read_to_end.store(true, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
