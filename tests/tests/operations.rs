//! What an operator watches of running nodes (`kvitt run`, issue 16): the probes answer
//! without a token, the metrics listener shows the series of a push and its delivery,
//! `--log-format json` writes one JSON object per line, the access log names the caller
//! and the route but never a token, and text logs carry no colour codes when standard
//! error is a file.

mod support;

use std::net::SocketAddr;

use serde_json::Value;
use support::{receipt, Network};

/// A GET without any Authorization header: the status and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(&format!("http://{address}{path}")).call().unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

/// The lines `kvitt run` prints on standard output (the support's log file holds both).
fn is_stdout_line(line: &str) -> bool {
    line.starts_with("kvitt node ") || line == "stopping" || line.starts_with("--- ")
}

#[test]
fn probes_metrics_and_logs_of_a_running_network() {
    let mut network = Network::set_up();
    let metrics = kvitt_node::loopback::free_address().unwrap();
    network.ssc.start();
    network.agency.start();
    network.merchant.start_with(&["--metrics", &metrics.to_string(), "--log-format", "json"]);

    for path in ["/healthz", "/readyz"] {
        let (status, body) = get(network.merchant.api, path);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, &body["status"]), (200, &"ok".into()), "{path}: {body}");
        assert_eq!(body["checks"]["core"]["ok"], true, "{path}: {body}");
    }
    let (_, ready) = get(network.merchant.api, "/readyz");
    let ready: Value = serde_json::from_str(&ready).unwrap();
    for check in ["core", "directory", "ledger", "disk", "recovery"] {
        assert_eq!(ready["checks"][check]["ok"], true, "{check}: {ready}");
    }
    // Every other route still wants a token.
    assert_eq!(get(network.merchant.api, "/v1/receipts").0, 401);
    assert_eq!(get(network.merchant.api, "/metrics").0, 401, "the metrics are not on the client API");

    network.push(&receipt("KASSA-1", 1));
    network.wait_for_agency(&[1]);
    let stranger = "not-a-token-but-a-secret-all-the-same";
    let (status, _) = network.merchant.call("GET", "/v1/receipts", stranger, None);
    assert_eq!(status, 401);
    // The core refuses a till the claims: a refusal by code.
    let (status, _) = network.merchant.call("GET", "/v1/claims", &network.till, None);
    assert_eq!(status, 403);

    // The delivery is counted when its answer arrives, and the outbox emptied a step
    // later, when the core settles that answer: both are waited for.
    let agency = network.agency.public_key().short();
    let settled = format!("kvitt_outbox_depth{{peer=\"{agency}\"}} 0");
    let text = network.eventually("the merchant counts and settles the delivery", || {
        let (status, text) = get(metrics, "/metrics");
        let delivered = text.contains("kvitt_records_delivered_total{outcome=\"stored\"} 1");
        match status == 200 && delivered && text.contains(&settled) {
            true => Ok(text),
            false => Err(text),
        }
    });
    for series in [
        "kvitt_receipts_pushed_total{duplicate=\"false\"} 1".to_owned(),
        "kvitt_api_requests_total{method=\"POST\",route=\"/v1/receipts\",status=\"201\"} 1".to_owned(),
        "kvitt_api_requests_total{method=\"GET\",route=\"unmatched\",status=\"401\"} 1".to_owned(),
        "kvitt_delivery_seconds_count ".to_owned(),
        "kvitt_fsync_seconds_count ".to_owned(),
        "kvitt_commit_group_batches_bucket".to_owned(),
        settled.clone(),
        format!("kvitt_outbox_oldest_seconds{{peer=\"{agency}\"}} 0"),
        "kvitt_refusals_total{to=\"client\",code=\"auth.forbidden\"} 1".to_owned(),
        "kvitt_open_exceptions 0".to_owned(),
    ] {
        assert!(text.contains(&series), "{series} missing from the merchant's metrics:\n{text}");
    }

    let logs = network.merchant.logs();
    for secret in [network.till.as_str(), stranger] {
        assert!(!logs.contains(secret), "a token is in the log:\n{logs}");
    }
    let events: Vec<Value> = logs
        .lines()
        .filter(|line| !is_stdout_line(line))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect();
    let access: Vec<&Value> = events.iter().filter(|event| event["target"] == "kvitt::access").collect();
    let push = access
        .iter()
        .find(|event| event["method"] == "POST" && event["route"] == "/v1/receipts")
        .unwrap_or_else(|| panic!("no access line for the push:\n{logs}"));
    assert_eq!((&push["status"], &push["person"]), (&201.into(), &"till-1".into()), "{push}");
    assert!(push["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{push}");
    assert!(push["latency_ms"].as_f64().is_some(), "{push}");
    assert!(
        access.iter().any(|event| event["status"] == 401 && event["person"] == "-"),
        "the refused request is logged without a person:\n{logs}"
    );

    let agency_logs = network.agency.logs();
    assert!(agency_logs.contains("kvitt::access"), "{agency_logs}");
    assert!(!agency_logs.contains('\u{1b}'), "colour codes in a log file:\n{agency_logs}");
}
