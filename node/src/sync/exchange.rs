//! One reconciliation session at the level of request and response frames, without
//! threads, clocks or sockets: the initiator's loop over an `exchange` function that
//! carries one encoded request to the peer and returns its encoded answer, and the
//! responder's answer to one request frame. The tokio driver ([`super::Sessions`]) runs
//! these on blocking threads over QUIC; the simulator runs them over its simulated
//! network. Salts and session numbers come from the caller, so a simulation replays.

use kvitt_protocol::reconcile::{HelloSummary, Initiator, Item, ReconcileError, Responder, Salt, Step};
use kvitt_protocol::wire::{
    RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Window,
};

use super::MAX_SESSION_ATTEMPTS;
pub use crate::core::Summary;
use crate::core::{SessionStart, SESSION_NUMBERS_PER_START};

/// Why an initiator's session did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The state machine ended it.
    #[error(transparent)]
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
/// verification. The first session says hello under `hello`'s salt and summary if given
/// (this node's kept hello summary of `items`), else under a salt from `salt`. `exchange` carries one encoded request to the peer and returns its
/// encoded answer; every request names `window` (the record times `items` cover, all if
/// none).
pub fn initiate(
    items: &[Item],
    mut hello: Option<HelloSummary>,
    directory_version: u64,
    window: Option<Window>,
    mut salt: impl FnMut() -> Salt,
    mut session: impl FnMut() -> u64,
    mut exchange: impl FnMut(Vec<u8>) -> Result<Vec<u8>, String>,
) -> Result<Summary, Failure> {
    with_attempts(|| {
        let number = session();
        let frame_exchange = |frame: Vec<u8>| -> Result<Option<Vec<u8>>, String> {
            let request = Request {
                directory_version,
                body: RequestBody::Reconcile { session: number, frame: RecordBytes(frame), window },
            };
            let bytes = request.encode().map_err(|error| error.to_string())?;
            let answer = exchange(bytes)?;
            match Response::decode(&answer).map_err(|error| error.to_string())?.body {
                ResponseBody::Reconcile { frame } => Ok(frame.map(|frame| frame.0)),
                ResponseBody::Refused { refusal } => Err(refusal.to_string()),
                other => Err(format!("unexpected answer {other:?}")),
            }
        };
        let initiator = match hello.take() {
            Some(kept) => Initiator::with_hello(items, kept),
            None => Initiator::new(items, salt()),
        };
        run_initiator(initiator?, frame_exchange)
    })
}

/// Runs `session` until it ends otherwise than by failing verification, at most
/// [`MAX_SESSION_ATTEMPTS`] times: an honest failure (two ids sharing a tag) does not
/// repeat under new salts; a peer that keeps lying is given up on.
fn with_attempts(mut session: impl FnMut() -> Result<Summary, Failure>) -> Result<Summary, Failure> {
    for _ in 1..MAX_SESSION_ATTEMPTS {
        match session() {
            Err(Failure::Reconcile(ReconcileError::Verification)) => {
                tracing::warn!("reconciliation outcome failed verification; again with new salts");
            }
            other => return other,
        }
    }
    session()
}

/// Runs one initiator session: `exchange` sends a frame and returns the peer's answer
/// frame.
fn run_initiator(
    mut initiator: Initiator<'_>,
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
                summary.need = outcome.need.count() as usize;
                return Ok(summary);
            }
        }
    }
}

/// Runs the sessions `start` asks for over `items` (this node's side of the channel,
/// sorted): one per time window of about `window_items` items each, in turn, the first
/// that fails ending the round; or, if they fit one, a session whose hello uses `hello`
/// (the index's kept summary of `items` under `start.hello_salt`), if given. Session
/// numbers count up from `start.first_number`; other salts come from `start.salts`.
pub fn initiate_windows(
    items: &[Item],
    mut hello: Option<HelloSummary>,
    start: SessionStart,
    directory_version: u64,
    window_items: usize,
    mut exchange: impl FnMut(Vec<u8>) -> Result<Vec<u8>, String>,
) -> Result<Summary, Failure> {
    let SessionStart { first_number, mut salts, .. } = start;
    let mut used = 0u64;
    let mut number = || {
        used = (used + 1) % SESSION_NUMBERS_PER_START;
        first_number.wrapping_add(used)
    };
    windows(items, window_items).into_iter().try_fold(Summary::default(), |mut total, window| {
        // A kept summary is of the whole channel: only a session over all of it uses it.
        let kept = if window.is_none() { hello.take() } else { None };
        let within = in_window(items, window);
        let found =
            initiate(within, kept, directory_version, window, || salts.salt(), &mut number, &mut exchange)?;
        total.add(found);
        Ok(total)
    })
}

/// The time windows a session over `items` (sorted) is split into so that each covers at
/// most about `per` of them; `[None]` (the whole channel) if they fit one session. Items
/// of one time stay in one window.
pub fn windows(items: &[Item], per: usize) -> Vec<Option<Window>> {
    if items.len() <= per {
        return vec![None];
    }
    let mut bounds: Vec<u64> = items.iter().step_by(per).skip(1).map(|item| item.time).collect();
    bounds.dedup();
    let mut windows = Vec::with_capacity(bounds.len() + 1);
    let mut from = 0;
    for until in bounds {
        if until > from {
            windows.push(Some(Window { from, until }));
            from = until;
        }
    }
    windows.push(Some(Window { from, until: u64::MAX }));
    windows
}

/// The items (sorted by time) inside `window`, all if none.
pub fn in_window(items: &[Item], window: Option<Window>) -> &[Item] {
    let Some(window) = window else {
        return items;
    };
    let start = items.partition_point(|item| item.time < window.from);
    let end = items.partition_point(|item| item.time < window.until);
    items.get(start..end.max(start)).unwrap_or_default()
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
    /// A responder over `items` (sorted), answering with `directory_version`; `hello` is
    /// the kept hello summary of `items` under the salt of the peer's hello, if known.
    pub fn new(
        items: &'a [Item],
        hello: Option<HelloSummary>,
        directory_version: u64,
    ) -> Result<Self, ReconcileError> {
        let responder = match hello {
            Some(kept) => Responder::with_hello(items, kept)?,
            None => Responder::new(items)?,
        };
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
            summary.need = outcome.need.count() as usize;
            Ok(summary)
        });
        Answered { response, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvitt_protocol::RecordId;

    fn items(range: std::ops::Range<u8>) -> Vec<Item> {
        range.map(|byte| Item { time: u64::from(byte), id: RecordId([byte; 32]) }).collect()
    }

    #[test]
    fn an_initiator_and_a_responder_agree_through_encoded_frames() {
        let (ours, theirs) = (items(0..50), items(10..60));
        let mut responder = ResponderSession::new(&theirs, None, 1).unwrap();
        let mut responder_end = None;
        let summary = initiate(
            &ours,
            None,
            1,
            None,
            || Salt([1; 16]),
            || 7,
            |request| match crate::runtime::decode_peer_request(kvitt_protocol::PublicKey([0; 32]), &request)
                .1
            {
                crate::core::PeerRequest::Reconcile { session: 7, frame, .. } => {
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
    fn a_failed_verification_is_tried_again_up_to_the_limit_and_nothing_else_is() {
        let run = |outcomes: Vec<Result<Summary, Failure>>| {
            let mut outcomes = outcomes.into_iter();
            let mut calls = 0;
            let result = with_attempts(|| {
                calls += 1;
                outcomes.next().unwrap_or_else(|| Ok(Summary::default()))
            });
            (result.map_err(|failure| failure.to_string()), calls)
        };
        let lie = || Err(Failure::Reconcile(ReconcileError::Verification));
        let (result, calls) = run((0..10).map(|_| lie()).collect());
        assert_eq!(calls, MAX_SESSION_ATTEMPTS, "a peer that keeps failing verification is given up on");
        assert_eq!(result, Err(ReconcileError::Verification.to_string()));
        let found = Summary { need: 3, ..Summary::default() };
        assert_eq!(
            run(vec![lie(), Ok(found.clone())]),
            (Ok(found), 2),
            "new salts settle an honest collision"
        );
        let cut = || Err(Failure::Exchange("cut".into()));
        assert_eq!(run(vec![cut()]), (Err("cut".into()), 1), "other failures are not retried");
    }

    #[test]
    fn a_failed_exchange_ends_the_session_with_its_reason() {
        let failure =
            initiate(&items(0..5), None, 1, None, || Salt([1; 16]), || 1, |_| Err("cut".into())).unwrap_err();
        assert_eq!(failure.to_string(), "cut");
    }

    fn item(time: u64, byte: u8) -> Item {
        Item { time, id: RecordId([byte; 32]) }
    }

    #[test]
    fn a_channel_that_fits_one_session_is_not_windowed() {
        let items: Vec<Item> = (0..10).map(|n| item(n, n as u8)).collect();
        assert_eq!(windows(&items, 10), vec![None]);
        assert_eq!(in_window(&items, None).len(), 10);
    }

    #[test]
    fn windows_cover_every_time_once_and_keep_items_of_one_time_together() {
        // Times 0..25, but five items at time 10 across the first cut.
        let mut items: Vec<Item> = (0..25).map(|n| item(n, n as u8)).collect();
        items.extend((100..104).map(|byte| item(10, byte)));
        items.sort();
        let cut = windows(&items, 10);
        assert!(cut.len() >= 3, "{cut:?}");
        let mut seen = Vec::new();
        for window in &cut {
            let inside = in_window(&items, *window);
            assert!(inside.iter().all(|item| window.is_some_and(|window| window.contains(item.time))));
            seen.extend_from_slice(inside);
        }
        assert_eq!(seen, items, "each item in exactly one window, in order");
        let first = cut.first().copied().flatten().unwrap();
        let last = cut.last().copied().flatten().unwrap();
        assert_eq!((first.from, last.until), (0, u64::MAX), "the windows cover all times");
        let tens: Vec<_> = cut.iter().filter(|w| w.is_some_and(|w| w.contains(10))).collect();
        assert_eq!(tens.len(), 1, "time 10 is in one window");
    }

    #[test]
    fn a_window_that_holds_none_of_the_items_is_empty() {
        let items: Vec<Item> = (0..5).map(|n| item(n * 10, n as u8)).collect();
        assert!(in_window(&items, Some(Window { from: 11, until: 20 })).is_empty());
        assert!(in_window(&items, Some(Window { from: 30, until: 10 })).is_empty());
        assert_eq!(in_window(&items, Some(Window { from: 10, until: 31 })).len(), 3);
    }
}
