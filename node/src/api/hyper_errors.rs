//! hyper's own answers as problem documents.
//!
//! hyper answers a request it cannot parse by itself, before any route sees it: `400` for a
//! bad request line or header, `431` for a head over [`super::serve::MAX_HEAD_BYTES`] or
//! [`super::serve::MAX_HEADERS`], `414` for a request target over its own limit. It writes
//! such an answer as a bare head (`content-length: 0`, no content type) and closes the
//! connection, and it offers no hook to write another. spec/api.md says every error is an
//! `application/problem+json` document, so [`ProblemIo`] wraps the connection's socket and
//! replaces that one head, as it is written, by a problem document of the same status.
//!
//! Every answer the router gives carries a `content-type` (JSON, a problem document or SIE
//! text), so a response head without one and without a body is hyper's own.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::StatusCode;
use kvitt_protocol::wire::RefusalCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Problem, PROBLEM_CONTENT_TYPE};

/// A connection's socket whose writes pass through, except hyper's own error answers,
/// which become problem documents.
pub struct ProblemIo<S> {
    inner: S,
    /// The replacement answer still to be written, and how much of it is.
    pending: Vec<u8>,
    written: usize,
}

impl<S> ProblemIo<S> {
    /// Wraps a connection's socket.
    pub fn new(inner: S) -> ProblemIo<S> {
        ProblemIo { inner, pending: Vec::new(), written: 0 }
    }
}

impl<S: AsyncWrite + Unpin> ProblemIo<S> {
    /// Writes what remains of a replacement answer.
    fn poll_pending(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(rest) = self.pending.get(self.written..).filter(|rest| !rest.is_empty()) {
            let written = ready!(Pin::new(&mut self.inner).poll_write(context, rest))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += written;
        }
        Poll::Ready(Ok(()))
    }

    /// If `bytes` is hyper's own error answer, queues its problem document instead and
    /// says that all of `bytes` was written.
    fn replace(&mut self, context: &mut Context<'_>, bytes: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let replacement = problem_answer(bytes)?;
        self.pending = replacement;
        self.written = 0;
        // hyper flushes next; a write the socket cannot take yet finishes there.
        Some(match self.poll_pending(context) {
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            _ => Poll::Ready(Ok(bytes.len())),
        })
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(context, buffer)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(context))?;
        if let Some(poll) = self.replace(context, bytes) {
            return poll;
        }
        Pin::new(&mut self.inner).poll_write(context, bytes)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(context))?;
        // hyper writes a head in one buffer: its error answer is that buffer alone.
        if let Some(first) = buffers.iter().find(|buffer| !buffer.is_empty()) {
            if let Some(poll) = self.replace(context, first) {
                return poll;
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(context))?;
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(context))?;
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

/// The problem answer replacing `bytes`, if they are exactly a bodyless HTTP/1.1 `4xx`
/// response head without a content type: hyper's own answer to a request it could not
/// parse. Its other headers (`date`) are kept; the connection closes after it.
fn problem_answer(bytes: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(bytes).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok().filter(StatusCode::is_client_error)?;
    let mut kept = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-type" => return None,
            "content-length" if value.trim() != "0" => return None,
            "content-length" | "connection" => {}
            _ => kept.push(line),
        }
    }
    let detail = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => format!(
            "the request head is over the limit of {} bytes or {} header fields",
            super::serve::MAX_HEAD_BYTES,
            super::serve::MAX_HEADERS
        ),
        StatusCode::URI_TOO_LONG => "the request target (path and query) is too long".to_owned(),
        _ => {
            "the request is not valid HTTP/1.1: its request line or a header field does not parse".to_owned()
        }
    };
    let body = Problem::with_status(status, RefusalCode::BadRequest, "", detail).document();
    let mut answer = format!("{status_line}\r\n");
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!(
        "content-type: {PROBLEM_CONTENT_TYPE}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    Some(answer.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bodyless_4xx_head_without_a_content_type_is_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 07:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(problem_answer(bare).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("\r\ndate: Sun, 06 Dec 2026 07:00:00 GMT"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/problem+json"), "{head}");
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (problem["status"].as_u64(), problem["code"].as_str()),
            (Some(431), Some("request.invalid"))
        );

        for kept in [
            // The router's answers: a content type, or a body.
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\n\r\n"
                .as_slice(),
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            // Not an error, not HTTP/1.1, not a whole head.
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.0 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"{\"id\": 1}",
        ] {
            assert_eq!(problem_answer(kept), None, "{}", String::from_utf8_lossy(kept));
        }
    }
}
