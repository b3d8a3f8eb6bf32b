//! What the honest validators found out about the others during a run, for the report: the byzantine
//! validators and what they sent, the equivocation evidence each honest node holds, who banned whom,
//! and the partition and eclipse signals their liveness monitors raised.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::journal::JournalState;
use super::runner::Devnet;
use super::signals::SignalLog;
use crate::identity::ValidatorId;

/// A byzantine validator of the run and what its actor did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ByzantineReport {
    /// The validator it replaced.
    pub index: usize,
    /// Its id, short hex.
    pub id: String,
    /// Its kind, as `--byzantine` names it.
    pub kind: &'static str,
    /// Connections it established (first ones and redials).
    pub connections: u64,
    /// Its dials refused at the handshake (banned, or not admitted).
    pub refused: u64,
    /// Frames it sent.
    pub frames_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Frames it meant for a peer but could not send (not connected, or a full outbox).
    pub frames_dropped: u64,
}

/// The evidence honest nodes hold against one validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceReport {
    /// The accused validator.
    pub accused: usize,
    /// Its id, short hex.
    pub id: String,
    /// Its byzantine kind, if it was one (`None`: an honest validator accused — a bug to report).
    pub kind: Option<&'static str>,
    /// The honest validators holding a proof against it.
    pub held_by: Vec<usize>,
    /// Of how many honest validators.
    pub honest: usize,
}

/// One honest node's ban of a peer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BanReport {
    /// The honest validator that banned.
    pub by: usize,
    /// The validator banned.
    pub banned: usize,
    /// Its id, short hex.
    pub id: String,
    /// The behaviour that banned it (`None`: an operator's ban, or a ban in force at the end that was
    /// not seen as it happened).
    pub behavior: Option<String>,
    /// When, seconds since the run started, if seen as it happened.
    pub at_s: Option<f64>,
}

/// A partition or eclipse signal one honest node raised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionReport {
    /// The validator whose liveness monitor raised it.
    pub validator: usize,
    /// `partitioned`, `healed`, `eclipsed` or `eclipse-cleared`.
    pub signal: &'static str,
    /// When, seconds since the run started.
    pub at_s: f64,
}

/// Everything the honest validators found out.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Findings {
    /// The byzantine validators (`--byzantine`).
    pub byzantine: Vec<ByzantineReport>,
    /// For each validator some honest node proved an equivocator, and each byzantine equivocator
    /// even if none did: who holds the proof.
    pub evidence: Vec<EvidenceReport>,
    /// Every ban an honest node imposed, in (banning, banned) order.
    pub bans: Vec<BanReport>,
    /// The partition and eclipse signals honest nodes raised, in time order.
    pub partitions_seen: Vec<PartitionReport>,
    /// Bans and signals not recorded (bounded logs, or events missed under load): when above 0, the
    /// lists above may be incomplete.
    pub signals_lost: u64,
}

impl Findings {
    /// Collects them from `devnet`, whose validators' journals are `journals` (index order).
    pub async fn collect(devnet: &Devnet, journals: &[&JournalState]) -> Self {
        let honest = devnet.honest();
        let ids: Vec<ValidatorId> = devnet.keys().iter().map(|key| key.validator_id()).collect();
        let index_of = |id: ValidatorId| ids.iter().position(|known| *known == id);
        let kind_of = |index: usize| {
            devnet.byzantine().iter().find(|(i, _)| *i == index).map(|(_, actor)| actor.kind().option_name())
        };
        let byzantine = devnet
            .byzantine()
            .iter()
            .map(|(index, actor)| {
                let stats = actor.stats();
                ByzantineReport {
                    index: *index,
                    id: actor.id().short(),
                    kind: actor.kind().option_name(),
                    connections: stats.connections,
                    refused: stats.refused,
                    frames_sent: stats.frames_sent,
                    bytes_sent: stats.bytes_sent,
                    frames_dropped: stats.frames_dropped,
                }
            })
            .collect();
        let mut accused: BTreeSet<usize> = devnet
            .byzantine()
            .iter()
            .filter(|(_, actor)| actor.kind().equivocates())
            .map(|(index, _)| *index)
            .collect();
        let holdings: Vec<(usize, usize)> = honest
            .iter()
            .flat_map(|&holder| journals[holder].evidence.iter().map(move |proof| (holder, proof.accused())))
            .filter_map(|(holder, id)| Some((holder, index_of(id)?)))
            .collect();
        accused.extend(holdings.iter().map(|(_, accused)| *accused));
        let evidence = accused
            .into_iter()
            .map(|accused| EvidenceReport {
                accused,
                id: ids[accused].short(),
                kind: kind_of(accused),
                held_by: holdings.iter().filter(|(_, a)| *a == accused).map(|(holder, _)| *holder).collect(),
                honest: honest.len(),
            })
            .collect();
        let mut findings = Findings { byzantine, evidence, ..Findings::default() };
        for &by in &honest {
            let log = devnet.signals(by).unwrap_or_default();
            let still_banned = match devnet.node(by) {
                Some(node) => node.banned_peers().await.unwrap_or_default(),
                None => Vec::new(),
            };
            findings.add_signals(devnet, by, &log, still_banned.iter().map(|(peer, _)| *peer), &index_of);
        }
        findings.bans.sort_by_key(|ban| (ban.by, ban.banned));
        findings.partitions_seen.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        findings
    }

    /// Adds honest validator `by`'s recorded bans and signals, and the bans in force at the end that
    /// its log missed.
    fn add_signals(
        &mut self,
        devnet: &Devnet,
        by: usize,
        log: &SignalLog,
        still_banned: impl Iterator<Item = ValidatorId>,
        index_of: &impl Fn(ValidatorId) -> Option<usize>,
    ) {
        let since_start = |at: tokio::time::Instant| at.saturating_duration_since(devnet.epoch()).as_secs_f64();
        let seen =
            log.bans.iter().map(|ban| (ban.peer, ban.behavior.map(|b| format!("{b:?}")), Some(since_start(ban.at))));
        let missed =
            still_banned.filter(|peer| log.bans.iter().all(|ban| ban.peer != *peer)).map(|peer| (peer, None, None));
        for (peer, behavior, at_s) in seen.chain(missed) {
            // Peers outside the set (an impersonator's outsider key) have no index to report.
            let Some(banned) = index_of(peer) else { continue };
            self.bans.push(BanReport { by, banned, id: peer.short(), behavior, at_s });
        }
        self.partitions_seen.extend(log.partitions.iter().map(|(at, signal)| PartitionReport {
            validator: by,
            signal: signal.name(),
            at_s: since_start(*at),
        }));
        self.signals_lost += log.lost;
    }

    /// The findings as lines of the terminal table (nothing when there is nothing to say).
    pub fn write_table(&self, out: &mut String) {
        for b in &self.byzantine {
            let _ = writeln!(
                out,
                "byzantine {} ({}): {}, {} connections ({} refused), {} frames / {} bytes sent, {} dropped",
                b.index, b.id, b.kind, b.connections, b.refused, b.frames_sent, b.bytes_sent, b.frames_dropped
            );
        }
        for e in &self.evidence {
            let _ = writeln!(
                out,
                "evidence against {} ({}, {}): held by {} of {} honest validators {:?}",
                e.accused,
                e.id,
                e.kind.unwrap_or("HONEST"),
                e.held_by.len(),
                e.honest,
                e.held_by
            );
        }
        let banned: BTreeSet<usize> = self.bans.iter().map(|ban| ban.banned).collect();
        for peer in banned {
            let by: BTreeSet<usize> = self.bans.iter().filter(|ban| ban.banned == peer).map(|ban| ban.by).collect();
            let _ = writeln!(out, "banned {peer}: by {by:?}");
        }
        if !self.partitions_seen.is_empty() {
            let signals: Vec<String> = self
                .partitions_seen
                .iter()
                .map(|p| format!("{} {} at {:.1} s", p.validator, p.signal, p.at_s))
                .collect();
            let _ = writeln!(out, "partition signals: {}", signals.join("; "));
        }
        if self.signals_lost > 0 {
            let _ = writeln!(
                out,
                "({} ban or partition signals not recorded: the lists may be incomplete)",
                self.signals_lost
            );
        }
    }
}
