//! `kvitt`, the kvitt command. Thin: it parses flags, reads the input and prints what
//! [`kvitt_node`] decides. Exit status 0 valid, 1 invalid, 2 usage or input error; `kvitt
//! run` exits 3 when a failure stops the node (kvitt_node::fatal).

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kvitt_node::verify::{verify_reader, InputFormat, Report};

mod cli;
// The panic-free lints the demo kept in the kvitt-node library, where it used to live.
#[cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
mod demo;
mod node_commands;

/// A node's allocator (kvitt_node::NodeAllocator), for every command of this binary.
#[global_allocator]
static ALLOCATOR: kvitt_node::NodeAllocator = kvitt_node::NodeAllocator;

const LONG_ABOUT: &str = "\
kvitt: paperless receipts and expense claims between merchants, public agencies and a \
shared service center (SSC). Every receipt, claim and status change is a record signed \
(ed25519) by the party that made it, which anyone holding it can verify offline.";

const VERIFY_LONG_ABOUT: &str = "\
Verify one signed kvitt record offline and say what it is.

The record may be a receipt, claim, claim event, directory or equivocation evidence. kvitt \
checks that its bytes are the one canonical CBOR encoding, that its ed25519 signature \
verifies (strictly) under the key it names, and that its body obeys every rule of its type \
(VAT breakdown, totals, organisation numbers, …). It does not check that the signer is a \
member of any network: that needs the network's directory.

A valid record prints its type, id (SHA-256 of its bytes), signer and a one-line summary. \
An invalid one prints the first rule it broke: the error code (spec/protocol.md), the \
field path and a message.";

const VERIFY_AFTER_HELP: &str = "\
Exit status: 0 valid, 1 invalid, 2 usage error or unreadable input (a missing file, --hex \
input that is not hex).";

#[derive(Debug, Parser)]
#[command(name = "kvitt", version, about = "kvitt: paperless receipts and expense claims.", long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one signed record offline and say what it is.
    #[command(long_about = VERIFY_LONG_ABOUT, after_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// Run a demo network on this machine and play one working day through it.
    #[command(long_about = DEMO_LONG_ABOUT)]
    Demo(DemoArgs),
    /// Create a node: its key, configuration and operator token.
    #[command(long_about = node_commands::INIT_LONG_ABOUT)]
    Init(node_commands::InitArgs),
    /// Run a node until interrupted.
    #[command(long_about = node_commands::RUN_LONG_ABOUT)]
    Run(node_commands::RunArgs),
    /// The people who sign in to a node's web app: add (prints a sign-in link), link,
    /// list, revoke.
    #[command(subcommand)]
    User(cli::people::UserCommand),
    /// The API tokens of a node (tills, scripts): add (prints it once), list, revoke.
    #[command(subcommand)]
    Token(cli::people::TokenCommand),
    /// The network's directory: draft, publish, import, show.
    #[command(subcommand, long_about = node_commands::DIRECTORY_LONG_ABOUT)]
    Directory(node_commands::DirectoryCommand),
    /// Receipts: push one to a merchant node (tills), list an agency's.
    Receipt(cli::receipt::ReceiptArgs),
    /// Cards: an agency enrols the cards whose receipts are its own (card routing).
    Cards(cli::cards::CardsArgs),
    /// One signed record from a node, verified again here.
    Record(cli::record::RecordArgs),
    /// Expense claims: build, check against the policy, submit, approve, reject, withdraw,
    /// show, list.
    Claim(cli::claim::ClaimArgs),
    /// The shared service center: book and pay claims, export SIE, list and resolve
    /// exceptions.
    Ssc(cli::ssc::SscArgs),
    /// List what this node holds as exceptions, with what to do next: evidence that a party
    /// signed two versions of one record (caught here or sent by a peer), claims held as
    /// duplicates (resolved with `kvitt ssc resolve`), records a peer refused.
    Exceptions(cli::ssc::ExceptionsArgs),
    /// Reconcile this node's ledger with its peers now and show what each session found
    /// (the node also does so on start and every `reconcile_interval_secs` of its
    /// config.toml, 60 by default).
    Sync(cli::sync::SyncArgs),
    /// Fetch a damaged ledger's records back from the peers (the node signs nothing until
    /// then), report what none of them holds, and sign again above everything it had
    /// issued.
    Recover(cli::recover::RecoverArgs),
    /// The seven-year archive: export a period into a self-verifying bundle, verify one.
    #[command(subcommand)]
    Archive(cli::archive::ArchiveCommand),
    /// Copy a node, running or stopped, into one bundle: its ledger as one state, its keys
    /// and configuration.
    Backup(cli::backup::BackupArgs),
    /// Bring a backup back into a new data directory, as a node that catches up from its
    /// peers (`kvitt recover`) before it signs anything.
    Restore(cli::backup::RestoreArgs),
    /// Check a running node against the spec, as its peer, and print a pass/fail table.
    #[command(long_about = cli::conformance::LONG_ABOUT)]
    Conformance(cli::conformance::ConformanceArgs),
}

const DEMO_LONG_ABOUT: &str = "\
Run a demo network on this machine and play one working day through it.

Six nodes start with temporary data: the shared service center (which also operates the \
network's directory), two agencies and three merchants (a Stockholm hotel with a \
restaurant, a taxi and train seller, a hotel in Berlin that charges euro). Each is set up \
as `kvitt init` does and runs as `kvitt run` does: its own ed25519 key, its own sled \
ledger (acknowledging only what it has fsynced), QUIC on a loopback port with mutual TLS \
pinned to the directory's keys, and its client API on another. The day: \
about fifty receipts, most pushed with only the card payment and routed to the agency \
that enrolled the card, one posted by a ticket machine as SDRS XML that names the card, \
one paid in cash and collected by the employee with its receipt code; a return, a receipt \
reissued for the same card payment, claims built and submitted by employees, one rejected with a reason, one \
self-approval refused, the reissued receipt claimed a second time and caught by the SSC, \
the rest booked and paid, and every status back at the agencies. It prints what happens \
and a summary, and exits 0 only if every step went as the day expects.

With --keep the network keeps running after the day, and kvitt prints how to use the \
`kvitt` commands against it, and where each node serves its Prometheus metrics \
(`curl http://ADDR/metrics`); Ctrl-C stops it.";

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Keep the nodes' data in this folder (created if missing; it must not hold a demo
    /// already) instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Keep the network running after the day, until Ctrl-C, to try the commands on it.
    #[arg(long)]
    keep: bool,
    /// The nodes' logs on standard error (errors only unless RUST_LOG says more).
    #[command(flatten)]
    log: node_commands::LogArgs,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The signed record: a file holding its bytes, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Read the record as hex text, not raw bytes (whitespace and line breaks are ignored).
    #[arg(long)]
    hex: bool,
    /// Print the verdict as one JSON object: {"valid": true, "type", "id", "signer",
    /// "summary", …} or {"valid": false, "error": {"code", "path", "message"}}.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // Keys, tokens, ledgers, directories, SIE files: nothing kvitt writes is for other users.
    kvitt_node::permissions::restrict_umask();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // As ripgrep does: `kvitt verify … | head` closing the pipe is not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kvitt: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Verify(args) => verify(&args),
        Command::Demo(args) => demo(&args),
        Command::Init(args) => node_commands::init(&args),
        Command::Run(args) => node_commands::run(&args),
        Command::User(command) => cli::people::user(&command),
        Command::Token(command) => cli::people::token(&command),
        Command::Directory(command) => node_commands::directory(&command),
        Command::Receipt(args) => cli::receipt::main(&args),
        Command::Cards(args) => cli::cards::main(&args),
        Command::Record(args) => cli::record::main(&args),
        Command::Claim(args) => cli::claim::main(&args),
        Command::Ssc(args) => cli::ssc::main(&args),
        Command::Exceptions(args) => cli::ssc::exceptions(&args),
        Command::Sync(args) => cli::sync::main(&args),
        Command::Recover(args) => cli::recover::main(&args),
        Command::Conformance(args) => cli::conformance::main(&args),
        Command::Archive(command) => cli::archive::main(&command),
        Command::Backup(args) => cli::backup::backup(&args),
        Command::Restore(args) => cli::backup::restore(&args),
    }
}

fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    node_commands::init_logging(args.log.log_format, "error");
    let temporary = tempfile::tempdir().context("creating a temporary folder")?;
    let base = match &args.data {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => temporary.path().to_owned(),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        println!("Setting up six nodes in {} …", base.display());
        let demo = crate::demo::network::start(&base).await?;
        for ((role, org, name, _), (_, node)) in crate::demo::network::MEMBERS.iter().zip(&demo.nodes) {
            println!(
                "  {:<9} {:<12} {:<34} key {}  QUIC {}",
                format!("{role:?}").to_lowercase(),
                org,
                name,
                node.key.short(),
                node.peer_address
            );
        }
        println!(
            "Directory v{} signed by the operator ({})\n\nThe day begins.",
            demo.directory.body().version,
            demo.directory.id().short()
        );
        let started = std::time::Instant::now();
        // A node that stops on a failure ends the demo at once, with the cause.
        let mut print = |line: String| println!("{line}");
        let report = tokio::select! {
            report = crate::demo::day::play(&demo.cast, &mut print) => report?,
            cause = demo.stopped() => anyhow::bail!("a node stopped: {cause}"),
        };
        print!("{}", crate::demo::summary(&report));
        write_sie_files(&demo, &report, args.data.is_none())?;
        println!("\nThe day took {:.1} s.", started.elapsed().as_secs_f64());
        if args.keep {
            print_keep_help(&demo);
            tokio::select! {
                () = node_commands::wait_for_shutdown() => {}
                cause = demo.stopped() => anyhow::bail!("a node stopped: {cause}"),
            }
        }
        demo.stop().await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Writes the SSC's SIE file of each agency into the SSC's data directory as
/// `sie-<org>.se` and says where.
fn write_sie_files(
    demo: &crate::demo::network::DemoNetwork,
    report: &crate::demo::day::DayReport,
    temporary: bool,
) -> anyhow::Result<()> {
    let Some((ssc, _)) = demo.nodes.first() else {
        return Ok(());
    };
    println!("\nThe SSC's SIE files (SIE 4I, PC8; read them with `iconv -f CP437 -t UTF-8 FILE`):");
    for file in &report.sie {
        let path = ssc.join(format!("sie-{}.se", file.org));
        kvitt_node::permissions::write_private(&path, &file.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("  {:<34} {:>2} vouchers  {}", file.name, file.vouchers, path.display());
    }
    if temporary {
        println!("  (in a temporary folder, gone when the demo ends: `kvitt demo --data DIR` keeps them)");
    }
    Ok(())
}

/// How to use a kept demo network with the `kvitt` commands.
fn print_keep_help(demo: &crate::demo::network::DemoNetwork) {
    println!("\nThe network keeps running (Ctrl-C stops it). Its nodes' data directories:");
    for (data, node) in &demo.nodes {
        println!("  {:<34} {}  (API http://{})", node.config.name, data.display(), node.api_address);
        if let Some(metrics) = node.metrics_address {
            println!("  {:<34} metrics: curl http://{metrics}/metrics", "");
        }
    }
    match demo.sign_in_links() {
        Ok(nodes) => {
            println!("\nIn a browser: each node's web app, and a sign-in link per person (each works once, within 15 minutes; `kvitt user link PERSON --data DIR` makes another):");
            for node in nodes {
                println!("  {}  {}", node.name, node.url);
                for (person, link) in node.links {
                    println!("    {person:<14} {link}");
                }
            }
        }
        Err(error) => println!("\n(no sign-in links: {error})"),
    }
    if let (Some((agency, _)), Some((ssc, _))) = (demo.nodes.get(1), demo.nodes.first()) {
        println!("\nTry, in another terminal:");
        for hint in keep_hints(agency, ssc, time::OffsetDateTime::now_utc().year()) {
            println!("  {hint}");
        }
        println!("`kvitt user list --data DIR` and `kvitt token list --data DIR` list each node's people and tokens.");
    }
}

/// The commands a kept demo suggests, for the agency's and the SSC's data directories.
fn keep_hints(agency: &std::path::Path, ssc: &std::path::Path, year: i32) -> Vec<String> {
    let (agency, ssc) = (agency.display(), ssc.display());
    vec![
        format!("kvitt receipt list --data {agency} --as anna"),
        format!("kvitt claim list --data {agency} --as chef-cecilia"),
        format!("kvitt exceptions --data {ssc} --as ssc-greta"),
        format!(
            "kvitt ssc export-sie --data {ssc} --as ssc-greta --agency 202100-5489 --from {year}-01-01 --to {year}-12-31 --again --out - | iconv -f CP437 -t UTF-8"
        ),
        format!("kvitt directory show --data {ssc}"),
    ]
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let format = if args.hex { InputFormat::Hex } else { InputFormat::Binary };
    let report = if args.file.as_os_str() == "-" {
        verify_reader(io::stdin().lock(), format).context("reading standard input")?
    } else {
        let name = args.file.display();
        let file = File::open(&args.file).with_context(|| format!("opening {name}"))?;
        verify_reader(file, format).with_context(|| format!("reading {name}"))?
    };
    print_report(&report, args.json)?;
    Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_report(report: &Report, json: bool) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    if json {
        serde_json::to_writer(&mut stdout, report)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{report}")?;
    }
    stdout.flush()?;
    Ok(())
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|error| error.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|error| error.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_a_kept_demo_suggests_parses() {
        let hints =
            keep_hints(std::path::Path::new("/tmp/demo/agency"), std::path::Path::new("/tmp/demo/ssc"), 2026);
        assert!(!hints.is_empty());
        for hint in hints {
            // The kvitt part of a pipeline; the paths hold no spaces.
            let command = hint.split(" | ").next().unwrap_or_default();
            let words: Vec<&str> = command.split_whitespace().collect();
            assert_eq!(words.first(), Some(&"kvitt"), "{hint}");
            if let Err(error) = Cli::try_parse_from(&words) {
                panic!("`{command}` does not parse:\n{error}");
            }
        }
    }
}
