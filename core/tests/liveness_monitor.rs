//! The liveness monitor: heartbeat timeouts, responsive again, engine-reported timeouts, the "more
//! than 1/3 timed out" stall signal and partition detection with debounce — all by voting power.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::validators::{ids, set_with_powers};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::message::{Height, Round};
use quorumnet_core::node::liveness::{
    HeartbeatSchedule, LivenessConfig, LivenessEvent, LivenessMonitor, ValidatorTimeout,
};
use tokio::time::Instant;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A monitor for validator 0 of a set with these powers, started at `start`; the ids in power order.
fn monitor(powers: &[u64], start: Instant) -> (LivenessMonitor, Vec<ValidatorId>) {
    let (keys, set) = set_with_powers(powers);
    let ids = ids(&keys);
    (LivenessMonitor::new(ids[0], set, &LivenessConfig::test(), start), ids)
}

fn round_timeout() -> ValidatorTimeout {
    ValidatorTimeout::RoundTimeout { height: Height(3), round: Round(1) }
}

fn timed_out(validator: ValidatorId, reason: ValidatorTimeout) -> LivenessEvent {
    LivenessEvent::TimedOut { validator, reason }
}

/// Unequal powers, total 100: one third is 33⅓, two thirds 66⅔.
const POWERS: [u64; 5] = [40, 20, 13, 1, 26];

#[tokio::test(start_paused = true)]
async fn silent_validator_times_out_after_the_configured_timeout_and_not_before() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&[1, 1, 1, 1], start);
    let timeout = LivenessConfig::test().liveness_timeout;
    for id in &ids[1..] {
        monitor.on_heartbeat(*id, start);
    }
    monitor.on_heartbeat(ids[1], start + ms(100));
    assert_eq!(monitor.next_wakeup(), Some(start + timeout));

    assert!(monitor.tick(start + timeout - ms(1)).is_empty());
    let events = monitor.tick(start + timeout);
    let silent = ValidatorTimeout::NoHeartbeat { silent_for: timeout };
    assert_eq!(events[..2], [timed_out(ids[2], silent), timed_out(ids[3], silent)]);
    assert!(monitor.is_validator_alive(&ids[1], start + timeout));
    assert!(!monitor.is_validator_alive(&ids[2], start + timeout));
    assert_eq!(monitor.last_heartbeat_age(&ids[1], start + timeout), Some(timeout - ms(100)));
    assert_eq!(monitor.timed_out_validators(), vec![(ids[2], silent), (ids[3], silent)]);
}

#[tokio::test(start_paused = true)]
async fn a_validator_never_heard_times_out_one_timeout_after_it_was_first_watched() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&[1, 1], start);
    let timeout = LivenessConfig::test().liveness_timeout;
    assert!(monitor.is_validator_alive(&ids[1], start), "alive during its grace period");
    assert_eq!(monitor.last_heartbeat_age(&ids[1], start), None);
    assert!(monitor.tick(start + timeout - ms(1)).is_empty());
    assert_eq!(
        monitor.tick(start + timeout)[0],
        timed_out(ids[1], ValidatorTimeout::NoHeartbeat { silent_for: timeout })
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeat_after_a_timeout_reports_responsive_again() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&[1, 1, 1, 1], start);
    let timeout = LivenessConfig::test().liveness_timeout;
    monitor.tick(start + timeout);
    let events = monitor.on_heartbeat(ids[1], start + timeout + ms(50));
    assert_eq!(events[0], LivenessEvent::ResponsiveAgain { validator: ids[1] });
    assert!(monitor.is_validator_alive(&ids[1], start + timeout + ms(50)));
    assert!(monitor.on_heartbeat(ids[1], start + timeout + ms(60)).is_empty(), "reported once");
}

#[tokio::test(start_paused = true)]
async fn set_liveness_timeout_changes_the_bound() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&[1, 1], start);
    monitor.set_liveness_timeout(ms(1_000));
    assert_eq!(monitor.liveness_timeout(), ms(1_000));
    assert!(monitor.tick(start + ms(999)).is_empty());
    assert_eq!(
        monitor.tick(start + ms(1_000))[0],
        timed_out(ids[1], ValidatorTimeout::NoHeartbeat { silent_for: ms(1_000) })
    );
}

#[tokio::test(start_paused = true)]
async fn lost_connection_times_out_at_once_and_a_relayed_heartbeat_restores_it() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&[1, 1, 1, 1], start);
    let events = monitor.on_connection_lost(ids[1], start);
    assert_eq!(events, vec![timed_out(ids[1], ValidatorTimeout::ConnectionLost)]);
    assert!(monitor.on_connection_lost(ids[1], start).is_empty(), "reported once");
    assert!(!monitor.is_validator_alive(&ids[1], start));
    assert_eq!(
        monitor.on_heartbeat(ids[1], start + ms(10)),
        vec![LivenessEvent::ResponsiveAgain { validator: ids[1] }]
    );
}

#[tokio::test(start_paused = true)]
async fn engine_timeouts_are_cleared_by_mark_responsive_not_by_heartbeats() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&[1, 1, 1, 1], start);
    let no_votes = ValidatorTimeout::NoVotes { height: Height(3), round: Round(0) };
    assert_eq!(monitor.report_timeout(ids[1], no_votes, start), vec![timed_out(ids[1], no_votes)]);
    assert!(monitor.on_heartbeat(ids[1], start + ms(10)).is_empty(), "heard, but still not voting");
    assert_eq!(monitor.timed_out_validators(), vec![(ids[1], no_votes)]);
    assert_eq!(monitor.reachable_power(), 4, "not voting is not unreachable");

    assert_eq!(
        monitor.mark_responsive(ids[1], start + ms(20)),
        vec![LivenessEvent::ResponsiveAgain { validator: ids[1] }]
    );
    assert!(monitor.timed_out_validators().is_empty());
}

#[tokio::test(start_paused = true)]
async fn stall_is_signalled_at_strictly_more_than_a_third_of_the_power() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&POWERS, start);
    // 20 + 13 = 33 of 100: not more than a third.
    monitor.report_timeout(ids[1], round_timeout(), start);
    let events = monitor.report_timeout(ids[2], round_timeout(), start);
    assert_eq!(events, vec![timed_out(ids[2], round_timeout())]);
    assert!(!monitor.is_stalled());
    // + 1 = 34: stalled.
    let events = monitor.report_timeout(ids[3], round_timeout(), start);
    assert_eq!(events[1], LivenessEvent::Stalled { timed_out_power: 34, total_power: 100 });
    assert!(monitor.is_stalled());
    assert!(monitor
        .report_timeout(ids[4], round_timeout(), start)
        .iter()
        .all(|e| !matches!(e, LivenessEvent::Stalled { .. })));
    // Back to 33: cleared.
    monitor.mark_responsive(ids[4], start);
    let events = monitor.mark_responsive(ids[3], start);
    assert_eq!(events, vec![LivenessEvent::ResponsiveAgain { validator: ids[3] }, LivenessEvent::StallCleared]);
}

/// Heartbeats from `ids` at `now`, keeping them reachable.
fn hear(monitor: &mut LivenessMonitor, ids: &[ValidatorId], now: Instant) -> Vec<LivenessEvent> {
    ids.iter().flat_map(|id| monitor.on_heartbeat(*id, now)).collect()
}

fn partition_events(events: &[LivenessEvent]) -> Vec<&LivenessEvent> {
    events
        .iter()
        .filter(|e| matches!(e, LivenessEvent::NetworkPartition { .. } | LivenessEvent::PartitionHealed))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn partition_is_reported_after_the_debounce_and_healed_after_it_again() {
    let start = Instant::now();
    let debounce = LivenessConfig::test().partition_debounce;
    let (mut monitor, ids) = monitor(&POWERS, start);
    // Losing 26 and 1: 73 reachable, still a quorum (67).
    monitor.on_connection_lost(ids[4], start);
    monitor.on_connection_lost(ids[3], start);
    assert!(partition_events(&monitor.tick(start)).is_empty());
    // Losing 20 more: 53 reachable (me 40 + 13), below the quorum.
    monitor.on_connection_lost(ids[1], start);
    assert_eq!(monitor.reachable_power(), 53);
    hear(&mut monitor, &[ids[2]], start + debounce - ms(1));
    assert!(partition_events(&monitor.tick(start + debounce - ms(1))).is_empty(), "debounced");
    assert_eq!(monitor.next_wakeup(), Some(start + debounce));

    // A heartbeat that changes nothing leaves the debounce to the tick at the wakeup it announced.
    assert!(hear(&mut monitor, &[ids[2]], start + debounce).is_empty());
    let events = monitor.tick(start + debounce);
    let side_a: BTreeSet<ValidatorId> = [ids[0], ids[2]].into();
    let side_b: BTreeSet<ValidatorId> = [ids[1], ids[3], ids[4]].into();
    assert_eq!(partition_events(&events), vec![&LivenessEvent::NetworkPartition { side_a, side_b }]);
    assert!(monitor.is_partitioned());

    // The 20 comes back: 73 reachable. Healed only once that held for the debounce.
    let back = start + debounce + ms(50);
    hear(&mut monitor, &[ids[1], ids[2]], back);
    assert!(partition_events(&monitor.tick(back + debounce - ms(1))).is_empty());
    assert_eq!(partition_events(&monitor.tick(back + debounce)), vec![&LivenessEvent::PartitionHealed]);
    assert!(!monitor.is_partitioned());
}

#[tokio::test(start_paused = true)]
async fn a_validator_flapping_across_the_quorum_within_the_debounce_reports_nothing() {
    let start = Instant::now();
    let debounce = LivenessConfig::test().partition_debounce;
    let (mut monitor, ids) = monitor(&POWERS, start);
    monitor.on_connection_lost(ids[4], start);
    let mut events = Vec::new();
    // The 20 drops and returns every 150 ms: below the quorum for less than the 200 ms debounce each time.
    for step in 0..6u64 {
        let now = start + ms(150 * step);
        events.extend(hear(&mut monitor, &[ids[2], ids[3]], now));
        events.extend(if step % 2 == 0 {
            monitor.on_connection_lost(ids[1], now)
        } else {
            hear(&mut monitor, &[ids[1]], now)
        });
        events.extend(monitor.tick(now));
    }
    assert!(partition_events(&events).is_empty(), "{events:?}");
    assert!(debounce > ms(150));
}

#[tokio::test(start_paused = true)]
async fn exactly_two_thirds_reachable_is_a_partition() {
    let start = Instant::now();
    // Total 3: me and one other reachable is exactly 2/3, which cannot form a quorum.
    let (mut monitor, ids) = monitor(&[1, 1, 1], start);
    monitor.on_connection_lost(ids[2], start);
    let debounce = LivenessConfig::test().partition_debounce;
    assert!(partition_events(&monitor.tick(start)).is_empty(), "debounced");
    let events = monitor.tick(start + debounce);
    assert!(matches!(partition_events(&events)[..], [LivenessEvent::NetworkPartition { .. }]), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn validators_heard_by_a_validator_we_hear_are_reachable_and_side_a_follows_the_hears() {
    let start = Instant::now();
    let debounce = LivenessConfig::test().partition_debounce;
    let (mut monitor, ids) = monitor(&POWERS, start);
    // Our direct links to the 20, 1 and 26 are lost; the 13 still hears all of them.
    for lost in [1, 3, 4] {
        monitor.on_connection_lost(ids[lost], start);
    }
    monitor.on_heartbeat_hearing(ids[2], &[ids[0], ids[1], ids[3], ids[4]], start);
    assert_eq!(monitor.reachable_power(), 100, "reached through the 13");
    assert!(partition_events(&monitor.tick(start + debounce)).is_empty());
    assert_eq!(monitor.timed_out_validators().len(), 3, "timeouts stay first-hand");

    // The 13 now hears only the 20: the 1 and the 26 are cut off from both of us.
    let later = start + debounce;
    monitor.on_heartbeat_hearing(ids[2], &[ids[0], ids[1]], later);
    assert_eq!(monitor.reachable_power(), 73, "40 + 13 + 20: a quorum");
    monitor.on_heartbeat_hearing(ids[2], &[ids[0]], later);
    let events = monitor.tick(later + debounce);
    let side_a: BTreeSet<ValidatorId> = [ids[0], ids[2]].into();
    let side_b: BTreeSet<ValidatorId> = [ids[1], ids[3], ids[4]].into();
    assert_eq!(partition_events(&events), vec![&LivenessEvent::NetworkPartition { side_a, side_b }]);
}

#[tokio::test(start_paused = true)]
async fn a_validator_we_no_longer_hear_vouches_for_no_one() {
    let start = Instant::now();
    let (mut monitor, ids) = monitor(&POWERS, start);
    monitor.on_heartbeat_hearing(ids[1], &[ids[3], ids[4]], start);
    assert_eq!(monitor.reachable_power(), 100);
    // Its news is stale once it is unreachable itself.
    for lost in [1, 3, 4] {
        monitor.on_connection_lost(ids[lost], start);
    }
    assert_eq!(monitor.reachable_power(), 53);
}

#[tokio::test(start_paused = true)]
async fn validator_set_change_watches_joiners_and_forgets_leavers() {
    let start = Instant::now();
    let (keys, set) = set_with_powers(&[1, 1, 1]);
    let ids = ids(&keys);
    let mut monitor = LivenessMonitor::new(ids[0], set, &LivenessConfig::test(), start);
    monitor.on_connection_lost(ids[2], start);
    // A new set of the first two validators only: the lost one is forgotten.
    let (_, smaller) = set_with_powers(&[1, 1]);
    monitor.set_validator_set(smaller, start + ms(10));
    assert!(monitor.timed_out_validators().is_empty());
    assert!(!monitor.is_validator_alive(&ids[2], start + ms(10)));
    assert!(monitor.on_heartbeat(ids[2], start + ms(20)).is_empty(), "heartbeats from outside the set are ignored");
}

#[tokio::test(start_paused = true)]
async fn heartbeat_schedule_follows_the_configured_interval_without_bursting() {
    let start = Instant::now();
    let interval = LivenessConfig::test().heartbeat_interval;
    let mut schedule = HeartbeatSchedule::new(interval, start);
    let fired: Vec<u64> = (0..=1_000u64).step_by(10).filter(|t| schedule.poll(start + ms(*t))).collect();
    assert_eq!(fired, (0..=1_000).step_by(100).collect::<Vec<_>>());
    // A 950 ms stall: one heartbeat, then back on the interval from then.
    assert!(schedule.poll(start + ms(1_950)));
    assert!(!schedule.poll(start + ms(2_000)));
    assert_eq!(schedule.next_at(), start + ms(2_050));
    schedule.set_interval(ms(20), start + ms(2_000));
    assert_eq!(schedule.next_at(), start + ms(2_020));
}
