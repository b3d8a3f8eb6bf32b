use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::identity::ValidatorId;

/// Which proven identities may hold a connection: the validator set, plus configured relays and
/// observers, minus banned ids.
///
/// A live handle: clones share one state, so the node's validator-set changes and bans reach listeners
/// and dialers that are already running. Transports consult it during every handshake, so a refused
/// peer never gets a [`Connection`](super::Connection).
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::transport::{Admission, Refusal};
///
/// let alice = Keypair::from_seed(&[1; 32]).validator_id();
/// let admission = Admission::for_validators([alice]);
/// let listener_view = admission.clone();
/// assert!(listener_view.check(&alice).is_ok());
/// admission.ban(alice);
/// assert_eq!(listener_view.check(&alice), Err(Refusal::Banned));
/// ```
#[derive(Clone)]
pub struct Admission {
    state: Arc<RwLock<State>>,
    generation: Arc<watch::Sender<u64>>,
}

#[derive(Default)]
struct State {
    validators: BTreeSet<ValidatorId>,
    extra: BTreeSet<ValidatorId>,
    banned: BTreeSet<ValidatorId>,
    open: bool,
}

/// Why an identity is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// It is banned (for misbehaviour) until unbanned.
    #[error("banned")]
    Banned,
    /// It is not in the validator set, nor a configured relay or observer.
    #[error("not in the validator set and not a configured relay or observer")]
    Unknown,
}

impl Admission {
    /// Admits nobody until told otherwise.
    pub fn new() -> Self {
        Admission { state: Arc::default(), generation: Arc::new(watch::channel(0).0) }
    }

    /// Admits exactly `validators`.
    pub fn for_validators(validators: impl IntoIterator<Item = ValidatorId>) -> Self {
        let admission = Self::new();
        admission.set_validators(validators);
        admission
    }

    /// Admits every proven identity that is not banned: for observers' networks and tests, never for
    /// a validator network, where it would let any key holder in.
    pub fn open() -> Self {
        let admission = Self::new();
        admission.update(|s| s.open = true);
        admission
    }

    /// Replaces the validator set part of the admitted ids.
    pub fn set_validators(&self, validators: impl IntoIterator<Item = ValidatorId>) {
        let validators = validators.into_iter().collect();
        self.update(|s| s.validators = validators);
    }

    /// Admits a configured relay or observer, in addition to the validator set.
    pub fn allow(&self, id: ValidatorId) {
        self.update(|s| {
            s.extra.insert(id);
        });
    }

    /// Withdraws [`Self::allow`].
    pub fn disallow(&self, id: ValidatorId) {
        self.update(|s| {
            s.extra.remove(&id);
        });
    }

    /// Refuses `id` whatever else says, until [`Self::unban`].
    pub fn ban(&self, id: ValidatorId) {
        self.update(|s| {
            s.banned.insert(id);
        });
    }

    /// Lifts a ban.
    pub fn unban(&self, id: ValidatorId) {
        self.update(|s| {
            s.banned.remove(&id);
        });
    }

    /// Whether `id` may connect now.
    ///
    /// # Errors
    /// The [`Refusal`] that applies.
    pub fn check(&self, id: &ValidatorId) -> Result<(), Refusal> {
        let s = self.state.read().expect("admission lock poisoned");
        if s.banned.contains(id) {
            Err(Refusal::Banned)
        } else if s.open || s.validators.contains(id) || s.extra.contains(id) {
            Ok(())
        } else {
            Err(Refusal::Unknown)
        }
    }

    /// Shorthand for `check(id).is_ok()`.
    pub fn is_admitted(&self, id: &ValidatorId) -> bool {
        self.check(id).is_ok()
    }

    /// A receiver that changes whenever the admitted set changes, so long-lived tasks can re-check
    /// the connections they hold.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.write().expect("admission lock poisoned"));
        self.generation.send_modify(|g| *g += 1);
    }
}

impl Default for Admission {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.read().expect("admission lock poisoned");
        f.debug_struct("Admission")
            .field("validators", &s.validators.len())
            .field("extra", &s.extra.len())
            .field("banned", &s.banned.len())
            .field("open", &s.open)
            .finish()
    }
}
