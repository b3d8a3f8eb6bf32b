//! Applies a [`PartitionPlan`] to a running devnet: cuts the simulated network into the plan's two
//! sides when the first honest validator commits the cut's height, heals it when the plan says, and
//! records both moments for the report ([`PartitionRecord`]).
//!
//! The cut is by validator id ([`MemoryNetwork::partition`]): every link between an honest validator
//! of side A and one of side B is reset and redials across fail until the heal; validators on neither
//! side and byzantine validators (wherever the plan lists them) keep their links to both. After the
//! heal the nodes redial on their own backoff, and those left behind catch up
//! ([`super::catchup`]).
//!
//! The driver wakes on every commit of an honest validator (each journal's committed-height watch),
//! not on a polling period, so the cut starts at the commit that reaches its height.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::{DevnetConfig, TransportKind};
use super::error::DevnetError;
use super::journal::Journal;
use super::partition::{PartitionPlan, Sides};
use crate::identity::ValidatorId;
use crate::memory::{MemoryNetwork, Node as NetNode};

/// The moment a cut started or healed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PartitionMoment {
    /// Seconds since the run started (virtual on the simulator).
    pub at_s: f64,
    /// The highest height any honest validator had committed.
    pub highest: u64,
    /// The highest height an honest validator of side A had committed.
    pub side_a_height: u64,
    /// The highest height an honest validator of side B had committed.
    pub side_b_height: u64,
}

/// What the report says of the scheduled partition (`--partition`): the plan, who was on which side,
/// and when it was cut and healed (`None`: not yet, when the run ended).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionRecord {
    /// The `--partition` value, `A|B@HEIGHT`.
    pub plan: String,
    /// The honest validators of side A.
    pub side_a: Vec<usize>,
    /// The honest validators of side B.
    pub side_b: Vec<usize>,
    /// The validators linked to both sides: byzantine ones, and those the plan puts on neither side.
    pub bridging: Vec<usize>,
    /// `--heal-at`: heal once an honest validator commits it.
    pub heal_at: Option<u64>,
    /// The longest the cut lasts, seconds (`--heal-after`, or its default).
    pub heal_after_s: f64,
    /// When the cut started.
    pub cut: Option<PartitionMoment>,
    /// When it healed.
    pub healed: Option<PartitionMoment>,
    /// `height` (`--heal-at` reached) or `time` (the heal delay passed).
    pub healed_by: Option<&'static str>,
}

/// One validator of the devnet, as the driver sees it.
#[derive(Clone, Debug)]
pub struct Member {
    /// Its id: what the network cuts.
    pub id: ValidatorId,
    /// Its journal: its commits.
    pub journal: Journal,
    /// Whether a byzantine actor runs in its place (it then bridges the cut).
    pub byzantine: bool,
}

/// Fails for a `--partition` the devnet cannot apply: off the simulator, with NAT-bound validators,
/// or sides it does not have.
///
/// # Errors
/// [`DevnetError::InvalidOptions`] naming `--partition` and what to change.
pub fn check(config: &DevnetConfig) -> Result<(), DevnetError> {
    let Some(plan) = &config.partition else { return Ok(()) };
    let invalid = |why: String| Err(DevnetError::InvalidOptions(format!("--partition {plan}: {why}")));
    if config.transport != TransportKind::Memory {
        return invalid(format!(
            "a scheduled partition cuts links of the simulated network: use --transport memory (not {})",
            config.transport.name()
        ));
    }
    if config.nat > 0 {
        // NAT-bound validators are reached through circuits at the relays, which a cut of validator
        // links would not stop.
        return invalid("it cannot cut the relay circuits of NAT-bound validators: use --nat 0".into());
    }
    plan.sides(config.validators).map(drop).or_else(|error| invalid(error.to_string()))
}

/// A running [`PartitionPlan`]. Dropping it stops the schedule where it is (a cut in force stays).
pub struct PartitionDriver {
    record: Arc<Mutex<PartitionRecord>>,
    tasks: Vec<JoinHandle<()>>,
}

impl PartitionDriver {
    /// Starts applying `plan` to `network`, whose validators are `members` in index order; times are
    /// measured from `epoch` (when the engines started).
    ///
    /// # Errors
    /// [`DevnetError::InvalidOptions`] for sides the devnet does not have (see [`check`]).
    pub fn spawn(
        plan: &PartitionPlan,
        network: MemoryNetwork,
        members: Vec<Member>,
        epoch: Instant,
    ) -> Result<Self, DevnetError> {
        let Sides { a, b } = plan
            .sides(members.len())
            .map_err(|error| DevnetError::InvalidOptions(format!("--partition {plan}: {error}")))?;
        let honest = |side: &[usize]| side.iter().copied().filter(|&i| !members[i].byzantine).collect::<Vec<_>>();
        let (side_a, side_b) = (honest(&a), honest(&b));
        let bridging = (0..members.len()).filter(|i| !side_a.contains(i) && !side_b.contains(i)).collect();
        let record = Arc::new(Mutex::new(PartitionRecord {
            plan: plan.to_string(),
            side_a: side_a.clone(),
            side_b: side_b.clone(),
            bridging,
            heal_at: plan.heal_at,
            heal_after_s: plan.heal_timeout().as_secs_f64(),
            cut: None,
            healed: None,
            healed_by: None,
        }));
        let wake = Arc::new(Notify::new());
        let journals = |side: &[usize]| side.iter().map(|&i| members[i].journal.clone()).collect::<Vec<_>>();
        let heights = SideHeights { a: journals(&side_a), b: journals(&side_b), epoch };
        let mut tasks: Vec<JoinHandle<()>> =
            heights.a.iter().chain(&heights.b).map(|journal| spawn_waker(journal, wake.clone())).collect();
        let ids = |side: &[usize]| side.iter().map(|&i| NetNode::Id(members[i].id)).collect::<Vec<_>>();
        let schedule = Schedule {
            groups: [ids(&side_a), ids(&side_b)],
            at: plan.at,
            heal_at: plan.heal_at,
            heal_after: plan.heal_timeout(),
        };
        let run = drive(schedule, network, heights, wake, record.clone());
        tasks.push(tokio::spawn(tracing::Instrument::instrument(run, tracing::debug_span!("partition"))));
        Ok(PartitionDriver { record, tasks })
    }

    /// What happened so far.
    pub fn record(&self) -> PartitionRecord {
        lock(&self.record).clone()
    }
}

impl Drop for PartitionDriver {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// A poisoned lock means a panic already failed the run; the record is still usable.
fn lock(record: &Mutex<PartitionRecord>) -> MutexGuard<'_, PartitionRecord> {
    record.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Wakes the driver on each commit of `journal`'s validator. A `Notify` keeps one permit, so a
/// commit between two of the driver's checks is never missed.
fn spawn_waker(journal: &Journal, wake: Arc<Notify>) -> JoinHandle<()> {
    let mut committed = journal.committed_height();
    tokio::spawn(async move {
        while committed.changed().await.is_ok() {
            wake.notify_one();
        }
    })
}

/// The plan, resolved to the network's nodes.
struct Schedule {
    groups: [Vec<NetNode>; 2],
    at: u64,
    heal_at: Option<u64>,
    heal_after: Duration,
}

/// The honest journals of each side.
struct SideHeights {
    a: Vec<Journal>,
    b: Vec<Journal>,
    epoch: Instant,
}

impl SideHeights {
    fn moment(&self) -> PartitionMoment {
        let highest = |side: &[Journal]| side.iter().map(|j| j.lock().chain.len() as u64).max().unwrap_or(0);
        let (side_a_height, side_b_height) = (highest(&self.a), highest(&self.b));
        PartitionMoment {
            at_s: self.epoch.elapsed().as_secs_f64(),
            highest: side_a_height.max(side_b_height),
            side_a_height,
            side_b_height,
        }
    }
}

async fn drive(
    schedule: Schedule,
    network: MemoryNetwork,
    heights: SideHeights,
    wake: Arc<Notify>,
    record: Arc<Mutex<PartitionRecord>>,
) {
    while heights.moment().highest < schedule.at {
        wake.notified().await;
    }
    network.partition(schedule.groups.clone());
    let cut = heights.moment();
    tracing::info!(height = cut.highest, "partition cut");
    lock(&record).cut = Some(cut);
    let deadline = Instant::now() + schedule.heal_after;
    let healed_by = loop {
        if schedule.heal_at.is_some_and(|height| heights.moment().highest >= height) {
            break "height";
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep_until(deadline) => break "time",
        }
    };
    network.heal();
    let healed = heights.moment();
    tracing::info!(height = healed.highest, by = healed_by, "partition healed");
    let mut record = lock(&record);
    record.healed = Some(healed);
    record.healed_by = Some(healed_by);
}

impl PartitionRecord {
    /// The record as a line of the terminal table.
    ///
    /// ```
    /// use quorumnet::devnet::partition_driver::{PartitionMoment, PartitionRecord};
    ///
    /// let moment = |at_s, side_a_height, side_b_height| PartitionMoment { at_s, highest: side_a_height, side_a_height, side_b_height };
    /// let record = PartitionRecord {
    ///     plan: "5|2@3".into(), side_a: vec![0, 1, 2, 3, 4], side_b: vec![5, 6], bridging: vec![],
    ///     heal_at: Some(8), heal_after_s: 60.0,
    ///     cut: Some(moment(1.0, 3, 3)), healed: Some(moment(4.5, 8, 3)), healed_by: Some("height"),
    /// };
    /// let mut line = String::new();
    /// record.write_table(&mut line);
    /// assert!(line.contains("cut at 1.0 s (height 3;") && line.contains("healed at 4.5 s by height (height 8;"));
    /// ```
    pub fn write_table(&self, out: &mut String) {
        use std::fmt::Write as _;
        let moment = |m: &Option<PartitionMoment>, what: &str, by: Option<&str>| match m {
            Some(m) => format!(
                "{what} at {:.1} s{} (height {}; side A at {}, side B at {})",
                m.at_s,
                by.map(|by| format!(" by {by}")).unwrap_or_default(),
                m.highest,
                m.side_a_height,
                m.side_b_height
            ),
            None => format!("not {what}"),
        };
        let _ = writeln!(
            out,
            "partition {}: sides {:?} | {:?}, bridging {:?}; {}; {}",
            self.plan,
            self.side_a,
            self.side_b,
            self.bridging,
            moment(&self.cut, "cut", None),
            moment(&self.healed, "healed", self.healed_by)
        );
    }
}
