//! One reconciliation session at the level of request and response frames, without
//! threads, clocks or sockets: the initiator's loop over an `exchange` function that
//! carries one encoded request to the peer and returns its encoded answer, and the
//! responder's answer to one request frame. The tokio driver ([`super::Sessions`]) runs
//! these on blocking threads over QUIC; the simulator runs them over its simulated
//! network. Salts and session numbers come from the caller, so a simulation replays.

use kvitt_protocol::reconcile::{Initiator, Item, ReconcileError, Responder, Salt, Step};
use kvitt_protocol::wire::{RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody};
use kvitt_protocol::RecordId;

use super::MAX_SESSION_ATTEMPTS;

/// What a session that ran to its end found, and what it cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Ids this node holds that the peer lacks: the core sends them.
    pub have: Vec<RecordId>,
    /// How many records the peer holds that this node lacks: the peer sends them.
    pub need: usize,
    /// Frames this node sent.
    pub frames_sent: usize,
    /// Bytes of the frames this node sent.
    pub bytes_sent: usize,
    /// Bytes of the frames the peer sent.
    pub bytes_received: usize,
    /// From the first frame to the last (set by the driver, which owns the clock).
    pub elapsed: std::time::Duration,
}

/// Why an initiator's session did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The state machine ended it.
    #[error("{0}")]
    Reconcile(#[from] ReconcileError),
    /// The peer could not be reached, refused, or answered out of turn.
    #[error("{0}")]
    Exchange(String),
}

/// An encoded response with this node's directory version.
pub fn encode_response(directory_version: u64, body: ResponseBody) -> Vec<u8> {
    Response { directory_version, body }.encode().unwrap_or_default()
}

/// An encoded refusal of a reconciliation frame (`unavailable`: the peer may try again).
pub fn refused(directory_version: u64, message: String) -> Vec<u8> {
    encode_response(
        directory_version,
        ResponseBody::Refused { refusal: Refusal::new(RefusalCode::Unavailable, message) },
    )
}

/// Runs the initiator side until it ends: up to [`MAX_SESSION_ATTEMPTS`] sessions, a new
/// one (new salt from `salt`, new number from `session`) only when the outcome failed
/// verification. `exchange` carries one encoded request to the peer and returns its
/// encoded answer.
pub fn initiate(
    items: &[Item],
    directory_version: u64,
    mut salt: impl FnMut() -> Salt,
    mut session: impl FnMut() -> u64,
    mut exchange: impl FnMut(Vec<u8>) -> Result<Vec<u8>, String>,
) -> Result<Summary, Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let number = session();
        let frame_exchange = |frame: Vec<u8>| -> Result<Option<Vec<u8>>, String> {
            let request = Request {
                directory_version,
                body: RequestBody::Reconcile { session: number, frame: RecordBytes(frame) },
            };
            let bytes = request.encode().map_err(|error| error.to_string())?;
            let answer = exchange(bytes)?;
            match Response::decode(&answer).map_err(|error| error.to_string())?.body {
                ResponseBody::Reconcile { frame } => Ok(frame.map(|frame| frame.0)),
                ResponseBody::Refused { refusal } => Err(refusal.to_string()),
                other => Err(format!("unexpected answer {other:?}")),
            }
        };
        match run_initiator(items, salt(), frame_exchange) {
            Err(Failure::Reconcile(ReconcileError::Verification)) if attempt < MAX_SESSION_ATTEMPTS => {
                tracing::warn!("reconciliation outcome failed verification; again with new salts");
            }
            other => return other,
        }
    }
}

/// Runs one initiator session: `exchange` sends a frame and returns the peer's answer
/// frame.
fn run_initiator(
    items: &[Item],
    salt: Salt,
    mut exchange: impl FnMut(Vec<u8>) -> Result<Option<Vec<u8>>, String>,
) -> Result<Summary, Failure> {
    let mut summary = Summary::default();
    let mut send = |frame: Vec<u8>, summary: &mut Summary| {
        summary.frames_sent += 1;
        summary.bytes_sent += frame.len();
        let answer = exchange(frame).map_err(Failure::Exchange)?;
        summary.bytes_received += answer.as_ref().map_or(0, Vec::len);
        Ok::<_, Failure>(answer)
    };
    let mut initiator = Initiator::new(items, salt)?;
    let mut frame = initiator.start()?;
    loop {
        let Some(answer) = send(frame, &mut summary)? else {
            return Err(Failure::Exchange("the peer ended the session first".into()));
        };
        match initiator.receive(&answer)? {
            Step::Send(next) => frame = next,
            Step::Done { last, outcome } => {
                if let Some(last) = last {
                    send(last, &mut summary)?;
                }
                summary.have = outcome.have;
                summary.need = outcome.need.len();
                return Ok(summary);
            }
        }
    }
}

/// The responder side of one session, answering one frame at a time.
pub struct ResponderSession<'a> {
    responder: Responder<'a>,
    summary: Summary,
    directory_version: u64,
}

/// A responder's answer to one frame.
pub struct Answered {
    /// The encoded response for the peer.
    pub response: Vec<u8>,
    /// Set when the session is over: what it found, or why it failed.
    pub end: Option<Result<Summary, String>>,
}

impl<'a> ResponderSession<'a> {
    /// A responder over `items` (sorted), answering with `directory_version`.
    pub fn new(items: &'a [Item], salt: Salt, directory_version: u64) -> Result<Self, ReconcileError> {
        let responder = Responder::new(items, salt)?;
        Ok(ResponderSession { responder, summary: Summary::default(), directory_version })
    }

    /// Answers the peer's next frame.
    pub fn answer(&mut self, frame: &[u8]) -> Answered {
        self.summary.bytes_received += frame.len();
        let (body, done) = match self.responder.receive(frame) {
            Ok(Step::Send(bytes)) => (ResponseBody::Reconcile { frame: Some(RecordBytes(bytes)) }, None),
            Ok(Step::Done { last, outcome }) => {
                (ResponseBody::Reconcile { frame: last.map(RecordBytes) }, Some(outcome))
            }
            Err(error) => {
                let response = refused(self.directory_version, format!("reconciliation: {error}"));
                return Answered { response, end: Some(Err(error.to_string())) };
            }
        };
        if let ResponseBody::Reconcile { frame: Some(frame) } = &body {
            self.summary.frames_sent += 1;
            self.summary.bytes_sent += frame.0.len();
        }
        let response = encode_response(self.directory_version, body);
        let end = done.map(|outcome| {
            let mut summary = std::mem::take(&mut self.summary);
            summary.have = outcome.have;
            summary.need = outcome.need.len();
            Ok(summary)
        });
        Answered { response, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(range: std::ops::Range<u8>) -> Vec<Item> {
        range.map(|byte| Item { time: u64::from(byte), id: RecordId([byte; 32]) }).collect()
    }

    #[test]
    fn an_initiator_and_a_responder_agree_through_encoded_frames() {
        let (ours, theirs) = (items(0..50), items(10..60));
        let mut responder = ResponderSession::new(&theirs, Salt([2; 16]), 1).unwrap();
        let mut responder_end = None;
        let summary = initiate(
            &ours,
            1,
            || Salt([1; 16]),
            || 7,
            |request| match crate::runtime::decode_peer_request(kvitt_protocol::PublicKey([0; 32]), &request)
                .1
            {
                crate::core::PeerRequest::Reconcile { session: 7, frame } => {
                    let answered = responder.answer(&frame);
                    responder_end = answered.end.or(responder_end.take());
                    Ok(answered.response)
                }
                other => Err(format!("{other:?}")),
            },
        )
        .unwrap();
        assert_eq!(summary.have, items(0..10).iter().map(|item| item.id).collect::<Vec<_>>());
        assert_eq!(summary.need, 10);
        let theirs_found = responder_end.unwrap().unwrap();
        assert_eq!(theirs_found.have.len(), 10);
        assert_eq!(theirs_found.bytes_received, summary.bytes_sent);
    }

    #[test]
    fn a_failed_exchange_ends_the_session_with_its_reason() {
        let failure = initiate(&items(0..5), 1, || Salt([1; 16]), || 1, |_| Err("cut".into())).unwrap_err();
        assert_eq!(failure.to_string(), "cut");
    }
}
