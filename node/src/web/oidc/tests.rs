use super::*;

fn config() -> OidcConfig {
    OidcConfig {
        issuer: "https://idp.example".into(),
        client_id: "kvitt".into(),
        client_secret: "very-secret".into(),
        redirect_url: "https://kvitt.example/oidc/callback".into(),
        claim: OidcClaim::Email,
    }
}

fn held(started: Instant) -> Pending {
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    Pending { nonce: Nonce::new_random(), verifier, started }
}

fn pending(oidc: &Oidc, state: &str, started: Instant) {
    oidc.pending.lock().unwrap().insert(state.into(), held(started));
}

#[test]
fn at_most_max_pending_sign_ins_are_held_and_the_oldest_gives_way() {
    let oidc = Oidc::new(config()).unwrap();
    let start = Instant::now();
    for n in 0..MAX_PENDING {
        oidc.hold(format!("s{n}"), held(start + Duration::from_millis(n as u64)), start);
    }
    assert_eq!(oidc.pending.lock().unwrap().len(), MAX_PENDING, "all held up to the limit");
    let now = start + Duration::from_secs(1);
    oidc.hold("newest".into(), held(now), now);
    let pending = oidc.pending.lock().unwrap();
    assert_eq!(pending.len(), MAX_PENDING, "one more: the limit still");
    assert!(!pending.contains_key("s0") && pending.contains_key("s1") && pending.contains_key("newest"));
    drop(pending);
    // Past their validity (the last was held 10 s after the first), every old one goes
    // before a new one is held.
    let late = start + PENDING_VALIDITY + Duration::from_secs(20);
    oidc.hold("late".into(), held(late), late);
    assert_eq!(oidc.pending.lock().unwrap().len(), 1);
}

#[test]
fn the_configuration_is_checked_and_its_secret_never_shown() {
    assert_eq!(config().check(), Ok(()));
    let wrong_path = OidcConfig { redirect_url: "https://kvitt.example/callback".into(), ..config() };
    assert_eq!(wrong_path.check(), Err("oidc.redirect_url: its path must be /oidc/callback".into()));
    let no_issuer = OidcConfig { issuer: "not a url".into(), ..config() };
    assert!(no_issuer.check().unwrap_err().starts_with("oidc.issuer: "));
    let no_client = OidcConfig { client_id: " ".into(), ..config() };
    assert_eq!(no_client.check(), Err("oidc.client_id: must not be empty".into()));
    assert!(!format!("{:?}", config()).contains("very-secret"));
    let parsed: OidcConfig = toml::from_str(
        "issuer = \"https://idp.example\"\nclient_id = \"k\"\nclient_secret = \"s\"\n\
         redirect_url = \"https://n.example/oidc/callback\"\nclaim = \"sub\"\n",
    )
    .unwrap();
    assert_eq!(parsed.claim, OidcClaim::Sub);
    assert!(toml::from_str::<OidcConfig>("issuer = \"x\"\nclaim = \"name\"\n").is_err());
}

#[test]
fn a_state_works_once_in_the_browser_that_started_it_within_its_validity() {
    let oidc = Oidc::new(config()).unwrap();
    let start = Instant::now();
    pending(&oidc, "s1", start);
    assert_eq!(oidc.take("s1", Some("other"), start).err(), Some(OidcError::State), "another browser's");
    assert_eq!(oidc.take("s1", Some("s1"), start).err(), Some(OidcError::State), "gone after a wrong try");
    pending(&oidc, "s2", start);
    assert_eq!(oidc.take("s2", None, start).err(), Some(OidcError::State), "no cookie");
    pending(&oidc, "s3", start);
    let late = start + PENDING_VALIDITY;
    assert_eq!(oidc.take("s3", Some("s3"), late).err(), Some(OidcError::State), "too old");
    pending(&oidc, "s4", start);
    assert!(oidc.take("s4", Some("s4"), late - Duration::from_secs(1)).is_ok());
    assert_eq!(oidc.take("s4", Some("s4"), start).err(), Some(OidcError::State), "used");
}

#[test]
fn the_state_cookie_is_lax_http_only_and_scoped_to_the_callback() {
    assert_eq!(
        state_cookie("abc", false),
        "kvitt_oidc_state=abc; HttpOnly; SameSite=Lax; Path=/oidc/callback; Max-Age=600"
    );
    assert!(state_cookie("abc", true).ends_with("; Secure"));
    assert!(cleared_state_cookie(false).contains("Max-Age=0"));
}
