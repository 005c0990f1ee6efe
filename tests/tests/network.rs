//! End to end across `kvitt` processes on loopback QUIC: what a node acknowledged
//! survives SIGKILL, delivery waits for a receiver that is down, and a node outside the
//! directory gets nothing in.

mod support;

use std::time::{Duration, Instant};

use support::{kvitt, receipt_json, Network, AGENCY_ORG, MERCHANT_ORG, PATIENCE};

#[test]
fn acknowledged_receipts_survive_kill_9_and_reach_an_agency_that_was_down() {
    let mut network = Network::set_up();
    network.ssc.start();
    network.merchant.start();

    for serial in 1..=20 {
        let (status, body) =
            network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(serial)));
        assert_eq!(status, 201, "receipt {serial}: {body}");
        assert_eq!(body["duplicate"], false);
    }
    // Killed right after the acknowledgements, with the agency down: the receipts and
    // their outbox entries exist only on the merchant's disk.
    network.merchant.kill9();
    network.merchant.start();
    let (status, body) = network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(5)));
    assert_eq!((status, &body["duplicate"]), (200, &serde_json::Value::Bool(true)), "{body}");
    let (status, body) = network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(21)));
    assert_eq!(status, 201, "serial 21 follows the 20 kept through the kill: {body}");

    network.agency.start();
    let expected: Vec<u64> = (1..=21).collect();
    network.wait_for_agency(&expected);

    network.agency.kill9();
    network.agency.start();
    assert_eq!(network.agency_serials(), expected, "the agency kept what it acknowledged");
}

#[test]
fn a_node_outside_the_directory_cannot_connect_or_deliver() {
    let mut network = Network::set_up();
    network.agency.start();

    // A rogue operator sets up its own "merchant" with the real merchant's organisation
    // number and lists the real agency (its key and address) in its own directory.
    let root = tempfile::tempdir().unwrap();
    let rogue_ssc = root.path().join("rogue-ssc");
    let rogue = root.path().join("rogue");
    let init = kvitt(&[
        "init",
        &format!("--data={}", rogue_ssc.display()),
        "--role=ssc",
        "--org=202100-6255",
        "--name=Rogue operator",
        "--network=kvitt-e2e",
        "--listen=127.0.0.1:0",
        "--address=127.0.0.1:9",
        "--api=127.0.0.1:0",
    ]);
    let operator =
        init.lines().find_map(|line| line.strip_prefix("This node operates the network. Operator key: "));
    let operator = operator.unwrap_or_else(|| panic!("no operator key in:\n{init}")).trim().to_owned();
    let rogue_api = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rogue_init = kvitt(&[
        "init",
        &format!("--data={}", rogue.display()),
        "--role=merchant",
        &format!("--org={MERCHANT_ORG}"),
        "--name=Rogue merchant",
        "--network=kvitt-e2e",
        "--listen=127.0.0.1:0",
        "--address=127.0.0.1:9",
        &format!("--api={rogue_api}"),
        &format!("--operator-key={operator}"),
    ]);
    let rogue_key = rogue_init.lines().find_map(|line| line.trim().strip_prefix("node key")).unwrap().trim();
    for (role, org, name, key, address) in [
        ("agency", AGENCY_ORG, "agency", network.agency.key.as_str(), network.agency.peer.to_string()),
        ("merchant", MERCHANT_ORG, "Rogue merchant", rogue_key, "127.0.0.1:9".to_owned()),
    ] {
        kvitt(&[
            "directory",
            "add",
            &format!("--data={}", rogue_ssc.display()),
            &format!("--role={role}"),
            &format!("--org={org}"),
            &format!("--name={name}"),
            &format!("--key={key}"),
            &format!("--address={address}"),
        ]);
    }
    let published = root.path().join("rogue-directory.cbor");
    kvitt(&[
        "directory",
        "publish",
        &format!("--data={}", rogue_ssc.display()),
        &format!("--out={}", published.display()),
    ]);
    kvitt(&["directory", "import", &published.display().to_string(), &format!("--data={}", rogue.display())]);
    let till =
        kvitt(&["token", "add", &format!("--data={}", rogue.display()), "--person=till-1", "--role=till"]);

    let mut process = std::process::Command::new(support::kvitt_binary())
        .args(["run", &format!("--data={}", rogue.display())])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(root.path().join("rogue.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(rogue_api).is_err() {
        assert!(Instant::now() < deadline, "the rogue node did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let response = agent
        .post(format!("http://{rogue_api}/v1/receipts"))
        .header("Authorization", format!("Bearer {}", till.trim()))
        .header("Content-Type", "application/json")
        .send(receipt_json(1))
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "the rogue signs and stores its own receipt");

    // Its delivery to the agency fails at the handshake: the agency does not list its key.
    let log = root.path().join("rogue.log");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("delivery failed") && text.contains("refused this node") {
            break;
        }
        assert!(Instant::now() < deadline, "no refused delivery in the rogue's log:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = process.kill();
    let _ = process.wait();
    assert_eq!(network.agency_serials(), Vec::<u64>::new(), "nothing from the rogue reached the agency");
}

/// A merchant holding a QUIC connection to an agency that is killed with SIGKILL and
/// started again reaches the new life at once: the new life recognises the old
/// connection's ids as its own (its connection-id and stateless-reset keys come from its
/// node key), resets the connection, and the merchant's request goes through on a new
/// one. With quinn's per-start random keys the new life dropped those packets and the
/// session failed with "no answer within 10s" until the connection idled out (30 s).
#[test]
fn a_peer_killed_and_restarted_is_reached_at_once_over_a_new_connection() {
    let mut network = Network::set_up();
    network.ssc.start();
    network.agency.start();
    network.merchant.start();
    network.push(&support::receipt("KASSA-1", 1));
    network.wait_for_agency(&[1]);

    network.agency.kill9();
    network.agency.start();
    let body = serde_json::json!({ "peer": AGENCY_ORG }).to_string();
    let sessions = network.merchant.expect(200, "POST", "/v1/sync", &network.merchant.operator, Some(body));
    assert_eq!(
        sessions[0]["ok"],
        true,
        "the first session after the restart: {sessions}\n{}",
        network.logs()
    );
}
