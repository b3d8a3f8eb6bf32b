//! Round timeouts: how long each step waits, growing with the round — fixed ([`TimeoutConfig`]) or
//! following the network's measured quorum round trip ([`NetworkTimeouts`]).

use std::time::Duration;

use crate::message::Round;

/// One step's timeout: `base + per_round × round`, so a network slower than the base still gets a
/// round long enough to decide in, after a few failed rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepTimeout {
    /// The timeout in round 0.
    pub base: Duration,
    /// Added per round.
    pub per_round: Duration,
}

impl StepTimeout {
    /// The timeout in `round`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet::devnet::timeouts::StepTimeout;
    /// use quorumnet::message::Round;
    ///
    /// let t = StepTimeout { base: Duration::from_secs(1), per_round: Duration::from_millis(500) };
    /// assert_eq!(t.at(Round(2)), Duration::from_secs(2));
    /// ```
    pub fn at(&self, round: Round) -> Duration {
        self.base.saturating_add(self.per_round.saturating_mul(round.0))
    }
}

/// The engine's three step timeouts (Tendermint's `timeoutPropose`, `timeoutPrevote`,
/// `timeoutPrecommit`). Each runs from the step's start: a round ends after at most the sum of the
/// three, even when fewer than 2/3 of the validators vote at all, so rounds keep advancing (and
/// proposers keep rotating) while validators are down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// Waiting for the round's proposal before pre-voting nil.
    pub propose: StepTimeout,
    /// Waiting for 2/3 pre-votes on one value before pre-committing nil.
    pub prevote: StepTimeout,
    /// Waiting for 2/3 pre-commits on one block before moving to the next round.
    pub precommit: StepTimeout,
    /// Pause between committing a height and starting the next (Tendermint's `timeoutCommit`): lets
    /// the last votes arrive and sets a minimum block time.
    pub commit: Duration,
}

impl TimeoutConfig {
    /// Tendermint's defaults, for validators spread over a WAN.
    pub fn recommended() -> Self {
        TimeoutConfig {
            propose: StepTimeout { base: Duration::from_secs(3), per_round: Duration::from_millis(500) },
            prevote: StepTimeout { base: Duration::from_secs(1), per_round: Duration::from_millis(500) },
            precommit: StepTimeout { base: Duration::from_secs(1), per_round: Duration::from_millis(500) },
            commit: Duration::from_secs(1),
        }
    }

    /// A devnet in one process or on one machine, also on the simulator's 50 ms links: ten link
    /// latencies for a proposal (it travels signed and verified), four for a vote step.
    pub fn local() -> Self {
        TimeoutConfig {
            propose: StepTimeout { base: Duration::from_millis(500), per_round: Duration::from_millis(100) },
            prevote: StepTimeout { base: Duration::from_millis(200), per_round: Duration::from_millis(100) },
            precommit: StepTimeout { base: Duration::from_millis(200), per_round: Duration::from_millis(100) },
            // No pause: the devnet measures how fast the network lets validators decide.
            commit: Duration::ZERO,
        }
    }

    /// The most [`NetworkTimeouts`] derives from a measured round trip: a quorum that needs seconds
    /// to answer is an outage rather than a slow network, and rounds still grow beyond these.
    pub fn ceiling() -> Self {
        TimeoutConfig {
            propose: StepTimeout { base: Duration::from_secs(30), per_round: Duration::from_secs(5) },
            prevote: StepTimeout { base: Duration::from_secs(20), per_round: Duration::from_secs(5) },
            precommit: StepTimeout { base: Duration::from_secs(20), per_round: Duration::from_secs(5) },
            commit: Duration::ZERO,
        }
    }

    /// The longest a round can last: all three steps timing out.
    pub fn round_length(&self, round: Round) -> Duration {
        self.propose.at(round) + self.prevote.at(round) + self.precommit.at(round)
    }
}

/// Where the engine's step timeouts come from.
// A config value, read once per round: the larger variant's bytes cost nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutSource {
    /// Always this preset, whatever the links cost (`quorumnet devnet --timeouts fixed`).
    Fixed(TimeoutConfig),
    /// Derived from the node's measured quorum round trip
    /// ([`NetworkTiming`](crate::node::NetworkTiming)), the devnet's default.
    Network(NetworkTimeouts),
}

impl TimeoutSource {
    /// The timeouts to use while the quorum round trip is `rtt` (`None`: not measured yet).
    pub fn timeouts(&self, rtt: Option<Duration>) -> TimeoutConfig {
        match self {
            TimeoutSource::Fixed(fixed) => *fixed,
            TimeoutSource::Network(network) => network.for_round_trip(rtt),
        }
    }
}

/// Step timeouts as multiples of the quorum round trip `R` — the time within which validators holding
/// more than 2/3 of the power answer this node — kept between a floor and a ceiling preset.
///
/// - **Propose** waits `propose_round_trips × R`: the proposal travels one way (R/2) after the
///   proposer entered the round, and validators enter a round up to about one more R/2 apart (each
///   when its own 2/3 pre-commits arrived).
/// - **Pre-vote / pre-commit** wait `vote_round_trips × R`: the quorum's votes follow the proposal (or
///   the pre-votes) by one more way, plus the spread of when each sent them.
/// - **Per round** each step grows by one `R` (at least the floor's growth), so a network whose
///   estimate lags behind a slowdown still gets a round long enough after a few failed ones.
///
/// `R` is `SRTT + 4·RTTVAR` of the validator completing the quorum: already a tail estimate, so the
/// multiples stay small. Until the node has measured a quorum, `unmeasured` applies: a WAN-safe
/// preset, since a validator's first round may start before its first pongs, and the floor's
/// 500 ms would cut short a proposal over 300 ms links (every validator then lost round 0 of its
/// first height). Long timeouts cost nothing while messages arrive: steps end on a quorum, not on
/// the clock.
///
/// ```
/// use std::time::Duration;
/// use quorumnet::devnet::timeouts::{NetworkTimeouts, TimeoutConfig};
///
/// let network = NetworkTimeouts::local();
/// assert_eq!(network.for_round_trip(None).propose, TimeoutConfig::recommended().propose);
/// let wan = network.for_round_trip(Some(Duration::from_millis(800)));
/// assert_eq!(wan.propose.base, Duration::from_millis(2_400));
/// assert_eq!(wan.prevote.base, Duration::from_millis(1_600));
/// // Fast links never go below the floor.
/// assert_eq!(network.for_round_trip(Some(Duration::from_millis(1))), TimeoutConfig::local());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkTimeouts {
    /// The least each timeout may be.
    pub floor: TimeoutConfig,
    /// The steps' timeouts before the first estimate (the pause after a commit is always the floor's).
    pub unmeasured: TimeoutConfig,
    /// The most each step's base and growth may be, however slow the estimate.
    pub ceiling: TimeoutConfig,
    /// Quorum round trips the propose step waits.
    pub propose_round_trips: u32,
    /// Quorum round trips each vote step waits.
    pub vote_round_trips: u32,
}

impl NetworkTimeouts {
    /// The devnet's: [`TimeoutConfig::local`] as the floor, so fast links behave as with fixed
    /// timeouts; three round trips for the proposal and two per vote step (measured on 300 ± 100 ms
    /// links: `scripts/devnet-bench.sh`); a ceiling far above any healthy WAN.
    pub fn local() -> Self {
        NetworkTimeouts {
            floor: TimeoutConfig::local(),
            unmeasured: TimeoutConfig::recommended(),
            ceiling: TimeoutConfig::ceiling(),
            propose_round_trips: 3,
            vote_round_trips: 2,
        }
    }

    /// For production validators: [`TimeoutConfig::recommended`] as the floor.
    pub fn recommended() -> Self {
        NetworkTimeouts { floor: TimeoutConfig::recommended(), ..Self::local() }
    }

    /// The timeouts for quorum round trip `rtt`; `unmeasured` while it is unknown.
    pub fn for_round_trip(&self, rtt: Option<Duration>) -> TimeoutConfig {
        let Some(rtt) = rtt else { return TimeoutConfig { commit: self.floor.commit, ..self.unmeasured } };
        let step = |times: u32, floor: StepTimeout, ceiling: StepTimeout| StepTimeout {
            base: rtt.saturating_mul(times).clamp(floor.base, ceiling.base.max(floor.base)),
            per_round: rtt.clamp(floor.per_round, ceiling.per_round.max(floor.per_round)),
        };
        TimeoutConfig {
            propose: step(self.propose_round_trips, self.floor.propose, self.ceiling.propose),
            prevote: step(self.vote_round_trips, self.floor.prevote, self.ceiling.prevote),
            precommit: step(self.vote_round_trips, self.floor.precommit, self.ceiling.precommit),
            commit: self.floor.commit,
        }
    }
}
