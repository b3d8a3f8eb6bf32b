//! The `quorumnet` command: `quorumnet devnet` runs N validators with the reference BFT engine in one
//! process (see `quorumnet devnet --help`).

use std::process::ExitCode;

use clap::Parser as _;
use quorumnet::devnet::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    quorumnet::logging::init_from_env();
    match command {
        Command::Devnet(args) => match cli::run(&args) {
            Ok(report) if report.agreement => ExitCode::SUCCESS,
            Ok(_) => {
                eprintln!("error: validators committed different blocks at one height (see the report)");
                ExitCode::from(2)
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
    }
}
