//! kill -9 of a merchant node in the middle of ingest: tills push receipts concurrently,
//! the node is SIGKILLed while pushes are in flight, and after a restart every receipt it
//! acknowledged is there, and reaches the agency exactly once.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use kvitt_protocol::{RecordId, Signed};
use support::{api_request, eventually, receipt, Network};

/// Tills pushing at once, each on its own register.
const TILLS: usize = 4;

/// Pushes acknowledged, all tills together, before the merchant is killed.
const ACKNOWLEDGED_BEFORE_KILL: usize = 40;

/// What one till saw until its node went away.
struct TillRun {
    register: String,
    /// The ids of its acknowledged (201) receipts: serial 1, 2, … in order.
    acknowledged: Vec<RecordId>,
    /// The serial it was pushing when the connection failed: never acknowledged.
    unanswered: u64,
}

/// Pushes serials 1, 2, … on `register` until a push fails at the transport (the node
/// was killed); counts the acknowledgements in `acknowledged`.
fn till(api: SocketAddr, token: &str, register: String, acknowledged: &AtomicUsize) -> TillRun {
    let mut ids = Vec::new();
    for serial in 1.. {
        let body = serde_json::to_string(&receipt(&register, serial)).unwrap();
        match api_request(api, "POST", "/v1/receipts", token, Some(&body)) {
            Ok((201, answer)) => {
                ids.push(answer["id"].as_str().unwrap().parse().unwrap());
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            Ok((status, answer)) => panic!("{register} serial {serial}: {status} {answer}"),
            Err(_) => return TillRun { register, acknowledged: ids, unanswered: serial },
        }
    }
    unreachable!()
}

#[test]
fn acknowledged_receipts_survive_kill_9_mid_ingest_and_reach_the_agency_once() {
    let mut network = Network::set_up();
    network.merchant.start();

    let api = network.merchant.api;
    let token = network.till.clone();
    let acknowledged = AtomicUsize::new(0);
    let (enough, runs) = std::thread::scope(|scope| {
        let tills: Vec<_> = (1..=TILLS)
            .map(|number| {
                let (token, acknowledged) = (&token, &acknowledged);
                scope.spawn(move || till(api, token, format!("KASSA-{number}"), acknowledged))
            })
            .collect();
        let enough = eventually(|| match acknowledged.load(Ordering::SeqCst) {
            count if count >= ACKNOWLEDGED_BEFORE_KILL => Ok(count),
            count => Err(format!("{count} pushes acknowledged")),
        });
        // The tills are still pushing: each has a request in flight, or is about to.
        network.merchant.kill9();
        let runs: Vec<TillRun> = tills.into_iter().map(|till| till.join().unwrap()).collect();
        (enough, runs)
    });
    enough.unwrap_or_else(|seen| panic!("only {seen} before the kill\n{}", network.logs()));

    network.merchant.start();
    let key = network.merchant.signing_key();
    let id_of = |register: &str, serial: u64| Signed::sign(receipt(register, serial), &key).unwrap().id();
    let mut expected = Vec::new();
    let mut stored_unanswered = 0;
    for run in &runs {
        let register = run.register.as_str();
        for (serial, id) in (1..).zip(&run.acknowledged) {
            assert_eq!(
                *id,
                id_of(register, serial),
                "signing is deterministic: the till's id is the receipt's"
            );
            assert_eq!(
                network.merchant.record_status(id),
                200,
                "{register} serial {serial} was acknowledged"
            );
            expected.push(*id);
        }
        if let Some(last) = run.acknowledged.len().checked_sub(1) {
            let body = serde_json::to_string(&receipt(register, last as u64 + 1)).unwrap();
            let answer = network.merchant.expect(200, "POST", "/v1/receipts", &network.till, Some(body));
            assert_eq!(answer["duplicate"], true, "{answer}");
        }
        // The push in flight at the kill was never acknowledged: the node may have stored
        // it (and then it is delivered too) or not. A till that got no answer pushes the
        // same receipt again, and that settles it either way.
        let unanswered = id_of(register, run.unanswered);
        let stored = match network.merchant.record_status(&unanswered) {
            200 => true,
            404 => false,
            status => panic!("{register} serial {}: {status}", run.unanswered),
        };
        assert_eq!(network.merchant.record_status(&id_of(register, run.unanswered + 1)), 404, "never pushed");
        let body = serde_json::to_string(&receipt(register, run.unanswered)).unwrap();
        let (status, answer) = network.merchant.call("POST", "/v1/receipts", &network.till, Some(body));
        assert_eq!(
            (status, &answer["duplicate"]),
            (if stored { 200 } else { 201 }, &stored.into()),
            "{answer}"
        );
        expected.push(unanswered);
        stored_unanswered += usize::from(stored);
    }
    eprintln!(
        "{} pushes acknowledged before the kill; {stored_unanswered} of {TILLS} unanswered ones were stored",
        expected.len() - TILLS
    );
    assert!(expected.len() - TILLS >= ACKNOWLEDGED_BEFORE_KILL);

    // The agency was down all along: every receipt reaches it from the merchant's outbox,
    // each once.
    network.agency.start();
    expected.sort();
    let operator = &network.agency.operator;
    network.eventually("the agency's receipts", || {
        let listed = network.agency.expect(200, "GET", "/v1/receipts?limit=10000", operator, None);
        let mut held: Vec<RecordId> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|view| view["id"].as_str().unwrap().parse().unwrap())
            .collect();
        held.sort();
        if held == expected {
            Ok(())
        } else {
            Err(format!("holds {} receipts, expected {}", held.len(), expected.len()))
        }
    });
    let exceptions = network.agency.expect(200, "GET", "/v1/exceptions", operator, None);
    assert_eq!(exceptions, serde_json::json!([]), "no receipt was signed twice for one serial");
}
