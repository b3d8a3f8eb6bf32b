//! What `quorumnet node` exposes: each scrape takes a [`NodeSnapshot`] and renders it as
//! `quorumnet_*` metric families. Counters the node already keeps are read, not re-counted, so
//! the figures are the node's own: a counter of a link (frames, bytes) starts again at zero when
//! the link is replaced, which Prometheus reads as a counter reset.
//!
//! ```
//! use quorumnet::operator::metrics::node_metrics::render;
//! use quorumnet::operator::metrics::node_snapshot::NodeSnapshot;
//!
//! let mut snapshot = NodeSnapshot::default();
//! snapshot.chain.committed_height = 12;
//! assert!(render(snapshot).contains("\nquorumnet_committed_height 12\n"));
//! ```

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;

use super::families::{Described, Families};

use super::node_events::{EventCounts, EventTally};
use super::node_snapshot::{ChainReading, NetworkReading, NodeSnapshot};
use super::server::{self, Scrape};
use crate::devnet::journal::Journal;
use crate::identity::ValidatorId;
use crate::node::link::LinkStats;
use crate::node::liveness::ValidatorTimeout;
use crate::node::priority::Priority;
use crate::node::{KindCounters, Node};

/// A node's metrics, for [`MetricsServer::serve`](super::server::MetricsServer::serve).
#[derive(Debug)]
pub struct NodeMetrics {
    node: Node,
    journal: Journal,
    events: EventTally,
}

impl NodeMetrics {
    /// Metrics of `node` and its engine's `journal`. Call right after the node is built (before
    /// awaiting anything), so its event tally sees every event from the start.
    pub fn new(node: Node, journal: Journal) -> Self {
        let events = EventTally::start(node.events());
        NodeMetrics { node, journal, events }
    }
}

impl Scrape for NodeMetrics {
    async fn scrape(&self) -> String {
        render(NodeSnapshot::take(&self.node, &self.journal, self.events.counts()).await)
    }
}

/// The OpenMetrics text of `snapshot`.
pub fn render(snapshot: NodeSnapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    server::render(&registry)
}

impl Collector for NodeSnapshot {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        let mut families = Families(encoder);
        encode_chain(&mut families, &self.chain)?;
        families.gauge(
            "quorumnet_node_running",
            "1 while the node runs, 0 once it stopped",
            i64::from(self.network.is_some()),
        )?;
        if let Some(network) = &self.network {
            encode_connections(&mut families, network)?;
            encode_liveness(&mut families, network)?;
            encode_traffic(&mut families, network)?;
            encode_node_totals(&mut families, network)?;
        }
        encode_events(&mut families, &self.events)
    }
}

fn encode_chain(families: &mut Families<'_>, chain: &ChainReading) -> fmt::Result {
    families.gauge("quorumnet_committed_height", "The last height this validator committed", chain.committed_height)?;
    families.gauge("quorumnet_height", "The height the engine is at", chain.height)?;
    families.gauge("quorumnet_round", "The round the engine is in at its height", chain.round)?;
    families.counter(
        "quorumnet_step_timeouts",
        "Step timeouts that fired (propose, prevote, precommit)",
        chain.step_timeouts,
    )?;
    families.counter(
        "quorumnet_extra_rounds",
        "Rounds after the first that committed heights needed",
        chain.extra_rounds,
    )?;
    families.gauge(
        "quorumnet_evidence_held",
        "Equivocation proofs held, one per validator excluded for equivocating",
        chain.evidence_held,
    )?;
    let quantiles = [("0.5", chain.finality_p50), ("0.99", chain.finality_p99)];
    families.gauges(
        "quorumnet_finality_seconds",
        "Finality latency (entering a height to committing it) over the last heights this validator decided, by quantile",
        quantiles.into_iter().filter_map(|(quantile, value)| Some(([("quantile", quantile)], value?))),
    )
}

fn encode_connections(families: &mut Families<'_>, network: &NetworkReading) -> fmt::Result {
    families.gauge("quorumnet_connected_peers", "Validators connected now", network.connected.len())?;
    let peers = network.peers();
    families.gauges(
        "quorumnet_peer_up",
        "1 while connected to the validator (label: its short id), 0 while not",
        peers.iter().map(|peer| (peer_label(peer), i64::from(network.connected.contains(peer)))),
    )?;
    let per_peer = |count: fn(&crate::node::PeerStats) -> u64| {
        network.stats.peers.iter().map(move |(peer, stats)| (peer_label(peer), count(stats)))
    };
    families.counters(
        "quorumnet_peer_disconnects",
        "Times the link to the validator ended",
        per_peer(|s| s.disconnects),
    )?;
    families.counters(
        "quorumnet_peer_over_quota",
        "Frames and envelopes of the validator dropped over its rate limits",
        per_peer(|s| s.over_quota),
    )
}

fn encode_liveness(families: &mut Families<'_>, network: &NetworkReading) -> fmt::Result {
    families.gauges(
        "quorumnet_peer_rtt_seconds",
        "Smoothed round trip to the validator from pings (RFC 6298 SRTT)",
        network.rtts.iter().map(|(peer, rtt)| (peer_label(peer), rtt.srtt.as_secs_f64())),
    )?;
    families.gauges(
        "quorumnet_peer_rtt_variation_seconds",
        "Round-trip variation to the validator (RFC 6298 RTTVAR)",
        network.rtts.iter().map(|(peer, rtt)| (peer_label(peer), rtt.rttvar.as_secs_f64())),
    )?;
    families.gauge("quorumnet_timed_out_validators", "Validators timed out now", network.timed_out.len())?;
    families.gauges(
        "quorumnet_validator_timed_out",
        "1 for each validator timed out now, labelled with why",
        network
            .timed_out
            .iter()
            .map(|(peer, reason)| ([("peer", peer.short()), ("reason", timeout_reason(reason).to_owned())], 1_i64)),
    )
}

/// Envelope counters per message kind, then link frames per priority.
fn encode_traffic(families: &mut Families<'_>, network: &NetworkReading) -> fmt::Result {
    const ENVELOPES: [Described<KindField>; 7] = [
        ("quorumnet_envelopes_sent", "Envelopes queued to peers, by message kind", |c| c.sent),
        ("quorumnet_envelope_bytes_sent", "Encoded bytes of envelopes queued to peers, by message kind", |c| {
            c.sent_bytes
        }),
        ("quorumnet_envelopes_received", "Envelopes received, new, duplicate or invalid, by message kind", |c| {
            c.received
        }),
        ("quorumnet_envelope_bytes_received", "Bytes of envelopes received, by message kind", |c| c.received_bytes),
        ("quorumnet_envelopes_duplicate", "Received copies of messages already seen, by message kind", |c| {
            c.duplicates
        }),
        ("quorumnet_envelopes_invalid", "Received envelopes that failed verification, by message kind", |c| c.invalid),
        ("quorumnet_envelopes_dropped", "Envelopes not sent because a peer's queue was full, by message kind", |c| {
            c.dropped
        }),
    ];
    let kinds = network.stats.kinds();
    for (name, help, field) in ENVELOPES {
        let series =
            kinds.iter().map(|(kind, counters)| ([("kind", kind.map_or("unknown", |k| k.name()))], field(counters)));
        families.counters(name, help, series)?;
    }
    let links: Vec<LinkStats> = network.stats.peers.values().filter_map(|peer| peer.link.as_deref().copied()).collect();
    let per_priority = |value: LinkField| {
        Priority::ALL.map(|priority| {
            ([("priority", priority.name())], links.iter().map(|link| value(link, priority)).sum::<u64>())
        })
    };
    const HELP: &str = "over the current links, by priority";
    let frames: [Described<LinkField>; 5] = [
        ("quorumnet_frames_sent", "Frames accepted by connections", |l, p| l.sent[p].frames),
        ("quorumnet_frame_bytes_sent", "Frame bytes sent", |l, p| l.sent[p].bytes),
        ("quorumnet_frames_received", "Frames received whole", |l, p| l.received[p].frames),
        ("quorumnet_frame_bytes_received", "Frame bytes received", |l, p| l.received[p].bytes),
        ("quorumnet_frames_dropped", "Frames refused at a full queue", |l, p| l.dropped[p]),
    ];
    for (name, help, value) in frames {
        families.counters(name, &format!("{help} {HELP}"), per_priority(value))?;
    }
    Ok(())
}

/// The node's own totals and reliable delivery.
fn encode_node_totals(families: &mut Families<'_>, network: &NetworkReading) -> fmt::Result {
    let stats = &network.stats;
    let counters: [Described<u64>; 8] = [
        ("quorumnet_broadcasts", "Messages this node broadcast", stats.broadcast),
        ("quorumnet_delivered", "Messages delivered to the engine", stats.delivered),
        ("quorumnet_undeliverable", "Verified messages the engine was not there to take", stats.undeliverable),
        ("quorumnet_stale", "Messages dropped for a height older than every validator set kept", stats.stale),
        ("quorumnet_signatures_verified", "Envelope signatures checked", stats.verified),
        (
            "quorumnet_proposal_upload_bytes",
            "Bytes of this node's own proposals queued to peers",
            stats.proposal_upload_bytes,
        ),
        (
            "quorumnet_proposal_parts_refused",
            "Proposal headers and parts refused for not matching",
            stats.parts_refused,
        ),
        ("quorumnet_gossip_duplicates", "Duplicates counted by the seen-cache", stats.duplicates),
    ];
    for (name, help, value) in counters {
        families.counter(name, help, value)?;
    }
    families.gauge("quorumnet_stored_messages", "Verified messages held for repair", stats.stored)?;
    families.gauge(
        "quorumnet_outstanding_wants",
        "Message ids asked for and not yet received",
        stats.outstanding_wants,
    )?;
    let reliable = &stats.reliable;
    let outcomes = [
        ("sent", reliable.sent),
        ("refused", reliable.refused),
        ("retransmitted", reliable.retransmitted),
        ("delivered", reliable.delivered),
        ("failed", reliable.failed),
        ("timed_out", reliable.timed_out),
    ];
    families.counters(
        "quorumnet_reliable_messages",
        "Reliable deliveries by outcome",
        outcomes.map(|(outcome, value)| ([("outcome", outcome)], value)),
    )?;
    families.gauge("quorumnet_reliable_pending", "Reliable deliveries not yet acked", reliable.pending)
}

fn encode_events(families: &mut Families<'_>, events: &EventCounts) -> fmt::Result {
    let counters: [Described<u64>; 9] = [
        ("quorumnet_bans", "Peers banned (low reputation, proven byzantine, or by the operator)", events.bans),
        ("quorumnet_unbans", "Bans lifted", events.unbans),
        ("quorumnet_misbehaviours", "Misbehaviour reports against peers", events.misbehaviours),
        ("quorumnet_equivocations", "Equivocations this node saw first-hand", events.equivocations),
        ("quorumnet_disconnects", "Connections to validators that ended", events.disconnects),
        ("quorumnet_partitions", "Network partitions seen (reachable power below a quorum)", events.partitions),
        ("quorumnet_partitions_healed", "Network partitions healed", events.partitions_healed),
        ("quorumnet_stalls", "Stalls: timed-out validators holding over a third of the power", events.stalls),
        ("quorumnet_eclipses", "Times this node found itself eclipsed", events.eclipses),
    ];
    for (name, help, value) in counters {
        families.counter(name, help, value)?;
    }
    families.gauge(
        "quorumnet_partitioned",
        "1 while this node sees a network partition",
        i64::from(events.partitioned),
    )?;
    families.counter(
        "quorumnet_node_events_missed",
        "Node events the metrics fell too far behind to count: the event counters are short by this",
        events.missed,
    )
}

/// One counter of an envelope kind.
type KindField = fn(&KindCounters) -> u64;

/// One counter of a link at one priority.
type LinkField = fn(&LinkStats, Priority) -> u64;

/// The label of a peer: its short id, as the logs show it.
fn peer_label(peer: &ValidatorId) -> [(&'static str, String); 1] {
    [("peer", peer.short())]
}

/// The `reason` label of a timeout.
fn timeout_reason(reason: &ValidatorTimeout) -> &'static str {
    match reason {
        ValidatorTimeout::NoHeartbeat { .. } => "no_heartbeat",
        ValidatorTimeout::ConnectionLost => "connection_lost",
        ValidatorTimeout::NoVotes { .. } => "no_votes",
        ValidatorTimeout::RoundTimeout { .. } => "round_timeout",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::message::MessageKind;
    use crate::node::link::Traffic;
    use crate::node::liveness::RttEstimate;
    use crate::node::{NodeStats, PeerStats};

    fn peer(byte: u8) -> ValidatorId {
        ValidatorId([byte; 32])
    }

    /// A running node's snapshot: two peers, one connected with traffic and an RTT, one timed out.
    fn snapshot() -> NodeSnapshot {
        let mut connected_peer = PeerStats::default();
        connected_peer
            .kinds
            .insert(Some(MessageKind::PreVote), KindCounters { sent: 5, received: 9, ..Default::default() });
        let mut link = LinkStats::default();
        link.sent[Priority::Vote] = Traffic { frames: 11, bytes: 1100 };
        link.received[Priority::Vote] = Traffic { frames: 13, bytes: 1300 };
        connected_peer.link = Some(Box::new(link));
        let silent_peer = PeerStats { disconnects: 2, ..Default::default() };
        let stats = NodeStats {
            peers: BTreeMap::from([(peer(1), connected_peer), (peer(2), silent_peer)]),
            ..Default::default()
        };
        let rtt = RttEstimate {
            srtt: Duration::from_millis(250),
            rttvar: Duration::from_millis(50),
            latest: Duration::ZERO,
            min: Duration::from_millis(200),
            samples: 3,
        };
        NodeSnapshot {
            chain: ChainReading { committed_height: 10, height: 11, round: 2, step_timeouts: 4, ..Default::default() },
            network: Some(NetworkReading {
                stats,
                connected: [peer(1)].into(),
                rtts: BTreeMap::from([(peer(1), rtt)]),
                timed_out: vec![(peer(2), ValidatorTimeout::ConnectionLost)],
            }),
            events: EventCounts { bans: 1, partitions: 1, partitioned: true, ..Default::default() },
        }
    }

    /// Asserts that each of `lines` is a whole line of `text`.
    fn assert_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(text.lines().any(|l| l == *line), "no line `{line}` in:\n{text}");
        }
    }

    #[test]
    fn the_chain_and_events_are_shown_with_help_and_type() {
        let text = render(snapshot());
        assert_lines(
            &text,
            &[
                "# HELP quorumnet_committed_height The last height this validator committed",
                "# TYPE quorumnet_committed_height gauge",
                "quorumnet_committed_height 10",
                "quorumnet_height 11",
                "quorumnet_round 2",
                "# TYPE quorumnet_step_timeouts counter",
                "quorumnet_step_timeouts_total 4",
                "quorumnet_bans_total 1",
                "quorumnet_partitions_total 1",
                "quorumnet_partitioned 1",
                "quorumnet_node_running 1",
            ],
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn connections_rtts_and_timeouts_are_labelled_by_short_id() {
        let text = render(snapshot());
        let (one, two) = (peer(1).short(), peer(2).short());
        let expected = [
            "quorumnet_connected_peers 1".to_owned(),
            format!("quorumnet_peer_up{{peer=\"{one}\"}} 1"),
            format!("quorumnet_peer_up{{peer=\"{two}\"}} 0"),
            format!("quorumnet_peer_rtt_seconds{{peer=\"{one}\"}} 0.25"),
            format!("quorumnet_peer_disconnects_total{{peer=\"{two}\"}} 2"),
            "quorumnet_timed_out_validators 1".to_owned(),
            format!("quorumnet_validator_timed_out{{peer=\"{two}\",reason=\"connection_lost\"}} 1"),
        ];
        assert_lines(&text, &expected.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn traffic_is_counted_by_kind_and_by_priority() {
        let text = render(snapshot());
        assert_lines(
            &text,
            &[
                "quorumnet_envelopes_sent_total{kind=\"PreVote\"} 5",
                "quorumnet_envelopes_received_total{kind=\"PreVote\"} 9",
                "quorumnet_frames_sent_total{priority=\"vote\"} 11",
                "quorumnet_frame_bytes_received_total{priority=\"vote\"} 1300",
                "quorumnet_frames_sent_total{priority=\"bulk\"} 0",
            ],
        );
    }

    #[test]
    fn finality_quantiles_are_over_the_heights_decided_not_those_caught_up() {
        use crate::devnet::journal::{CommitPath, Committed};
        use crate::message::{BlockHash, Height, Round};

        let journal = Journal::default();
        assert_eq!(ChainReading::of(&journal).finality_p50, None, "no commit, no quantile");
        for height in 1..=101_u64 {
            // Heights 1..=100 decided in `height` ms; 101 caught up after a long absence.
            let (latency, path) = match height {
                101 => (Duration::from_secs(60), CommitPath::CaughtUp),
                _ => (Duration::from_millis(height), CommitPath::Decided),
            };
            let block = BlockHash([height as u8; 32]);
            let (height, round, at) = (Height(height), Round(0), Duration::ZERO);
            journal.push_commit(Committed { height, round, block, at, latency, path });
        }
        let chain = ChainReading::of(&journal);
        assert_eq!(chain.finality_p50, Some(0.051));
        assert_eq!(chain.finality_p99, Some(0.099));
        let text = render(NodeSnapshot { chain, ..snapshot() });
        assert_lines(
            &text,
            &[
                "quorumnet_finality_seconds{quantile=\"0.5\"} 0.051",
                "quorumnet_finality_seconds{quantile=\"0.99\"} 0.099",
            ],
        );
    }

    #[test]
    fn a_stopped_node_still_shows_its_chain_but_no_peers() {
        let text = render(NodeSnapshot { network: None, ..snapshot() });
        assert_lines(&text, &["quorumnet_node_running 0", "quorumnet_committed_height 10"]);
        assert!(!text.contains("quorumnet_connected_peers"), "{text}");
    }
}
