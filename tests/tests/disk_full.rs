//! A full disk under a running merchant (`kvitt run`), on a real file system: a small
//! tmpfs mounted on the merchant's ledger folder. With the free-space floor, pushes are
//! refused with 503 `node.disk_full` while the disk is full and go through again once
//! space is freed, without a restart, and every acknowledged receipt reaches the agency
//! once. With the floor off, sled meets ENOSPC: the node stops with status 3 and the cause
//! on standard error, and after space is freed and it is started again, nothing it
//! acknowledged is lost.
//!
//! Mounting needs CAP_SYS_ADMIN (root in a container that allows it); where mount is not
//! permitted, the tests say so and skip. node/tests/failstop.rs tests the same rules
//! everywhere, with a simulated disk.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{receipt_json, Network, Node};

/// The tmpfs: room for sled's files and the receipts of a test.
const DISK_SIZE: &str = "32m";

/// The merchant's floor in the first test, in MiB.
const FLOOR_MIB: u64 = 4;

/// Bounds the pushes into a full disk with the floor off (sled needs a new page of its
/// log within a few hundred).
const MAX_PUSHES_INTO_A_FULL_DISK: u64 = 5000;

/// A tmpfs mounted for the life of the value.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of [`DISK_SIZE`] on `path`, or says why not.
    fn mount(path: &Path) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={DISK_SIZE},mode=0700"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|error| format!("mount: {error}"))?;
        match output.status.success() {
            true => Ok(Tmpfs { path: path.to_owned() }),
            false => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        }
    }

    /// Fills the disk to its last byte with a file; returns the file.
    fn fill(&self) -> PathBuf {
        let path = self.path.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(28) => break,
                Err(error) => panic!("filling {}: {error}", path.display()),
            }
        }
        // Partial pages: write byte by byte until nothing fits.
        while file.write(&[0]).is_ok_and(|written| written == 1) {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a node process killed a moment ago may still hold a file open.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Mounts the tmpfs on `node`'s ledger folder and sets its floor; `None` (with a note)
/// where mounting is not permitted.
fn small_disk(node: &Node, floor_mib: u64) -> Option<Tmpfs> {
    let disk = match Tmpfs::mount(&node.data.join("ledger")) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: a tmpfs cannot be mounted here ({why})");
            return None;
        }
    };
    let config = node.data.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let line = "disk_floor_mib = 64\n";
    assert!(text.contains(line), "kvitt init writes the default floor:\n{text}");
    std::fs::write(&config, text.replace(line, &format!("disk_floor_mib = {floor_mib}\n"))).unwrap();
    Some(disk)
}

fn push(network: &Network, serial: u64) -> (u16, serde_json::Value) {
    network.merchant.call("POST", "/v1/receipts", &network.till, Some(receipt_json(serial)))
}

#[test]
fn a_full_disk_is_refused_with_disk_full_and_the_node_takes_writes_again_once_space_is_freed() {
    let mut network = Network::set_up();
    let Some(disk) = small_disk(&network.merchant, FLOOR_MIB) else { return };
    network.ssc.start();
    network.agency.start();
    network.merchant.start();
    for serial in 1..=5 {
        assert_eq!(push(&network, serial).0, 201, "{}", network.logs());
    }

    let filler = disk.fill();
    let (status, problem) = push(&network, 6);
    assert_eq!(status, 503, "{problem}\n{}", network.logs());
    assert_eq!((problem["code"].as_str(), problem["retry"].as_bool()), (Some("node.disk_full"), Some(true)));
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("{} is full", disk.path.display())), "{detail}");
    let first = network.merchant.call("GET", "/v1/receipts", &network.merchant.operator, None);
    assert_ne!(first.0, 503, "reads go on: {first:?}");
    // Not ready for writes, and the probe says why; alive all the same.
    let (status, ready) = network.merchant.call("GET", "/readyz", "", None);
    assert_eq!((status, &ready["checks"]["disk"]["ok"]), (503, &false.into()), "{ready}");
    assert_eq!(network.merchant.call("GET", "/healthz", "", None).0, 200);

    std::fs::remove_file(filler).unwrap();
    assert_eq!(push(&network, 6).0, 201, "the same push, without a restart\n{}", network.logs());
    for serial in 7..=8 {
        assert_eq!(push(&network, serial).0, 201);
    }
    let (status, ready) = network.merchant.call("GET", "/readyz", "", None);
    assert_eq!(status, 200, "ready again once space is freed: {ready}");
    network.wait_for_agency(&(1..=8).collect::<Vec<_>>());
    assert!(network.merchant.logs().contains("ledger writes resume"), "{}", network.merchant.logs());
}

#[test]
fn sled_meeting_a_full_disk_stops_the_node_with_status_3_and_a_restart_loses_nothing() {
    let mut network = Network::set_up();
    let Some(disk) = small_disk(&network.merchant, 0) else { return };
    network.ssc.start();
    network.agency.start();
    network.merchant.start();
    for serial in 1..=3 {
        assert_eq!(push(&network, serial).0, 201, "{}", network.logs());
    }

    let filler = disk.fill();
    // sled writes into pages it holds already until its log needs a new one: push until
    // a push is not acknowledged (a 503, or no answer as the node stops).
    let mut unacknowledged = None;
    for serial in 4..=MAX_PUSHES_INTO_A_FULL_DISK {
        let body = receipt_json(serial);
        match support::api_request(network.merchant.api, "POST", "/v1/receipts", &network.till, Some(&body)) {
            Ok((201, _)) => {}
            _ => {
                unacknowledged = Some(serial);
                break;
            }
        }
    }
    let unacknowledged =
        unacknowledged.unwrap_or_else(|| panic!("sled never met the full disk\n{}", network.logs()));
    let status =
        network.merchant.wait_for_exit().unwrap_or_else(|| panic!("still running\n{}", network.logs()));
    let logs = network.merchant.logs();
    assert_eq!(status.code(), Some(3), "{logs}");
    // sled meets the full disk writing its log (the group commit's write stage) or, if
    // the write found room, at the fsync after it: the node stops either way.
    let stops = [
        "kvitt: the node stopped: writing the ledger failed",
        "kvitt: the node stopped: fsync of the ledger failed",
    ];
    assert!(stops.iter().any(|stop| logs.contains(stop)), "{logs}");
    assert!(logs.contains("No space left on device"), "{logs}");

    std::fs::remove_file(filler).unwrap();
    network.merchant.start();
    // Not acknowledged, it may or may not have reached the disk: pushed again, it is
    // stored now or found stored (the same receipt signs to the same id).
    let next = match push(&network, unacknowledged) {
        (200 | 201, _) => unacknowledged + 1,
        (status, problem) => panic!("{status} {problem}\n{}", network.logs()),
    };
    assert_eq!(push(&network, next).0, 201);
    network.wait_for_agency(&(1..=next).collect::<Vec<_>>());
    eprintln!(
        "sled met the full disk at push {unacknowledged}; every acknowledged receipt reached the agency"
    );
}
