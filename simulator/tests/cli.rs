//! The `kvitt-sim` command: its flags, its last line, its exit status and the reproduce
//! line of a failed run.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvitt-sim")).args(args).output().unwrap()
}

const SMALL: [&str; 8] = ["--nodes", "5", "--receipts", "30", "--claims", "3", "--employees", "2"];

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn a_run_ends_with_the_result_line_and_succeeds() {
    let output = sim(&[&["--seed", "4", "--faults", "lossy"][..], &SMALL].concat());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("result: seed=4 nodes=5 receipts=30 claims=3 faults=lossy wall_s="), "{last}");
    assert!(last.ends_with("invariants=ok"), "{last}");
    assert!(text.contains("latency push → agency"), "{text}");
}

#[test]
fn a_violation_prints_the_invariant_and_the_reproduce_line_and_fails() {
    let output =
        sim(&[&["--seed", "2", "--faults", "none", "--sabotage", "drop-acknowledged"][..], &SMALL].concat());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("VIOLATION: every acknowledged receipt is at its agency"), "{text}");
    assert!(
        text.contains("reproduce with: kvitt-sim --seed 2 --nodes 5 --receipts 30 --claims 3 --faults none --employees 2"),
        "{text}"
    );
    assert!(text.lines().last().unwrap().ends_with("invariants=violated"), "{text}");
}

#[test]
fn seeds_run_each_seed_of_the_range() {
    let output = sim(&[&["--seeds", "7..9", "--faults", "none"][..], &SMALL].concat());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let results: Vec<&str> = text.lines().filter(|line| line.starts_with("result: ")).collect();
    assert_eq!(results.len(), 2, "{text}");
    assert!(results[0].starts_with("result: seed=7 ") && results[1].starts_with("result: seed=8 "), "{text}");
}

#[test]
fn json_writes_the_report() {
    let dir = std::env::temp_dir().join(format!("kvitt-sim-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    let output =
        sim(&[&["--seed", "1", "--faults", "none", "--json", path.to_str().unwrap()][..], &SMALL].concat());
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["report"]["seed"], 1);
    assert!(json["report"]["push_to_agency"]["p99_ms"].is_u64(), "{json}");
    assert_eq!(json["violations"].as_array().unwrap().len(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_flags_are_usage_errors() {
    let output = sim(&["--faults", "sometimes"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr).unwrap().contains("--faults \"sometimes\""));
    let output = sim(&["--seeds", "9..3"]);
    assert_eq!(output.status.code(), Some(2));
    let output = sim(&["--seed", "1", "--seeds", "1..2"]);
    assert_eq!(output.status.code(), Some(2), "--seed and --seeds conflict");
}
