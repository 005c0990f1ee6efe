//! The `kvitt` binary as a user runs it: a separate process, its exit status and output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `kvitt args…` with `stdin` as its standard input and no connection settings from
/// the environment (`KVITT_API`, `KVITT_TOKEN`).
pub fn kvitt(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvitt"))
        .args(args)
        .env_remove("KVITT_API")
        .env_remove("KVITT_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Output as text.
pub fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// Asserts the exit status, showing both outputs if it is another.
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}
