//! The end-of-run report: a table for the terminal and `report.json`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::config::TransportKind;
use super::findings::Findings;
use super::journal::{CommitPath, JournalState};
use super::partition_driver::PartitionRecord;
use super::runner::{ChurnApplied, Devnet};
use super::timeouts::TimeoutSource;
use crate::node::topology::Topology;
use crate::node::NodeStats;

/// Finality latency percentiles, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Worst.
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples`; zeros when there are none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet::devnet::report::Latency;
    ///
    /// let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
    /// let latency = Latency::of(samples);
    /// assert_eq!((latency.p50_ms, latency.p99_ms, latency.max_ms), (50.0, 99.0, 100.0));
    /// ```
    pub fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort();
        let rank = |p: f64| {
            let index = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_secs_f64() * 1e3
        };
        Latency { p50_ms: rank(0.50), p99_ms: rank(0.99), max_ms: rank(1.0) }
    }
}

/// One validator's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidatorReport {
    /// Its index (id order).
    pub index: usize,
    /// Its validator id, hex.
    pub id: String,
    /// The transport it listened on: the run's, or on `mixed` the one it was spread to
    /// ([`super::mixed::listening_transport`]).
    pub transport: TransportKind,
    /// Whether its honest node was running at the end (never for a byzantine one).
    pub running: bool,
    /// Its byzantine kind, as `--byzantine` names it, if it was one.
    pub byzantine: Option<&'static str>,
    /// Heights it committed.
    pub height: u64,
    /// Of which adopted through catch-up.
    pub caught_up: u64,
    /// Its traffic and timeouts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Finality latency at one height across the honest validators that decided it by their own votes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HeightLatency {
    /// The height.
    pub height: u64,
    /// Median over those validators, ms.
    pub p50_ms: f64,
    /// Worst, ms.
    pub max_ms: f64,
    /// The highest round any honest validator decided it in (0: the first round everywhere).
    pub round: u32,
}

/// What a devnet run did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// How many validators.
    pub validators: usize,
    /// Their transport (`mixed`: each validator's is in [`per_validator`](Self::per_validator)).
    pub transport: TransportKind,
    /// How many of them were NAT-bound, reached only through relays (`--nat`).
    pub nat: usize,
    /// How many relays ran (0 without NAT-bound validators).
    pub relays: usize,
    /// Links per validator: 0 for a full mesh, else the degree of the bounded topology (`--degree`).
    pub degree: usize,
    /// The seed.
    pub seed: u64,
    /// Where the engines' step timeouts came from: `network` (the measured quorum round trip) or
    /// `fixed` (a preset).
    pub timeouts: &'static str,
    /// Whether times are virtual (the simulator, run under a paused tokio clock) rather than
    /// wall-clock (the socket transports, `mixed` included).
    pub virtual_time: bool,
    /// How long the run lasted, in seconds (virtual when `virtual_time`).
    pub duration_s: f64,
    /// The byzantine validators (`--byzantine`), replacing the last validators before the NAT-bound
    /// ones.
    pub byzantine_validators: usize,
    /// The validator-set changes carried out (`--churn`), in order.
    pub churn: Vec<ChurnApplied>,
    /// The highest height every running validator committed.
    pub heights_committed: u64,
    /// Whether every height committed by several validators holds the same block at all of them.
    pub agreement: bool,
    /// From a validator entering a height to committing it, over every (validator, height) decided
    /// by its own votes (blocks adopted through catch-up excluded).
    pub finality_latency: Latency,
    /// Rounds beyond the first, summed over every validator and height.
    pub extra_rounds: u64,
    /// The fraction of (validator, height) decisions made in round 0, over the same decisions as
    /// `finality_latency`.
    pub round_zero_share: f64,
    /// Consensus messages signed (proposals, votes, catch-up commits) by all validators per committed
    /// height: about 2N + 1 when every height decides in its first round.
    pub signed_per_height: f64,
    /// Frames sent by all validators per committed height: every copy of every message, direct or
    /// forwarded, plus heartbeats and gossip control frames.
    pub messages_per_height: f64,
    /// Bytes sent by all validators per committed height.
    pub bytes_per_height: f64,
    /// Bytes of proposals (whole, or headers and parts) their proposers uploaded, per committed
    /// height: what proposing costs a validator's uplink ([`NodeStats::proposal_upload_bytes`]).
    pub proposer_upload_per_height: f64,
    /// [`proposer_upload_per_height`](Self::proposer_upload_per_height) over the block's size: about
    /// N − 1 when the proposer sends every validator the block, about the part replicas with parts.
    pub proposer_upload_blocks: f64,
    /// The shared verification cache's signatures verified and checks answered from it, when it was
    /// on (the simulator; see [`DevnetConfig::verification_cache`](super::DevnetConfig::verification_cache)):
    /// then each envelope was verified about once per process, not once per node.
    pub verification_cache: Option<VerificationCacheReport>,
    /// The process's peak resident memory (Linux `VmHWM`), MB, and that divided by the validators:
    /// the whole in-process devnet's memory per validator. `None` where the OS does not say.
    pub peak_rss_mb: Option<f64>,
    /// [`peak_rss_mb`](Self::peak_rss_mb) per validator.
    pub peak_rss_mb_per_validator: Option<f64>,
    /// Sums over validators.
    pub totals: Counts,
    /// Per validator.
    pub per_validator: Vec<ValidatorReport>,
    /// Per height, over the honest validators: what `report.svg` plots.
    pub per_height: Vec<HeightLatency>,
    /// The scheduled partition (`--partition`): its sides, when it was cut and when it healed.
    pub partition: Option<PartitionRecord>,
    /// The byzantine validators, evidence, bans and partition signals.
    #[serde(flatten)]
    pub findings: Findings,
}

/// What the shared verification cache did in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct VerificationCacheReport {
    /// Signatures actually verified.
    pub verified: u64,
    /// Checks answered from a recorded outcome.
    pub reused: u64,
}

/// Traffic and timeouts: one validator's, or summed over all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages signed and broadcast.
    pub messages_broadcast: u64,
    /// Frames sent to peers (own messages and forwarded ones).
    pub messages_sent: u64,
    /// Frames received.
    pub messages_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Copies of messages already held.
    pub duplicates: u64,
    /// Reliable-delivery retransmissions. The engine sends reliably only the catch-up `Commit`s for a
    /// validator left behind; consensus messages are broadcast (direct send + gossip + repair).
    pub retransmissions: u64,
    /// Engine step timeouts.
    pub timeouts: u64,
    /// Bytes of its own proposals a validator uploaded ([`NodeStats::proposal_upload_bytes`]).
    pub proposal_upload_bytes: u64,
}

impl std::ops::Add for Counts {
    type Output = Counts;

    fn add(self, o: Counts) -> Counts {
        Counts {
            messages_broadcast: self.messages_broadcast + o.messages_broadcast,
            messages_sent: self.messages_sent + o.messages_sent,
            messages_received: self.messages_received + o.messages_received,
            bytes_sent: self.bytes_sent + o.bytes_sent,
            bytes_received: self.bytes_received + o.bytes_received,
            duplicates: self.duplicates + o.duplicates,
            retransmissions: self.retransmissions + o.retransmissions,
            timeouts: self.timeouts + o.timeouts,
            proposal_upload_bytes: self.proposal_upload_bytes + o.proposal_upload_bytes,
        }
    }
}

impl Report {
    /// Collects the report of `devnet` now.
    pub async fn collect(devnet: &Devnet) -> Self {
        let snapshot = devnet.snapshot().await;
        let per_validator: Vec<ValidatorReport> = snapshot
            .iter()
            .enumerate()
            .map(|(index, (journal, stats))| validator_report(index, devnet, journal, stats.as_ref()))
            .collect();
        let decided: Vec<_> = snapshot
            .iter()
            .flat_map(|(journal, _)| journal.chain.iter().filter(|c| c.path == CommitPath::Decided))
            .collect();
        let round_zero = decided.iter().filter(|c| c.round.0 == 0).count();
        let round_zero_share = if decided.is_empty() { 0.0 } else { round_zero as f64 / decided.len() as f64 };
        let latencies: Vec<Duration> = decided.iter().map(|c| c.latency).collect();
        let heights_committed = snapshot
            .iter()
            .zip(&per_validator)
            .filter(|(_, v)| v.running)
            .map(|((journal, _), _)| journal.chain.len() as u64)
            .min()
            .unwrap_or(0);
        let totals = per_validator.iter().fold(Counts::default(), |sum, v| sum + v.counts);
        let journals: Vec<&JournalState> = snapshot.iter().map(|(journal, _)| journal).collect();
        let honest: Vec<&JournalState> = devnet.honest().into_iter().map(|index| journals[index]).collect();
        let findings = Findings::collect(devnet, &journals).await;
        let per_height =
            |total: u64| if heights_committed == 0 { 0.0 } else { total as f64 / heights_committed as f64 };
        let config = devnet.config();
        let peak_rss_mb = super::peak_memory::peak_rss_bytes().map(|bytes| bytes as f64 / 1e6);
        Report {
            validators: devnet.len(),
            transport: config.transport,
            nat: config.nat,
            relays: devnet.relay_count(),
            degree: match config.node.topology {
                Topology::FullMesh => 0,
                Topology::Bounded { degree, .. } => degree,
            },
            seed: config.seed,
            timeouts: match config.engine.timeouts {
                TimeoutSource::Network(_) => "network",
                TimeoutSource::Fixed(_) => "fixed",
            },
            // The simulator is run on a paused clock (the CLI and the tests do): virtual time.
            virtual_time: config.transport == TransportKind::Memory,
            duration_s: devnet.elapsed().as_secs_f64(),
            byzantine_validators: devnet.byzantine().len(),
            churn: devnet.churned().to_vec(),
            heights_committed,
            agreement: devnet.check_agreement().is_ok(),
            finality_latency: Latency::of(latencies),
            extra_rounds: snapshot.iter().map(|(journal, _)| journal.extra_rounds).sum(),
            round_zero_share,
            signed_per_height: per_height(totals.messages_broadcast),
            messages_per_height: per_height(totals.messages_sent),
            bytes_per_height: per_height(totals.bytes_sent),
            proposer_upload_per_height: per_height(totals.proposal_upload_bytes),
            proposer_upload_blocks: per_height(totals.proposal_upload_bytes) / config.engine.block_bytes.max(1) as f64,
            verification_cache: devnet
                .verification_cache_stats()
                .map(|stats| VerificationCacheReport { verified: stats.verified, reused: stats.reused }),
            peak_rss_mb,
            peak_rss_mb_per_validator: peak_rss_mb.map(|mb| mb / devnet.len().max(1) as f64),
            totals,
            per_validator,
            per_height: latency_per_height(&honest),
            partition: devnet.partition(),
            findings,
        }
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises: plain numbers and strings")
    }

    /// The report as a table for the terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let time = if self.virtual_time { "virtual" } else { "wall-clock" };
        let l = &self.finality_latency;
        let _ = writeln!(
            out,
            "{} validators on {} ({}), seed {}, {} timeouts: {} heights in {:.1} s ({time}); agreement: {}",
            self.validators,
            self.transport.name(),
            if self.degree == 0 { "full mesh".to_string() } else { format!("degree {}", self.degree) },
            self.seed,
            self.timeouts,
            self.heights_committed,
            self.duration_s,
            if self.agreement { "yes" } else { "NO" }
        );
        let _ = writeln!(
            out,
            "finality latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; extra rounds {} ({:.0} % decided in round 0); per height: {:.0} messages signed, {:.0} frames and {:.0} bytes sent",
            l.p50_ms, l.p99_ms, l.max_ms, self.extra_rounds, self.round_zero_share * 100.0, self.signed_per_height, self.messages_per_height, self.bytes_per_height
        );
        let _ = writeln!(
            out,
            "proposer upload per height: {:.0} bytes ({:.2} blocks)",
            self.proposer_upload_per_height, self.proposer_upload_blocks
        );
        for change in &self.churn {
            let names = |sign: char, of: &[usize]| of.iter().map(|i| format!(" {sign}{i}")).collect::<String>();
            let _ = writeln!(
                out,
                "validator set from height {}:{}{} (at {:.1} s)",
                change.height,
                names('-', &change.left),
                names('+', &change.joined),
                change.at_s
            );
        }
        let _ = writeln!(
            out,
            "{:>3} {:>8} {:>9} {:>7} {:>6} {:>9} {:>9} {:>9} {:>11} {:>11} {:>6} {:>6} {:>8}",
            "#",
            "id",
            "transport",
            "height",
            "c-up",
            "broadcast",
            "sent",
            "received",
            "bytes-sent",
            "bytes-recv",
            "dups",
            "retx",
            "timeouts"
        );
        for v in &self.per_validator {
            let _ = writeln!(
                out,
                "{:>3} {:>8} {:>9} {:>7} {:>6} {:>9} {:>9} {:>9} {:>11} {:>11} {:>6} {:>6} {:>8}{}",
                v.index,
                &v.id[..8],
                v.transport.name(),
                v.height,
                v.caught_up,
                v.counts.messages_broadcast,
                v.counts.messages_sent,
                v.counts.messages_received,
                v.counts.bytes_sent,
                v.counts.bytes_received,
                v.counts.duplicates,
                v.counts.retransmissions,
                v.counts.timeouts,
                match (v.byzantine, v.running) {
                    (Some(kind), _) => format!(" (byzantine: {kind})"),
                    (None, true) => String::new(),
                    (None, false) => " (stopped)".to_string(),
                }
            );
        }
        if let Some(partition) = &self.partition {
            partition.write_table(&mut out);
        }
        self.findings.write_table(&mut out);
        out
    }
}

fn validator_report(
    index: usize,
    devnet: &Devnet,
    journal: &JournalState,
    stats: Option<&NodeStats>,
) -> ValidatorReport {
    let total = stats.map(NodeStats::total).unwrap_or_default();
    let byzantine = devnet.byzantine().iter().find(|(i, _)| *i == index).map(|(_, actor)| actor.kind().option_name());
    ValidatorReport {
        index,
        id: devnet.keys()[index].validator_id().to_string(),
        transport: super::mixed::listening_transport(devnet.config().transport, index),
        running: stats.is_some(),
        byzantine,
        height: journal.chain.len() as u64,
        caught_up: journal.chain.iter().filter(|c| c.path == CommitPath::CaughtUp).count() as u64,
        counts: Counts {
            messages_broadcast: stats.map_or(0, |s| s.broadcast),
            messages_sent: total.sent,
            messages_received: total.received,
            bytes_sent: total.sent_bytes,
            bytes_received: total.received_bytes,
            duplicates: stats.map_or(0, |s| s.duplicates),
            retransmissions: stats.map_or(0, |s| s.reliable.retransmitted),
            timeouts: journal.timeouts,
            proposal_upload_bytes: stats.map_or(0, |s| s.proposal_upload_bytes),
        },
    }
}

/// Finality latency per height over `honest` journals' own decisions (catch-up adoptions excluded),
/// for every height at least one of them decided.
fn latency_per_height(honest: &[&JournalState]) -> Vec<HeightLatency> {
    let highest = honest.iter().map(|journal| journal.chain.len()).max().unwrap_or(0);
    (1..=highest as u64)
        .filter_map(|height| {
            let decided: Vec<_> = honest
                .iter()
                .filter_map(|journal| journal.at(crate::message::Height(height)))
                .filter(|c| c.path == CommitPath::Decided)
                .collect();
            let round = decided.iter().map(|c| c.round.0).max()?;
            let latency = Latency::of(decided.iter().map(|c| c.latency).collect());
            Some(HeightLatency { height, p50_ms: latency.p50_ms, max_ms: latency.max_ms, round })
        })
        .collect()
}
