//! The route model: how this node reaches a validator now, and how good that path is. Pure: the
//! actor's side ([`super::driver`]) fills a [`LinkObservation`] from its state and asks [`route_for`].
//!
//! # Quality
//! A number in `0..=1` from what the node measured on the path, for an engine (or an operator) to
//! compare routes and notice a degraded one — not an input to dialing, which stays
//! [`choose_address`](super::choose_address)'s round robin:
//! - the round trip: `reference / (reference + srtt)`, so 1 at no delay, 0.5 at
//!   [`RouteQuality::reference_rtt`], falling smoothly beyond it (a relayed path's measured RTT already
//!   includes the relay's hop, so relays need no penalty of their own);
//!   [`RouteQuality::unmeasured`] before any ping was answered;
//! - recent dial failures: each consecutive failure since the last connection multiplies by
//!   [`RouteQuality::failure_decay`].

use std::time::Duration;

use crate::node::liveness::RttEstimate;
use crate::relay::RelayAddress;
use crate::transport::PeerAddress;

/// How a route reaches its validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    /// A connection straight to the validator.
    Direct,
    /// A circuit through the relay listening at this address (the inner address of a `relay://` one).
    Relay(PeerAddress),
}

/// The current way to a validator: see [`crate::node::routing`].
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Direct or through a relay.
    pub via: RouteKind,
    /// The address of the link in use, or the one the next dial goes to; `None` for a validator that
    /// dialed us directly on an address it does not publish.
    pub address: Option<PeerAddress>,
    /// Whether a link is up on this route now (otherwise it is the next dial's).
    pub connected: bool,
    /// How good the path is, `0..=1` (see [`RouteQuality`]).
    pub quality: f64,
}

/// What the node knows of its path to one validator.
#[derive(Debug, Clone, Default)]
pub struct LinkObservation {
    /// The live link's address, if a link is up (`Some(None)`: up, address unknown).
    pub link: Option<Option<PeerAddress>>,
    /// The address the next dial would use, if the validator has one with a transport here.
    pub next_dial: Option<PeerAddress>,
    /// The smoothed round trip from pings, once answered.
    pub rtt: Option<RttEstimate>,
    /// Consecutive failed dials or lost links since the last connection came up.
    pub failures: u32,
}

/// The quality function's parameters. Use a preset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteQuality {
    /// The round trip that halves a route's quality.
    pub reference_rtt: Duration,
    /// The quality of the round trip before any ping was answered.
    pub unmeasured: f64,
    /// What each consecutive dial failure multiplies the quality by, `0..=1`.
    pub failure_decay: f64,
}

impl RouteQuality {
    /// 100 ms halves the quality (a cross-continent round trip: a LAN or a nearby relay scores above
    /// 0.9, a far relay path about 0.3); an unmeasured path counts as that reference (0.5), neither
    /// good nor bad; each failure halves it, so three in a row put a route below 0.07.
    pub fn recommended() -> Self {
        RouteQuality { reference_rtt: Duration::from_millis(100), unmeasured: 0.5, failure_decay: 0.5 }
    }

    /// The quality of a path with round trip `rtt` (`None`: unmeasured) after `failures` consecutive
    /// failures, in `0..=1`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quorumnet_core::node::routing::RouteQuality;
    ///
    /// let q = RouteQuality::recommended();
    /// assert_eq!(q.quality(Some(Duration::ZERO), 0), 1.0);
    /// assert_eq!(q.quality(Some(Duration::from_millis(100)), 0), 0.5);
    /// assert_eq!(q.quality(Some(Duration::from_millis(100)), 1), 0.25);
    /// assert_eq!(q.quality(None, 0), 0.5);
    /// ```
    pub fn quality(&self, rtt: Option<Duration>, failures: u32) -> f64 {
        let latency = match rtt {
            Some(rtt) => {
                let reference = self.reference_rtt.as_secs_f64();
                if reference + rtt.as_secs_f64() == 0.0 {
                    1.0
                } else {
                    reference / (reference + rtt.as_secs_f64())
                }
            }
            None => self.unmeasured,
        };
        let decay = self.failure_decay.clamp(0.0, 1.0).powi(i32::try_from(failures).unwrap_or(i32::MAX));
        (latency * decay).clamp(0.0, 1.0)
    }
}

impl Default for RouteQuality {
    fn default() -> Self {
        Self::recommended()
    }
}

/// How `address` reaches its validator: through the relay a `relay://` address names, else directly.
pub fn kind_of(address: Option<&PeerAddress>) -> RouteKind {
    match address.map(RelayAddress::parse) {
        Some(Ok(relayed)) => RouteKind::Relay(relayed.relay),
        _ => RouteKind::Direct,
    }
}

/// The route `observed` describes: the live link's if one is up, else the next dial's; `None` with
/// neither (no link and no address with a transport here).
///
/// ```
/// use quorumnet_core::node::routing::{route_for, LinkObservation, RouteKind, RouteQuality};
///
/// let relayed = format!("relay://mem://r1/{}", "ab".repeat(32)).parse().unwrap();
/// let observed = LinkObservation { next_dial: Some(relayed), failures: 1, ..Default::default() };
/// let route = route_for(&observed, &RouteQuality::recommended()).unwrap();
/// assert_eq!(route.via, RouteKind::Relay("mem://r1".parse().unwrap()));
/// assert!(!route.connected && route.quality == 0.25);
/// assert!(route_for(&LinkObservation::default(), &RouteQuality::recommended()).is_none());
/// ```
pub fn route_for(observed: &LinkObservation, quality: &RouteQuality) -> Option<Route> {
    let (address, connected) = match &observed.link {
        Some(address) => (address.clone(), true),
        None => (Some(observed.next_dial.clone()?), false),
    };
    // A live link has just succeeded: its failure count is zero by definition (the actor resets it).
    let failures = if connected { 0 } else { observed.failures };
    Some(Route {
        via: kind_of(address.as_ref()),
        quality: quality.quality(observed.rtt.map(|rtt| rtt.srtt), failures),
        address,
        connected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Option<Duration> {
        Some(Duration::from_millis(ms))
    }

    #[test]
    fn quality_falls_as_the_round_trip_grows() {
        let q = RouteQuality::recommended();
        let qualities: Vec<f64> = [0, 1, 10, 50, 100, 300, 1000, 10_000].iter().map(|m| q.quality(ms(*m), 0)).collect();
        assert!(qualities.windows(2).all(|w| w[0] > w[1]), "{qualities:?}");
        assert!(qualities.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(qualities[2] > 0.9, "a LAN path is near 1: {}", qualities[2]);
        assert!((qualities[4] - 0.5).abs() < 1e-12, "the reference RTT halves it");
    }

    #[test]
    fn each_consecutive_failure_multiplies_quality_by_the_decay() {
        let q = RouteQuality::recommended();
        for failures in 0..5 {
            let expected = 0.5 * 0.5f64.powi(failures as i32);
            assert!((q.quality(ms(100), failures) - expected).abs() < 1e-12, "{failures} failures");
        }
        assert_eq!(q.quality(ms(0), u32::MAX), 0.0, "no overflow, and a dead route scores 0");
    }

    #[test]
    fn quality_stays_in_range_for_odd_parameters() {
        let odd = RouteQuality { reference_rtt: Duration::ZERO, unmeasured: 2.0, failure_decay: 1.5 };
        assert_eq!(odd.quality(ms(0), 0), 1.0);
        assert_eq!(odd.quality(ms(10), 0), 0.0);
        assert_eq!(odd.quality(None, 3), 1.0, "clamped to 1");
    }

    #[test]
    fn a_live_link_is_the_route_and_ignores_past_failures() {
        let relayed: PeerAddress = format!("relay://mem://r1/{}", "cd".repeat(32)).parse().unwrap();
        let direct: PeerAddress = "mem://v2".parse().unwrap();
        let rtt = RttEstimate {
            srtt: Duration::from_millis(20),
            rttvar: Duration::ZERO,
            latest: Duration::ZERO,
            min: Duration::ZERO,
            samples: 3,
        };
        let observed =
            LinkObservation { link: Some(Some(relayed.clone())), next_dial: Some(direct), rtt: Some(rtt), failures: 4 };
        let route = route_for(&observed, &RouteQuality::recommended()).unwrap();
        assert_eq!(route.via, RouteKind::Relay("mem://r1".parse().unwrap()));
        assert_eq!(route.address, Some(relayed));
        assert!(route.connected);
        assert!((route.quality - 100.0 / 120.0).abs() < 1e-12);
        let inbound = LinkObservation { link: Some(None), ..Default::default() };
        assert_eq!(route_for(&inbound, &RouteQuality::recommended()).unwrap().via, RouteKind::Direct);
    }
}
