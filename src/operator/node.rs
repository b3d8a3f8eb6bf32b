//! `quorumnet node --config node.toml`: one validator as its own process — a node on the transports
//! its config and validator set name, running the reference engine ([`crate::devnet::engine`])
//! through the same [`driver`] as the devnet, until SIGTERM or ctrl-c.
//!
//! Start-up order: the config, the key file and the validator-set file are checked before anything
//! listens; then the metrics address (if any) is bound, so a busy port fails before the node joins
//! the network; then the node listens, holds its reservation at each of its `relays` (a NAT-bound
//! node's only listeners), dials its peers — through a relay those listed at `relay://` addresses —
//! prints a `started` line ([`super::output`]) with every address it is reachable at, and the engine
//! starts at once (validators started later catch up, and join the others' round). Metrics are served from then until the node has shut down. Commits and what
//! the liveness monitor concludes are printed as they happen ([`super::output`]).
//! The engine resumes from the [journal file](super::journal) (opened and locked before anything
//! listens): at its chain's tip, after its last signed round, under its lock; `resumed` says where.
//!
//! ```no_run
//! use quorumnet::operator::node::{run, NodeArgs};
//!
//! // Blocks until SIGTERM or ctrl-c; Err for a config the node cannot start from.
//! run(&NodeArgs { config: "node.toml".into() }).unwrap();
//! ```

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use super::config::NodeFileConfig;
use super::config_error::{ConfigError, FieldProblem};
use super::config_fields::ConfigFormat as _;
use super::journal::JournalFile;
use super::metrics::configured;
use super::metrics::node_metrics::NodeMetrics;
use super::output::{self, CommitLine, ResumedLine};
use super::process::{install_shutdown_signal, run_service, ProcessError};
use super::shutdown::ShutdownSignal;
use crate::devnet::engine::Engine;
use crate::devnet::journal::{Journal, JournalState};
use crate::devnet::validator_schedule::ValidatorSchedule;
use crate::devnet::{cluster, driver};
use crate::identity::Keypair;
use crate::message::Height;
use crate::node::{BuildError, IncomingMessages, Node, NodeError, NodeEvent, SystemClock};
use crate::relay::{self, RelayAddress, RelayTransport};
use crate::transport::{find_plugin, Admission};
use crate::validator::{StaticValidatorSetSource, ValidatorSet};

/// How long a stopping node may take after its connections closed: the engine ends as soon as it
/// sees its node stopped, so this bounds only a wedged task, and stays under the 10 s most service
/// managers wait before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// `quorumnet node`'s options.
#[derive(Clone, Debug, Args)]
pub struct NodeArgs {
    /// The node's config file (see `quorumnet::operator::config` for its fields).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
}

/// Why `quorumnet node` did not start, or stopped other than on a signal.
#[derive(Debug, thiserror::Error)]
pub enum NodeRunError {
    /// The config, or a file it names, is wrong: the message names the field.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The process cannot run a node at all.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The node did not start for a reason other than its config (boxed: a build error is large,
    /// and rare).
    #[error("the node did not start: {0}")]
    Build(Box<BuildError>),
    /// The node refused a message the engine signed: a bug in the reference engine.
    #[error("the engine stopped: its node refused its message ({0}); this is a bug in the reference engine, please report it with the logs")]
    Engine(NodeError),
    /// The engine's task panicked.
    #[error("the engine's task failed: {0}")]
    EngineTask(JoinError),
    /// The node stopped without being asked to.
    #[error("the node stopped by itself, before any signal: see the logs (RUST_LOG=debug for more)")]
    StoppedUnasked,
}

/// Runs `quorumnet node`: checks the config and the files it names, then runs the validator until
/// SIGTERM or ctrl-c and shuts it down cleanly.
///
/// # Errors
/// [`NodeRunError::Config`] before anything starts for any mistake in the config (see
/// [`ConfigError`]), including a listen address already in use; the other variants for a node that
/// could not start or an engine that stopped on its own.
pub fn run(args: &NodeArgs) -> Result<(), NodeRunError> {
    let config = NodeFileConfig::load(&args.config)?;
    let key = config.load_key()?;
    let set = config.load_validator_set(&key)?;
    crate::logging::init_or(Some(&config.log));
    // After the logger: a torn last record is reported as a warning.
    let journal = config.open_journal()?;
    run_service(SHUTDOWN_GRACE, serve(&config, key, set, journal))
}

/// Runs the node and its engine until a signal, printing each commit; closes the journal after the
/// engine ended.
async fn serve(
    config: &NodeFileConfig,
    key: Arc<Keypair>,
    set: ValidatorSet,
    (journal_file, resumed): (JournalFile, JournalState),
) -> Result<(), NodeRunError> {
    let mut signal = install_shutdown_signal()?;
    let set = Arc::new(set);
    let metrics_server = configured::bind(config, config.metrics).await?;
    let (node, incoming) = start_node(config, key, &set).await?;
    let journal_file = Arc::new(journal_file);
    let resumed_line = ResumedLine { height: Height(resumed.chain.len() as u64), last_signed: resumed.last_signed };
    let journal = Journal::resumed(resumed, journal_file.clone());
    // Served right after the build, before any await, so the event tally misses nothing.
    let metrics = metrics_server.map(|server| server.serve(NodeMetrics::new(node.clone(), journal.clone())));
    output::print_line(&output::started_line(node.id(), node.listen_addresses()));
    output::print_line(&resumed_line.to_string());
    if let Some(metrics) = &metrics {
        tracing::info!(address = %metrics.local_addr(), "serving metrics at /metrics");
    }
    let result = run_engine(config, &node, incoming, set, &journal, resumed_line.height, &mut signal).await;
    // After the engine ended: nothing more is recorded.
    close_journal(&journal_file);
    if let Some(metrics) = metrics {
        metrics.stop().await;
    }
    result
}

/// Runs the engine on `node` until a signal (then shuts the node down) or until it ends by itself,
/// printing the commits after `printed`.
async fn run_engine(
    config: &NodeFileConfig,
    node: &Node,
    incoming: IncomingMessages,
    set: Arc<ValidatorSet>,
    journal: &Journal,
    mut printed: Height,
    signal: &mut ShutdownSignal,
) -> Result<(), NodeRunError> {
    let mut tip = journal.committed_height();
    let engine_config = config.preset.engine_config();
    let schedule = Arc::new(ValidatorSchedule::fixed(set));
    let engine =
        Engine::new(node.id(), schedule, engine_config, journal.clone(), Arc::new(SystemClock), Instant::now());
    let mut engine = driver::spawn(node.clone(), incoming, engine);
    let mut events = node.events();
    let mut events_open = true;
    let signal_name = loop {
        tokio::select! {
            biased;
            name = signal.wait() => break name,
            ended = &mut engine => {
                node.shutdown().await;
                return Err(unexpected_end(ended));
            }
            Ok(()) = tip.changed() => printed = print_commits(journal, printed),
            event = events.recv(), if events_open => events_open = print_event(event),
        }
    };
    tracing::info!(signal = signal_name, "shutting down");
    node.shutdown().await;
    let ended = finish(engine).await;
    print_commits(journal, printed);
    output::print_line(&output::stopped_line(signal_name));
    ended
}

/// Builds the node: a transport from the registry for every scheme it listens on or its peers are
/// listed at, listening on the config's addresses.
async fn start_node(
    config: &NodeFileConfig,
    key: Arc<Keypair>,
    set: &ValidatorSet,
) -> Result<(Node, IncomingMessages), NodeRunError> {
    let source = Arc::new(StaticValidatorSetSource::new(set.clone()));
    let me = key.validator_id();
    let builder = Node::builder()
        .keypair(key)
        .chain_id(config.chain_id)
        .validators(source)
        .config(config.preset.node_config().sized_for(set.len()));
    let relayed = config.relayed_listen();
    warn_unlisted_relayed(config, set, me);
    let builder = transport_schemes(config, set, me).into_iter().fold(builder, |b, scheme| {
        if scheme == relay::SCHEME {
            // Relays are known by address only (see the config docs): whoever answers there carries
            // circuits that are authenticated end to end.
            b.transport_with(|ctx| Ok(Arc::new(RelayTransport::new(ctx.clone()).admitting_relays(Admission::open()))))
        } else {
            b.registry_transport(&scheme)
        }
    });
    let builder = config.listen.iter().chain(&relayed).cloned().fold(builder, |b, address| b.listen(address));
    builder.build().await.map_err(|error| match error {
        BuildError::Listen { addr, source } if addr.scheme() == relay::SCHEME => {
            let relay = RelayAddress::parse(&addr).map_or(addr, |parsed| parsed.relay);
            config.field_error("relays", FieldProblem::RelayUnreachable { relay, reason: source.to_string() }).into()
        }
        BuildError::Listen { addr, source } => {
            config.field_error("listen", FieldProblem::listen_failed(addr, source)).into()
        }
        other => NodeRunError::Build(Box::new(other)),
    })
}

/// The linked schemes of the listen addresses (`relay` for a node with relays) and of the other
/// validators' addresses (a relay's own scheme is the relayed transport's business). A peer listed
/// only at schemes this build lacks cannot be dialled, but may still dial in: worth a warning, not a
/// refusal to start.
fn transport_schemes(
    config: &NodeFileConfig,
    set: &ValidatorSet,
    me: crate::identity::ValidatorId,
) -> BTreeSet<String> {
    let mut schemes: BTreeSet<String> = config.listen.iter().map(|a| a.scheme().to_owned()).collect();
    if !config.relays.is_empty() {
        schemes.insert(relay::SCHEME.to_owned());
    }
    for validator in set.iter().filter(|v| v.id() != me) {
        for address in &validator.addresses {
            if find_plugin(address.scheme()).is_some() {
                schemes.insert(address.scheme().to_owned());
            } else {
                tracing::warn!(validator = %validator.id().short(), %address, "no linked transport for this address: it will not be dialled");
            }
        }
    }
    schemes
}

/// Warns when this node's own validator-set entry misses one of its relayed addresses: the others
/// dial only the addresses the set lists, so they would not reach it through that relay.
fn warn_unlisted_relayed(config: &NodeFileConfig, set: &ValidatorSet, me: crate::identity::ValidatorId) {
    let listed = set.get(&me).map(|v| v.addresses.as_slice()).unwrap_or_default();
    for relay in &config.relays {
        let address = cluster::relayed_address(relay, me);
        if !listed.contains(&address) {
            tracing::warn!(%address, set = %config.validator_set.display(), "this node's entry in the validator set does not list its address behind this relay: the others will not dial it there");
        }
    }
}

/// Waits, a bounded time, for the engine to see its stopped node and end.
async fn finish(mut engine: JoinHandle<Result<(), NodeError>>) -> Result<(), NodeRunError> {
    match tokio::time::timeout(SHUTDOWN_GRACE, &mut engine).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(NodeError::Stopped))) => Ok(()),
        Ok(ended) => Err(unexpected_end(ended)),
        Err(_) => {
            tracing::warn!(after = ?SHUTDOWN_GRACE, "the engine did not end after its node stopped: abandoned");
            engine.abort();
            Ok(())
        }
    }
}

/// Syncs and closes the journal once the engine no longer writes to it (an engine abandoned by
/// [`finish`] finds it closed). Every signed round is already synced: a failure here can only lose
/// commits, which the others serve again after a restart, so it is logged rather than fatal.
fn close_journal(journal: &JournalFile) {
    if let Err(error) = journal.close() {
        tracing::warn!(%error, "the journal's last commits may not be on disk");
    }
}

/// Why the engine's task ended before it was asked to.
fn unexpected_end(ended: Result<Result<(), NodeError>, JoinError>) -> NodeRunError {
    match ended {
        Ok(Ok(())) | Ok(Err(NodeError::Stopped)) => NodeRunError::StoppedUnasked,
        Ok(Err(error)) => NodeRunError::Engine(error),
        Err(error) => NodeRunError::EngineTask(error),
    }
}

/// Prints the commits after `printed`; returns the new last printed height.
fn print_commits(journal: &Journal, printed: Height) -> Height {
    let commits: Vec<CommitLine> = {
        let state = journal.lock();
        let from = usize::try_from(printed.0).unwrap_or(usize::MAX);
        let new = state.chain.get(from..).unwrap_or_default();
        new.iter().map(|c| CommitLine { height: c.height, round: c.round, block: c.block }).collect()
    };
    for commit in &commits {
        output::print_line(&commit.to_string());
    }
    commits.last().map_or(printed, |c| c.height)
}

/// Prints what the liveness monitor concluded; returns whether more events can come.
fn print_event(event: Result<NodeEvent, RecvError>) -> bool {
    match event {
        Ok(NodeEvent::Liveness(event)) => output::print_line(&output::liveness_line(&event)),
        Ok(_) => {}
        // The node never waits for this reader: a slow stdout loses lines, and says so.
        Err(RecvError::Lagged(missed)) => {
            tracing::warn!(missed, "stdout fell behind the node's events; some were not printed")
        }
        Err(RecvError::Closed) => return false,
    }
    true
}
