//! The commands that set up and run a node on this machine: `kvitt init`, `kvitt run`
//! and the operator's `kvitt directory …`. They work on a data directory
//! (`--data DIR`); the user-facing commands (receipts, claims, SSC work) go through a
//! running node's client API instead.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use kvitt_node::setup::{self, InitOptions};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::{PublicKey, Signed};

/// Where the node keeps its key, configuration and ledger.
#[derive(Debug, clap::Args)]
pub struct DataArg {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", env = "KVITT_DATA")]
    pub data: PathBuf,
}

/// `kvitt run`'s flags.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Serve the API and web app over HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve the Prometheus metrics (HTTP `GET /metrics`, no token) on this address,
    /// instead of config.toml's `metrics_addr` (none by default). Keep it off the
    /// internet: the metrics name the node's peers.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    #[command(flatten)]
    pub log: LogArgs,
}

/// How the node logs to standard error.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// `text`: one line per event, coloured only when standard error is a terminal;
    /// `json`: one JSON object per line (timestamp, level, target and the event's fields),
    /// for a log collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

/// The formats of [`LogArgs::log_format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

pub const INIT_LONG_ABOUT: &str = "\
Create a node: a new ed25519 node key (DIR/node.key, mode 0600), its configuration \
(DIR/config.toml) and an API token for the node's operator.

An SSC started without --operator-key becomes the network's operator: it also gets \
DIR/operator.key and a draft directory listing itself (see `kvitt directory`). Every other \
node needs the operator's public key, which the operator's `init` prints, and then the \
signed directory (`kvitt directory import`).";

/// `kvitt init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    data: DataArg,
    /// The node's part in the network.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Organisation number: NNNNNN-NNNN (Swedish, with its check digit) or CC:id for a
    /// foreign merchant (DE:HRB12345).
    #[arg(long)]
    org: String,
    /// Organisation name, as receipts and the directory show it.
    #[arg(long)]
    name: String,
    /// The operator's public key (hex). Omit on the SSC that operates the network.
    #[arg(long, value_name = "HEX")]
    operator_key: Option<PublicKey>,
    /// The network's name (the operator's choice).
    #[arg(long, default_value = setup::DEFAULT_NETWORK)]
    network: String,
    /// Where the node listens for peers (QUIC, UDP).
    #[arg(long, default_value = "0.0.0.0:7400")]
    listen: SocketAddr,
    /// Where peers reach this node, as the directory will list it (default: 127.0.0.1 and
    /// the --listen port).
    #[arg(long, value_name = "HOST:PORT")]
    address: Option<String>,
    /// Where the client API listens (HTTP; keep it on loopback unless a proxy adds TLS).
    #[arg(long, default_value = "127.0.0.1:8400")]
    api: SocketAddr,
}

/// The roles `--role` takes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RoleArg {
    /// Issues receipts.
    Merchant,
    /// Receives receipts for its employees, who claim them.
    Agency,
    /// Books and pays the agencies' claims; usually also operates the network.
    Ssc,
}

impl From<RoleArg> for MemberRole {
    fn from(role: RoleArg) -> MemberRole {
        match role {
            RoleArg::Merchant => MemberRole::Merchant,
            RoleArg::Agency => MemberRole::Agency,
            RoleArg::Ssc => MemberRole::Ssc,
        }
    }
}

/// `kvitt init`: sets the node up and says what to do next.
pub fn init(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let role = MemberRole::from(args.role);
    let mut options = InitOptions::new(role, &args.org, &args.name);
    options.network.clone_from(&args.network);
    options.listen = args.listen;
    options.address = args.address.clone().unwrap_or_else(|| format!("127.0.0.1:{}", args.listen.port()));
    options.api = args.api;
    options.operator_key = args.operator_key;
    let made = setup::init(&args.data.data, &options)?;
    let data = args.data.data.display();
    println!("Created {} node {} ({}) in {data}", args.network, args.name, args.org);
    println!("  node key      {}", made.member.key);
    println!("  peers         {} (listed as {})", args.listen, options.address);
    println!("  client API    http://{}", args.api);
    if let Some(warning) = kvitt_node::api::serve::exposure_warning(args.api) {
        eprintln!("kvitt: warning: {warning}");
    }
    println!("  operator API token: {}", made.operator_token);
    if made.is_operator {
        println!("\nThis node operates the network. Operator key: {}", made.operator_key);
        println!("Give it to every member for their `kvitt init --operator-key`. Then add them:");
        println!("  kvitt directory add --data {data} --role … --org … --name … --key … --address …");
        println!("  kvitt directory publish --data {data}");
    } else {
        println!("\nAsk the operator to add this node:");
        println!(
            "  kvitt directory add --data SSC_DIR --role {} --org {} --name {:?} --key {} --address {}",
            role_name(role),
            args.org,
            args.name,
            made.member.key,
            options.address
        );
        println!("then import the directory they publish: kvitt directory import FILE --data {data}");
    }
    println!("Start the node with: kvitt run --data {data}");
    Ok(ExitCode::SUCCESS)
}

fn role_name(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Merchant => "merchant",
        MemberRole::Agency => "agency",
        MemberRole::Ssc => "ssc",
    }
}

pub const RUN_LONG_ABOUT: &str = "\
Run the node in DIR until interrupted (Ctrl-C or SIGTERM).

It opens its sled ledger, listens for peers over QUIC (TLS 1.3, mutual authentication \
pinned to the directory's node keys) and for clients over HTTP, delivers what it owes its \
peers with retries, and acknowledges only what it has fsynced. Logs go to standard error \
(--log-format text or json; colours only on a terminal); RUST_LOG=debug shows more. Every \
client API request is logged (target kvitt::access: request id, person, method, route, \
status, latency; never a token or a body).

GET /healthz and GET /readyz on the client API answer without a token (liveness; \
readiness: ledger, group commit, directory, disk floor, not recovering), and with \
--metrics ADDR (or metrics_addr in config.toml) the node serves Prometheus metrics at \
http://ADDR/metrics. docs/operations.md describes them.

The client listener serves the JSON API under /v1 and the web app at / (people sign in with \
the links `kvitt user add|link` prints). With --tls-cert and --tls-key it serves HTTPS; \
otherwise plain HTTP, fit for loopback or behind a TLS reverse proxy (README).

While the disk holding the ledger has less free space than `disk_floor_mib` of \
config.toml (64 MiB unless set), writes are refused with 503 node.disk_full and the node \
goes on serving reads; it takes writes again by itself once space is freed.

Exit status: 0 after Ctrl-C or SIGTERM; 2 if the node could not start; 3 if a failure \
stopped it (a panic in its core, a ledger write or fsync that failed), with the cause on \
standard error: everything it acknowledged is on disk, and a supervisor (systemd \
Restart=on-failure) should start it again.";

/// `kvitt run`: starts the node and serves until a signal.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(kvitt_node::web::tls::TlsFiles { cert: cert.clone(), key: key.clone() })
        }
        _ => None,
    };
    let options = kvitt_node::daemon::StartOptions { tls, metrics: args.metrics };
    init_logging(args.log.log_format, "info");
    kvitt_node::fatal::log_panics();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        let node = kvitt_node::daemon::start_with(&args.data.data, &options).await?;
        match &node.ledger {
            kvitt_node::store::ledger_start::Finding::Damaged { aside, damage, salvaged } => eprintln!(
                "kvitt: the ledger was damaged ({damage}){}. The node signs nothing until `kvitt recover` has \
                 fetched its records back from its peers.",
                aside.as_deref().map_or(String::new(), |aside| format!(
                    "; it was moved to {} and {salvaged} readable entries copied into a new one",
                    aside.display()
                ))
            ),
            kvitt_node::store::ledger_start::Finding::FloorLost(why) => eprintln!(
                "kvitt: the ledger's floor is lost ({why}). The node signs nothing until `kvitt recover` has \
                 checked its ledger against its peers."
            ),
            kvitt_node::store::ledger_start::Finding::Recovering => eprintln!(
                "kvitt: the ledger is recovering; the node signs nothing until `kvitt recover` has run."
            ),
            _ => {}
        }
        println!(
            "kvitt node {} ({}) running: peers on {} (QUIC), client API and web app on {}://{}{}",
            node.config.name,
            node.key,
            node.peer_address,
            node.scheme,
            node.api_address,
            node.metrics_address.map_or_else(String::new, |address| format!(", metrics on http://{address}/metrics"))
        );
        tokio::select! {
            () = wait_for_shutdown() => {}
            cause = node.handle.stopped() => {
                eprintln!("kvitt: the node stopped: {cause}");
                // At once, without unwinding anything: all it acknowledged is durable, and
                // a ledger that failed is best left as it is for the restart to recover.
                std::process::exit(i32::from(kvitt_node::fatal::FATAL_EXIT_CODE));
            }
        }
        println!("stopping");
        node.stop().await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Logs to standard error in `format`, at `default` (a tracing filter) unless RUST_LOG
/// says otherwise. Text is coloured only when standard error is a terminal: a file or a
/// journal gets no escape codes.
pub fn init_logging(format: LogFormat, default: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => logs.with_ansi(false).json().flatten_event(true).try_init(),
    };
}

pub const DIRECTORY_LONG_ABOUT: &str = "\
The network's directory: who is a member, with which node key, organisation number and \
address, and which agencies each SSC serves. Nodes accept connections and records only \
from members, and only a directory signed by the operator key they were initialised with.

The operator (the SSC whose `init` created operator.key) edits a draft with `add` and \
`remove` and signs it as the next version with `publish`. Members take a published \
version with `import`, or learn it from their peers while running.";

/// `kvitt directory …`.
#[derive(Debug, clap::Subcommand)]
pub enum DirectoryCommand {
    /// Add a member to the operator's draft (or replace the member with the same key).
    Add(AddMemberArgs),
    /// Remove the member with this key from the draft; the next version cuts it off.
    Remove {
        #[command(flatten)]
        data: DataArg,
        /// The member's node key (hex).
        #[arg(long, value_name = "HEX")]
        key: PublicKey,
    },
    /// Sign the draft as the next version and write it to DIR/directory.cbor.
    Publish {
        #[command(flatten)]
        data: DataArg,
        /// Also copy the signed directory here, to hand to the members.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Take a published directory into this node's data directory (it must be at most
    /// 512 KiB, signed by the node's operator key, of its network, list this node, and be
    /// newer than the one it holds). Another directory of the version it holds is the
    /// operator signing two with one number: the stopped node keeps both as evidence
    /// (`kvitt exceptions`) and the import is refused.
    Import {
        /// The signed directory file `publish` wrote.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
    /// Show the directory a data directory holds (or a directory file).
    Show {
        /// A directory file; default: DIR/directory.cbor.
        #[arg(value_name = "FILE", conflicts_with = "data")]
        file: Option<PathBuf>,
        /// The node's data directory.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `kvitt directory add`.
#[derive(Debug, clap::Args)]
pub struct AddMemberArgs {
    #[command(flatten)]
    data: DataArg,
    /// The member's part.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Its organisation number.
    #[arg(long)]
    org: String,
    /// Its name.
    #[arg(long)]
    name: String,
    /// Its node key (hex), as its `kvitt init` printed.
    #[arg(long, value_name = "HEX")]
    key: PublicKey,
    /// Where peers reach it (host:port); repeat for several.
    #[arg(long = "address", value_name = "HOST:PORT", required = true)]
    addresses: Vec<String>,
    /// For an SSC: an agency it serves (organisation number); repeat for several. An
    /// agency added while the draft has exactly one SSC is served by it.
    #[arg(long = "serves", value_name = "ORG")]
    serves: Vec<String>,
}

/// `kvitt directory …`.
pub fn directory(command: &DirectoryCommand) -> anyhow::Result<ExitCode> {
    match command {
        DirectoryCommand::Add(args) => {
            let member = Member {
                role: args.role.into(),
                org: args.org.clone(),
                name: args.name.clone(),
                key: args.key,
                addresses: args.addresses.clone(),
                serves: args.serves.clone(),
            };
            let draft = setup::add_member(&args.data.data, member)?;
            println!(
                "The draft lists {} members; publish it to make it the next version.",
                draft.members.len()
            );
        }
        DirectoryCommand::Remove { data, key } => {
            let draft = setup::remove_member(&data.data, key)?;
            println!("Removed; the draft lists {} members.", draft.members.len());
        }
        DirectoryCommand::Publish { data, out } => {
            let issued_at = kvitt_protocol::fields::format_time(time::OffsetDateTime::now_utc());
            let directory = setup::publish(&data.data, issued_at)?;
            if let Some(out) = out {
                kvitt_node::permissions::write_private(out, directory.bytes())
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            println!(
                "Published {} version {} ({} members), id {}",
                directory.body().network,
                directory.body().version,
                directory.body().members.len(),
                directory.id()
            );
            println!(
                "Restart the operator's node to use it (running members learn it from their peers), \
                 and give the file to new members: kvitt directory import FILE --data DIR"
            );
        }
        DirectoryCommand::Import { file, data } => {
            let directory = setup::import(&data.data, file)?;
            println!(
                "Imported version {} ({} members).",
                directory.body().version,
                directory.body().members.len()
            );
        }
        DirectoryCommand::Show { file, data, json } => {
            let directory = match (file, data) {
                (Some(file), _) => read_directory_file(file)?,
                (None, Some(data)) => kvitt_node::daemon::read_directory(data)?,
                (None, None) => anyhow::bail!("give a directory FILE or --data DIR"),
            };
            show_directory(&directory, *json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_directory_file(file: &Path) -> anyhow::Result<Signed<Directory>> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    Signed::<Directory>::decode(&bytes)
        .with_context(|| format!("{} is not a signed directory", file.display()))
}

fn show_directory(directory: &Signed<Directory>, json: bool) -> anyhow::Result<()> {
    let body = directory.body();
    if json {
        let record = kvitt_protocol::AnyRecord::Directory(directory.clone());
        println!("{}", serde_json::to_string_pretty(&kvitt_node::api::record_json(&record))?);
        return Ok(());
    }
    println!(
        "{} version {}, issued {}, signed by operator {}",
        body.network,
        body.version,
        body.issued_at,
        directory.signer()
    );
    for member in &body.members {
        println!(
            "  {:<8} {:<12} {:<36} {} {}{}",
            role_name(member.role),
            member.org,
            member.name,
            member.key.short(),
            member.addresses.join(","),
            if member.serves.is_empty() {
                String::new()
            } else {
                format!(" serves {}", member.serves.join(","))
            }
        );
    }
    Ok(())
}
