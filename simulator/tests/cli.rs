//! `kvitt-sim` says plainly that it is not built yet.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn running_says_not_built_and_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_kvitt-sim")).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "kvitt-sim: the simulator is not built yet; nothing was run\n"
    );
}

#[test]
fn help_describes_what_it_will_do() {
    let output = Command::new(env!("CARGO_BIN_EXE_kvitt-sim")).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("start a whole network on one machine"), "{help}");
    assert!(help.contains("not built yet"), "{help}");
}
