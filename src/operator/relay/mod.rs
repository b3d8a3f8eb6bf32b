//! `quorumnet relay --config relay.toml`: a relay as its own process — the [`RelayServer`] of core on
//! every listen address its config names, serving the validators of one chain's set, until SIGTERM
//! or ctrl-c.
//!
//! A validator behind NAT lists the relay's address in its `node.toml`'s `relays`, holds a
//! reservation here, and the others reach it as `relay://<relay address>/<its id>` (see
//! [`crate::operator::config`]). The relay forwards circuits whose Noise channel runs end to end
//! between the validators: it reads no message, and can refuse service but not forge one.
//!
//! Start-up order: the config, the key file and the validator-set file are checked before anything
//! listens; then each listen address gets its relay, and a `started relay=<id> listen=<addresses>`
//! line is printed ([`super::output`]). A stopping relay drops every link and circuit (the
//! validators' relayed transports reconnect to it or fail over to their other relays).
//!
//! ```no_run
//! use quorumnet::operator::relay::{run, RelayArgs};
//!
//! // Blocks until SIGTERM or ctrl-c; Err for a config the relay cannot start from.
//! run(&RelayArgs { config: "relay.toml".into() }).unwrap();
//! ```
//!
//! # Pieces
//! - [`config`]: `relay.toml` into a typed [`RelayFileConfig`].
//! - [`stats`]: where the relay's [`RelayStats`](crate::relay::RelayStats) leave the process.

pub mod config;
pub mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

pub use self::config::RelayFileConfig;
use super::config_error::{ConfigError, FieldProblem};
use super::config_fields::ConfigFormat as _;
use super::metrics::configured;
use super::metrics::relay_metrics::RelayMetrics;
use super::output;
use super::process::{install_shutdown_signal, run_service, ProcessError};
use crate::identity::Keypair;
use crate::relay::RelayServer;
use crate::transport::{build_transport, Admission, PeerAddress, TransportContext};
use crate::validator::ValidatorSet;

/// How long the runtime may take to end its tasks once the relays are dropped: they are aborted, so
/// this bounds only a task stuck outside an await.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// `quorumnet relay`'s options.
#[derive(Clone, Debug, Args)]
pub struct RelayArgs {
    /// The relay's config file (see `quorumnet::operator::relay::config` for its fields).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
}

/// Why `quorumnet relay` did not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayRunError {
    /// The config, or a file it names, is wrong (a listen address in use included): the message
    /// names the field.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The process cannot run a relay at all.
    #[error(transparent)]
    Process(#[from] ProcessError),
}

/// Runs `quorumnet relay`: checks the config and the files it names, then relays until SIGTERM or
/// ctrl-c.
///
/// # Errors
/// [`RelayRunError::Config`] before anything is served, for any mistake in the config; the others
/// for a process that cannot run a relay at all.
pub fn run(args: &RelayArgs) -> Result<(), RelayRunError> {
    let config = RelayFileConfig::load(&args.config)?;
    let key = config.load_key()?;
    let set = config.load_validator_set()?;
    crate::logging::init_or(Some(&config.log));
    run_service(SHUTDOWN_GRACE, serve(&config, key, &set))
}

/// Relays until a signal.
async fn serve(config: &RelayFileConfig, key: Arc<Keypair>, set: &ValidatorSet) -> Result<(), RelayRunError> {
    let mut signal = install_shutdown_signal()?;
    let id = key.validator_id();
    let metrics = configured::bind(config, config.metrics).await?;
    let relays: stats::Relays = Arc::new(listen(config, key, set).await?);
    let addresses: Vec<PeerAddress> = relays.iter().map(RelayServer::local_addr).collect();
    let metrics = metrics.map(|server| server.serve(RelayMetrics::new(&relays)));
    output::print_line(&output::relay_started_line(id, &addresses));
    if let Some(metrics) = &metrics {
        tracing::info!(address = %metrics.local_addr(), "serving metrics at /metrics");
    }
    let signal_name = signal.wait().await;
    tracing::info!(signal = signal_name, stats = ?stats::current(&relays), "shutting down");
    drop(relays);
    if let Some(metrics) = metrics {
        metrics.stop().await;
    }
    output::print_line(&output::stopped_line(signal_name));
    Ok(())
}

/// A relay on each listen address, admitting the set's validators.
async fn listen(
    config: &RelayFileConfig,
    key: Arc<Keypair>,
    set: &ValidatorSet,
) -> Result<Vec<RelayServer>, ConfigError> {
    let ctx = TransportContext {
        keypair: key,
        chain_id: config.chain_id,
        admission: Admission::for_validators(set.ids()),
        config: config.preset.node_config().transport,
    };
    let mut relays = Vec::with_capacity(config.listen.len());
    for address in &config.listen {
        let listener = match build_transport(address, &ctx) {
            Ok(transport) => transport.listen(address).await,
            Err(error) => Err(error),
        };
        let listener = listener
            .map_err(|error| config.field_error("listen", FieldProblem::listen_failed(address.clone(), error)))?;
        relays.push(RelayServer::spawn(listener, config.limits.clone()));
    }
    Ok(relays)
}
