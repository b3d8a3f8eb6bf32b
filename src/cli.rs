//! The `quorumnet` command line: one subcommand per job, each with its options next to the code that
//! runs it ([`crate::devnet::cli`], [`crate::operator`]).

use clap::{Parser, Subcommand};

use crate::devnet::cli::DevnetArgs;
use crate::operator::{KeygenArgs, NodeArgs, RelayArgs};

/// The `quorumnet` command line.
///
/// ```
/// use clap::Parser as _;
/// use quorumnet::cli::{Cli, Command};
///
/// let cli = Cli::try_parse_from(["quorumnet", "keygen", "--out", "validator.key"]).unwrap();
/// assert!(matches!(cli.command, Command::Keygen(_)));
/// ```
#[derive(Debug, Parser)]
#[command(name = "quorumnet", version, about = "A network layer for BFT consensus engines", long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `quorumnet`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run N validators with the reference BFT engine in this process and report what the network did.
    // Boxed: its many options dwarf the other subcommands' (clippy::large_enum_variant).
    Devnet(Box<DevnetArgs>),
    /// Write a new validator key file (mode 0600) and print the validator id and public key.
    Keygen(KeygenArgs),
    /// List the transports linked into this binary: the address schemes `listen` may use.
    Transports,
    /// Run one validator as this process, with the reference BFT engine, until SIGTERM or ctrl-c.
    Node(NodeArgs),
    /// Run a relay for validators behind NAT (they list it in `relays`), until SIGTERM or ctrl-c.
    Relay(RelayArgs),
}
