use super::*;

const T0: i64 = 1_780_000_000;

fn read(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(ACCESS_FILE)).unwrap()
}

#[test]
fn no_secret_is_kept_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let link = add_user(dir.path(), "anna", CallerRole::Employee, T0).unwrap();
    let (token, id) = add_token(dir.path(), "till-1", CallerRole::Till, T0).unwrap();
    let text = read(dir.path());
    assert!(!text.contains(&link) && !text.contains(&token), "{text}");
    assert!(text.contains(&secret::hash(&link)) && text.contains(&secret::hash(&token)));
    assert!(secret::hash(&token).starts_with(&id));
}

#[test]
fn a_link_works_once_and_until_fifteen_minutes_have_passed() {
    let dir = tempfile::tempdir().unwrap();
    let first = add_user(dir.path(), "anna", CallerRole::Employee, T0).unwrap();
    let anna = Caller { person: "anna".into(), role: CallerRole::Employee };
    // The last second it is valid, then never again.
    assert_eq!(consume_link(dir.path(), &first, T0 + LINK_VALIDITY_SECS - 1).unwrap(), Ok(anna.clone()));
    assert_eq!(consume_link(dir.path(), &first, T0).unwrap(), Err(LinkRefusal::Unknown), "used");
    // At the edge it has expired, and is gone.
    let second = new_link(dir.path(), "anna", T0).unwrap();
    assert_eq!(
        consume_link(dir.path(), &second, T0 + LINK_VALIDITY_SECS).unwrap(),
        Err(LinkRefusal::Expired)
    );
    assert_eq!(consume_link(dir.path(), &second, T0).unwrap(), Err(LinkRefusal::Unknown));
    assert_eq!(consume_link(dir.path(), "not-a-link", T0).unwrap(), Err(LinkRefusal::Unknown));
    assert!(AccessFile::load(dir.path()).unwrap().links.is_empty());
}

#[test]
fn a_revoked_user_signs_in_no_more_and_is_no_longer_active() {
    let dir = tempfile::tempdir().unwrap();
    let link = add_user(dir.path(), "anna", CallerRole::Employee, T0).unwrap();
    let access = Access::open(dir.path()).unwrap();
    let anna = Caller { person: "anna".into(), role: CallerRole::Employee };
    assert!(access.is_active_user(&anna));
    revoke_user(dir.path(), "anna", T0).unwrap();
    assert!(!access.is_active_user(&anna), "seen without reopening");
    assert_eq!(consume_link(dir.path(), &link, T0).unwrap(), Err(LinkRefusal::Unknown), "links dropped");
    assert!(matches!(new_link(dir.path(), "anna", T0), Err(AccessError::NoUser(_))));
    assert!(matches!(
        add_user(dir.path(), "anna\u{202E}", CallerRole::Employee, T0),
        Err(AccessError::Person(_))
    ));
    // Added again, a new user.
    add_user(dir.path(), "anna", CallerRole::Approver, T0).unwrap();
    assert!(matches!(
        add_user(dir.path(), "anna", CallerRole::Approver, T0),
        Err(AccessError::UserExists(_))
    ));
}

#[test]
fn a_revoked_token_is_refused_from_the_next_request_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let access = Access::open(dir.path()).unwrap();
    let (token, id) = add_token(dir.path(), "till-1", CallerRole::Till, T0).unwrap();
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    assert_eq!(access.token_caller(&token, T0), Some(till));
    revoke_token(dir.path(), &id).unwrap();
    assert_eq!(access.token_caller(&token, T0), None);
    assert!(matches!(revoke_token(dir.path(), &id), Err(AccessError::NoToken(_))));
}

#[test]
fn a_command_token_takes_the_role_asked_for_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "emp-17", CallerRole::Employee, T0).unwrap();
    add_token(dir.path(), "emp-17", CallerRole::Approver, T0).unwrap();
    let access = Access::open(dir.path()).unwrap();
    let token = command_token(dir.path(), "emp-17", &[CallerRole::Approver], T0).unwrap();
    let caller = access.token_caller(&token, T0 + COMMAND_TOKEN_VALIDITY_SECS - 1).unwrap();
    assert_eq!(caller.role, CallerRole::Approver);
    assert_eq!(access.token_caller(&token, T0 + COMMAND_TOKEN_VALIDITY_SECS), None);
    let employee = command_token(dir.path(), "emp-17", &[CallerRole::Employee], T0).unwrap();
    assert_eq!(access.token_caller(&employee, T0).unwrap().role, CallerRole::Employee);
    let error = command_token(dir.path(), "nobody", &[CallerRole::Employee], T0).unwrap_err().to_string();
    assert!(
        error.starts_with("nobody has no user or token in") && error.ends_with("people: emp-17"),
        "{error}"
    );
    // The expired ones go at the next command.
    command_token(dir.path(), "emp-17", &[], T0 + COMMAND_TOKEN_VALIDITY_SECS).unwrap();
    assert_eq!(AccessFile::load(dir.path()).unwrap().tokens.len(), 2);
}

#[test]
fn plain_tokens_of_an_older_config_are_moved_hashed_once() {
    let dir = tempfile::tempdir().unwrap();
    let operator_key =
        kvitt_protocol::PublicKey::from(ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key());
    let addresses = ("127.0.0.1:7402".parse().unwrap(), "127.0.0.1:8402".parse().unwrap());
    let config = crate::config::NodeConfig {
        tokens: vec![TokenConfig {
            token: "plain-secret".into(),
            person: "emp-1".into(),
            role: CallerRole::Employee,
        }],
        ..crate::config::NodeConfig::new(
            kvitt_protocol::directory::MemberRole::Agency,
            "202100-5489".into(),
            "Skatteverket".into(),
            "kvitt-demo".into(),
            addresses,
            operator_key,
        )
    };
    config.save(dir.path()).unwrap();
    assert_eq!(migrate_config_tokens(dir.path(), T0).unwrap(), 1);
    let toml = std::fs::read_to_string(dir.path().join(crate::config::CONFIG_FILE)).unwrap();
    assert!(!toml.contains("plain-secret") && !read(dir.path()).contains("plain-secret"), "{toml}");
    let access = Access::open(dir.path()).unwrap();
    assert_eq!(access.token_caller("plain-secret", T0).unwrap().person, "emp-1");
    assert_eq!(migrate_config_tokens(dir.path(), T0).unwrap(), 0);
    // Left in both by a crash between the two writes: moved once.
    config.save(dir.path()).unwrap();
    assert_eq!(migrate_config_tokens(dir.path(), T0).unwrap(), 1);
    assert_eq!(AccessFile::load(dir.path()).unwrap().tokens.len(), 1);
}
