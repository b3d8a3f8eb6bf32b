//! The `quorumnet` command: `devnet` runs N validators in one process; `keygen`, `transports`,
//! `node` and `relay` are an operator's (see `quorumnet --help`). This file only dispatches.

use std::process::ExitCode;

use clap::Parser as _;
use quorumnet::cli::{Cli, Command};
use quorumnet::devnet::cli as devnet;
use quorumnet::operator::{keygen, node, relay, transports};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    match command {
        Command::Devnet(args) => {
            quorumnet::logging::init_from_env();
            match devnet::run(&args) {
                Ok(report) if report.agreement => ExitCode::SUCCESS,
                Ok(_) => {
                    eprintln!("error: validators committed different blocks at one height (see the report)");
                    ExitCode::from(2)
                }
                Err(error) => fail(&error),
            }
        }
        Command::Keygen(args) => match keygen::generate(&args) {
            Ok(generated) => {
                println!("{generated}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        },
        Command::Transports => {
            print!("{}", transports::table(&transports::linked()));
            ExitCode::SUCCESS
        }
        // The node sets up logging itself, from its config's `log` field.
        Command::Node(args) => match node::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        // Likewise the relay, from its config's `log` field.
        Command::Relay(args) => match relay::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
