//! RTT from ping/pong and clock skew from heartbeats, simulated in virtual time with fixed seeds.

mod common;

use std::time::Duration;

use common::validator;
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::node::liveness::{LivenessConfig, RttEstimator, SkewEstimator};
use quorumnet_core::node::{Clock, VirtualClock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::{advance, Instant};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// One ping/pong over a link whose round trip is `rtt`, split at random between the two directions;
/// returns the sample the estimator took.
async fn ping_pong(estimator: &mut RttEstimator, rtt: Duration, rng: &mut StdRng) -> Option<Duration> {
    let peer = validator(1);
    let nonce = estimator.ping(peer, Instant::now()).expect("below the outstanding bound");
    let out = rtt.mul_f64(rng.gen_range(0.0..=1.0));
    advance(out).await;
    advance(rtt - out).await;
    estimator.on_pong(peer, nonce, Instant::now())
}

#[tokio::test(start_paused = true)]
async fn rtt_converges_within_ten_percent_of_a_constant_round_trip_after_a_slow_first_sample() {
    let mut estimator = RttEstimator::new(&LivenessConfig::test(), 1);
    let mut rng = StdRng::seed_from_u64(11);
    let rtt = ms(80);
    // A first probe delayed by a slow start: 500 ms.
    ping_pong(&mut estimator, ms(500), &mut rng).await;
    for _ in 0..30 {
        ping_pong(&mut estimator, rtt, &mut rng).await;
    }
    let estimate = estimator.estimate(&validator(1)).unwrap();
    assert!(estimate.srtt.abs_diff(rtt) <= rtt / 10, "srtt {:?}", estimate.srtt);
    assert_eq!(estimate.samples, 31);
    assert!(estimate.timeout() >= estimate.srtt);
}

#[tokio::test(start_paused = true)]
async fn rtt_of_a_noisy_link_converges_within_ten_percent_of_its_mean() {
    let mut estimator = RttEstimator::new(&LivenessConfig::test(), 1);
    let mut rng = StdRng::seed_from_u64(12);
    let mean = ms(100);
    for _ in 0..200 {
        let sample = mean.mul_f64(rng.gen_range(0.8..=1.2));
        ping_pong(&mut estimator, sample, &mut rng).await;
    }
    let estimate = estimator.estimate(&validator(1)).unwrap();
    assert!(estimate.srtt.abs_diff(mean) <= mean / 10, "srtt {:?}", estimate.srtt);
    assert!(estimate.rttvar <= mean / 5, "rttvar {:?}", estimate.rttvar);
}

#[tokio::test(start_paused = true)]
async fn pongs_are_matched_per_peer_and_unknown_repeated_or_stale_ones_are_ignored() {
    let config = LivenessConfig::test();
    let mut estimator = RttEstimator::new(&config, 1);
    let (a, b) = (validator(1), validator(2));
    let start = Instant::now();
    let nonce = estimator.ping(a, start).unwrap();
    assert_eq!(estimator.on_pong(b, nonce, start + ms(5)), None, "b cannot answer a's ping");
    assert_eq!(estimator.on_pong(a, nonce + 100, start + ms(5)), None, "unknown nonce");
    assert_eq!(estimator.on_pong(a, nonce, start + ms(5)), Some(ms(5)));
    assert_eq!(estimator.on_pong(a, nonce, start + ms(6)), None, "already answered");

    let late = estimator.ping(a, start).unwrap();
    assert_eq!(estimator.on_pong(a, late, start + config.ping_timeout + ms(1)), None, "stale");
    assert_eq!(estimator.estimate(&a).unwrap().samples, 1);
    assert_eq!(estimator.ignored_pongs(), 4);
    assert!(estimator.estimate(&b).is_none());
}

#[tokio::test(start_paused = true)]
async fn outstanding_pings_are_bounded_per_peer_until_answered_or_stale() {
    let config = LivenessConfig::test();
    let mut estimator = RttEstimator::new(&config, 1);
    let (a, b) = (validator(1), validator(2));
    let start = Instant::now();
    let nonces: Vec<u64> = (0..config.max_outstanding_pings).map(|_| estimator.ping(a, start).unwrap()).collect();
    assert_eq!(estimator.ping(a, start), None);
    assert!(estimator.ping(b, start).is_some(), "the bound is per peer");
    estimator.on_pong(a, nonces[0], start + ms(10));
    assert!(estimator.ping(a, start + ms(10)).is_some(), "an answer frees a slot");
    assert_eq!(estimator.ping(a, start + ms(10)), None);
    assert!(estimator.ping(a, start + config.ping_timeout + ms(11)).is_some(), "stale pings are forgotten");
    estimator.forget(&a);
    assert_eq!(estimator.outstanding(&a), 0);
    assert!(estimator.estimate(&a).is_none());
}

#[tokio::test(start_paused = true)]
async fn skew_estimate_is_within_half_the_rtt_of_an_injected_250_ms_offset() {
    const OFFSET_MICROS: u64 = 250_000;
    let config = LivenessConfig::test();
    let rtt = ms(100);
    let base = 1_795_651_200_000_000;
    let (ours, theirs) = (VirtualClock::new(base), VirtualClock::new(base + OFFSET_MICROS));
    let (mut estimator, mut skew) = (RttEstimator::new(&config, 1), SkewEstimator::new(config.skew_window));
    let mut rng = StdRng::seed_from_u64(13);
    let peer = validator(1);

    for _ in 0..20 {
        ping_pong(&mut estimator, rtt, &mut rng).await;
        // A heartbeat, delayed anywhere within the round trip (asymmetric links, queueing).
        let sent_at = theirs.wall_micros();
        advance(rtt.mul_f64(rng.gen_range(0.0..=1.0))).await;
        let srtt = estimator.estimate(&peer).unwrap().srtt;
        skew.on_heartbeat(peer, sent_at, ours.wall_micros(), srtt);
        advance(config.heartbeat_interval).await;
    }
    let estimate = skew.estimate(&peer).unwrap();
    let error = estimate.offset_micros.abs_diff(OFFSET_MICROS as i64);
    assert!(error <= rtt.as_micros() as u64 / 2, "estimated {} µs", estimate.offset_micros);
    assert_eq!(estimate.samples, config.skew_window);
}

#[test]
fn skew_median_ignores_a_minority_of_outliers_and_the_window_is_bounded() {
    let peer = validator(1);
    let mut skew = SkewEstimator::new(5);
    // One heartbeat a second, each a sample once the next arrives: six samples for a window of five.
    for (i, their) in [1_000, 1_010, 900_000, 990, 1_005, 1_020, 1_001i64].into_iter().enumerate() {
        let ours = 10_000_000 + 1_000_000 * i as u64;
        skew.on_heartbeat(peer, ours.saturating_add_signed(their), ours, Duration::ZERO);
    }
    let estimate = skew.estimate(&peer).unwrap();
    assert_eq!(estimate.samples, 5, "the first sample left the window");
    assert_eq!(estimate.offset_micros, 1_010);
    // A clock behind ours is a negative offset.
    let behind = validator(2);
    skew.on_heartbeat(behind, 9_000_000, 10_000_000, ms(2));
    skew.on_heartbeat(behind, 10_000_000, 11_000_000, ms(2));
    assert_eq!(skew.estimate(&behind).unwrap().offset_micros, -999_000);
    skew.forget(&behind);
    assert!(skew.estimate(&behind).is_none());
}

/// Heartbeats from `peer` every 500 ms of its clock (`offset` µs ahead of ours) from `from_ms`, for
/// `count` beats, each arriving `delay(i)` after it was sent; RTT 2 ms.
fn beats(
    skew: &mut SkewEstimator,
    peer: ValidatorId,
    offset: i64,
    from_ms: u64,
    count: u64,
    delay: impl Fn(u64) -> u64,
) {
    for i in 0..count {
        let sent_ours = (from_ms + 500 * i) * 1_000 + 10_000_000;
        let theirs = sent_ours.saturating_add_signed(offset);
        skew.on_heartbeat(peer, theirs, sent_ours + delay(i), ms(2));
    }
}

#[test]
fn heartbeats_a_stalled_link_delivers_in_one_burst_do_not_move_the_skew_estimate() {
    let peer = validator(1);
    let mut skew = SkewEstimator::new(15);
    beats(&mut skew, peer, 0, 0, 15, |_| 1_000);
    // A 4 s stall: the eight heartbeats sent during it all arrive at its end (or are repaired then),
    // then the link is fine.
    beats(&mut skew, peer, 0, 7_500, 8, |i| 4_000_000 - 500_000 * i);
    let estimate = skew.estimate(&peer).unwrap();
    assert!(estimate.offset_micros.abs() <= 2_000, "the burst moved the estimate: {estimate:?}");
    beats(&mut skew, peer, 0, 11_500, 3, |_| 1_000);
    assert!(skew.estimate(&peer).unwrap().offset_micros.abs() <= 2_000);
}

#[test]
fn a_clock_that_really_stepped_back_is_taken_once_it_fills_half_the_window() {
    let peer = validator(1);
    let mut skew = SkewEstimator::new(15);
    beats(&mut skew, peer, 0, 0, 15, |_| 1_000);
    // From 7.5 s its clock reads a second behind, and its heartbeats arrive as they are sent.
    beats(&mut skew, peer, -1_000_000, 7_500, 7, |_| 1_000);
    assert!(skew.estimate(&peer).unwrap().offset_micros.abs() <= 2_000, "a minority of the window");
    beats(&mut skew, peer, -1_000_000, 11_000, 8, |_| 1_000);
    let estimate = skew.estimate(&peer).unwrap();
    assert!((estimate.offset_micros + 1_000_000).abs() <= 2_000, "the step was not taken: {estimate:?}");
}
