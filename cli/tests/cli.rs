//! The `kvitt` binary, a test per flag: exit status, stdout and stderr.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::process::{assert_exit, kvitt, text};
use serde_json::Value;

/// The nodes `kvitt demo` runs (src/demo/network.rs, `MEMBERS`): an SSC, two agencies and
/// three merchants. The demo lives in the binary, out of the tests' reach, so its count
/// is stated here.
const DEMO_NODES: usize = 6;

fn file(name: &str, contents: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kvitt-cli-{name}"));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn help_names_the_verify_command() {
    let output = kvitt(&["--help"], b"");
    assert_exit(&output, 0);
    let help = text(&output.stdout);
    assert!(help.contains("paperless receipts and expense claims"), "{help}");
    let verify_line = help.lines().find(|line| line.trim_start().starts_with("verify "));
    assert!(verify_line.is_some_and(|line| line.contains("Verify one signed record offline")), "{help}");
}

/// The binary runs on the node's allocator (kvitt_node::NodeAllocator, mimalloc), which
/// says so on standard error when `MIMALLOC_VERBOSE` asks; glibc's malloc never does.
#[test]
fn the_binary_allocates_with_the_nodes_allocator() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kvitt"))
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("mimalloc: process init"), "{stderr}");
}

#[test]
fn verify_help_describes_the_flags_and_exit_status() {
    let output = kvitt(&["verify", "--help"], b"");
    assert_exit(&output, 0);
    let help = text(&output.stdout);
    for expected in ["--hex", "--json", "`-` for standard input", "Exit status: 0 valid, 1 invalid, 2"] {
        assert!(help.contains(expected), "{expected:?} missing from:\n{help}");
    }
}

#[test]
fn backup_and_restore_help_say_what_they_copy_check_and_leave_to_recover() {
    let backup = text(&kvitt(&["backup", "--help"], b"").stdout).to_owned();
    for expected in
        ["--data <DIR>", "--out <FILE>", "--as <PERSON>", "GET /v1/admin/backup", "no secret", "Exit status"]
    {
        assert!(backup.contains(expected), "{expected:?} missing from:\n{backup}");
    }
    let restore = text(&kvitt(&["restore", "--help"], b"").stdout).to_owned();
    for expected in ["--from <FILE>", "--data <DIR>", "nothing is written", "kvitt recover", "Exit status"] {
        assert!(restore.contains(expected), "{expected:?} missing from:\n{restore}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let output = kvitt(&["--version"], b"");
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), format!("kvitt {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_command_is_a_usage_error() {
    let output = kvitt(&[], b"");
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("Usage: kvitt <COMMAND>"));
}

#[test]
fn verify_without_a_file_is_a_usage_error() {
    assert_exit(&kvitt(&["verify"], b""), 2);
}

#[test]
fn valid_file_exits_0_with_type_id_signer_and_summary() {
    let receipt = common::receipt();
    let path = file("valid.cbor", receipt.bytes());
    let output = kvitt(&["verify", path.to_str().unwrap()], b"");
    assert_exit(&output, 0);
    assert_eq!(
        text(&output.stdout),
        format!(
            "valid    receipt\nid       {}\nsigner   {}\nsummary  Hotell Kvitt AB (556016-0680), register \
             KASSA-1 serial 1042, 2026-05-04T08:15:00+02:00, 2 lines, total 1624.00 SEK, buyer 202100-5489\n",
            receipt.id(),
            common::public("merchant")
        )
    );
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn tampered_file_exits_1_with_signature_invalid() {
    let path = file("tampered.cbor", &common::tampered_receipt());
    let output = kvitt(&["verify", path.to_str().unwrap()], b"");
    assert_exit(&output, 1);
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("invalid  signature.invalid\npath     sig\nmessage  does not verify"),
        "{stdout}"
    );
}

#[test]
fn dash_reads_standard_input() {
    let directory = common::directory();
    let output = kvitt(&["verify", "-"], directory.bytes());
    assert_exit(&output, 0);
    assert!(text(&output.stdout).starts_with(&format!("valid    directory\nid       {}\n", directory.id())));
}

#[test]
fn flag_hex_reads_hex_text() {
    let claim = common::claim(&common::receipt());
    let path = file("claim.hex", format!("{}\n", hex::encode(claim.bytes())).as_bytes());
    let output = kvitt(&["verify", "--hex", path.to_str().unwrap()], b"");
    assert_exit(&output, 0);
    assert!(text(&output.stdout).starts_with(&format!("valid    claim\nid       {}\n", claim.id())));
}

#[test]
fn flag_hex_refuses_text_that_is_not_hex_with_exit_2() {
    let output = kvitt(&["verify", "--hex", "-"], b"a5zz");
    assert_exit(&output, 2);
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        "kvitt: reading standard input: not hex: Invalid character 'z' at position 2 (whitespace not counted)\n"
    );
}

#[test]
fn hex_text_without_flag_hex_is_invalid_with_a_hint() {
    let receipt = common::receipt();
    let output = kvitt(&["verify", "-"], hex::encode(receipt.bytes()).as_bytes());
    assert_exit(&output, 1);
    assert!(text(&output.stdout).contains("hint     the input is hex text: pass --hex\n"));
}

#[test]
fn flag_json_prints_one_object_for_a_valid_record() {
    let event = common::submitted(common::claim(&common::receipt()).id());
    let output = kvitt(&["verify", "--json", "-"], event.bytes());
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let json: Value = serde_json::from_str(stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["type"], "claim_event");
    assert_eq!(json["id"], event.id().to_string());
    assert_eq!(json["signer"], common::public("agency").to_string());
    assert_eq!(json["action"], "submitted");
}

#[test]
fn flag_json_prints_the_error_code_path_and_message() {
    let output = kvitt(&["verify", "--json", "-"], &common::tampered_receipt());
    assert_exit(&output, 1);
    let json: Value = serde_json::from_str(text(&output.stdout)).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["error"]["code"], "signature.invalid");
    assert_eq!(json["error"]["path"], "sig");
    assert!(json["error"]["message"].as_str().unwrap().starts_with("does not verify under signer"));
}

#[test]
fn flags_hex_and_json_combine() {
    let receipt = common::receipt();
    let output = kvitt(&["verify", "--hex", "--json", "-"], hex::encode(receipt.bytes()).as_bytes());
    assert_exit(&output, 0);
    let json: Value = serde_json::from_str(text(&output.stdout)).unwrap();
    assert_eq!(json["id"], receipt.id().to_string());
}

#[test]
fn missing_file_exits_2_naming_it() {
    let output = kvitt(&["verify", "/nonexistent/kvitt-record.cbor"], b"");
    assert_exit(&output, 2);
    assert_eq!(
        text(&output.stderr),
        "kvitt: opening /nonexistent/kvitt-record.cbor: No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_directory_as_file_exits_2() {
    let output = kvitt(&["verify", env!("CARGO_TARGET_TMPDIR")], b"");
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("cannot read the input"), "{}", text(&output.stderr));
}

#[test]
fn demo_plays_the_day_and_prints_the_summary() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kvitt")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kvitt demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Summary of the day"), "{stdout}");
    // The trips' receipts reach their agencies by the employees' enrolled cards.
    assert_eq!(stdout.matches("enrolled 3 cards at the SSC").count(), 2, "{stdout}");
    // The three ways a receipt finds its agency, each in the summary: most by enrolled
    // card, one SDRS till's XML by the card in it, one cash receipt collected by its code.
    let count_of = |way: &str| -> usize {
        stdout
            .lines()
            .filter(|line| line.contains(way))
            .filter_map(|line| line.split_whitespace().last()?.parse::<usize>().ok())
            .sum()
    };
    assert!(count_of("by enrolled card") >= 40, "{stdout}");
    assert_eq!(count_of("SDRS till, by card in the XML"), 1, "{stdout}");
    assert_eq!(count_of("cash, collected by code"), 1, "{stdout}");
    assert!(stdout.contains("the till shows the receipt code 556016-0680-"), "{stdout}");
    assert!(stdout.contains("the receipt is in bo's receipts"), "{stdout}");
    assert!(stdout.contains("the SSC caught a duplicate"), "{stdout}");
    assert!(stdout.contains("tried to approve their own claim: refused (claim.policy)"), "{stdout}");
    assert!(stdout.contains("policy.self_approval (error): chef-cecilia may not approve"), "{stdout}");
    assert!(stdout.contains("exceptions at the SSC: 1"), "{stdout}");
}

#[test]
fn demo_keep_prints_a_metrics_url_per_node_that_a_scraper_reads() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvitt"))
        .args(["demo", "--keep", "--log-format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut urls = Vec::new();
    let mut seen = Vec::new();
    // Ends at the sixth URL, or when the demo exits (a failed day).
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(url) = line.trim().strip_prefix("metrics: curl ") {
            urls.push(url.to_owned());
        }
        seen.push(line);
        if urls.len() == DEMO_NODES {
            break;
        }
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let scraped: Vec<(u16, String)> = urls
        .iter()
        .map(|url| {
            let mut response = agent.get(url).call().unwrap();
            (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
        })
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(urls.len(), DEMO_NODES, "{}", seen.join("\n"));
    for (status, text) in scraped {
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("kvitt_fsync_seconds_count "), "{text}");
        assert!(
            text.contains("kvitt_records_delivered_total{outcome=\"stored\"}"),
            "every node delivered: {text}"
        );
    }
}

#[test]
fn an_error_names_its_cause_once_through_every_layer() {
    let empty = tempfile::tempdir().unwrap();
    let data = empty.path().display().to_string();
    let missing = empty.path().join("missing.cbor").display().to_string();
    // RunError → ConfigError → io::Error; SetupError → ConfigError → io::Error; the
    // operator's draft (SetupError::Usage) and a directory file of `show`.
    for args in [
        vec!["run", "--data", &data],
        vec!["directory", "import", &missing, "--data", &data],
        vec!["token", "add", "--data", &data, "--person", "anna", "--role", "employee"],
        vec!["directory", "show", &missing],
    ] {
        let output = kvitt(&args, b"");
        assert_exit(&output, 2);
        let stderr = text(&output.stderr);
        assert_eq!(stderr.matches("No such file").count(), 1, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn init_makes_a_private_node_and_warns_of_an_api_off_loopback() {
    let root = tempfile::tempdir().unwrap();
    let init = |name: &str, api: &str| {
        let data = root.path().join(name).display().to_string();
        let args =
            ["init", "--data", &data, "--role", "ssc", "--org", "202100-6255", "--name", "SSC", "--api", api];
        kvitt(&args, b"")
    };
    let quiet = init("quiet", "127.0.0.1:8400");
    assert_exit(&quiet, 0);
    assert_eq!(text(&quiet.stderr), "");
    let loud = init("loud", "0.0.0.0:8400");
    assert_exit(&loud, 0);
    let stderr = text(&loud.stderr);
    assert!(
        stderr.contains("warning")
            && stderr.contains("0.0.0.0:8400")
            && stderr.contains("not a loopback address"),
        "{stderr}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: PathBuf| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(root.path().join("quiet")), 0o700);
        for file in ["node.key", "operator.key", "config.toml", "directory-draft.toml"] {
            assert_eq!(mode(root.path().join("quiet").join(file)), 0o600, "{file}");
        }
    }
}

#[test]
fn people_and_tokens_are_added_listed_and_revoked_by_their_commands() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("node").display().to_string();
    let args = [
        "init",
        "--data",
        &data,
        "--role",
        "ssc",
        "--org",
        "202100-6255",
        "--name",
        "SSC",
        "--api",
        "127.0.0.1:8455",
    ];
    let init = kvitt(&args, b"");
    assert_exit(&init, 0);
    assert!(text(&init.stdout).contains("operator API token: "));

    let added = kvitt(&["user", "add", "--data", &data, "--person", "greta", "--role", "ssc-staff"], b"");
    assert_exit(&added, 0);
    let link = text(&added.stdout).to_string();
    assert!(link.starts_with("http://127.0.0.1:8455/signin/") && link.trim().len() == 29 + 64, "{link}");
    let again = kvitt(&["user", "add", "--data", &data, "--person", "greta", "--role", "ssc-staff"], b"");
    assert_exit(&again, 2);
    let proxied = kvitt(&["user", "link", "greta", "--data", &data, "--url", "https://kvitt.example/"], b"");
    assert!(text(&proxied.stdout).starts_with("https://kvitt.example/signin/"), "{}", text(&proxied.stdout));
    let listed = text(&kvitt(&["user", "list", "--data", &data], b"").stdout).to_string();
    assert!(
        listed.starts_with("greta") && listed.contains("ssc_staff") && listed.contains("active"),
        "{listed}"
    );
    assert_exit(&kvitt(&["user", "revoke", "greta", "--data", &data], b""), 0);
    assert!(text(&kvitt(&["user", "list", "--data", &data], b"").stdout).contains("revoked"));
    assert_exit(&kvitt(&["user", "link", "greta", "--data", &data], b""), 2);

    let token = kvitt(&["token", "add", "--data", &data, "--person", "till-1", "--role", "till"], b"");
    assert_exit(&token, 0);
    let secret = text(&token.stdout).trim().to_owned();
    let id = text(&token.stderr).split_whitespace().nth(1).unwrap().to_owned();
    let tokens = text(&kvitt(&["token", "list", "--data", &data], b"").stdout).to_string();
    assert!(tokens.contains(&id) && tokens.contains("till-1") && !tokens.contains(&secret), "{tokens}");
    assert_exit(&kvitt(&["token", "revoke", &id, "--data", &data], b""), 0);
    assert!(text(&kvitt(&["token", "list", "--data", &data], b"").stdout).contains("revoked"));
    assert_exit(&kvitt(&["token", "revoke", &id, "--data", &data], b""), 2);
    let access = std::fs::read_to_string(root.path().join("node/access.json")).unwrap();
    assert!(!access.contains(&secret) && !link.contains(&access), "no secret in access.json");
}
