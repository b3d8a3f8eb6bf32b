//! The simulated network: named listeners, per-link behaviour, partitions, and the seed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{PeerAddress, TransportError};
use rand::rngs::StdRng;
use rand::SeedableRng as _;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::link::{pump, Interfaces, Link, LinkEnd, LinkHosts};
use crate::nic::Nic;
use crate::LinkConfig;

/// Dials a listener may have waiting for a handshake slot before further dials are refused (the
/// simulated OS accept backlog). Matches Linux's historical `SOMAXCONN`.
pub const LISTEN_BACKLOG: usize = 128;

/// One end of a link, as [`MemoryNetwork::partition`], [`MemoryNetwork::cut`] and
/// [`MemoryNetwork::set_link`] name it: a listener name (`"v1"` or `"mem://v1"`), which also stands for
/// every connection the validator listening there dials, or a validator id.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_memory::Node;
///
/// assert_eq!(Node::from("mem://v1"), Node::from("v1"));
/// let id = Keypair::from_seed(&[1; 32]).validator_id();
/// assert_eq!(Node::from(id), Node::Id(id));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// A listener name, without `mem://`.
    Name(String),
    /// A validator, whatever names it listens under.
    Id(ValidatorId),
}

impl From<&str> for Node {
    fn from(name: &str) -> Self {
        Node::Name(name.strip_prefix("mem://").unwrap_or(name).to_owned())
    }
}

impl From<String> for Node {
    fn from(name: String) -> Self {
        Node::from(name.as_str())
    }
}

impl From<&PeerAddress> for Node {
    fn from(addr: &PeerAddress) -> Self {
        Node::Name(addr.rest().to_owned())
    }
}

impl From<ValidatorId> for Node {
    fn from(id: ValidatorId) -> Self {
        Node::Id(id)
    }
}

/// A simulated network of `mem://name` listeners. Cheap to clone: clones share one network.
///
/// Everything random about it — jitter, loss, resets — comes from the seed: each link's generator is
/// derived from the seed and the link's number (links are numbered in the order they are dialed).
/// All waiting is on `tokio::time`, so it runs in virtual time under `tokio::time::pause`.
///
/// ```
/// use std::time::Duration;
/// use quorumnet_memory::{LinkConfig, MemoryNetwork};
///
/// let network = MemoryNetwork::new(42);
/// network.set_default_link(LinkConfig::wan());
/// network.set_link("v1", "v2", LinkConfig { latency: Duration::from_millis(5), ..LinkConfig::lan() });
/// network.partition([vec!["v1", "v2"], vec!["v3"]]);
/// network.heal();
/// assert_eq!(network.seed(), 42);
/// ```
#[derive(Clone)]
pub struct MemoryNetwork {
    inner: Arc<Inner>,
}

/// The fewest entries of `NetState::links` that trigger a sweep of ended links.
const MIN_LINKS_SWEEP: usize = 64;

struct Inner {
    seed: u64,
    /// Bumped on every link-configuration change; pumps compare it to refresh their link's config.
    config_version: Arc<AtomicU64>,
    state: Mutex<NetState>,
}

struct NetState {
    listeners: BTreeMap<String, ListenerEntry>,
    /// Which validator last listened under each name: a name stands for its validator's dials too.
    owners: BTreeMap<String, ValidatorId>,
    default_link: LinkConfig,
    /// Per-pair overrides; the last matching one wins.
    overrides: Vec<(Node, Node, LinkConfig)>,
    cuts: Vec<(Node, Node)>,
    /// Live links, by number, for partitions and configuration changes (and links that ended since
    /// the last sweep: their `Weak` no longer upgrades).
    links: BTreeMap<u64, Weak<Link>>,
    /// Sweep ended links out of `links` once it holds this many: twice what the last sweep left, so
    /// sweeping costs O(1) per connect amortized (a sweep per connect was 4 % of a 1 000-validator
    /// simulation's CPU).
    links_sweep_at: usize,
    next_link: u64,
    next_listener: u64,
    /// Each validator's upload and download capacity, bytes per second (`None`: unlimited).
    validator_bandwidth: Option<u64>,
    /// The interfaces of validators with limited bandwidth, made as their links open.
    nics: BTreeMap<ValidatorId, [Arc<Nic>; 2]>,
}

struct ListenerEntry {
    registration: u64,
    owner: ValidatorId,
    backlog: mpsc::Sender<LinkEnd>,
}

impl MemoryNetwork {
    /// An empty network whose randomness all derives from `seed`, with [`LinkConfig::perfect`] links.
    pub fn new(seed: u64) -> Self {
        MemoryNetwork {
            inner: Arc::new(Inner {
                seed,
                config_version: Arc::new(AtomicU64::new(0)),
                state: Mutex::new(NetState {
                    listeners: BTreeMap::new(),
                    owners: BTreeMap::new(),
                    default_link: LinkConfig::perfect(),
                    overrides: Vec::new(),
                    cuts: Vec::new(),
                    links: BTreeMap::new(),
                    links_sweep_at: MIN_LINKS_SWEEP,
                    next_link: 0,
                    next_listener: 0,
                    validator_bandwidth: None,
                    nics: BTreeMap::new(),
                }),
            }),
        }
    }

    /// The process-wide network (seed 0) that the `mem` plugin from the registry uses.
    ///
    /// Every transport built through [`quorumnet_core::transport::build_transport`] shares it, so a
    /// binary that picks transports by scheme still finds its `mem://` peers. Simulations and tests
    /// should construct [`crate::MemoryTransport`]s with their own `MemoryNetwork::new(seed)` instead:
    /// the global one is shared by everything in the process, so its link numbering (and hence its
    /// randomness) depends on whatever else ran.
    pub fn global() -> Self {
        static GLOBAL: OnceLock<MemoryNetwork> = OnceLock::new();
        GLOBAL.get_or_init(|| MemoryNetwork::new(0)).clone()
    }

    /// The seed all randomness derives from.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Sets the behaviour of every link without a [`Self::set_link`] override. Applies to live
    /// connections too, from their next frame.
    pub fn set_default_link(&self, config: LinkConfig) {
        self.change_config(|s| s.default_link = config);
    }

    /// Gives every validator an interface of `bytes_per_second` each way (`None`: unlimited, the
    /// default), shared by all its links: what it uploads to all its peers together, and downloads
    /// from them, passes one frame at a time at that rate, on top of each link's own latency and
    /// bandwidth. Applies to links opened afterwards (set it before the validators connect). Raw test
    /// links, which have no dialing validator, have no interface on the dialer's side.
    ///
    /// ```
    /// use quorumnet_memory::MemoryNetwork;
    ///
    /// let network = MemoryNetwork::new(1);
    /// network.set_validator_bandwidth(Some(125_000_000)); // 1 Gbit/s up and down per validator
    /// ```
    pub fn set_validator_bandwidth(&self, bytes_per_second: Option<u64>) {
        let mut state = self.state();
        state.validator_bandwidth = bytes_per_second;
        state.nics.clear();
    }

    /// Sets the behaviour of links between `a` and `b` (both directions, either one dialing),
    /// overriding the default and earlier overrides. Applies to live connections too.
    pub fn set_link(&self, a: impl Into<Node>, b: impl Into<Node>, config: LinkConfig) {
        let (a, b) = (a.into(), b.into());
        self.change_config(|s| s.overrides.push((a, b, config)));
    }

    /// Splits the network into `groups`, replacing any earlier cuts: every link between members of
    /// different groups is cut (see [`Self::cut`]). Nodes in no group stay reachable from all.
    pub fn partition<G, N>(&self, groups: impl IntoIterator<Item = G>)
    where
        G: IntoIterator<Item = N>,
        N: Into<Node>,
    {
        let groups: Vec<Vec<Node>> = groups.into_iter().map(|g| g.into_iter().map(Into::into).collect()).collect();
        self.change_cuts(|s| {
            s.cuts.clear();
            for (i, group) in groups.iter().enumerate() {
                for other in &groups[i + 1..] {
                    for a in group {
                        s.cuts.extend(other.iter().map(|b| (a.clone(), b.clone())));
                    }
                }
            }
        });
    }

    /// Cuts the link between `a` and `b` until [`Self::heal`].
    ///
    /// This is what an application sees of a partition once TCP gives up: every live connection
    /// across the cut is reset (both ends get `TransportError::ConnectionLost`), and every new dial
    /// across it fails at once with `TransportError::Unreachable`. Real TCP would first retransmit
    /// for a while; the simulator skips straight to the outcome.
    pub fn cut(&self, a: impl Into<Node>, b: impl Into<Node>) {
        let (a, b) = (a.into(), b.into());
        self.change_cuts(|s| s.cuts.push((a, b)));
    }

    /// Removes every cut: new dials succeed again. Connections reset by the cut stay closed;
    /// reconnecting is the application's job.
    pub fn heal(&self) {
        self.change_cuts(|s| s.cuts.clear());
    }

    /// Whether a connection from `dialer` to the listener `name` would be cut now.
    pub fn is_cut(&self, dialer: ValidatorId, name: &str) -> bool {
        let state = self.state();
        let Some(entry) = state.listeners.get(name) else { return false };
        let hosts = LinkHosts { dialer: Some(dialer), listener_name: name.to_owned(), listener: entry.owner };
        state.is_cut(&hosts)
    }

    fn state(&self) -> MutexGuard<'_, NetState> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live_links(state: &NetState) -> impl Iterator<Item = Arc<Link>> + '_ {
        state.links.values().filter_map(Weak::upgrade)
    }

    fn change_config(&self, change: impl FnOnce(&mut NetState)) {
        let links: Vec<_> = {
            let mut state = self.state();
            change(&mut state);
            self.inner.config_version.fetch_add(1, Ordering::SeqCst);
            Self::live_links(&state).collect()
        };
        links.iter().for_each(|link| link.wake_pump());
    }

    fn change_cuts(&self, change: impl FnOnce(&mut NetState)) {
        let doomed: Vec<_> = {
            let mut state = self.state();
            change(&mut state);
            Self::live_links(&state).filter(|link| state.is_cut(link.hosts())).collect()
        };
        for link in doomed {
            tracing::debug!(to = %link.hosts().listener_name, "partition resets a connection");
            link.fail("partitioned by the simulated network");
        }
    }

    pub(crate) fn config_version(&self) -> u64 {
        self.inner.config_version.load(Ordering::SeqCst)
    }

    /// The configuration for a link and the version it belongs to.
    pub(crate) fn link_config(&self, hosts: &LinkHosts) -> (LinkConfig, u64) {
        let state = self.state();
        (state.config_for(hosts), self.config_version())
    }

    /// Registers a listener under `requested` (`"0"` picks a fresh name) for `owner`.
    pub(crate) fn register_listener(
        &self,
        requested: &str,
        owner: ValidatorId,
    ) -> Result<(Registration, mpsc::Receiver<LinkEnd>), TransportError> {
        let mut state = self.state();
        state.next_listener += 1;
        let registration = state.next_listener;
        let name = if requested == "0" {
            let mut n = registration;
            while state.listeners.contains_key(&format!("auto-{n}")) {
                n += 1;
            }
            format!("auto-{n}")
        } else {
            requested.to_owned()
        };
        if state.listeners.contains_key(&name) {
            return Err(TransportError::Io {
                addr: format!("mem://{name}"),
                source: std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another listener on this simulated network has that name; pick another or drop it first",
                ),
            });
        }
        let (backlog, inbound) = mpsc::channel(LISTEN_BACKLOG);
        state.listeners.insert(name.clone(), ListenerEntry { registration, owner, backlog });
        state.owners.insert(name.clone(), owner);
        Ok((Registration { network: self.clone(), name, registration }, inbound))
    }

    /// Opens a link from `dialer` to the listener `name` and hands the far end to that listener.
    ///
    /// Must run inside a Tokio runtime: it spawns the link's pump.
    pub(crate) fn connect(&self, dialer: Option<ValidatorId>, name: &str) -> Result<LinkEnd, TransportError> {
        let unreachable =
            |reason: &str| TransportError::Unreachable { addr: format!("mem://{name}"), reason: reason.into() };
        let mut state = self.state();
        let Some(entry) = state.listeners.get(name) else {
            return Err(unreachable("no listener has that name on this simulated network (connection refused)"));
        };
        let backlog = entry.backlog.clone();
        let hosts = LinkHosts { dialer, listener_name: name.to_owned(), listener: entry.owner };
        if state.is_cut(&hosts) {
            return Err(unreachable("a partition of the simulated network separates us"));
        }
        let number = state.next_link;
        state.next_link += 1;
        let config = state.config_for(&hosts);
        let rng = link_rng(self.inner.seed, number);
        let nics = state.interfaces(&hosts);
        let (link, near, far) = Link::open(number, hosts, config, self.inner.config_version.clone(), rng, nics);
        if let Err(e) = backlog.try_send(far) {
            return Err(unreachable(match e {
                mpsc::error::TrySendError::Full(_) => "the listener's backlog is full",
                mpsc::error::TrySendError::Closed(_) => "the listener is closing",
            }));
        }
        if state.links.len() >= state.links_sweep_at {
            state.links.retain(|_, link| link.strong_count() > 0);
            state.links_sweep_at = (2 * state.links.len()).max(MIN_LINKS_SWEEP);
        }
        state.links.insert(number, Arc::downgrade(&link));
        drop(state);
        let span = tracing::debug_span!("mem_link", link = number, to = %name);
        tokio::spawn(pump(link, self.clone()).instrument(span));
        Ok(near)
    }

    fn unregister(&self, name: &str, registration: u64) {
        let mut state = self.state();
        if state.listeners.get(name).is_some_and(|e| e.registration == registration) {
            state.listeners.remove(name);
        }
    }
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryNetwork")
            .field("seed", &self.inner.seed)
            .field("listeners", &state.listeners.len())
            .field("links_opened", &state.next_link)
            .field("cuts", &state.cuts.len())
            .finish()
    }
}

impl NetState {
    /// Whether `node` is the dialing side (`name: None`) or the listening side of a link.
    fn is(&self, node: &Node, host: Option<ValidatorId>, name: Option<&str>) -> bool {
        match node {
            Node::Id(id) => host == Some(*id),
            Node::Name(n) => name == Some(n.as_str()) || (host.is_some() && self.owners.get(n).copied() == host),
        }
    }

    fn pair_matches(&self, a: &Node, b: &Node, hosts: &LinkHosts) -> bool {
        let dialer = |n| self.is(n, hosts.dialer, None);
        let listener = |n| self.is(n, Some(hosts.listener), Some(&hosts.listener_name));
        (dialer(a) && listener(b)) || (dialer(b) && listener(a))
    }

    fn is_cut(&self, hosts: &LinkHosts) -> bool {
        self.cuts.iter().any(|(a, b)| self.pair_matches(a, b, hosts))
    }

    /// The interfaces a new link between `hosts` passes through, per direction (0: dialer to
    /// listener).
    fn interfaces(&mut self, hosts: &LinkHosts) -> [Interfaces; 2] {
        let Some(rate) = self.validator_bandwidth else { return Default::default() };
        let mut nic =
            |id: ValidatorId| self.nics.entry(id).or_insert_with(|| [0, 1].map(|_| Arc::new(Nic::new(rate)))).clone();
        let [listener_up, listener_down] = nic(hosts.listener).map(Some);
        let [dialer_up, dialer_down] = hosts.dialer.map(nic).map_or([None, None], |nics| nics.map(Some));
        [
            Interfaces { upload: dialer_up, download: listener_down },
            Interfaces { upload: listener_up, download: dialer_down },
        ]
    }

    fn config_for(&self, hosts: &LinkHosts) -> LinkConfig {
        self.overrides
            .iter()
            .rev()
            .find(|(a, b, _)| self.pair_matches(a, b, hosts))
            .map_or_else(|| self.default_link.clone(), |(_, _, config)| config.clone())
    }
}

/// The generator of link `number`: a function of the seed and the number only.
fn link_rng(seed: u64, number: u64) -> StdRng {
    let mut hasher = blake3::Hasher::new_derive_key("quorumnet-memory 2025 link rng");
    hasher.update(&seed.to_le_bytes());
    hasher.update(&number.to_le_bytes());
    StdRng::from_seed(*hasher.finalize().as_bytes())
}

/// A listener's name on the network; dropping it frees the name.
pub(crate) struct Registration {
    network: MemoryNetwork,
    name: String,
    registration: u64,
}

impl Registration {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.network.unregister(&self.name, self.registration);
    }
}
