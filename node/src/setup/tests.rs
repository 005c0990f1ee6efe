//! Tests of the directory setup: init, drafts, publishing and importing versions.

use super::*;

fn ssc(dir: &Path) -> Initialised {
    init(dir, &InitOptions::new(MemberRole::Ssc, "202100-6255", "Statens servicecenter")).unwrap()
}

#[test]
fn the_operator_publishes_versions_that_other_nodes_import_in_order() {
    let root = tempfile::tempdir().unwrap();
    let (ssc_dir, agency_dir) = (root.path().join("ssc"), root.path().join("agency"));
    let operator = ssc(&ssc_dir);
    assert!(operator.is_operator);
    let mut options = InitOptions::new(MemberRole::Agency, "202100-5489", "Verket för tjänsteresor");
    options.operator_key = Some(operator.operator_key);
    options.address = "127.0.0.1:7401".into();
    let agency = init(&agency_dir, &options).unwrap();
    assert!(!agency.is_operator);

    let draft = add_member(&ssc_dir, agency.member.clone()).unwrap();
    assert_eq!(draft.members.len(), 2);
    assert_eq!(draft.members[0].serves, vec!["202100-5489".to_string()], "the SSC serves the new agency");
    let first = publish(&ssc_dir, "2026-11-30T09:00:00+01:00".into()).unwrap();
    assert_eq!(first.body().version, 1);
    let second = publish(&ssc_dir, "2026-11-30T09:05:00+01:00".into()).unwrap();
    assert_eq!(second.body().version, 2);

    let file = ssc_dir.join(DIRECTORY_FILE);
    assert_eq!(import(&agency_dir, &file).unwrap().body().version, 2);
    let again = import(&agency_dir, &file).unwrap_err().to_string();
    assert!(again.contains("already holds version 2"), "{again}");
}

#[test]
fn a_directory_from_another_operator_is_refused_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (ours, theirs) = (root.path().join("ours"), root.path().join("theirs"));
    ssc(&ours);
    ssc(&theirs);
    publish(&theirs, "2026-11-30T09:00:00+01:00".into()).unwrap();
    let error = import(&ours, &theirs.join(DIRECTORY_FILE)).unwrap_err().to_string();
    assert!(error.contains("not by this node's operator"), "{error}");
    assert!(!ours.join(DIRECTORY_FILE).exists());
}

/// An operator's SSC and an agency it serves, with directory version 1 published and
/// imported at the agency: (root, ssc dir, agency dir, the agency's member entry).
fn published_network() -> (tempfile::TempDir, PathBuf, PathBuf, Member) {
    let root = tempfile::tempdir().unwrap();
    let (ssc_dir, agency_dir) = (root.path().join("ssc"), root.path().join("agency"));
    let operator = ssc(&ssc_dir);
    let mut options = InitOptions::new(MemberRole::Agency, "202100-5489", "Verket för tjänsteresor");
    options.operator_key = Some(operator.operator_key);
    let agency = init(&agency_dir, &options).unwrap();
    add_member(&ssc_dir, agency.member.clone()).unwrap();
    publish(&ssc_dir, "2026-11-30T09:00:00+01:00".into()).unwrap();
    import(&agency_dir, &ssc_dir.join(DIRECTORY_FILE)).unwrap();
    (root, ssc_dir, agency_dir, agency.member)
}

#[cfg(unix)]
#[test]
fn a_node_s_folder_and_files_are_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let (_root, ssc_dir, agency_dir, _agency) = published_network();
    for dir in [&ssc_dir, &agency_dir] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    for file in [
        ssc_dir.join(NODE_KEY_FILE),
        ssc_dir.join(OPERATOR_KEY_FILE),
        ssc_dir.join(CONFIG_FILE),
        ssc_dir.join(DRAFT_FILE),
        ssc_dir.join(DIRECTORY_FILE),
        agency_dir.join(DIRECTORY_FILE),
        agency_dir.join(CONFIG_FILE),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn import_refuses_a_directory_that_does_not_list_this_node() {
    let (_root, ssc_dir, agency_dir, agency) = published_network();
    remove_member(&ssc_dir, &agency.key).unwrap();
    publish(&ssc_dir, "2026-11-30T10:00:00+01:00".into()).unwrap();
    let error = import(&agency_dir, &ssc_dir.join(DIRECTORY_FILE)).unwrap_err().to_string();
    assert!(error.contains("does not list this node"), "{error}");
    assert_eq!(crate::daemon::read_directory(&agency_dir).unwrap().body().version, 1, "unchanged");
}

#[test]
fn import_reads_no_more_than_a_directory_can_be() {
    let (root, _ssc_dir, agency_dir, _agency) = published_network();
    let big = root.path().join("big.cbor");
    fs::write(&big, vec![0u8; MAX_DIRECTORY_FILE_BYTES + 1]).unwrap();
    let error = import(&agency_dir, &big).unwrap_err().to_string();
    assert!(error.contains(&format!("over the limit of {MAX_DIRECTORY_FILE_BYTES} bytes")), "{error}");
    // At the limit the file is read, and judged as a directory.
    fs::write(&big, vec![0u8; MAX_DIRECTORY_FILE_BYTES]).unwrap();
    let error = import(&agency_dir, &big).unwrap_err().to_string();
    assert!(error.contains("not a signed directory"), "{error}");
    // A file without end is read only up to the limit.
    let zero = Path::new("/dev/zero");
    if zero.exists() {
        let error = import(&agency_dir, zero).unwrap_err().to_string();
        assert!(error.contains("over the limit"), "{error}");
    }
}

#[test]
fn a_conflicting_directory_of_the_same_version_is_kept_as_evidence() {
    let (root, ssc_dir, agency_dir, _agency) = published_network();
    let held = crate::daemon::read_directory(&agency_dir).unwrap();
    let mut other = held.body().clone();
    other.issued_at = "2026-11-30T09:30:00+01:00".into();
    let operator = config::read_key(&ssc_dir.join(OPERATOR_KEY_FILE)).unwrap();
    let conflicting = Signed::sign(other, &operator).unwrap();
    let file = root.path().join("conflicting.cbor");
    fs::write(&file, conflicting.bytes()).unwrap();

    let error = import(&agency_dir, &file).unwrap_err().to_string();
    assert!(error.contains("two directories with one number"), "{error}");
    assert!(error.contains("ledger.equivocation"), "{error}");
    assert_eq!(crate::daemon::read_directory(&agency_dir).unwrap().id(), held.id(), "directory.cbor stays");
    let request = crate::core::ClientRequest::Exceptions { limit: 10, all: true, after: None };
    let Ok(crate::core::ClientResponse::Exceptions(exceptions)) =
        crate::offline::ask_as_operator(&agency_dir, request).unwrap()
    else {
        panic!("the stopped node lists its exceptions");
    };
    let kinds: Vec<_> = exceptions.items.iter().map(|exception| exception.kind).collect();
    assert_eq!(kinds, [crate::core::ExceptionKind::Equivocation], "{exceptions:?}");
    // Offered again: the same evidence, not a second one.
    import(&agency_dir, &file).unwrap_err();
    let request = crate::core::ClientRequest::Exceptions { limit: 10, all: true, after: None };
    let Ok(crate::core::ClientResponse::Exceptions(again)) =
        crate::offline::ask_as_operator(&agency_dir, request).unwrap()
    else {
        panic!("the stopped node lists its exceptions");
    };
    assert_eq!(again, exceptions);
}

#[test]
fn init_refuses_bad_input_and_an_existing_node_without_changing_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("node");
    let bad = init(&dir, &InitOptions::new(MemberRole::Ssc, "202100-6256", "Fel")).unwrap_err();
    assert!(matches!(&bad, SetupError::Member(error) if error.path() == "org"), "{bad}");
    assert!(!dir.join(NODE_KEY_FILE).exists(), "nothing written for a refused init");
    let merchant = init(&dir, &InitOptions::new(MemberRole::Merchant, "556016-0680", "Hotell"));
    assert!(matches!(merchant, Err(SetupError::Usage(_))), "a merchant needs the operator key");
    ssc(&dir);
    let config = fs::read_to_string(config_path(&dir)).unwrap();
    let again = init(&dir, &InitOptions::new(MemberRole::Ssc, "202100-6255", "Igen")).unwrap_err();
    assert!(matches!(again, SetupError::Config(ConfigError::AlreadyInitialised(_))));
    assert_eq!(fs::read_to_string(config_path(&dir)).unwrap(), config);
}

#[test]
fn tokens_are_added_per_person_and_role_hashed_in_the_access_file() {
    let root = tempfile::tempdir().unwrap();
    ssc(root.path());
    let (first, _) = add_token(root.path(), "sara", CallerRole::SscStaff).unwrap();
    let (second, _) = add_token(root.path(), "sara", CallerRole::Operator).unwrap();
    assert_ne!(first, second);
    let access = crate::access::Access::open(root.path()).unwrap();
    assert_eq!(access.token_caller(&second, 0).unwrap().role, CallerRole::Operator);
    assert_eq!(access.token_caller(&first, 0).unwrap().role, CallerRole::SscStaff);
    assert!(NodeConfig::load(root.path()).unwrap().tokens.is_empty(), "none in config.toml");
    let access_json = fs::read_to_string(root.path().join(crate::access::ACCESS_FILE)).unwrap();
    assert!(!access_json.contains(&first));
}

#[test]
fn a_person_a_record_could_not_name_gets_no_token() {
    let root = tempfile::tempdir().unwrap();
    ssc(root.path());
    for person in ["anna\u{202E}", "a\tb", &"x".repeat(65)] {
        let refused = add_token(root.path(), person, CallerRole::SscStaff);
        assert!(
            matches!(&refused, Err(SetupError::Usage(why)) if why.starts_with("--person: ")),
            "{refused:?}"
        );
    }
    assert!(add_token(root.path(), &"x".repeat(64), CallerRole::SscStaff).is_ok());
    let access = crate::access::AccessFile::load(root.path()).unwrap();
    assert_eq!(access.tokens.iter().filter(|t| t.person.len() == 64).count(), 1);
}
