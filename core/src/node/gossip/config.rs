//! Every number gossip uses, with presets.

use std::time::Duration;

/// How much gossip remembers, how far it spreads, and how it repairs.
///
/// Start from a preset — [`recommended`](Self::recommended) for production, [`local`](Self::local) for
/// many validators in one process, [`test`](Self::test) for unit tests that want to reach every bound —
/// and change single fields with struct update syntax.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_core::node::gossip::GossipConfig;
///
/// let config = GossipConfig { want_timeout: Duration::from_secs(5), ..GossipConfig::recommended() };
/// assert_eq!(config.fanout, GossipConfig::recommended().fanout);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipConfig {
    /// Hops an envelope this node originates may travel (its initial `ttl`).
    pub initial_ttl: u8,
    /// Peers a forwarded envelope is pushed to, whole, among those not known to hold it.
    pub fanout: usize,
    /// Further peers a forwarded envelope's id is announced to (`Have`), among those not known to hold
    /// it and not pushed to; they pull it with `Want` only if they lack it.
    pub announce_fanout: usize,
    /// How long a forwarded envelope's id waits before it is announced to the peers picked for it.
    /// Meanwhile ids bound for the same peer gather into one `Have`, and a peer that sends us the
    /// message or its id in the meantime is skipped (it holds it): on fast links most announcements
    /// cross one from the peer they are meant for, and each costs a frame, a wakeup and a syscall at
    /// both ends. It delays only repair. Zero announces at once.
    ///
    /// This is the wait of announcements that are the only way a message reaches the peers they name
    /// (a copy straight from its origin, in a full view: nobody pushes it on). Announcements along a
    /// broadcast tree wait [`Self::tree_announce_delay`].
    pub announce_delay: Duration,
    /// How long the id of an envelope forwarded along its origin's broadcast tree waits before it is
    /// announced. Its lazy peers normally get the envelope pushed by their own parent, so these
    /// announcements are a backup for a lost push: a longer wait gathers more ids into each `Have`
    /// (fewer frames) and delays only that repair. Waiting ids leave early with the next envelope
    /// sent to their peer, sharing its write.
    ///
    /// The production preset waits 10 ms, well under a WAN link latency, so a lost push is repaired
    /// about one link latency later and early announcements still reveal shorter paths (the tree
    /// optimisation of [`Self::swap_margin`]). The local preset waits 100 ms: on the tcp-noise
    /// reference workload (`cargo bench --bench node -- tcp-noise/degree-8`, against its
    /// `tree-announce=10ms` row, five runs) that cuts frames per validator per message from 2.8 to
    /// 2.1 and CPU per delivery by 8–23 %, while the latency to 2/3 grows by 0–0.4 ms at the median
    /// and 0.2–0.5 ms at p99. That latency is mostly the machine's: with fewer frames in flight its
    /// CPUs idle between messages and wake slower (with two idle-priority spinners keeping them
    /// busy, the 100 ms median matched the 10 ms one).
    pub tree_announce_delay: Duration,
    /// Message ids the seen-cache remembers; the oldest is forgotten first.
    pub seen_max_entries: usize,
    /// How long the seen-cache remembers an id, from when it was first verified.
    pub seen_max_age: Duration,
    /// Verified envelopes kept to answer `Want`s; the oldest is dropped first.
    pub store_max_entries: usize,
    /// Bytes of envelopes (payload and signature, see `MessageStore`) kept to answer `Want`s.
    pub store_max_bytes: usize,
    /// Message ids remembered, each with the peers known to hold it; the oldest is forgotten first
    /// (for every peer at once).
    pub knowledge_max_ids: usize,
    /// Peers whose holdings are tracked at once; marks for further peers are ignored. Also the most
    /// peers one origin's broadcast tree holds ([`BroadcastTrees`](super::BroadcastTrees)).
    pub knowledge_max_peers: usize,
    /// Origins whose broadcast trees (which peers get their messages pushed, which only announced) are
    /// kept; the oldest-created is forgotten first and starts again from random fanout.
    pub tree_max_origins: usize,
    /// Ids asked for (`Want`) and not yet received, across all peers; further ids are not asked for
    /// until some arrive or expire.
    pub max_outstanding_wants: usize,
    /// How long an id learnt from a `Have` waits before we ask for it (`Want`); if its envelope arrives
    /// meanwhile, nothing is asked. Zero asks at once.
    pub want_delay: Duration,
    /// How much earlier than its pushed copy a message's `Have` from a lazy peer must arrive for us to
    /// swap tree parents for its origin: prune the peer that pushed it, graft the one that announced it.
    pub swap_margin: Duration,
    /// How long an id asked for is not asked for again; after it, the next `Have` of it re-requests it.
    pub want_timeout: Duration,
    /// Envelopes sent in answer to one `Want`; the rest of its ids are ignored.
    pub max_want_answer: usize,
    /// Bytes of envelopes sent in answer to one `Want`.
    pub max_want_answer_bytes: usize,
    /// Ids in a digest of recent messages (`Have`), sent when a link comes up and periodically, so a
    /// validator that missed messages pulls them.
    pub digest_ids: usize,
    /// With more connected peers than this, a digest names each message to about this many of them,
    /// a fresh choice per message and full digest ([`digest_carries`](super::digest_carries)), instead
    /// of to every peer not known to hold it: at 100 validators each node then receives about 8
    /// announcements of a message, not 98.
    pub digest_fanout: usize,
}

impl GossipConfig {
    /// Production values for a chain of up to a few hundred validators over a WAN.
    pub fn recommended() -> Self {
        GossipConfig {
            // Pushes follow broadcast-tree edges only, so hops cost nothing while trees are healthy;
            // but a tree is built from first arrivals and reshaped by prunes, so a path along it can be
            // longer than the shortest. On the tcp-noise degree-8 bench, 3 hops left 5-6 deliveries per
            // run to a pull (a repair round late: the p99-to-all outliers); 8 left 0-1.
            initial_ttl: 8,
            // Redundancy without flooding: each forwarder pushes to 4 peers, so a message survives
            // several dead links; full envelopes cost 3.3 KB of signature each.
            fanout: 4,
            // Ids are 34 bytes: announcing to twice as many peers as we push to is cheap repair.
            announce_fanout: 8,
            // Well under a WAN link latency (so a pull, if one is needed, comes hardly later), and on
            // a LAN or loopback long enough for the announcements of siblings in a tree to cross and
            // cancel each other's.
            announce_delay: Duration::from_millis(10),
            // A lost push on a WAN is repaired about one link latency later, as when the tree began.
            tree_announce_delay: Duration::from_millis(10),
            // 100 validators at one height per second send about 400 messages a second; 65 536 ids
            // cover over two minutes of that in a few MB.
            seen_max_entries: 65_536,
            // Far longer than a message circulates (a few hops of WAN latency plus repair timeouts), so
            // a late copy is still recognised as a duplicate.
            seen_max_age: Duration::from_secs(120),
            // About ten seconds of traffic at 400 messages a second: enough for a link reset or a short
            // restart to be repaired from memory.
            store_max_entries: 4_096,
            // Sixteen 4 MiB proposals, or thousands of votes: the memory ceiling of repair.
            store_max_bytes: 64 * 1024 * 1024,
            // About twenty seconds of traffic: a message is forwarded within seconds of its birth,
            // after which knowing who holds it no longer saves sends.
            knowledge_max_ids: 8_192,
            // Validator sets plus relays and observers stay below this.
            knowledge_max_peers: 1_024,
            // One tree per validator that broadcasts: above any validator set we expect, so trees are
            // never evicted in steady state (each holds a mode per peer, a few KB at most).
            tree_max_origins: 1_024,
            // Enough to repair ten seconds of traffic at once after a link reset.
            max_outstanding_wants: 4_096,
            // About one WAN link latency. A `Have` often outruns a pushed copy already on its way (a
            // tree edge one hop longer, or a slower link); asking at once pulls a second copy and makes
            // the sender graft us, so the eager copy then arrives as a duplicate and we prune the
            // parent that pushed it — a tree edge lost to a race. Waiting lets the push win; only a
            // message no push brings is pulled, one link latency later (Plumtree's graft timer).
            want_delay: Duration::from_millis(60),
            // Half a link latency: well beyond jitter, so a swap means the announcer's path is shorter
            // by about a hop, not luckier once (Plumtree's optimisation; it costs one pulled copy).
            swap_margin: Duration::from_millis(25),
            // Several WAN round trips plus sending a 4 MiB proposal at a few MB/s.
            want_timeout: Duration::from_secs(2),
            // One digest's worth of votes per request, rate-limited further by bytes.
            max_want_answer: 256,
            // Two maximum-size proposals: a request cannot make us queue more than a few seconds of
            // upload on a slow link.
            max_want_answer_bytes: 8 * 1024 * 1024,
            // One full `Have` frame (Frame::MAX_IDS), about 35 KiB.
            digest_ids: 1_024,
            // A holder misses a message only if all its ~8 announcers' frames are lost; and the next
            // full digest draws again. Up to 8 peers (a 9-validator mesh) every peer is told.
            digest_fanout: 8,
        }
    }

    /// Many validators in one process or on one machine (devnets): smaller memory per node, and
    /// shorter timeouts because links are fast.
    pub fn local() -> Self {
        GossipConfig {
            // One machine's CPU is the devnet's bottleneck, and every announcement costs a frame, a
            // wakeup and a syscall at both ends; its links rarely fail, and digests repair within
            // `digest_interval`. Two announcements (not eight) cut the CPU per delivered message by a
            // third in a 32-validator full mesh over tcp-noise loopback, a tenth on degree 8.
            announce_fanout: 2,
            // Pushes to fanout peers shape each origin's tree while its first message travels; a
            // devnet's links do not fail, so two are enough. On the tcp-noise degree-8 bench, two
            // instead of four halved the duplicates (0.51 → 0.27 per validator per message) and cut
            // CPU per delivery by about a tenth at the same latency; on the simulator, likewise half
            // the duplicates, p99 within a millisecond.
            fanout: 2,
            // Its links do not lose pushes, so the backup announcements can wait for an envelope to
            // ride with (see the field).
            tree_announce_delay: Duration::from_millis(100),
            // A devnet of up to a few hundred nodes gets the same spread as production.
            seen_max_entries: 16_384,
            // Devnet messages circulate in milliseconds.
            seen_max_age: Duration::from_secs(30),
            // A hundred nodes in one process must not each hold 64 MiB.
            store_max_entries: 1_024,
            store_max_bytes: 16 * 1024 * 1024,
            knowledge_max_ids: 2_048,
            max_outstanding_wants: 1_024,
            // Loopback and in-memory links answer in well under this.
            want_timeout: Duration::from_millis(500),
            // want_delay and swap_margin stay recommended's: they only cost time on the pull path, and
            // simulated devnets run WAN-like link latencies.
            max_want_answer_bytes: 4 * 1024 * 1024,
            ..Self::recommended()
        }
    }

    /// Tiny bounds, so tests reach each of them with a handful of messages.
    pub fn test() -> Self {
        GossipConfig {
            initial_ttl: 3,
            fanout: 2,
            announce_fanout: 2,
            // At once, so tests of announcements need no clock.
            announce_delay: Duration::ZERO,
            tree_announce_delay: Duration::ZERO,
            seen_max_entries: 8,
            seen_max_age: Duration::from_secs(10),
            store_max_entries: 4,
            store_max_bytes: 16 * 1024,
            knowledge_max_ids: 4,
            knowledge_max_peers: 4,
            tree_max_origins: 4,
            max_outstanding_wants: 4,
            // Asked at once, so tests of the want bounds need no clock; tests of the delay set it.
            want_delay: Duration::ZERO,
            swap_margin: Duration::from_millis(100),
            want_timeout: Duration::from_secs(1),
            max_want_answer: 2,
            max_want_answer_bytes: 16 * 1024,
            digest_ids: 4,
            digest_fanout: 8,
        }
    }
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self::recommended()
    }
}
