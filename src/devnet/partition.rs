//! `quorumnet devnet --partition A|B[@HEIGHT]`: a partition of the simulated network scheduled by
//! height, and when it heals. A pure description; [`super::partition_driver`] applies it.
//!
//! # The value
//! `A|B@H`: side `A` and side `B` are cut off from each other once the first honest validator commits
//! height `H` (`@H` may be left out: height [`DEFAULT_CUT_HEIGHT`]). Each side is either
//! - a count: `4|3` puts validators 0..4 on side A and 4..7 on side B (both sides counts), or
//! - validator indices and inclusive ranges: `0-3|4-6`, `0,2,4|1,3,5-6` (both sides lists).
//!
//! Validators on neither side stay linked to both. So do byzantine validators wherever they are
//! listed: a partition cuts honest links, and the adversary is not stopped by it (an equivocator
//! then reaches both sides, the "two-sided" equivocator of the `partition-heal` preset).
//!
//! # Healing
//! - [`heal_at`](PartitionPlan::heal_at) `H`: once any honest validator commits height `H` (a side
//!   without 2/3 of the power commits nothing while cut, so in practice: once the majority side
//!   reaches it);
//! - [`heal_after`](PartitionPlan::heal_after): that long after the cut (virtual time on the
//!   simulator);
//! - whichever comes first. Without `heal_after`, the time limit is [`DEFAULT_HEAL_AFTER`] after the
//!   cut, or [`HEAL_AT_FALLBACK`] when `heal_at` is given (for when neither side can reach it).
//!
//! ```
//! use std::time::Duration;
//! use quorumnet::devnet::partition::PartitionPlan;
//!
//! let plan: PartitionPlan = "4|3@5".parse().unwrap();
//! let sides = plan.sides(7).unwrap();
//! assert_eq!((sides.a, sides.b), (vec![0, 1, 2, 3], vec![4, 5, 6]));
//! assert_eq!(plan.heal_timeout(), Duration::from_secs(10));
//! let plan = plan.healing_at(9);
//! assert_eq!(plan.heal_timeout(), Duration::from_secs(60));
//! assert_eq!("0-1,5|2-4@2".parse::<PartitionPlan>().unwrap().sides(6).unwrap().a, vec![0, 1, 5]);
//! assert!("4-3".parse::<PartitionPlan>().unwrap_err().to_string().contains("`|`"));
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The height whose first commit starts the cut when the value has no `@HEIGHT`: the validators
/// are connected and have decided once, so the cut interrupts a running chain.
pub const DEFAULT_CUT_HEIGHT: u64 = 1;

/// How long a partition lasts without `--heal-at` or `--heal-after`: several rounds' timeouts on the
/// devnet's links, long enough for every node to notice the partition (its liveness timeout and
/// debounce) and for the majority side to commit on.
pub const DEFAULT_HEAL_AFTER: Duration = Duration::from_secs(10);

/// How long a partition with `--heal-at` but no `--heal-after` lasts at most: a height neither side
/// can reach (no side with 2/3 of the power) must not keep the network cut for the whole run.
pub const HEAL_AT_FALLBACK: Duration = Duration::from_secs(60);

/// One side of the cut, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// That many validators, consecutive: side A from 0, side B right after side A.
    Count(usize),
    /// These validators.
    Indices(BTreeSet<usize>),
}

/// The validators on each side, resolved against a devnet's count ([`PartitionPlan::sides`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sides {
    /// Side A, in index order.
    pub a: Vec<usize>,
    /// Side B, in index order.
    pub b: Vec<usize>,
}

/// A scheduled partition of the devnet: two sides, the height that starts the cut and when it heals.
/// See the [module docs](self) for the `A|B@H` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionPlan {
    /// Side A.
    pub side_a: Side,
    /// Side B.
    pub side_b: Side,
    /// The cut starts when the first honest validator commits this height.
    pub at: u64,
    /// Heal once an honest validator commits this height (`--heal-at`).
    pub heal_at: Option<u64>,
    /// Heal this long after the cut (`--heal-after`).
    pub heal_after: Option<Duration>,
}

/// Why a `--partition` value, `--heal-at` or `--heal-after` cannot make a partition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// No `|` between the two sides.
    #[error("`{0}` has no `|` between the two sides: write A|B[@HEIGHT], e.g. 4|3@5 (counts) or 0-3|4-6@5 (validator indices)")]
    NoSeparator(String),
    /// What follows `@` is not a height.
    #[error("`{0}` after `@` is not a height: write a whole number, e.g. 4|3@5")]
    BadHeight(String),
    /// A side that is neither a count nor indices.
    #[error("side `{0}` is neither a count (e.g. 4) nor validator indices and ranges (e.g. 0-3 or 0,2,5-6)")]
    BadSide(String),
    /// A range written high to low.
    #[error("range `{0}` goes downwards: write the lower index first (e.g. 0-3)")]
    BackwardsRange(String),
    /// A side with no validator.
    #[error("side `{0}` has no validator: each side needs at least one")]
    EmptySide(String),
    /// One side a count, the other indices.
    #[error(
        "one side is a count and the other validator indices: write both as counts (4|3) or both as indices (0-3|4-6)"
    )]
    MixedSides,
    /// A validator listed on both sides.
    #[error("validator {0} is on both sides: a validator is on one side, or on neither (then it reaches both)")]
    Overlap(usize),
    /// More validators than the devnet has.
    #[error("the sides take {needed} validators but the devnet has {validators} (indices 0..{validators}): use smaller sides or raise --validators")]
    TooFew {
        /// Validators the sides name or count.
        needed: usize,
        /// Validators in the devnet.
        validators: usize,
    },
    /// A heal height at or below the cut's.
    #[error("--heal-at {heal_at} is not above the cut's height {at}: the cut would heal as it starts; use a height above {at}")]
    HealBeforeCut {
        /// `--heal-at`.
        heal_at: u64,
        /// The cut's height.
        at: u64,
    },
    /// A heal delay that is not a positive number of seconds.
    #[error("--heal-after must be a positive number of seconds (virtual on the simulator)")]
    BadHealAfter,
    /// `--heal-at` or `--heal-after` with no partition to heal.
    #[error("{0} heals a scheduled partition: give --partition A|B@HEIGHT too (or --preset partition-heal)")]
    HealWithoutPartition(&'static str),
}

impl PartitionPlan {
    /// Sides `a` and `b`, cut when height `at` is first committed, with the default healing.
    pub fn new(side_a: Side, side_b: Side, at: u64) -> Self {
        PartitionPlan { side_a, side_b, at, heal_at: None, heal_after: None }
    }

    /// The same plan, also healing once an honest validator commits `height`.
    pub fn healing_at(self, height: u64) -> Self {
        PartitionPlan { heal_at: Some(height), ..self }
    }

    /// The same plan, healing `after` the cut at the latest.
    pub fn healing_after(self, after: Duration) -> Self {
        PartitionPlan { heal_after: Some(after), ..self }
    }

    /// The command line's partition: `plan` (`--partition`, else a preset's) with `--heal-at` and
    /// `--heal-after` (seconds) applied over its own healing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet::devnet::partition::PartitionPlan;
    ///
    /// let plan = PartitionPlan::from_options(Some("5|2@3".parse().unwrap()), Some(8), Some(2.5)).unwrap().unwrap();
    /// assert_eq!((plan.heal_at, plan.heal_timeout()), (Some(8), Duration::from_millis(2500)));
    /// assert!(PartitionPlan::from_options(None, Some(8), None).unwrap_err().to_string().starts_with("--heal-at"));
    /// ```
    ///
    /// # Errors
    /// [`PartitionError::HealWithoutPartition`] for healing without a partition;
    /// [`PartitionError::BadHealAfter`] for a delay that is not a positive number of seconds.
    pub fn from_options(
        plan: Option<PartitionPlan>,
        heal_at: Option<u64>,
        heal_after_s: Option<f64>,
    ) -> Result<Option<PartitionPlan>, PartitionError> {
        let Some(mut plan) = plan else {
            return match (heal_at, heal_after_s) {
                (Some(_), _) => Err(PartitionError::HealWithoutPartition("--heal-at")),
                (None, Some(_)) => Err(PartitionError::HealWithoutPartition("--heal-after")),
                (None, None) => Ok(None),
            };
        };
        if let Some(height) = heal_at {
            plan = plan.healing_at(height);
        }
        if let Some(seconds) = heal_after_s {
            if !(seconds > 0.0 && seconds.is_finite()) {
                return Err(PartitionError::BadHealAfter);
            }
            plan = plan.healing_after(Duration::from_secs_f64(seconds));
        }
        Ok(Some(plan))
    }

    /// How long after the cut it heals at the latest (see the [module docs](self)).
    pub fn heal_timeout(&self) -> Duration {
        match (self.heal_after, self.heal_at) {
            (Some(after), _) => after,
            (None, Some(_)) => HEAL_AT_FALLBACK,
            (None, None) => DEFAULT_HEAL_AFTER,
        }
    }

    /// The validators on each side of a devnet of `validators`.
    ///
    /// # Errors
    /// [`PartitionError::TooFew`] when the sides name or count validators it does not have;
    /// [`PartitionError::HealBeforeCut`], [`PartitionError::BadHealAfter`] for healing that cannot be.
    pub fn sides(&self, validators: usize) -> Result<Sides, PartitionError> {
        if let Some(heal_at) = self.heal_at.filter(|&h| h <= self.at) {
            return Err(PartitionError::HealBeforeCut { heal_at, at: self.at });
        }
        if self.heal_after.is_some_and(|after| after.is_zero()) {
            return Err(PartitionError::BadHealAfter);
        }
        let (a, b) = match (&self.side_a, &self.side_b) {
            (Side::Count(a), Side::Count(b)) => ((0..*a).collect::<Vec<_>>(), (*a..a + b).collect::<Vec<_>>()),
            (Side::Indices(a), Side::Indices(b)) => (a.iter().copied().collect(), b.iter().copied().collect()),
            // The parser never makes one; a plan built by hand may.
            _ => return Err(PartitionError::MixedSides),
        };
        let needed = match (&self.side_a, &self.side_b) {
            (Side::Count(_), Side::Count(_)) => a.len() + b.len(),
            _ => a.iter().chain(&b).max().map_or(0, |highest| highest + 1),
        };
        if needed > validators {
            return Err(PartitionError::TooFew { needed, validators });
        }
        Ok(Sides { a, b })
    }
}

impl FromStr for PartitionPlan {
    type Err = PartitionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (sides, at) = match value.split_once('@') {
            Some((sides, at)) => {
                let height = at.trim().parse().map_err(|_| PartitionError::BadHeight(at.to_string()))?;
                (sides, height)
            }
            None => (value, DEFAULT_CUT_HEIGHT),
        };
        let (a, b) = sides.split_once('|').ok_or_else(|| PartitionError::NoSeparator(value.to_string()))?;
        let (side_a, side_b) = (parse_side(a)?, parse_side(b)?);
        if let (Side::Indices(a), Side::Indices(b)) = (&side_a, &side_b) {
            if let Some(both) = a.intersection(b).next() {
                return Err(PartitionError::Overlap(*both));
            }
        } else if !matches!((&side_a, &side_b), (Side::Count(_), Side::Count(_))) {
            return Err(PartitionError::MixedSides);
        }
        Ok(PartitionPlan::new(side_a, side_b, at))
    }
}

/// A count (`4`) or indices and inclusive ranges (`0-3`, `0,2,5-6`). A lone number is a count: one
/// validator by index is written as a range of one (`2-2`).
fn parse_side(text: &str) -> Result<Side, PartitionError> {
    let text = text.trim();
    let bad = || PartitionError::BadSide(text.to_string());
    if !text.contains([',', '-']) {
        let count: usize = text.parse().map_err(|_| bad())?;
        return if count == 0 { Err(PartitionError::EmptySide(text.to_string())) } else { Ok(Side::Count(count)) };
    }
    let mut indices = BTreeSet::new();
    for item in text.split(',').map(str::trim) {
        let index = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        match item.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (index(low)?, index(high)?);
                if high < low {
                    return Err(PartitionError::BackwardsRange(item.to_string()));
                }
                indices.extend(low..=high);
            }
            None => {
                indices.insert(index(item)?);
            }
        }
    }
    Ok(Side::Indices(indices))
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Side::Count(count) => write!(f, "{count}"),
            Side::Indices(indices) => {
                let mut runs: Vec<String> = Vec::new();
                let mut iter = indices.iter().copied().peekable();
                while let Some(low) = iter.next() {
                    let mut high = low;
                    while iter.peek() == Some(&(high + 1)) {
                        high += 1;
                        iter.next();
                    }
                    runs.push(format!("{low}-{high}"));
                }
                write!(f, "{}", runs.join(","))
            }
        }
    }
}

/// The `--partition` value: `A|B@H`, indices as ranges (`0-3|4-6@5`), so it parses back to the same
/// sides.
///
/// ```
/// use quorumnet::devnet::partition::PartitionPlan;
///
/// let plan: PartitionPlan = "0,1,2,5|3-4@2".parse().unwrap();
/// assert_eq!(plan.to_string(), "0-2,5-5|3-4@2");
/// assert_eq!(plan.to_string().parse::<PartitionPlan>().unwrap(), plan);
/// ```
impl fmt::Display for PartitionPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}@{}", self.side_a, self.side_b, self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<PartitionPlan, PartitionError> {
        value.parse()
    }

    #[test]
    fn counts_are_consecutive_from_zero_and_indices_are_taken_as_written() {
        assert_eq!(parse("5|2").unwrap().sides(7).unwrap(), Sides { a: vec![0, 1, 2, 3, 4], b: vec![5, 6] });
        assert_eq!(parse("5|2").unwrap().at, DEFAULT_CUT_HEIGHT);
        let plan = parse(" 0-1, 6 | 3 ,4-5 @ 7").unwrap();
        assert_eq!((plan.sides(7).unwrap(), plan.at), (Sides { a: vec![0, 1, 6], b: vec![3, 4, 5] }, 7));
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        assert_eq!(parse("43@2"), Err(PartitionError::NoSeparator("43@2".into())));
        assert_eq!(parse("4|3@x"), Err(PartitionError::BadHeight("x".into())));
        assert_eq!(parse("4|a"), Err(PartitionError::BadSide("a".into())));
        assert_eq!(parse("0|3"), Err(PartitionError::EmptySide("0".into())));
        assert_eq!(parse("3-1|4-5"), Err(PartitionError::BackwardsRange("3-1".into())));
        assert_eq!(parse("4|4-6"), Err(PartitionError::MixedSides));
        assert_eq!(parse("0-3|3-6"), Err(PartitionError::Overlap(3)));
        assert_eq!(parse("4|4").unwrap().sides(7), Err(PartitionError::TooFew { needed: 8, validators: 7 }));
        assert_eq!(parse("0-1|2-7").unwrap().sides(7), Err(PartitionError::TooFew { needed: 8, validators: 7 }));
        let early = parse("4|3@5").unwrap().healing_at(5);
        assert_eq!(early.sides(7), Err(PartitionError::HealBeforeCut { heal_at: 5, at: 5 }));
        let never = parse("4|3").unwrap().healing_after(Duration::ZERO);
        assert_eq!(never.sides(7), Err(PartitionError::BadHealAfter));
    }

    #[test]
    fn the_heal_timeout_is_the_delay_given_else_a_default_longer_with_a_heal_height() {
        let plan = parse("4|3").unwrap();
        assert_eq!(plan.heal_timeout(), DEFAULT_HEAL_AFTER);
        assert_eq!(plan.clone().healing_at(4).heal_timeout(), HEAL_AT_FALLBACK);
        let after = Duration::from_secs(3);
        assert_eq!(plan.healing_at(4).healing_after(after).heal_timeout(), after);
    }
}
