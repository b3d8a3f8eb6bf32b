//! Eclipse detection: this node hears a quorum, but a quorum does not hear it.
//!
//! Each heartbeat lists the validators its sender hears. A validator whose direct peers take its
//! traffic and forward none of it (connections up, heartbeats from the others still relayed to it)
//! is not partitioned — it hears everyone — but the others' heartbeats stop listing it. The node
//! compares: among the validators it has heard a heartbeat from and still hears, those whose latest
//! heartbeat lists it, plus itself, must hold a supermajority of the power; otherwise, once that has
//! held for the debounce, it is eclipsed. A validator that did not acknowledge a reliable message
//! sent over a link that stayed up (and has acknowledged none since) does not count as hearing it,
//! whatever its heartbeats say: missing acks are the second sign. Only validators it has a heartbeat
//! from are judged, so a node that has just started (or just joined) is not eclipsed merely for not
//! having heard yet.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::validator::{ValidatorInfo, ValidatorSet};

/// The debounced eclipse signal: its state and when its condition last changed.
#[derive(Clone, Copy, Debug)]
pub(super) struct EclipseSignal {
    eclipsed: bool,
    /// Since when the condition has differed from `eclipsed`.
    changing_since: Option<Instant>,
    debounce: Duration,
}

/// What changed, if anything.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum EclipseChange {
    /// Not heard by a quorum: who does not hear this node.
    Eclipsed {
        unheard_by: BTreeSet<ValidatorId>,
    },
    Cleared,
}

impl EclipseSignal {
    pub fn new(debounce: Duration) -> Self {
        EclipseSignal { eclipsed: false, changing_since: None, debounce }
    }

    pub fn set_debounce(&mut self, debounce: Duration) {
        self.debounce = debounce;
    }

    /// Settles the signal at `now`. `judged`: the validators this node hears and has a heartbeat
    /// from, each with whether its latest heartbeat lists `me`. Nothing is decided while those judged
    /// (and `me`) are not a supermajority themselves: too little is known.
    pub fn evaluate(
        &mut self,
        set: &ValidatorSet,
        me: ValidatorId,
        judged: impl Iterator<Item = (ValidatorId, bool)>,
        now: Instant,
    ) -> Option<EclipseChange> {
        // Powers summed as the judged go by (each judged once, `me` apart): settled several times a
        // heartbeat interval, and at a thousand validators three trees of ids per settle showed.
        let power = |id: &ValidatorId| set.get(id).map_or(0, ValidatorInfo::counted_power);
        let (mut known, mut hearing, mut unheard_by) = (power(&me), power(&me), Vec::new());
        for (validator, hears_me) in judged.filter(|(validator, _)| *validator != me) {
            known += power(&validator);
            if hears_me {
                hearing += power(&validator);
            } else {
                unheard_by.push(validator);
            }
        }
        let decided = set.is_supermajority(known);
        let eclipsed = decided && !set.is_supermajority(hearing);
        if eclipsed == self.eclipsed || (!decided && !self.eclipsed) {
            self.changing_since = None;
            return None;
        }
        let since = *self.changing_since.get_or_insert(now);
        if now.saturating_duration_since(since) < self.debounce {
            return None;
        }
        self.eclipsed = eclipsed;
        self.changing_since = None;
        Some(if eclipsed {
            EclipseChange::Eclipsed { unheard_by: unheard_by.into_iter().collect() }
        } else {
            EclipseChange::Cleared
        })
    }

    pub fn is_eclipsed(&self) -> bool {
        self.eclipsed
    }

    /// When a pending change would be decided, if its condition holds until then.
    pub fn settles_at(&self) -> Option<Instant> {
        self.changing_since.map(|since| since + self.debounce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;
    use crate::validator::ValidatorInfo;

    fn ids_and_set() -> (Vec<ValidatorId>, ValidatorSet) {
        let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let set = ValidatorSet::new(keys.iter().map(|k| ValidatorInfo::new(k.public_key().clone(), 1))).unwrap();
        (keys.iter().map(Keypair::validator_id).collect(), set)
    }

    #[test]
    fn heard_by_too_few_for_the_debounce_is_an_eclipse_and_heard_again_clears_it() {
        let (ids, set) = ids_and_set();
        let (me, others) = (ids[0], &ids[1..]);
        let debounce = Duration::from_secs(2);
        let mut signal = EclipseSignal::new(debounce);
        let start = Instant::now();
        let judged = |hearing: usize| others.iter().enumerate().map(move |(i, id)| (*id, i < hearing));
        // One of three lists us: with us, 2 of 4 — no quorum, but not for long enough yet.
        assert_eq!(signal.evaluate(&set, me, judged(1), start), None);
        let unheard_by = others[1..].iter().copied().collect();
        assert_eq!(
            signal.evaluate(&set, me, judged(1), start + debounce),
            Some(EclipseChange::Eclipsed { unheard_by })
        );
        assert!(signal.is_eclipsed());
        // Two list us: 3 of 4, a quorum hears us again.
        assert_eq!(signal.evaluate(&set, me, judged(2), start + debounce), None);
        assert_eq!(signal.evaluate(&set, me, judged(2), start + 2 * debounce), Some(EclipseChange::Cleared));
    }

    #[test]
    fn without_heartbeats_from_a_quorum_nothing_is_decided() {
        let (ids, set) = ids_and_set();
        let mut signal = EclipseSignal::new(Duration::ZERO);
        let now = Instant::now();
        // Only one other heard so far, and it does not list us: too little to call an eclipse.
        assert_eq!(signal.evaluate(&set, ids[0], [(ids[1], false)].into_iter(), now), None);
        assert!(!signal.is_eclipsed());
    }
}
