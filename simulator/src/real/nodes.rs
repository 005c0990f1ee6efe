//! The real network's nodes: a data directory each, set up from the cast as `kvitt init`,
//! `kvitt directory import` and `kvitt token add` would (the cast's fixed keys, the
//! directory listing every node at its relay front), each run as a separate `kvitt run`
//! process that can be killed with SIGKILL and started again.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kvitt_node::config::{self, NodeConfig, TokenConfig};
use kvitt_node::core::CallerRole;
use kvitt_node::setup;
use kvitt_protocol::directory::{Directory, MemberRole};
use kvitt_protocol::{PublicKey, Signed};

use super::client::Api;
use crate::cast::{Cast, Party};

/// How long a started node has to answer on its client API.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// How long a node stopped with SIGTERM has to exit before it is killed.
const STOP_PATIENCE: Duration = Duration::from_secs(15);

/// Sled's cache per node, in MiB: many nodes share one machine.
const NODE_CACHE_MIB: u64 = 16;

/// The environment variable that sets the nodes' `RUST_LOG` (quinn's debug lines, say).
pub const NODE_LOG_ENV: &str = "KVITT_SIM_NODE_LOG";

/// The nodes' `RUST_LOG` unless [`NODE_LOG_ENV`] says otherwise.
const DEFAULT_NODE_LOG: &str = "warn,kvitt_node=info";

/// The person of every merchant's till token.
pub const TILL: &str = "till-1";

/// The person of the SSC's staff token.
pub const SSC_STAFF: &str = "ssc-staff";

/// Why the real network could not be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum NodesError {
    /// A file or process could not be made.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// Writing a node's configuration or directory failed.
    #[error("setting up {node}: {message}")]
    Setup {
        /// The node's name.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// A node's process exited before its API answered.
    #[error("{node} exited ({status}) before its API answered: {last_line}; see {log}")]
    ExitedAtStart {
        /// The node's name.
        node: String,
        /// How its process ended.
        status: std::process::ExitStatus,
        /// The last line of its log (why, as kvitt said it).
        last_line: String,
        /// Its log.
        log: String,
    },
    /// A node's API did not answer after it was started.
    #[error("{node} did not answer on {api} within {seconds} s after starting; see {log}")]
    NotStarted {
        /// The node's name.
        node: String,
        /// Its API address.
        api: SocketAddr,
        /// How long we waited.
        seconds: u64,
        /// Its log.
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodesError {
    let what = what.into();
    move |error| NodesError::Io { what, error }
}

/// A loopback address for a node to listen on, kept free of the ports the kernel hands to
/// clients (see [`kvitt_node::loopback`]): a node restarted after a kill binds it again.
pub fn free_address() -> Result<SocketAddr, NodesError> {
    kvitt_node::loopback::free_address().map_err(io("finding a free loopback port"))
}

/// One real node.
pub struct RealNode {
    /// Its name (the cast's).
    pub name: String,
    /// Its data directory.
    pub data: PathBuf,
    /// Its client API.
    pub api: SocketAddr,
    /// Bearer tokens by person (the operator's under `operator`).
    pub tokens: BTreeMap<String, String>,
    process: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
    /// The largest resident set any of its processes reached, KiB.
    pub peak_rss_kib: u64,
}

impl RealNode {
    /// A client for `person`'s token (the operator if the node has no such person).
    pub fn api(&self, person: &str) -> Api {
        let token = self.tokens.get(person).or_else(|| self.tokens.get("operator")).cloned();
        Api::new(self.api, token.unwrap_or_default())
    }

    /// Whether its process runs.
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    fn log(&self) -> PathBuf {
        self.data.join(format!("run-{}.log", self.starts))
    }

    /// Starts `kvitt run` on the node's data directory, its output in `run-N.log`, and
    /// waits until the API answers.
    pub fn start(&mut self, kvitt: &Path) -> Result<(), NodesError> {
        self.starts += 1;
        let log_path = self.log();
        let log = std::fs::File::create(&log_path).map_err(io(format!("creating {}", log_path.display())))?;
        let stderr = log.try_clone().map_err(io("sharing the log file"))?;
        let child = Command::new(kvitt)
            .arg("run")
            .arg(format!("--data={}", self.data.display()))
            .env("RUST_LOG", std::env::var(NODE_LOG_ENV).unwrap_or_else(|_| DEFAULT_NODE_LOG.into()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("starting {} run for {}", kvitt.display(), self.name)))?;
        self.process = Some(child);
        let api = self.api("operator");
        let deadline = Instant::now() + START_PATIENCE;
        while Instant::now() < deadline {
            if api.get("/v1/directory").is_ok() {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(NodesError::ExitedAtStart {
                    node: self.name.clone(),
                    status,
                    last_line: text.lines().last().unwrap_or_default().to_owned(),
                    log: log_path.display().to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(NodesError::NotStarted {
            node: self.name.clone(),
            api: self.api,
            seconds: START_PATIENCE.as_secs(),
            log: log_path.display().to_string(),
        })
    }

    /// Notes the process's peak resident set (Linux `/proc`; nothing elsewhere).
    pub fn sample_memory(&mut self) {
        let Some(child) = &self.process else {
            return;
        };
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        let peak = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok());
        self.peak_rss_kib = self.peak_rss_kib.max(peak.unwrap_or(0));
    }

    /// `kill -9`: the process is gone at once, with whatever it had not synced.
    pub fn kill(&mut self) -> Result<(), NodesError> {
        self.sample_memory();
        if let Some(mut child) = self.process.take() {
            // std's kill is SIGKILL on Unix.
            child.kill().map_err(io(format!("killing {}", self.name)))?;
            child.wait().map_err(io(format!("reaping {}", self.name)))?;
        }
        Ok(())
    }

    /// Stops the node with SIGTERM (as an operator would), killing it if it does not exit
    /// in time; the exit status, if it exited by itself on SIGTERM.
    pub fn stop(&mut self) -> Result<Option<std::process::ExitStatus>, NodesError> {
        self.sample_memory();
        let Some(mut child) = self.process.take() else {
            return Ok(None);
        };
        let terminated = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + STOP_PATIENCE;
        if terminated.is_ok_and(|status| status.success()) {
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().map_err(io(format!("waiting for {}", self.name)))? {
                    return Ok(Some(status));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        child.kill().map_err(io(format!("killing {}", self.name)))?;
        child.wait().map_err(io(format!("reaping {}", self.name)))?;
        Ok(None)
    }

    /// Whether the process exited by itself (it was neither killed nor stopped by us):
    /// its exit status if so.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.process.as_mut().and_then(|child| child.try_wait().ok().flatten());
        if status.is_some() {
            self.process = None;
        }
        status
    }

    /// Lines of the node's logs that say a thread panicked.
    pub fn panics(&self) -> Vec<String> {
        (1..=self.starts)
            .flat_map(|start| {
                let text =
                    std::fs::read_to_string(self.data.join(format!("run-{start}.log"))).unwrap_or_default();
                text.lines()
                    .filter(|line| line.contains("panicked at"))
                    .map(|line| format!("run-{start}.log: {line}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// The folder name of a node of `role`.
fn folder(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Ssc => "ssc",
        MemberRole::Agency => "agency",
        MemberRole::Merchant => "merchant",
    }
}

/// A node still running when the run ends early (an error in setting up, a panic) is
/// killed rather than left behind.
impl Drop for RealNode {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// The tokens a party's node gets: the operator's, and its people's in their roles.
fn people(party: &Party) -> Vec<(String, CallerRole)> {
    let mut people = vec![("operator".to_owned(), CallerRole::Operator)];
    match party.identity.role {
        MemberRole::Merchant => people.push((TILL.into(), CallerRole::Till)),
        MemberRole::Ssc => people.push((SSC_STAFF.into(), CallerRole::SscStaff)),
        MemberRole::Agency => {
            people.extend(party.employees().iter().map(|person| (person.clone(), CallerRole::Employee)));
            people.push((party.approver().to_owned(), CallerRole::Approver));
        }
    }
    people
}

/// The cast's directory with every member's address replaced by `addresses` (in the
/// cast's order), signed again by the operator.
pub fn directory_at(cast: &Cast, addresses: &[SocketAddr]) -> Result<Signed<Directory>, NodesError> {
    let mut body = cast.directory.body().clone();
    for (member, address) in body.members.iter_mut().zip(addresses) {
        member.addresses = vec![address.to_string()];
    }
    Signed::sign(body, &cast.operator)
        .map_err(|error| NodesError::Setup { node: "the directory".into(), message: error.to_string() })
}

/// Sets up one data directory per party under `base`: the cast's key, a configuration
/// listening on `listen[i]` (QUIC) and a free API port, tokens, and `directory` imported.
pub fn set_up(
    cast: &Cast,
    base: &Path,
    listen: &[SocketAddr],
    directory: &Signed<Directory>,
    reconcile_interval_secs: u64,
) -> Result<Vec<RealNode>, NodesError> {
    std::fs::create_dir_all(base).map_err(io(format!("creating {}", base.display())))?;
    let published = base.join(config::DIRECTORY_FILE);
    std::fs::write(&published, directory.bytes()).map_err(io(format!("writing {}", published.display())))?;
    let operator = PublicKey::from(cast.operator.verifying_key());
    let mut nodes = Vec::new();
    for (index, (party, listen)) in cast.parties.iter().zip(listen).enumerate() {
        let setup_error = |message: String| NodesError::Setup { node: party.name.clone(), message };
        let data = base.join(format!("{index:03}-{}", folder(party.identity.role)));
        std::fs::create_dir_all(&data).map_err(io(format!("creating {}", data.display())))?;
        config::write_key(&data.join(config::NODE_KEY_FILE), &party.identity.signing_key)
            .map_err(|error| setup_error(error.to_string()))?;
        let tokens: BTreeMap<String, String> =
            people(party).iter().map(|(person, _)| (person.clone(), setup::new_token())).collect();
        let api = free_address()?;
        let node_config = NodeConfig {
            cache_mib: NODE_CACHE_MIB,
            reconcile_interval_secs,
            tokens: people(party)
                .into_iter()
                .map(|(person, role)| TokenConfig {
                    token: tokens.get(&person).cloned().unwrap_or_default(),
                    person,
                    role,
                })
                .collect(),
            ..NodeConfig::new(
                party.identity.role,
                party.identity.org.clone(),
                party.name.clone(),
                directory.body().network.clone(),
                (*listen, api),
                operator,
            )
        };
        node_config.save(&data).map_err(|error| setup_error(error.to_string()))?;
        setup::import(&data, &published).map_err(|error| setup_error(error.to_string()))?;
        // Merchants and agencies hold the network's routing key; the SSC does not
        // (spec/routing.md).
        if party.identity.role != MemberRole::Ssc {
            let key = data.join(config::ROUTING_KEY_FILE);
            std::fs::write(&key, hex::encode(crate::workload::cards::SIM_ROUTING_KEY_BYTES))
                .map_err(io(format!("writing {}", key.display())))?;
        }
        nodes.push(RealNode {
            name: party.name.clone(),
            data,
            api,
            tokens,
            process: None,
            starts: 0,
            peak_rss_kib: 0,
        });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_whose_process_exits_at_start_is_reported_at_once_with_its_last_words() {
        let data = tempfile::tempdir().unwrap();
        let mut node = RealNode {
            name: "Hotel".into(),
            data: data.path().to_owned(),
            api: free_address().unwrap(),
            tokens: BTreeMap::new(),
            process: None,
            starts: 0,
            peak_rss_kib: 0,
        };
        // A stand-in for kvitt that says why it cannot start and exits.
        let script = data.path().join("kvitt");
        std::fs::write(
            &script,
            "#!/bin/sh\necho 'kvitt: cannot listen on 127.0.0.1:1: in use' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let began = Instant::now();
        let error = node.start(&script).unwrap_err();
        assert!(began.elapsed() < START_PATIENCE / 2, "waited {:?}", began.elapsed());
        let NodesError::ExitedAtStart { node: name, last_line, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(name, "Hotel");
        assert_eq!(last_line, "kvitt: cannot listen on 127.0.0.1:1: in use");
        assert!(!node.is_running());
    }
}
