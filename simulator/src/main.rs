//! `kvitt-sim`, the kvitt network simulator. Not built yet: for now it only says so.

use std::process::ExitCode;

use clap::Parser;

const LONG_ABOUT: &str = "\
The kvitt simulator will start a whole network on one machine (many merchants, agencies \
and one shared service center), drive realistic load through it, inject faults (loss, \
latency, partitions, crashes), check the network's guarantees and report throughput and \
latency. Every run will take a seed, print it, and reproduce any failure from it.

It is not built yet: running it prints that and exits with status 2.";

#[derive(Debug, Parser)]
#[command(
    name = "kvitt-sim",
    version,
    about = "Simulates a whole kvitt network on one machine (not built yet).",
    long_about = LONG_ABOUT
)]
struct Cli {}

fn main() -> ExitCode {
    let Cli {} = Cli::parse();
    eprintln!("kvitt-sim: the simulator is not built yet; nothing was run");
    ExitCode::from(2)
}
