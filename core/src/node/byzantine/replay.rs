use std::collections::HashMap;

use crate::identity::ValidatorId;

/// Per-origin sequence windows: replay detection (DESIGN.md §5).
///
/// An origin numbers its envelopes with strictly increasing sequence numbers (WIRE.md §4). A new
/// envelope — one the seen-cache does not hold, so not an exact duplicate, which is normal gossip —
/// whose `seq` is more than `window` below the highest this node has accepted from its origin is a
/// replay: an old message someone kept and re-injects after the seen-cache forgot it. The caller
/// exempts what it asked for (a repair answer is never a replay) and what came point to point.
///
/// Memory is one entry per origin, and only origins whose signature verified get one: at most the
/// validators of the sets this node has known.
///
/// ```
/// use quorumnet_core::identity::ValidatorId;
/// use quorumnet_core::node::byzantine::ReplayWindow;
///
/// let mut window = ReplayWindow::new(100);
/// let origin = ValidatorId([1; 32]);
/// assert!(!window.is_replay(origin, 1_000));
/// assert!(!window.is_replay(origin, 950), "within the window: a late message, not a replay");
/// assert!(window.is_replay(origin, 899));
/// ```
#[derive(Debug)]
pub struct ReplayWindow {
    window: u64,
    highest: HashMap<ValidatorId, u64>,
}

impl ReplayWindow {
    /// Windows of `window` sequence numbers below each origin's highest.
    pub fn new(window: u64) -> Self {
        ReplayWindow { window, highest: HashMap::new() }
    }

    /// Whether a verified new envelope of `origin` numbered `seq` is a replay; if not, it is recorded
    /// (and may move the origin's window up).
    pub fn is_replay(&mut self, origin: ValidatorId, seq: u64) -> bool {
        let highest = self.highest.entry(origin).or_insert(seq);
        if seq.saturating_add(self.window) < *highest {
            return true;
        }
        *highest = (*highest).max(seq);
        false
    }
}
