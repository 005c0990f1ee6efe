//! `kvitt`, the kvitt command. Thin: it parses flags, reads the input and prints what
//! [`kvitt_node`] decides. Exit status 0 valid, 1 invalid, 2 usage or input error.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kvitt_node::verify::{verify_reader, InputFormat, Report};

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
    }
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
