//! The client commands (`kvitt receipt`, `record`, `claim`, `ssc`) against real nodes: a
//! merchant, an agency and an SSC, each a core with its driver and group commit, joined
//! by the in-process link, each serving the client API on a loopback port. The `kvitt`
//! binary runs as a separate process, as a user would run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::client_network::{eventually, json, temporary_file, Network, TOKENS};
use common::process::{assert_exit, kvitt, text};
use common::{AGENCY_ORG, SSC_ORG};
use kvitt_node::config::NodeConfig;
use kvitt_protocol::directory::MemberRole;
use serde_json::Value;

#[test]
fn a_receipt_is_pushed_listed_and_shown() {
    let network = Network::start();
    let id = network.push_receipt(1042);
    assert_eq!(id, common::receipt().id().to_string(), "the merchant signs deterministically");

    let again = serde_json::to_vec(&common::receipt_body(1042)).unwrap();
    let output = network.kvitt_with_input("merchant", "till-token", &["receipt", "push", "-"], &again);
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), format!("{id} duplicate\n"));

    network.await_receipt_at_agency(&id);
    let output = network.kvitt("agency", "employee-token", &["receipt", "list"]);
    assert_exit(&output, 0);
    let listing = text(&output.stdout);
    assert!(listing.starts_with("ID "), "{listing}");
    let row = listing.lines().find(|line| line.starts_with(&id)).unwrap();
    for expected in ["2026-05-04", "Hotell Kvitt AB", "emp-17", "1624.00 SEK"] {
        assert!(row.contains(expected), "{expected:?} missing from {row:?}");
    }
    let output =
        network.kvitt("agency", "approver-token", &["receipt", "list", "--employee", "someone-else"]);
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), "no receipts\n");

    let output = network.kvitt("agency", "employee-token", &["record", "show", &id]);
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    for expected in
        ["valid    receipt", &format!("id       {id}"), "total 1624.00 SEK", "Frukost", "card Visa"]
    {
        assert!(shown.contains(expected), "{expected:?} missing from:\n{shown}");
    }
    let record = json(&network.kvitt("agency", "employee-token", &["record", "show", &id, "--json"]));
    assert_eq!(record["type"], "receipt");
    assert_eq!(record["body"]["total"], 162_400);
}

#[test]
fn a_claim_goes_from_draft_to_paid() {
    let network = Network::start();
    let receipt = network.push_receipt(7);
    network.await_receipt_at_agency(&receipt);

    let output =
        network.kvitt("agency", "employee-token", &["claim", "new", "--purpose", "Konferens i Stockholm"]);
    assert_exit(&output, 0);
    let opened = text(&output.stdout);
    let number = opened.strip_prefix("draft ").unwrap().split(' ').next().unwrap().to_owned();
    assert!(opened.contains("of emp-17: Konferens i Stockholm"), "{opened}");

    let output = network.add_lodging(&number, &receipt);
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("1 item, total 1624.00 SEK"), "{}", text(&output.stdout));
    let mileage = [
        "claim",
        "add",
        &number,
        "--mileage",
        "74",
        "--date",
        "2026-05-04",
        "--route",
        "Uppsala-Arlanda",
        "--rate",
        "2.50",
        "--purpose",
        "Till flyget",
        "--account",
        "7331",
        "--cost-center",
        "CC-100",
    ];
    let output = network.kvitt("agency", "employee-token", &mileage);
    assert_exit(&output, 0);
    let draft = text(&output.stdout);
    assert!(draft.contains("2 items, total 1809.00 SEK"), "74 km × 2.50 kr = 185.00 SEK:\n{draft}");
    assert!(draft.contains("74 km at 2.50 SEK/km"), "{draft}");

    let submitted = json(&network.kvitt("agency", "employee-token", &["claim", "submit", &number, "--json"]));
    let claim = submitted["claim"].as_str().unwrap().to_owned();
    let output = network.kvitt("agency", "approver-token", &["claim", "approve", &claim]);
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), format!("claim {claim}: approved\n"));

    eventually("the claim at the SSC", || {
        let claims = json(&network.kvitt("ssc", "staff-token", &["claim", "list", "--json"]));
        claims.as_array().unwrap().iter().any(|listed| listed["id"] == claim.as_str())
    });
    let output = network.kvitt("ssc", "staff-token", &["ssc", "book", &claim]);
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), format!("claim {claim}: booked\n"));
    assert_exit(&network.kvitt("ssc", "staff-token", &["ssc", "pay", &claim]), 0);

    eventually("the payment back at the agency", || {
        let shown = json(&network.kvitt("agency", "employee-token", &["claim", "show", &claim, "--json"]));
        shown["status"] == "paid"
    });
    let output = network.kvitt("agency", "employee-token", &["claim", "show", &claim]);
    assert_exit(&output, 0);
    let shown = text(&output.stdout);
    for expected in [
        "status     paid",
        "total      1809.00 SEK",
        "submitted",
        "approved",
        "chef-cecilia (approver)",
        "booked as voucher K 1",
        "paid on ",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing from:\n{shown}");
    }
    let output = network.kvitt("agency", "employee-token", &["claim", "list"]);
    assert_exit(&output, 0);
    let row = text(&output.stdout).lines().find(|line| line.starts_with(&claim)).unwrap().to_owned();
    assert!(row.contains(&number) && row.contains("paid") && row.ends_with("1809.00 SEK"), "{row}");
    let output = network.kvitt("ssc", "staff-token", &["ssc", "exceptions"]);
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), "no open exceptions\n");
}

#[test]
fn a_paid_claim_is_exported_as_an_sie_file_once_and_again_when_asked() {
    let network = Network::start();
    let receipt = network.push_receipt(11);
    network.await_receipt_at_agency(&receipt);
    let claim = network.submit_claim(&receipt);
    assert_exit(&network.kvitt("agency", "approver-token", &["claim", "approve", &claim]), 0);
    eventually("the claim at the SSC", || {
        let claims = json(&network.kvitt("ssc", "staff-token", &["claim", "list", "--json"]));
        claims.as_array().unwrap().iter().any(|listed| listed["id"] == claim.as_str())
    });
    assert_exit(&network.kvitt("ssc", "staff-token", &["ssc", "book", &claim]), 0);
    assert_exit(&network.kvitt("ssc", "staff-token", &["ssc", "pay", &claim]), 0);

    let year = time::OffsetDateTime::now_utc().year();
    let (from, to) = (format!("{year}-01-01"), format!("{year}-12-31"));
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kvitt-cli-client-export.se");
    let out = file.to_str().unwrap();
    let export = |again: bool, out: &str| {
        let mut args =
            vec!["ssc", "export-sie", "--agency", AGENCY_ORG, "--from", &from, "--to", &to, "--out", out];
        if again {
            args.push("--again");
        }
        network.kvitt("ssc", "staff-token", &args)
    };
    let output = export(false, out);
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).starts_with(&format!("1 vouchers of {AGENCY_ORG} dated ")),
        "{}",
        text(&output.stdout)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the SIE file is for its user only");
    }
    let bytes = std::fs::read(&file).unwrap();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|window| window == needle);
    assert!(bytes.starts_with(b"#FLAGGA 0\r\n#PROGRAM \"kvitt\" "), "{}", String::from_utf8_lossy(&bytes));
    assert!(contains(format!("#ORGNR {AGENCY_ORG}\r\n").as_bytes()));
    assert!(contains(b"\r\n#VER K 1 "), "the voucher number of the booked event");
    assert!(contains(format!("{claim}\"\r\n").as_bytes()), "the claim id in the voucher text");
    assert!(contains(format!("kvitto {receipt}\"").as_bytes()), "the receipt id in the row texts");
    assert!(contains(b"#TRANS 5831 {} "), "the lodging account of the item");

    let output = export(false, out);
    assert_exit(&output, 0);
    assert!(text(&output.stdout).starts_with("0 vouchers"), "exported once: {}", text(&output.stdout));
    assert!(!std::fs::read(&file).unwrap().windows(4).any(|window| window == b"#VER"));

    let output = export(true, "-");
    assert_exit(&output, 0);
    assert_eq!(output.stdout, bytes, "--again --out - writes the same bytes to standard output");
    assert!(text(&output.stderr).starts_with("1 vouchers"), "{}", text(&output.stderr));

    let output = network.kvitt(
        "ssc",
        "staff-token",
        &["ssc", "export-sie", "--agency", AGENCY_ORG, "--from", "2026-13-01", "--to", &to, "--out", out],
    );
    assert_exit(&output, 2);
    let output = network.kvitt(
        "agency",
        "approver-token",
        &["ssc", "export-sie", "--agency", AGENCY_ORG, "--from", &from, "--to", &to, "--out", out],
    );
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("auth.forbidden"), "{}", text(&output.stderr));
}

#[test]
fn a_refusal_exits_1_and_names_its_code() {
    let network = Network::start();
    let receipt = network.push_receipt(1);
    network.await_receipt_at_agency(&receipt);
    let claim = network.submit_claim(&receipt);

    let output = network.kvitt("agency", "own-approver-token", &["claim", "approve", &claim]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("kvitt: refused: claim.policy: policy built-in refuses the approval"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n  policy.self_approval (error): emp-17 may not approve their own claim"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let output = network.kvitt("agency", "own-approver-token", &["claim", "approve", &claim, "--json"]);
    assert_exit(&output, 1);
    let problem: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(problem["code"], "claim.policy");
    assert_eq!(problem["status"], 422);

    let mut bad = common::receipt_body(2);
    bad.total += 100;
    let file = temporary_file("bad-total.json", &serde_json::to_vec(&bad).unwrap());
    let output = network.kvitt("merchant", "till-token", &["receipt", "push", file.to_str().unwrap()]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("refused: receipt.total at "), "{}", text(&output.stderr));

    let output = network.kvitt("agency", "wrong-token", &["claim", "list"]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("refused: auth.unauthenticated"), "{}", text(&output.stderr));

    let output = network.kvitt("agency", "employee-token", &["claim", "reject", &claim, "--reason", "no"]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("refused: auth.forbidden"), "{}", text(&output.stderr));

    let output = network.kvitt_with_input("merchant", "till-token", &["receipt", "push", "-"], b"not json");
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("standard input is not JSON"), "{}", text(&output.stderr));

    let output = network.kvitt("agency", "employee-token", &["record", "show", "abc"]);
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("not a record id (64 hex digits)"), "{}", text(&output.stderr));

    // Regression: a 1,624.00 SEK receipt claimed at 9,999,999.99 SEK went all the way to paid.
    let receipt = network.push_receipt(2);
    network.await_receipt_at_agency(&receipt);
    let output =
        network.kvitt("agency", "employee-token", &["claim", "new", "--purpose", "Konferens", "--json"]);
    let number = json(&output)["number"].as_str().unwrap().to_owned();
    let add = ["claim", "add", &number, "--receipt", &receipt, "--amount", "9999999.99"];
    let add =
        [add.as_slice(), &["--purpose", "Logi", "--account", "5831", "--cost-center", "CC-100"]].concat();
    let output = network.kvitt("agency", "employee-token", &add);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refused: claim.over_claim at items[0].amount: 9999999.99 SEK claimed on receipt"),
        "{stderr}"
    );
    assert!(stderr.contains("which supports 1624.00 SEK"), "{stderr}");
}

#[test]
fn data_and_as_read_the_address_and_token_from_config_toml() {
    let network = Network::start();
    let receipt = network.push_receipt(3);
    network.await_receipt_at_agency(&receipt);

    let data = tempfile::tempdir().unwrap();
    let config = client_config(
        (MemberRole::Agency, AGENCY_ORG, "Skatteverket"),
        ("127.0.0.1:7402".parse().unwrap(), network.nodes.apis["agency"]),
        "agency",
    );
    config.save(data.path()).unwrap();
    let dir = data.path().to_str().unwrap();

    let output = kvitt(&["receipt", "list", "--data", dir, "--as", "emp-17"], b"");
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains(&receipt), "{}", text(&output.stdout));

    // emp-17 holds an employee and an approver token: each command takes the one it needs.
    let output = kvitt(&["claim", "new", "--purpose", "Resa", "--data", dir, "--as", "emp-17"], b"");
    assert_exit(&output, 0);
    let claim = network.submit_claim(&receipt);
    let output = kvitt(&["claim", "approve", &claim, "--data", dir, "--as", "emp-17"], b"");
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("policy.self_approval"),
        "not auth.forbidden: {}",
        text(&output.stderr)
    );
    let output = kvitt(&["claim", "approve", &claim, "--data", dir, "--as", "chef-cecilia"], b"");
    assert_exit(&output, 0);

    let output = kvitt(&["claim", "list", "--data", dir, "--as", "nobody"], b"");
    assert_exit(&output, 2);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("nobody has no token in") && stderr.contains("emp-17, chef-cecilia"), "{stderr}");

    let output = kvitt(&["claim", "list", "--data", dir], b"");
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("--as <PERSON>"), "{}", text(&output.stderr));
}

/// The config.toml a CLI user beside the test network's `node` has: its tokens of TOKENS.
fn client_config(
    (role, org, name): (MemberRole, &str, &str),
    addresses: (std::net::SocketAddr, std::net::SocketAddr),
    node: &str,
) -> NodeConfig {
    NodeConfig {
        cache_mib: 16,
        disk_floor_mib: 0,
        reconcile_interval_secs: 60,
        tokens: common::api_nodes::tokens_of(&TOKENS, node),
        ..NodeConfig::new(
            role,
            org.into(),
            name.into(),
            "kvitt-test".into(),
            addresses,
            common::public("ssc"),
        )
    }
}

#[test]
fn without_a_node_the_commands_say_what_to_start() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let api = format!("http://{address}");

    let output = kvitt(&["claim", "list", "--api", &api, "--token", "t"], b"");
    assert_exit(&output, 2);
    assert_eq!(
        text(&output.stderr),
        format!("kvitt: no kvitt node answers at {api}; is `kvitt run --data …` running?\n")
    );

    let data = tempfile::tempdir().unwrap();
    let config = client_config(
        (MemberRole::Ssc, SSC_ORG, "Statens servicecenter"),
        ("127.0.0.1:7400".parse().unwrap(), address),
        "ssc",
    );
    config.save(data.path()).unwrap();
    let dir = data.path().to_str().unwrap();
    let output = kvitt(&["ssc", "exceptions", "--data", dir, "--as", "ssc-greta"], b"");
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains(&format!("is `kvitt run --data {dir}` running?")),
        "{}",
        text(&output.stderr)
    );

    let output = kvitt(&["claim", "list"], b"");
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("which node? give --api URL --token TOKEN"),
        "{}",
        text(&output.stderr)
    );
    let output = kvitt(&["claim", "list", "--api", &api], b"");
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("--api needs --token"), "{}", text(&output.stderr));
}

#[test]
fn every_client_command_has_help() {
    for command in [
        "receipt push",
        "receipt import",
        "receipt list",
        "receipt fetch",
        "record show",
        "claim new",
        "claim add",
        "claim draft",
        "claim submit",
        "claim approve",
        "claim reject",
        "claim withdraw",
        "claim show",
        "claim list",
        "ssc book",
        "ssc pay",
        "ssc exceptions",
        "ssc resolve",
        "ssc export-sie",
        "exceptions",
    ] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let output = kvitt(&args, b"");
        assert_exit(&output, 0);
        let help = text(&output.stdout);
        for expected in ["Usage: kvitt ", "--api <URL>", "--data <DIR>", "--as <PERSON>", "--json"] {
            assert!(help.contains(expected), "{expected:?} missing from `kvitt {command} --help`:\n{help}");
        }
    }
    let output = kvitt(&["claim", "add", "--help"], b"");
    let help = text(&output.stdout);
    for expected in ["--receipt <ID>", "--mileage <KM>", "--json-item <FILE>", "Examples:"] {
        assert!(help.contains(expected), "{expected:?} missing from:\n{help}");
    }
    let output =
        kvitt(&["claim", "add", "2026-000001", "--receipt", &"ab".repeat(32), "--mileage", "3"], b"");
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("cannot be used with"), "{}", text(&output.stderr));
}

#[test]
fn kvitt_sync_reconciles_now_and_says_what_each_session_found() {
    let network = Network::start();
    // Every peer of the agency: the merchant and the SSC, each in sync (both hold nothing).
    let output = network.kvitt("agency", "operator-token", &["sync", "--json"]);
    assert_exit(&output, 0);
    let sessions: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut orgs: Vec<&str> =
        sessions.as_array().unwrap().iter().map(|s| s["org"].as_str().unwrap()).collect();
    orgs.sort_unstable();
    let mut expected = vec![common::MERCHANT_ORG, SSC_ORG];
    expected.sort_unstable();
    assert_eq!(orgs, expected, "{sessions}");
    for session in sessions.as_array().unwrap() {
        assert_eq!(
            (session["ok"].as_bool(), session["they_lack"].as_u64()),
            (Some(true), Some(0)),
            "{session}"
        );
    }
    // One peer, as a table.
    let output = network.kvitt("agency", "operator-token", &["sync", "--peer", SSC_ORG]);
    assert_exit(&output, 0);
    let table = text(&output.stdout);
    assert!(table.contains("THEY LACK") && table.contains(SSC_ORG), "{table}");
    assert!(!table.contains(common::MERCHANT_ORG), "{table}");
    // Not a member; not the operator.
    let output = network.kvitt("agency", "operator-token", &["sync", "--peer", "999999-9999"]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("request.not_found"), "{}", text(&output.stderr));
    let output = network.kvitt("agency", "approver-token", &["sync"]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("auth.forbidden"), "{}", text(&output.stderr));
}

#[test]
fn kvitt_recover_on_a_sound_node_says_there_is_nothing_to_recover_and_is_for_operators() {
    let network = Network::start();
    let output = network.kvitt("agency", "operator-token", &["recover"]);
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("not recovering"), "{}", text(&output.stdout));
    let output =
        network.kvitt("agency", "operator-token", &["recover", "--partial", "--timeout", "5", "--json"]);
    assert_exit(&output, 0);
    assert_eq!(json(&output), serde_json::json!({"state": "not_recovering", "last": null}));
    let output = network.kvitt("agency", "approver-token", &["recover"]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("auth.forbidden"), "{}", text(&output.stderr));
    let help = text(&kvitt(&["recover", "--help"], b"").stdout).to_owned();
    for expected in ["--partial", "--timeout <SECONDS>", "node.recovering", "Examples:", "Exit status"] {
        assert!(help.contains(expected), "{expected:?} missing from `kvitt recover --help`:\n{help}");
    }
}

#[test]
fn the_employee_sees_the_policy_on_the_draft_and_a_blocking_rule_refuses_submit() {
    let policy = "format = 1\nrevision = \"2026-01\"\n[[max]]\naccount = 5831\nper_item_ore = 100000\n";
    let policy = kvitt_node::policy::Policy::parse(std::path::Path::new("policy.toml"), policy).unwrap();
    let network = Network::with_policy(policy);
    let receipt = network.push_receipt(3);
    network.await_receipt_at_agency(&receipt);
    let output =
        network.kvitt("agency", "employee-token", &["claim", "new", "--purpose", "Konferens", "--json"]);
    let number = json(&output)["number"].as_str().unwrap().to_owned();
    let output = network.add_lodging(&number, &receipt);
    assert_exit(&output, 0);
    let finding =
        "policy.max (error, items[0]): 1624.00 SEK is above the limit of 1000.00 SEK per item for account 5831";
    assert!(text(&output.stdout).contains(&format!("policy:\n  {finding}")), "{}", text(&output.stdout));
    let output = network.kvitt("agency", "employee-token", &["claim", "draft", &number]);
    assert_exit(&output, 0);
    let before = text(&output.stdout).to_owned();
    assert!(before.contains(finding), "{before}");
    let drafted = json(&network.kvitt("agency", "employee-token", &["claim", "draft", &number, "--json"]));
    assert_eq!(drafted["findings"][0]["rule"], "policy.max", "{drafted}");
    assert_eq!(drafted["findings"][0]["severity"], "error", "{drafted}");
    assert_eq!(drafted["findings"][0]["item"], "items[0]", "{drafted}");

    let output = network.kvitt("agency", "employee-token", &["claim", "submit", &number]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "kvitt: refused: claim.policy at items[0]: policy 2026-01 refuses the submission of claim {number}:"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(finding), "{stderr}");
    let output = network.kvitt("agency", "employee-token", &["claim", "draft", &number]);
    assert_eq!(text(&output.stdout), before, "the draft is as it was");
    let output = network.kvitt("agency", "employee-token", &["claim", "list"]);
    assert_eq!(text(&output.stdout), "no claims\n");
}

#[test]
fn ssc_staff_resolve_a_held_claim_and_others_may_not() {
    let network = Network::start();
    let receipt = network.push_receipt(4);
    network.await_receipt_at_agency(&receipt);
    let claim = network.submit_claim(&receipt);
    let resolve = ["ssc", "resolve", &claim, "--decision", "reject", "--note", "Dubblett"];
    let output = network.kvitt("agency", "approver-token", &resolve);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("refused: auth.forbidden"), "{}", text(&output.stderr));
    // A claim the SSC holds no exception for is not resolved: it is booked as usual.
    assert_exit(&network.kvitt("agency", "approver-token", &["claim", "approve", &claim]), 0);
    eventually("the claim at the SSC", || {
        network.kvitt("ssc", "staff-token", &["claim", "show", &claim]).status.code() == Some(0)
    });
    let output = network.kvitt("ssc", "staff-token", &resolve);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains(&format!("refused: request.not_found: no exception {claim}")),
        "{}",
        text(&output.stderr)
    );
    let output =
        network.kvitt("ssc", "staff-token", &["ssc", "resolve", &claim, "--decision", "keep", "--note", "x"]);
    assert_exit(&output, 2);
}

#[test]
fn receipt_list_follows_pages_and_an_employee_may_name_only_themselves() {
    let network = Network::start();
    let ids: Vec<String> = [1042, 1043].into_iter().map(|serial| network.push_receipt(serial)).collect();
    for id in &ids {
        network.await_receipt_at_agency(id);
    }
    let first = network.kvitt("agency", "approver-token", &["receipt", "list", "--limit", "1", "--json"]);
    assert_exit(&first, 0);
    let first_ids: Vec<Value> =
        json(&first).as_array().unwrap().iter().map(|entry| entry["id"].clone()).collect();
    assert_eq!(first_ids.len(), 1);
    let stderr = text(&first.stderr);
    let cursor = stderr
        .strip_prefix("kvitt: more follow: give --after ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no cursor in {stderr:?}"));
    let rest = network.kvitt("agency", "approver-token", &["receipt", "list", "--after", cursor, "--json"]);
    assert_exit(&rest, 0);
    assert_eq!(text(&rest.stderr), "", "the list ended");
    let mut listed: Vec<String> = first_ids
        .iter()
        .chain(json(&rest).as_array().unwrap().iter().map(|entry| &entry["id"]))
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    // Without --limit, every page: both receipts.
    let all = network.kvitt("agency", "approver-token", &["receipt", "list", "--json"]);
    assert_eq!(json(&all).as_array().unwrap().len(), 2);

    // What --help says of --employee is what an employee gets.
    let help = text(&kvitt(&["receipt", "list", "--help"], b"").stdout).to_owned();
    assert!(help.contains("naming another is refused"), "{help}");
    let refused = network.kvitt("agency", "employee-token", &["receipt", "list", "--employee", "emp-42"]);
    assert_exit(&refused, 1);
    assert!(text(&refused.stderr).contains("auth.forbidden"), "{}", text(&refused.stderr));
    let own =
        network.kvitt("agency", "employee-token", &["receipt", "list", "--employee", "emp-17", "--json"]);
    assert_eq!(json(&own).as_array().unwrap().len(), 2);
}
