use crate::message::Height;

use super::{ChurnPlan, ChurnStep};

/// When each step of a [`ChurnPlan`] is due: once some validator committed the height before it, so
/// every validator still decides that height with the old set, and joiners vote from the step's own.
///
/// ```
/// use quorumnet::devnet::churn::{ChurnDriver, ChurnPlan};
/// use quorumnet::message::Height;
///
/// let mut driver = ChurnDriver::new("6:-0+4,9:+0".parse::<ChurnPlan>().unwrap());
/// assert_eq!(driver.due(Height(4)), None);
/// assert_eq!(driver.due(Height(5)).unwrap().at, Height(6));
/// assert_eq!(driver.due(Height(5)), None, "each step is due once");
/// assert_eq!(driver.due(Height(20)).unwrap().at, Height(9));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ChurnDriver {
    plan: ChurnPlan,
    next: usize,
}

impl ChurnDriver {
    /// Drives `plan` from its first step.
    pub fn new(plan: ChurnPlan) -> Self {
        ChurnDriver { plan, next: 0 }
    }

    /// The next step, if due now that the highest committed height is `tip`; each step once, in order.
    pub fn due(&mut self, tip: Height) -> Option<ChurnStep> {
        let step = self.plan.steps().get(self.next).filter(|step| tip.0.saturating_add(1) >= step.at.0)?;
        self.next += 1;
        Some(step.clone())
    }
}
