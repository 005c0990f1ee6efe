//! Single sign-on through the organisation's identity provider: OpenID Connect, the
//! authorization code flow with PKCE (the `openidconnect` crate; its HTTP client is
//! reqwest over rustls).
//!
//! `GET /logga-in/oidc` sends the browser to the provider with a fresh `state`, `nonce` and
//! PKCE challenge, kept in memory ([`Pending`]) and the `state` also in the cookie
//! [`STATE_COOKIE`] (SameSite=Lax: the provider's redirect back is a top-level navigation
//! from another site). `GET /oidc/callback` accepts only the `state` that cookie holds and
//! that is still pending (once, within [`PENDING_VALIDITY`]), exchanges the code with the
//! PKCE verifier, checks the ID token (signature, issuer, audience, expiry, nonce) and maps
//! the configured claim ([`OidcClaim`]) to an active user of access.json, whose role is
//! the one access.json gives. Anyone else is refused with a page that says so.
//!
//! Nothing here logs a code, a token or the client secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::core::Caller;
use crate::web::i18n::Lang;
use crate::web::{error_page, pages, session, ClientIp, Visitor, WebState};

/// Where the web app starts a single sign-on.
pub const START_PATH: &str = "/logga-in/oidc";
/// Where the provider sends the browser back; the configured redirect URL's path.
pub const CALLBACK_PATH: &str = "/oidc/callback";
/// The cookie that binds a sign-in's `state` to the browser that started it.
pub const STATE_COOKIE: &str = "kvitt_oidc_state";
/// How long a started sign-in may take at the provider.
pub const PENDING_VALIDITY: Duration = Duration::from_secs(10 * 60);
/// Most sign-ins pending at once; beyond it the oldest is dropped.
pub const MAX_PENDING: usize = 10_000;
/// Longest the node waits for the provider (discovery, token exchange, keys).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The claim of the ID token that names the node's person (access.json's `person`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OidcClaim {
    /// `email` (refused when the provider says `email_verified = false`).
    #[default]
    Email,
    /// `sub`, the provider's stable subject identifier.
    Sub,
    /// `preferred_username`.
    PreferredUsername,
}

/// The `[oidc]` table of config.toml: the identity provider single sign-on uses.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL (its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// This node's client id at the provider.
    pub client_id: String,
    /// This node's client secret at the provider (config.toml is mode 0600).
    pub client_secret: String,
    /// The URL the provider sends the browser back to: this node's [`CALLBACK_PATH`] as the
    /// browser reaches it.
    pub redirect_url: String,
    /// The claim that names the person (default `email`).
    #[serde(default)]
    pub claim: OidcClaim,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"(hidden)")
            .field("redirect_url", &self.redirect_url)
            .field("claim", &self.claim)
            .finish()
    }
}

impl OidcConfig {
    /// Checks the URLs when config.toml is read: an issuer and a redirect URL that parse,
    /// the redirect URL ending in [`CALLBACK_PATH`], a client id.
    pub fn check(&self) -> Result<(), String> {
        IssuerUrl::new(self.issuer.clone()).map_err(|error| format!("oidc.issuer: {error}"))?;
        let redirect = RedirectUrl::new(self.redirect_url.clone())
            .map_err(|error| format!("oidc.redirect_url: {error}"))?;
        if redirect.url().path() != CALLBACK_PATH {
            return Err(format!("oidc.redirect_url: its path must be {CALLBACK_PATH}"));
        }
        if self.client_id.trim().is_empty() {
            return Err("oidc.client_id: must not be empty".into());
        }
        Ok(())
    }
}

/// A client after discovery: authorization and token endpoints known.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A sign-in started and not yet back from the provider.
struct Pending {
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    started: Instant,
}

/// Why a sign-in through the provider did not sign anyone in (never carries a token).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or its discovery document is not valid.
    #[error("the identity provider's discovery failed: {0}")]
    Discovery(String),
    /// The callback's `state` is missing, not this browser's, unknown, used or too old.
    #[error("the sign-in's state is unknown, used, expired or not this browser's")]
    State,
    /// The provider answered the authorization with an error.
    #[error("the identity provider refused the sign-in: {0}")]
    Provider(String),
    /// The code could not be exchanged.
    #[error("the code could not be exchanged: {0}")]
    Exchange(String),
    /// The ID token is missing or did not verify (signature, issuer, audience, nonce, ...).
    #[error("the ID token did not verify: {0}")]
    IdToken(String),
    /// The ID token lacks the configured claim, or its email is not verified.
    #[error("the ID token has no usable {0:?} claim")]
    Claim(OidcClaim),
}

/// The node's single sign-on: its configuration, the provider's client once discovered,
/// and the sign-ins pending.
pub struct Oidc {
    config: OidcConfig,
    http: openidconnect::reqwest::Client,
    client: tokio::sync::OnceCell<Client>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Oidc {
    /// Single sign-on with `config` (checked by [`OidcConfig::check`]); the provider is
    /// asked only at the first sign-in, and again after a failed discovery.
    pub fn new(config: OidcConfig) -> Result<Oidc, String> {
        config.check()?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // The provider's answers are never followed elsewhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|error| format!("oidc: the HTTP client could not be made: {error}"))?;
        Ok(Oidc { config, http, client: tokio::sync::OnceCell::new(), pending: Mutex::default() })
    }

    async fn client(&self) -> Result<&Client, OidcError> {
        self.client
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer.clone())
                    .map_err(|error| OidcError::Discovery(error.to_string()))?;
                let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|error| OidcError::Discovery(error.to_string()))?;
                let redirect = RedirectUrl::new(self.config.redirect_url.clone())
                    .map_err(|error| OidcError::Discovery(error.to_string()))?;
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    Some(ClientSecret::new(self.config.client_secret.clone())),
                )
                .set_redirect_uri(redirect))
            })
            .await
    }

    /// Starts a sign-in: the provider's authorization URL, and the `state` for the cookie.
    pub async fn start(&self, now: Instant) -> Result<(String, String), OidcError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        request = match self.config.claim {
            OidcClaim::Email => request.add_scope(Scope::new("email".into())),
            OidcClaim::PreferredUsername => request.add_scope(Scope::new("profile".into())),
            OidcClaim::Sub => request,
        };
        let (url, state, nonce) = request.url();
        self.hold(state.secret().clone(), Pending { nonce, verifier, started: now }, now);
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Holds a pending sign-in under `state`: those older than [`PENDING_VALIDITY`] go
    /// first, and with [`MAX_PENDING`] held the oldest gives way, so browsers that never
    /// come back cannot grow the table without bound.
    fn hold(&self, state: String, held: Pending, now: Instant) {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, held| now.saturating_duration_since(held.started) < PENDING_VALIDITY);
        if pending.len() >= MAX_PENDING {
            let oldest = pending.iter().min_by_key(|(_, held)| held.started).map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                pending.remove(&oldest);
            }
        }
        pending.insert(state, held);
    }

    /// Takes the pending sign-in of `state` if `cookie` holds the same state and it is
    /// younger than [`PENDING_VALIDITY`]; it is gone afterwards either way.
    fn take(&self, state: &str, cookie: Option<&str>, now: Instant) -> Result<Pending, OidcError> {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = pending.remove(state).ok_or(OidcError::State)?;
        let same_browser = cookie.is_some_and(|cookie| session::same_token(cookie, state));
        if !same_browser || now.saturating_duration_since(held.started) >= PENDING_VALIDITY {
            return Err(OidcError::State);
        }
        Ok(held)
    }

    /// Finishes a sign-in: checks `state`, exchanges `code`, verifies the ID token and
    /// returns the configured claim's value.
    pub async fn finish(
        &self,
        state: &str,
        cookie: Option<&str>,
        code: String,
        now: Instant,
    ) -> Result<String, OidcError> {
        let pending = self.take(state, cookie, now)?;
        let client = self.client().await?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|error| OidcError::Exchange(error.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|error| OidcError::Exchange(exchange_error(&error)))?;
        let id_token = answer.id_token().ok_or_else(|| OidcError::IdToken("none in the answer".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|error| OidcError::IdToken(error.to_string()))?;
        let value = match self.config.claim {
            OidcClaim::Sub => Some(claims.subject().to_string()),
            OidcClaim::Email if claims.email_verified() == Some(false) => None,
            OidcClaim::Email => claims.email().map(|email| email.to_string()),
            OidcClaim::PreferredUsername => claims.preferred_username().map(|name| name.to_string()),
        };
        value.ok_or(OidcError::Claim(self.config.claim))
    }
}

/// What a failed exchange says, without the provider's answer body (which could hold a
/// token).
fn exchange_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    error: &openidconnect::RequestTokenError<RE, T>,
) -> String {
    match error {
        openidconnect::RequestTokenError::ServerResponse(response) => response.to_string(),
        openidconnect::RequestTokenError::Request(_) => "the provider could not be reached".into(),
        openidconnect::RequestTokenError::Parse(..) => "the provider's answer could not be read".into(),
        openidconnect::RequestTokenError::Other(message) => message.clone(),
    }
}

/// `GET /logga-in/oidc`: off to the provider, with the state cookie.
pub async fn start(State(state): State<WebState>, ClientIp(client): ClientIp, visitor: Visitor) -> Response {
    let (lang, t) = (visitor.lang, visitor.lang.text());
    let Some(oidc) = state.oidc.clone() else {
        return crate::web::not_found(lang);
    };
    if !state.limit.admit(client, Instant::now()) {
        return pages::auth::sign_in_page(
            &state,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some(t.too_many_attempts),
        );
    }
    match oidc.start(Instant::now()).await {
        Ok((url, sign_in_state)) => {
            let mut response = Redirect::to(&url).into_response();
            set_cookie(&mut response, &state_cookie(&sign_in_state, state.settings.secure_cookies));
            response
        }
        Err(error) => refused(lang, StatusCode::BAD_GATEWAY, &error),
    }
}

/// The query the provider sends the browser back with.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /oidc/callback`: the provider's answer; signs the mapped person in, or says why not.
pub async fn callback(
    State(state): State<WebState>,
    Query(answer): Query<Callback>,
    visitor: Visitor,
    headers: axum::http::HeaderMap,
) -> Response {
    let lang = visitor.lang;
    let Some(oidc) = state.oidc.clone() else {
        return crate::web::not_found(lang);
    };
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|cookies| session::cookie(cookies, STATE_COOKIE));
    let Some(sign_in_state) = answer.state else {
        return refused(lang, StatusCode::BAD_REQUEST, &OidcError::State);
    };
    let claimed = match (answer.error, answer.code) {
        (Some(error), _) => {
            // The pending sign-in ends with the provider's refusal.
            let _ = oidc.take(&sign_in_state, cookie, Instant::now());
            Err(OidcError::Provider(error.chars().take(64).collect()))
        }
        (None, Some(code)) => oidc.finish(&sign_in_state, cookie, code, Instant::now()).await,
        (None, None) => Err(OidcError::Exchange("no code".into())),
    };
    let mut response = match claimed {
        Ok(person) => match state.access.active_user(&person) {
            Some(caller) => signed_in(&state, &visitor, caller),
            None => {
                tracing::warn!(person = %person, "single sign-on refused: not a user of this node");
                let t = lang.text();
                error_page(lang, StatusCode::FORBIDDEN, t.oidc_refused, t.oidc_unknown_person)
            }
        },
        Err(error) => refused(lang, StatusCode::FORBIDDEN, &error),
    };
    set_cookie(&mut response, &cleared_state_cookie(state.settings.secure_cookies));
    response
}

fn signed_in(state: &WebState, visitor: &Visitor, caller: Caller) -> Response {
    tracing::info!(person = %caller.person, role = ?caller.role, "signed in through the identity provider");
    pages::auth::open_session(state, visitor, caller)
}

/// The page of a sign-in that failed, logged (the error carries no token).
fn refused(lang: Lang, status: StatusCode, error: &OidcError) -> Response {
    tracing::warn!(%error, "single sign-on failed");
    let t = lang.text();
    error_page(lang, status, t.oidc_refused, t.oidc_failed)
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(cookie) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

/// The `Set-Cookie` value that binds `state` to this browser until the callback.
pub fn state_cookie(state: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{STATE_COOKIE}={state}; HttpOnly; SameSite=Lax; Path={CALLBACK_PATH}; Max-Age={}{secure}",
        PENDING_VALIDITY.as_secs()
    )
}

fn cleared_state_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path={CALLBACK_PATH}; Max-Age=0{secure}")
}

#[cfg(test)]
mod tests;
