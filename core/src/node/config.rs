//! Every number the node runtime uses, with presets.

use std::time::Duration;

use crate::node::byzantine::DetectorConfig;
use crate::node::gossip::GossipConfig;
use crate::node::link::PeerLinkConfig;
use crate::node::liveness::LivenessConfig;
use crate::node::rate_limit::RateLimitConfig;
use crate::node::reliable::ReliableConfig;
use crate::node::reputation::ReputationConfig;
use crate::node::topology::Topology;
use crate::transport::TransportConfig;

/// The node's configuration: its links, gossip, transports, queues and timers.
///
/// Start from a preset — [`recommended`](Self::recommended) for production, [`local`](Self::local) for
/// a devnet of many validators in one process or on one machine, [`test`](Self::test) for simulations in
/// virtual time — and change single fields with struct update syntax.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::node::NodeConfig;
///
/// let config = NodeConfig { digest_interval: Duration::from_secs(2), ..NodeConfig::recommended() };
/// assert_eq!(config.incoming_capacity, NodeConfig::recommended().incoming_capacity);
/// ```
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Each peer link's queues, part size and reassembly bounds.
    pub link: PeerLinkConfig,
    /// Seen-cache, store, fanout, ttl and repair bounds.
    pub gossip: GossipConfig,
    /// Frame limit and handshake/dial timeouts, passed to every transport the builder constructs.
    pub transport: TransportConfig,
    /// Verified messages waiting for the engine. When full, the node stops taking frames from its
    /// links (which then stop reading their connections) until the engine catches up: local work first.
    pub incoming_capacity: usize,
    /// Commands (broadcasts, queries) waiting for the node's task; callers wait beyond it.
    pub command_capacity: usize,
    /// Node events buffered per subscriber; a subscriber further behind loses the oldest
    /// (`broadcast::error::RecvError::Lagged`).
    pub event_capacity: usize,
    /// Link events (frames, closes) from all peers waiting for the node's task. Full, links stop reading.
    pub link_event_capacity: usize,
    /// Accepted connections waiting for the node's task; the accept loops wait beyond it.
    pub accept_capacity: usize,
    /// First reconnection delay after a failed dial or a lost connection.
    pub reconnect_backoff_min: Duration,
    /// Ceiling of the exponential reconnection delay.
    pub reconnect_backoff_max: Duration,
    /// Each delay is multiplied by a factor drawn uniformly from `1 ± reconnect_jitter`, so validators
    /// that lost their links together do not redial in lockstep. Clamped to `0.0..=1.0`.
    pub reconnect_jitter: f64,
    /// How long the validator with the higher id waits before dialing a lower one. The lower id dials
    /// first and its connection wins the tie-break, so this saves a redundant handshake per pair; the
    /// higher one still dials after it, for a lower peer that cannot dial out.
    pub dial_grace: Duration,
    /// How often each peer gets a digest (`Have`) of the recent messages it is not known to hold. The
    /// digest rides with the next envelope sent to the peer, or goes on its own half an interval later.
    pub digest_interval: Duration,
    /// Every this many digest intervals, ids already announced to a peer are announced again, in case
    /// the peer skipped them (its outstanding-want bound was reached). Each peer's full digest falls on
    /// a tick of its own, so a node never scans its whole store for every peer at once.
    pub full_digest_every: u32,
    /// Sends to a vote or proposal queue that is full wait in a task each; at most this many per peer,
    /// beyond which the frame is dropped and counted (gossip repair brings it later).
    pub max_waiting_sends_per_peer: usize,
    /// Pause after a listener's `accept` fails before accepting again.
    pub accept_error_backoff: Duration,
    /// Heartbeat interval, liveness timeout, partition debounce, pings and the clock-skew window.
    pub liveness: LivenessConfig,
    /// Reliable delivery's retransmission schedule, deadline and bounds.
    pub reliable: ReliableConfig,
    /// What the equivocation detector remembers, and the replay window.
    pub detector: DetectorConfig,
    /// Scoring thresholds, decay and ban length.
    pub reputation: ReputationConfig,
    /// Inbound rate limits per peer and priority.
    pub rate_limits: RateLimitConfig,
    /// Which validators the node links to: all of them ([`Topology::FullMesh`], every preset's), or
    /// about a degree's worth with gossip carrying the rest ([`Topology::bounded`], for sets of
    /// hundreds to thousands).
    pub topology: Topology,
    /// How large proposals are split into parts and reassembled.
    pub proposal_parts: crate::node::proposal_parts::PartsConfig,
}

impl NodeConfig {
    /// Production values for validators spread over a WAN.
    pub fn recommended() -> Self {
        NodeConfig {
            link: PeerLinkConfig::recommended(),
            gossip: GossipConfig::recommended(),
            transport: TransportConfig::recommended(),
            // A few heights of votes of a 100-validator chain: the engine is expected to keep up; this
            // absorbs bursts (a proposal's worth of votes arriving at once).
            incoming_capacity: 1_024,
            // Broadcasts come a few per height; 256 absorbs a burst without making callers wait.
            command_capacity: 256,
            // Connection changes are rare; 1 024 covers a whole validator set flapping at once.
            event_capacity: 1_024,
            // About one frame per peer per priority for a few hundred peers: the node's task drains it
            // far faster than links fill it, and full means links apply backpressure.
            link_event_capacity: 1_024,
            // Accepts are rare once connected; a whole set reconnecting at once fits.
            accept_capacity: 64,
            // A restarted peer is usually back within a second or two.
            reconnect_backoff_min: Duration::from_millis(500),
            // A peer down for long is retried twice a minute: cheap, and back within 30 s of its return.
            reconnect_backoff_max: Duration::from_secs(30),
            // ±20 % spreads a set-wide reconnect over a fifth of the delay.
            reconnect_jitter: 0.2,
            // Several WAN round trips plus a handshake: the lower id's dial has normally completed.
            dial_grace: Duration::from_secs(2),
            // Repair within a second or two of a missed message, at 34 bytes per unknown id per peer.
            digest_interval: Duration::from_secs(1),
            // A full digest every ten seconds re-offers what a peer may have skipped.
            full_digest_every: 10,
            // A full vote queue (4 096 frames) means a stalled peer: 64 waiting sends are plenty.
            max_waiting_sends_per_peer: 64,
            // An accept error is usually transient (file descriptors); retry soon, never spin.
            accept_error_backoff: Duration::from_millis(100),
            liveness: LivenessConfig::recommended(),
            reliable: ReliableConfig::recommended(),
            detector: DetectorConfig::default(),
            reputation: ReputationConfig::default(),
            rate_limits: RateLimitConfig::recommended(),
            topology: Topology::FullMesh,
            proposal_parts: crate::node::proposal_parts::PartsConfig::recommended(),
        }
    }

    /// Many validators in one process or on one machine: smaller gossip memory, faster timers.
    pub fn local() -> Self {
        NodeConfig {
            link: PeerLinkConfig::local(),
            gossip: GossipConfig::local(),
            transport: TransportConfig::local(),
            // Loopback reconnects in milliseconds.
            reconnect_backoff_min: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_secs(5),
            // Loopback handshakes complete in well under this.
            dial_grace: Duration::from_millis(500),
            // Local links are fast; repair quickly.
            digest_interval: Duration::from_millis(500),
            liveness: LivenessConfig::local(),
            reliable: ReliableConfig::local(),
            ..Self::recommended()
        }
    }

    /// Validators up to which [`sized_for`](Self::sized_for) keeps four heights of messages per node.
    pub const SIZED_FOUR_HEIGHTS_UP_TO: usize = 128;

    /// Slots and sequence numbers per origin the equivocation detector keeps, beyond
    /// [`SIZED_FOUR_HEIGHTS_UP_TO`](Self::SIZED_FOUR_HEIGHTS_UP_TO) validators ([`sized_for`](Self::sized_for)).
    pub const DETECTOR_ENTRIES_PER_ORIGIN_AT_SCALE: usize = 8;

    /// This config with its queues and gossip caches sized for one of `validators` nodes simulated in
    /// one process, from what such a network carries: per height about `2N + 1` consensus messages
    /// (a proposal, a pre-vote and a pre-commit per validator), plus a heartbeat per validator per
    /// interval. A production node keeps its own bounds; in a simulation a hundred nodes share one
    /// machine, and each node's share of it must follow N.
    ///
    /// | bound | value | why |
    /// | --- | --- | --- |
    /// | `incoming_capacity`, `link_event_capacity` | `2N + 64` | a whole phase's votes of a height arriving at once. In virtual time a full queue costs no latency (the clock does not move while tasks run), only the memory of the decoded envelopes queued |
    /// | `gossip.store_max_entries` | `max(512, 4 · (3N + 1))` up to [`SIZED_FOUR_HEIGHTS_UP_TO`](Self::SIZED_FOUR_HEIGHTS_UP_TO) validators, `3N + 1` beyond | four heights of proposals, votes and heartbeats, for repair; beyond, one height: the stores are N² entries over the simulation (at 1 000 validators four heights would be 12 million; with the shared [`VerificationCache`](super::VerificationCache) an entry costs its bookkeeping, not its 3.4 KB of envelope, which all stores share), and peers repair only the height they are at |
    /// | `gossip.store_max_bytes` | `store_max_entries · 4 KiB + 8 MiB` | the entries at a vote's size, plus room for a few large proposals |
    /// | `gossip.seen_max_entries` | `2 · store_max_entries` | a copy arriving after its message left the store is still known |
    /// | `gossip.knowledge_max_ids` | `store_max_entries` | what peers hold matters for what the store can still send |
    /// | `rate_limits` per peer | scaled by `⌈N / 100⌉` ([`RateLimitConfig::relaying_for`]) | a peer relays and announces every origin's messages: what an honest one sends grows with N. Per origin unchanged |
    /// | `detector.slots_per_origin`, `detector.seqs_per_origin` | unchanged (64, 256) up to [`SIZED_FOUR_HEIGHTS_UP_TO`](Self::SIZED_FOUR_HEIGHTS_UP_TO) validators, 8 beyond | every node keeps them for every origin, N² entries over the simulation: at 1 000 validators 256 sequence numbers each would fill 25 GB as a run goes on, and 16 of each still took 2.2 GB. 8 covers two heights or more of an honest origin (two votes and a heartbeat or so per height), more than the store keeps at that size: a conflict whose first copy left the store proves nothing anyway |
    ///
    /// ```
    /// use quorumnet_core::node::NodeConfig;
    ///
    /// let config = NodeConfig::local().sized_for(100);
    /// assert_eq!(config.incoming_capacity, 264);
    /// assert_eq!(config.gossip.store_max_entries, 1_204);
    /// assert_eq!(NodeConfig::local().sized_for(7).gossip.store_max_entries, 512);
    /// assert_eq!(NodeConfig::local().sized_for(1_000).gossip.store_max_entries, 3_001);
    /// assert_eq!(NodeConfig::local().sized_for(1_000).detector.seqs_per_origin, 8);
    /// ```
    #[must_use]
    pub fn sized_for(mut self, validators: usize) -> Self {
        let burst = 2 * validators + 64;
        self.incoming_capacity = burst;
        self.link_event_capacity = burst;
        let gossip = &mut self.gossip;
        gossip.store_max_entries = if validators <= Self::SIZED_FOUR_HEIGHTS_UP_TO {
            (4 * (3 * validators + 1)).max(512)
        } else {
            3 * validators + 1
        };
        gossip.store_max_bytes = gossip.store_max_entries * 4 * 1024 + 8 * 1024 * 1024;
        gossip.seen_max_entries = 2 * gossip.store_max_entries;
        gossip.knowledge_max_ids = gossip.store_max_entries;
        self.rate_limits = self.rate_limits.relaying_for(validators);
        if validators > Self::SIZED_FOUR_HEIGHTS_UP_TO {
            self.detector.slots_per_origin = Self::DETECTOR_ENTRIES_PER_ORIGIN_AT_SCALE;
            self.detector.seqs_per_origin = Self::DETECTOR_ENTRIES_PER_ORIGIN_AT_SCALE;
        }
        self
    }

    /// For simulations in virtual time (`tokio::time::pause`): the local preset with short timers so
    /// tests converge in a few virtual seconds. It keeps local's gossip bounds (not
    /// `GossipConfig::test`'s tiny ones, which exist to reach each bound in unit tests).
    pub fn test() -> Self {
        NodeConfig {
            transport: TransportConfig::test(),
            reconnect_backoff_min: Duration::from_millis(200),
            reconnect_backoff_max: Duration::from_secs(2),
            dial_grace: Duration::from_millis(300),
            digest_interval: Duration::from_millis(500),
            full_digest_every: 4,
            liveness: LivenessConfig::test(),
            ..Self::local()
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
