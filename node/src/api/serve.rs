//! Serving the client API: HTTP/1.1 connections with read timeouts and a connection cap.
//!
//! `axum::serve` reads forever and accepts without bound: a client that sends half a
//! request and waits holds a connection, and with it a file descriptor, as long as it
//! likes; a few hundred of them exhaust the process's open-file limit, and then every
//! route, peer connection and ledger file of the node fails. So the node drives hyper's
//! connections itself:
//!
//! - a request head must arrive whole within [`HEADER_READ_TIMEOUT`] of the connection
//!   waiting for it (a new connection, or a kept-alive one between requests), else the
//!   connection is closed; a head is at most [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`] fields
//!   (`431`);
//! - a request body must arrive whole within [`BODY_READ_TIMEOUT`] of its head, else the
//!   request is answered `408` and the connection closed;
//! - at most [`ServeLimits::max_connections`] connections are open at once: the cap is
//!   [`MAX_CONNECTIONS`], lowered to leave [`RESERVED_FILES`] descriptors of the open-file
//!   limit to the rest of the node. A connection beyond it waits in the listen backlog until
//!   one closes; the node's other work goes on meanwhile.
//!
//! hyper's own answers to requests it cannot parse become problem documents
//! ([`super::hyper_errors`]). spec/api.md §Limits lists these limits.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::hyper_errors::ProblemIo;

/// How long a connection may take to send a whole request head, from when the server
/// waits for one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take to send its whole body, from when its head was read.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most client connections open at once, if the open-file limit allows.
pub const MAX_CONNECTIONS: usize = 512;
/// File descriptors of the open-file limit left to the rest of the node (ledger files,
/// the QUIC socket, logs, the runtime) when the connection cap is lowered to fit.
pub const RESERVED_FILES: u64 = 64;
/// Largest request head (request line and header fields), in bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields in a request head.
pub const MAX_HEADERS: usize = 64;
/// How long the accept loop waits after the system refused a connection (out of file
/// descriptors, say) before it accepts again.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// The limits a server applies to its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`BODY_READ_TIMEOUT`].
    pub body_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl ServeLimits {
    /// The default timeouts, and the connection cap that fits `open_files`, the process's
    /// open-file limit (`None`: unknown or unlimited).
    pub fn for_open_files(open_files: Option<u64>) -> ServeLimits {
        ServeLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_connections: connection_cap(open_files),
        }
    }
}

/// [`MAX_CONNECTIONS`], or fewer so that [`RESERVED_FILES`] of `open_files` stay free;
/// at least one.
pub fn connection_cap(open_files: Option<u64>) -> usize {
    let fits = open_files.map_or(u64::MAX, |limit| limit.saturating_sub(RESERVED_FILES));
    usize::try_from(fits).unwrap_or(usize::MAX).clamp(1, MAX_CONNECTIONS)
}

/// Raises the soft open-file limit (RLIMIT_NOFILE) to the hard one, and returns the soft
/// limit now in force (`None` if there is none). A failure to raise it is logged, not
/// fatal: the connection cap then fits the lower limit.
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(soft), Some(hard)) = (limit.current, limit.maximum) {
        if soft < hard {
            match setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: Some(hard) }) {
                Ok(()) => {
                    tracing::info!(from = soft, to = hard, "raised the open-file limit to its hard limit");
                    return Some(hard);
                }
                Err(error) => tracing::warn!(%error, soft, hard, "could not raise the open-file limit"),
            }
        }
    }
    limit.current
}

/// What to tell the operator about the API listening on `address`: plain HTTP with
/// bearer tokens is safe on loopback only.
pub fn exposure_warning(address: SocketAddr) -> Option<String> {
    (!address.ip().is_loopback()).then(|| {
        format!(
            "the client API listens on {address}, which is not a loopback address: it is plain HTTP, \
             so bearer tokens and receipts cross the network unencrypted; keep it on 127.0.0.1 or put \
             a TLS proxy in front of it"
        )
    })
}

/// Serves a node's client API and web app on `listener` (over TLS with `tls`): raises the
/// open-file limit, warns if plain HTTP is served off loopback ([`exposure_warning`]), and
/// serves within the limits that fit.
pub async fn start(listener: TcpListener, router: Router, tls: Option<TlsAcceptor>) {
    if tls.is_none() {
        if let Some(warning) = listener.local_addr().ok().and_then(exposure_warning) {
            tracing::warn!("{warning}");
        }
    }
    let limits = ServeLimits::for_open_files(raise_open_file_limit());
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout = ?limits.header_read_timeout,
        body_read_timeout = ?limits.body_read_timeout,
        "client API limits"
    );
    serve_with(listener, router, limits, tls).await;
}

/// Serves `router` on `listener` within `limits` until the task is dropped.
pub async fn serve(listener: TcpListener, router: Router, limits: ServeLimits) {
    serve_with(listener, router, limits, None).await;
}

/// Serves `router` on `listener` within `limits`, over TLS with `tls` (the handshake, too,
/// must end within [`HEADER_READ_TIMEOUT`]), until the task is dropped. Each request
/// carries its client's address as `ConnectInfo<SocketAddr>` (the web app's sign-in limit).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    tls: Option<TlsAcceptor>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let builder = Arc::new(builder);
    let body_read_timeout = limits.body_read_timeout;
    let router = router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        next.run(request.map(|body| Body::new(TimedBody::new(body, body_read_timeout))))
    }));
    loop {
        // The permit first: a connection beyond the cap stays in the listen backlog, and
        // holds no descriptor of the node's, until one closes.
        let Ok(permit) = Arc::clone(&connections).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "the client API could not accept a connection");
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                continue;
            }
        };
        let router = router.clone().layer(axum::Extension(ConnectInfo(peer)));
        let builder = Arc::clone(&builder);
        let tls = tls.clone();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let service = TowerToHyperService::new(router);
            let ended = match tls {
                None => builder.serve_connection(TokioIo::new(ProblemIo::new(stream)), service).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            builder.serve_connection(TokioIo::new(ProblemIo::new(stream)), service).await
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "client API connection ended");
            }
            drop(permit);
        });
    }
}

/// Why a request body was not read: it did not arrive whole within its time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive whole within {} s", .0.as_secs())]
pub struct BodyTimedOut(pub Duration);

/// A request body that fails with [`BodyTimedOut`] once `timeout` has passed since the
/// request's head was read (the route reads the body after its head).
struct TimedBody {
    body: Body,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl TimedBody {
    fn new(body: Body, timeout: Duration) -> TimedBody {
        TimedBody { body, timeout, deadline: Box::pin(tokio::time::sleep(timeout)) }
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match Pin::new(&mut self.body).poll_frame(context) {
            Poll::Ready(frame) => Poll::Ready(frame),
            Poll::Pending => match self.deadline.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(self.timeout))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_reserved_files_free_and_is_at_least_one() {
        assert_eq!(connection_cap(None), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(1 << 20)), MAX_CONNECTIONS);
        let at_the_edge = MAX_CONNECTIONS as u64 + RESERVED_FILES;
        assert_eq!(connection_cap(Some(at_the_edge)), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(at_the_edge - 1)), MAX_CONNECTIONS - 1);
        // The limit of the report: 256 open files, of which 226 connections exhausted it.
        assert_eq!(connection_cap(Some(256)), 192);
        assert_eq!(connection_cap(Some(RESERVED_FILES)), 1);
        assert_eq!(connection_cap(Some(0)), 1);
    }

    #[test]
    fn only_an_api_off_loopback_is_warned_about() {
        for quiet in ["127.0.0.1:8400", "[::1]:8400"] {
            assert_eq!(exposure_warning(quiet.parse().unwrap()), None, "{quiet}");
        }
        for loud in ["0.0.0.0:8400", "192.168.1.20:8400", "[::]:8400"] {
            let warning = exposure_warning(loud.parse().unwrap()).unwrap();
            assert!(
                warning.contains("not a loopback address") && warning.contains("plain HTTP"),
                "{warning}"
            );
        }
    }

    #[test]
    fn raising_the_open_file_limit_leaves_the_soft_limit_at_the_hard_one() {
        let soft = raise_open_file_limit();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(soft, limit.current);
        if limit.maximum.is_some() {
            assert_eq!(limit.current, limit.maximum, "the soft limit is the hard one now");
        }
    }
}
