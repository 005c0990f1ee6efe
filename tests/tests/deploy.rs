//! The files in deploy/: the systemd unit passes `systemd-analyze verify` (where systemd
//! is installed; elsewhere the test says so and skips that check), and the flags the unit
//! and the Dockerfile give `kvitt run` are flags it has.

mod support;

use std::path::Path;
use std::process::Command;

use support::kvitt_binary;

fn deploy_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name)).unwrap()
}

/// The `--flags` of a command line.
fn flags(line: &str) -> Vec<String> {
    line.split(|char: char| char.is_whitespace() || char == '"' || char == ',')
        .filter(|word| word.starts_with("--"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = deploy_file("kvitt.service");
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed here: the unit is not verified");
        return;
    };
    assert!(version.status.success());
    // verify checks that ExecStart's binary exists: point it at the one just built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvitt.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/kvitt", &kvitt_binary().display().to_string()))
        .unwrap();
    let output = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
    for hardening in ["NoNewPrivileges=yes", "ProtectSystem=strict", "User=kvitt", "Restart=on-failure"] {
        assert!(unit.lines().any(|line| line == hardening), "{hardening} missing from the unit");
    }
}

#[test]
fn the_unit_and_the_dockerfile_give_kvitt_run_only_flags_it_has() {
    let help = Command::new(kvitt_binary()).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let unit = deploy_file("kvitt.service");
    let dockerfile = deploy_file("Dockerfile");
    let exec = unit.lines().find(|line| line.starts_with("ExecStart=")).unwrap();
    let cmd = dockerfile.lines().find(|line| line.starts_with("CMD ")).unwrap();
    assert!(exec.contains(" run ") && cmd.contains("\"run\""), "{exec}\n{cmd}");
    let given: Vec<String> = flags(exec).into_iter().chain(flags(cmd)).collect();
    assert!(given.len() >= 5, "{given:?}");
    for flag in given {
        assert!(help.contains(&format!("{flag} ")), "kvitt run has no {flag}:\n{help}");
    }
}
