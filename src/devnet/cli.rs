//! `quorumnet devnet`: N validators in one process, live progress, and a report at the end.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::byzantine_mix::ByzantineMix;
use super::churn::ChurnPlan;
use super::config::{DevnetConfig, TransportKind};
use super::error::DevnetError;
use super::partition::PartitionPlan;
use super::preset::{Preset, PresetDefaults};
use super::report::{Latency, Report};
use super::runner::Devnet;
use super::timeouts::{TimeoutConfig, TimeoutSource};
use crate::memory::LinkConfig;

/// How often the progress line is refreshed (virtual time on the simulator).
const PROGRESS_TICK: Duration = Duration::from_millis(250);

/// The transport, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// The in-memory simulator, in virtual time (deterministic for a seed).
    Memory,
    /// TCP + Noise on loopback, in real time.
    TcpNoise,
    /// QUIC on loopback, in real time (built with the `quic` feature).
    #[cfg(feature = "quic")]
    Quic,
    /// WebSocket (`ws://`) + Noise on loopback, in real time (built with the `websocket` feature).
    #[cfg(feature = "websocket")]
    Websocket,
    /// The validators spread round-robin over the real transports built in (tcp-noise, quic,
    /// websocket), each listening on its own and dialing all, in real time; needs the `quic` or the
    /// `websocket` feature, or both.
    Mixed,
}

/// Where the engines' step timeouts come from, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimeoutsArg {
    /// Multiples of the node's measured quorum round trip, never below the fixed preset.
    Network,
    /// The fixed local preset whatever the links cost (for comparison).
    Fixed,
}

/// The defaults of the options a [`Preset`] may set, when neither it nor the command line does.
const DEFAULT_VALIDATORS: usize = 4;
const DEFAULT_LATENCY_MS: u64 = 50;
const DEFAULT_JITTER_MS: u64 = 10;
const DEFAULT_RETRANSMISSION_MS: u64 = 200;
const DEFAULT_RELAYS: u8 = 1;

/// `quorumnet devnet`'s options. Those a `--preset` sets are `Option`s: given on the command line they
/// override the preset, absent they take the preset's value, else their own default ([`Self::config`]).
#[derive(Clone, Debug, Args)]
pub struct DevnetArgs {
    /// A named scenario: lossy-wan, byzantine (7 validators, an equivocator and a spammer), nat (7, 2
    /// NAT-bound behind 2 relays), stress (100 validators), churn (7, 5 in the genesis set, 3 leaving
    /// and 3 joining over two set changes) or partition-heal (7, the last an equivocator linked to both
    /// sides of a 4|3 cut at height 3, healed 10 s later). It sets defaults only: options given
    /// explicitly override them.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<Preset>,
    /// Validators (voting power 1 each) [default: 4].
    #[arg(short = 'n', long)]
    pub validators: Option<usize>,
    /// Byzantine validators by kind, replacing the last validators before the NAT-bound ones (memory;
    /// fewer than a third of --validators): equivocate, blinding-equivocate, forge, spam, silent,
    /// impersonate, masquerade, corrupt-forward, replay. The run waits for, and checks agreement of,
    /// the honest validators only.
    #[arg(long, value_name = "KIND=COUNT[,KIND=COUNT...]")]
    pub byzantine: Option<ByzantineMix>,
    /// Validator-set changes (memory; without --byzantine, --nat and --partition): from HEIGHT on, the validators
    /// after `-` are out of the set (and stop) and those after `+` are in (synced to the height
    /// before, then voting), e.g. `6:-0-1+5+6,12:-2+0`. Validators first named joining are not in the
    /// genesis set. The run waits for the last set's validators.
    #[arg(long, value_name = "HEIGHT:-LEAVER+JOINER[,...]")]
    pub churn: Option<ChurnPlan>,
    /// Transport: the simulator, one socket transport on loopback, or `mixed` (validators spread over
    /// every socket transport built in).
    #[arg(long, value_enum, default_value_t = TransportArg::Memory)]
    pub transport: TransportArg,
    /// Stop once every validator committed this many heights.
    #[arg(long, default_value_t = 20)]
    pub heights: u64,
    /// Stop after this many seconds anyway (virtual seconds on memory).
    #[arg(long, default_value_t = 120.0)]
    pub time_limit: f64,
    /// Seed of the simulator and the nodes' randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated one-way link latency, ms (memory) [default: 50].
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Simulated extra delay per frame, up to this many ms (memory) [default: 10].
    #[arg(long)]
    pub jitter_ms: Option<u64>,
    /// Fraction of frames "lost" and so delayed by a retransmission timeout, 0..=1 (memory)
    /// [default: 0].
    #[arg(long)]
    pub loss: Option<f64>,
    /// The delay of a lost frame, ms (memory) [default: 200].
    #[arg(long)]
    pub retransmission_ms: Option<u64>,
    /// Mean seconds between resets of each connection; none if absent (memory).
    #[arg(long)]
    pub reset_every: Option<f64>,
    /// Each validator's upload and download capacity, Mbit/s, shared by all its links; unlimited if
    /// absent (memory).
    #[arg(long)]
    pub bandwidth_mbit: Option<f64>,
    /// Where step timeouts come from: the measured quorum round trip, or a fixed preset.
    #[arg(long, value_enum, default_value_t = TimeoutsArg::Network)]
    pub timeouts: TimeoutsArg,
    /// Bytes of filler payload per block.
    #[arg(long, default_value_t = 1024)]
    pub block_bytes: usize,
    /// Where to write the JSON report; its SVG plot of finality latency per height goes beside it, same
    /// stem (`report.json` → `report.svg`).
    #[arg(long, default_value = "report.json")]
    pub report: PathBuf,
    /// Verify every signature in every simulated node, instead of once per process through the shared
    /// verification cache (memory; the cache is never used on real transports).
    #[arg(long)]
    pub no_verification_cache: bool,
    /// Make the last K validators NAT-bound: no listener, reached only through the relays (memory;
    /// fewer than --validators) [default: 0].
    #[arg(long, value_name = "K")]
    pub nat: Option<usize>,
    /// Relays the NAT-bound validators listen through; with 2, each is listed at both and survives
    /// one relay's loss (memory, with --nat) [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub relays: Option<u8>,
    /// Links per validator, gossip carrying everything to the others; 0 links everyone to everyone.
    /// Default: a full mesh up to 128 validators, degree 8 above (see `DevnetConfig::memory`).
    #[arg(long, value_name = "D")]
    pub degree: Option<usize>,
    /// Cut the simulated network in two once an honest validator commits HEIGHT [default: 1]: sides
    /// as counts (4|3: validators 0-3 | 4-6) or indices (0-3|4-6, 0,2|1,3); byzantine validators and
    /// validators on neither side stay linked to both (memory; no --nat). Heals after 10 s unless
    /// --heal-at / --heal-after say otherwise.
    #[arg(long, value_name = "A|B[@HEIGHT]")]
    pub partition: Option<PartitionPlan>,
    /// Heal the partition once an honest validator commits this height (the majority side, when one
    /// has 2/3 of the power); at the latest 60 s after the cut, unless --heal-after says otherwise.
    #[arg(long, value_name = "HEIGHT")]
    pub heal_at: Option<u64>,
    /// Heal the partition this many seconds after the cut (virtual on memory), or at --heal-at if that
    /// comes first [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub heal_after: Option<f64>,
    /// Never show the progress line (it is hidden anyway when stdout is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

impl DevnetArgs {
    /// The devnet these options describe.
    ///
    /// # Errors
    /// [`DevnetError::InvalidOptions`] saying which option to change.
    pub fn config(&self) -> Result<DevnetConfig, DevnetError> {
        let invalid = |what: &str| Err(DevnetError::InvalidOptions(what.into()));
        let preset = self.preset.map(Preset::defaults).unwrap_or_default();
        let PresetDefaults {
            validators,
            latency_ms,
            jitter_ms,
            loss,
            retransmission_ms,
            reset_every,
            nat,
            relays,
            byzantine,
            churn,
            partition,
        } = preset;
        let validators = self.validators.or(validators).unwrap_or(DEFAULT_VALIDATORS);
        let loss = self.loss.or(loss).unwrap_or(0.0);
        let byzantine = self.byzantine.clone().or(byzantine).unwrap_or_default();
        if validators == 0 {
            return invalid("--validators must be at least 1");
        }
        if !(0.0..=1.0).contains(&loss) {
            return invalid("--loss is a fraction of frames: between 0 and 1");
        }
        if !(self.time_limit > 0.0 && self.time_limit.is_finite()) {
            return invalid("--time-limit must be a positive number of seconds");
        }
        let reset = match self.reset_every.or(reset_every) {
            Some(s) if !(s > 0.0 && s.is_finite()) => {
                return invalid("--reset-every must be a positive number of seconds")
            }
            other => other.map(Duration::from_secs_f64),
        };
        let link = LinkConfig {
            latency: Duration::from_millis(self.latency_ms.or(latency_ms).unwrap_or(DEFAULT_LATENCY_MS)),
            jitter: Duration::from_millis(self.jitter_ms.or(jitter_ms).unwrap_or(DEFAULT_JITTER_MS)),
            loss,
            retransmission_delay: Duration::from_millis(
                self.retransmission_ms.or(retransmission_ms).unwrap_or(DEFAULT_RETRANSMISSION_MS),
            ),
            mean_time_between_resets: reset,
            ..LinkConfig::perfect()
        };
        let bandwidth = match self.bandwidth_mbit {
            Some(mbit) if !(mbit > 0.0 && mbit.is_finite()) => {
                return invalid("--bandwidth-mbit must be a positive number of Mbit/s")
            }
            other => other.map(|mbit| (mbit * 1e6 / 8.0).round().max(1.0) as u64),
        };
        let base = match self.transport {
            TransportArg::Memory => DevnetConfig::memory(validators, self.seed),
            TransportArg::TcpNoise => DevnetConfig::tcp_noise(validators, self.seed),
            #[cfg(feature = "quic")]
            TransportArg::Quic => DevnetConfig::quic(validators, self.seed),
            #[cfg(feature = "websocket")]
            TransportArg::Websocket => DevnetConfig::websocket(validators, self.seed),
            TransportArg::Mixed => DevnetConfig::mixed(validators, self.seed),
        };
        let verification_cache = base.verification_cache && !self.no_verification_cache;
        let mut config = DevnetConfig {
            link,
            bandwidth,
            verification_cache,
            nat: self.nat.or(nat).unwrap_or(0),
            relays: usize::from(self.relays.or(relays).unwrap_or(DEFAULT_RELAYS)),
            byzantine: byzantine.kinds(),
            churn: self.churn.clone().or(churn).unwrap_or_default(),
            partition: PartitionPlan::from_options(self.partition.clone().or(partition), self.heal_at, self.heal_after)
                .map_err(|error| DevnetError::InvalidOptions(error.to_string()))?,
            ..base
        };
        config.engine.block_bytes = self.block_bytes;
        if let Some(degree) = self.degree {
            config.node.topology = super::config::topology_for(validators, degree);
        }
        if self.timeouts == TimeoutsArg::Fixed {
            config.engine.timeouts = TimeoutSource::Fixed(TimeoutConfig::local());
        }
        Ok(config)
    }
}

/// Runs `quorumnet devnet`: on a paused current-thread runtime for the simulator (virtual time,
/// deterministic for a seed), on [`crate::runtime::core_pinned`] for the socket transports. Prints the table,
/// writes the JSON report and, beside it with the same stem, the SVG plot of finality latency per
/// height ([`super::plot`]), and returns the report.
///
/// # Errors
/// Invalid options, a validator that does not start, an engine error, a plot that cannot be drawn,
/// or an unwritable report path.
pub fn run(args: &DevnetArgs) -> Result<Report, DevnetError> {
    let config = args.config()?;
    let runtime = match config.transport {
        TransportKind::Memory => tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build(),
        _ => crate::runtime::core_pinned(),
    }
    .map_err(|e| DevnetError::InvalidOptions(format!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(run_devnet(args, config))?;
    let plot_path = super::plot::svg_path(&args.report);
    let plot = super::plot::svg(&report)?;
    for (path, contents) in [(&args.report, report.to_json()), (&plot_path, plot)] {
        std::fs::write(path, contents).map_err(|source| DevnetError::WriteReport { path: path.clone(), source })?;
    }
    // A closed stdout (`| head`) is the reader's choice, not an error: the report is already written.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}report written to {}, plot to {}",
        report.table(),
        args.report.display(),
        plot_path.display()
    );
    Ok(report)
}

async fn run_devnet(args: &DevnetArgs, config: DevnetConfig) -> Result<Report, DevnetError> {
    let mut devnet = Devnet::start(config).await?;
    let progress = progress_bar(args);
    let finishing = devnet.finishing();
    let limit = Duration::from_secs_f64(args.time_limit);
    loop {
        let within = PROGRESS_TICK.min(limit.saturating_sub(devnet.elapsed()));
        let target = crate::message::Height(args.heights);
        let done = match devnet.wait_for_height(target, &finishing, within).await {
            Ok(()) => true,
            Err(DevnetError::Stalled { .. }) => devnet.elapsed() >= limit,
            Err(other) => return Err(other),
        };
        show_progress(&progress, &devnet).await;
        if done {
            break;
        }
    }
    progress.finish_and_clear();
    let report = Report::collect(&devnet).await;
    devnet.shutdown().await;
    Ok(report)
}

fn progress_bar(args: &DevnetArgs) -> ProgressBar {
    let target = if std::io::stdout().is_terminal() && !args.no_progress {
        ProgressDrawTarget::stdout()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(args.heights), target);
    let style = ProgressStyle::with_template("{bar:30} height {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Height (the lowest any validator is at), the highest round in progress, finality latency and
/// frames sent so far.
async fn show_progress(bar: &ProgressBar, devnet: &Devnet) {
    if bar.is_hidden() {
        return;
    }
    let snapshot = devnet.snapshot().await;
    let frames: u64 = snapshot.iter().filter_map(|(_, stats)| stats.as_ref()).map(|s| s.total().sent).sum();
    let journals: Vec<_> = snapshot.into_iter().map(|(journal, _)| journal).collect();
    let height = journals.iter().map(|j| j.chain.len() as u64).min().unwrap_or(0);
    let round = journals.iter().map(|j| j.position.1 .0).max().unwrap_or(0);
    let latency = Latency::of(journals.iter().flat_map(|j| j.chain.iter().map(|c| c.latency)).collect());
    let timeouts: u64 = journals.iter().map(|j| j.timeouts).sum();
    bar.set_position(height);
    bar.set_message(format!(
        "round {round}, finality p50 {:.0} ms p99 {:.0} ms, {frames} frames sent, {timeouts} timeouts, {:.1} s",
        latency.p50_ms,
        latency.p99_ms,
        devnet.elapsed().as_secs_f64()
    ));
}
