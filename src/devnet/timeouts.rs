//! Round timeouts: how long each step waits, growing with the round.

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

    /// The longest a round can last: all three steps timing out.
    pub fn round_length(&self, round: Round) -> Duration {
        self.propose.at(round) + self.prevote.at(round) + self.precommit.at(round)
    }
}
