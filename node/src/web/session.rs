//! Web sessions: a random id in the cookie [`SESSION_COOKIE`], kept in memory by its hash
//! only, with the person it signs in and the CSRF token of its forms. A session ends when
//! it has been idle for [`SESSION_IDLE`], on sign-out, or when its person is revoked (the
//! web app checks access.json on every request). Sessions live in the node's memory: a
//! restart signs everyone out, which is acceptable for a sign-in that costs one link.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::access::secret;
use crate::core::Caller;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kvitt_session";
/// How long a session lasts without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 60 * 60);
/// Most sessions held at once; a sign-in beyond it first drops the idle ones, then the
/// one least recently used.
pub const MAX_SESSIONS: usize = 10_000;

/// A signed-in person's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who.
    pub caller: Caller,
    /// The token every state-changing form of this session carries.
    pub csrf: String,
    last_seen: Instant,
}

/// The node's sessions.
#[derive(Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session for `caller`; returns the id for the cookie (kept only hashed).
    pub fn open(&self, caller: Caller, now: Instant) -> String {
        let id = secret::new_secret();
        let session = Session { caller, csrf: secret::new_secret(), last_seen: now };
        let mut sessions = self.by_hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, session| now.saturating_duration_since(session.last_seen) < SESSION_IDLE);
        }
        if sessions.len() >= MAX_SESSIONS {
            let oldest =
                sessions.iter().min_by_key(|(_, session)| session.last_seen).map(|(hash, _)| hash.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(secret::hash(&id), session);
        id
    }

    /// The session of a cookie's id, if it is open and was used within [`SESSION_IDLE`]
    /// of `now`; using it starts its idle time again. An idle one is closed.
    pub fn find(&self, id: &str, now: Instant) -> Option<Session> {
        let hash = secret::hash(id);
        let mut sessions = self.by_hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = sessions.get_mut(&hash)?;
        if now.saturating_duration_since(session.last_seen) >= SESSION_IDLE {
            sessions.remove(&hash);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends a session (sign-out, or its person revoked).
    pub fn close(&self, id: &str) {
        self.by_hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&secret::hash(id));
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.by_hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Set-Cookie` value that opens a session: HttpOnly (no script reads it),
/// SameSite=Strict (no other site's page sends it), Path=/, Max-Age of [`SESSION_IDLE`],
/// and Secure when the node serves HTTPS.
pub fn session_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_IDLE.as_secs()
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether two CSRF tokens are equal, in time independent of where they differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::CallerRole;

    fn anna() -> Caller {
        Caller { person: "anna".into(), role: CallerRole::Employee }
    }

    #[test]
    fn a_session_ends_after_eight_idle_hours_and_on_sign_out() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let id = sessions.open(anna(), start);
        let almost = start + SESSION_IDLE - Duration::from_secs(1);
        assert_eq!(sessions.find(&id, almost).unwrap().caller, anna());
        // Used then: its idle time starts again.
        assert!(sessions.find(&id, almost + SESSION_IDLE - Duration::from_secs(1)).is_some());
        assert!(sessions.find(&id, almost + SESSION_IDLE * 2).is_none(), "idle too long");
        assert!(sessions.is_empty(), "and closed");
        let id = sessions.open(anna(), start);
        sessions.close(&id);
        assert!(sessions.find(&id, start).is_none());
        assert!(sessions.find("not-a-session", start).is_none());
    }

    #[test]
    fn sessions_are_capped_and_kept_hashed() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let first = sessions.open(anna(), start);
        for second in 1..MAX_SESSIONS {
            sessions.open(anna(), start + Duration::from_millis(second as u64));
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        let last = sessions.open(anna(), start + Duration::from_secs(60));
        assert_eq!(sessions.len(), MAX_SESSIONS, "the least recently used made room");
        assert!(sessions.find(&first, start + Duration::from_secs(61)).is_none());
        assert!(sessions.find(&last, start + Duration::from_secs(61)).is_some());
        let held = sessions.by_hash.lock().unwrap();
        assert!(!held.contains_key(&last) && held.contains_key(&secret::hash(&last)));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = session_cookie("abc", false);
        assert_eq!(plain, "kvitt_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800");
        assert_eq!(session_cookie("abc", true), format!("{plain}; Secure"));
        assert!(cleared_cookie(true).contains("Max-Age=0") && cleared_cookie(true).ends_with("; Secure"));
        assert_eq!(cookie("a=1; kvitt_session=xyz; b=2", SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie("kvitt_sessionx=1", SESSION_COOKIE), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("ab", "abc"));
    }
}
