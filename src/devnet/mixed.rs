//! `--transport mixed`: the validators spread round-robin over the real transports this build links
//! in, each *listening* on its own and able to *dial* all of them (a node with several transports
//! dials each address with the one of its scheme), so one devnet makes every pair of transports
//! carry consensus traffic. Pure: which transports are linked, and who listens on which.

use super::config::TransportKind;
use super::error::DevnetError;

/// The real (socket) transports this build links in, in the order [`TransportKind::Mixed`] spreads
/// the validators over them: tcp-noise always, then QUIC and WebSocket when their features are on.
///
/// ```
/// use quorumnet::devnet::mixed::LINKED;
/// use quorumnet::devnet::TransportKind;
///
/// assert_eq!(LINKED[0], TransportKind::TcpNoise);
/// assert!(!LINKED.contains(&TransportKind::Memory) && !LINKED.contains(&TransportKind::Mixed));
/// ```
pub const LINKED: &[TransportKind] = &[
    TransportKind::TcpNoise,
    #[cfg(feature = "quic")]
    TransportKind::Quic,
    #[cfg(feature = "websocket")]
    TransportKind::Websocket,
];

/// The transport validator `index` listens on in a devnet on `kind`: round-robin over [`LINKED`] for
/// [`TransportKind::Mixed`], `kind` itself for every other.
///
/// ```
/// use quorumnet::devnet::mixed::{listening_transport, LINKED};
/// use quorumnet::devnet::TransportKind;
///
/// assert_eq!(listening_transport(TransportKind::TcpNoise, 5), TransportKind::TcpNoise);
/// assert_eq!(listening_transport(TransportKind::Mixed, LINKED.len()), LINKED[0]);
/// ```
pub fn listening_transport(kind: TransportKind, index: usize) -> TransportKind {
    match kind {
        TransportKind::Mixed => spread(LINKED, index),
        other => other,
    }
}

/// Refuses a devnet on [`TransportKind::Mixed`] in a build linking fewer than two real transports (a
/// mix of one is not a mix); every other transport passes.
///
/// # Errors
/// [`DevnetError::InvalidOptions`] naming the features to build with.
pub fn check(kind: TransportKind) -> Result<(), DevnetError> {
    match kind {
        TransportKind::Mixed => check_mix(LINKED),
        _ => Ok(()),
    }
}

/// Validator `index`'s transport among `linked` (not empty), round-robin.
fn spread(linked: &[TransportKind], index: usize) -> TransportKind {
    linked[index % linked.len()]
}

/// Fails unless `linked` holds at least two transports to mix.
fn check_mix(linked: &[TransportKind]) -> Result<(), DevnetError> {
    if linked.len() >= 2 {
        return Ok(());
    }
    let names: Vec<&str> = linked.iter().map(|kind| kind.name()).collect();
    Err(DevnetError::InvalidOptions(format!(
        "--transport mixed needs at least two real transports, but this build links only {}: build with `--features quic`, `--features websocket` or both (`cargo run --features quic,websocket -- devnet --transport mixed`), or pick one transport",
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_are_spread_round_robin_over_the_linked_transports() {
        let linked = [TransportKind::TcpNoise, TransportKind::Memory, TransportKind::Mixed];
        let spread: Vec<TransportKind> = (0..7).map(|index| spread(&linked, index)).collect();
        assert_eq!(spread, [linked[0], linked[1], linked[2], linked[0], linked[1], linked[2], linked[0]]);
    }

    #[test]
    fn a_mixed_devnet_of_as_many_validators_as_transports_uses_each_once() {
        let used: Vec<TransportKind> =
            (0..LINKED.len()).map(|index| listening_transport(TransportKind::Mixed, index)).collect();
        assert_eq!(used, LINKED);
    }

    #[test]
    fn a_single_transport_is_every_validators() {
        for &kind in LINKED.iter().chain(&[TransportKind::Memory]) {
            assert!((0..5).all(|index| listening_transport(kind, index) == kind));
        }
    }

    #[test]
    fn a_mix_of_one_transport_is_refused_naming_the_features_to_build_with() {
        let Err(DevnetError::InvalidOptions(why)) = check_mix(&[TransportKind::TcpNoise]) else {
            panic!("a mix of one transport was accepted");
        };
        assert!(why.contains("only tcp-noise") && why.contains("--features quic"), "{why}");
        assert!(check_mix(&[TransportKind::TcpNoise, TransportKind::TcpNoise]).is_ok());
    }

    #[test]
    fn only_mixed_is_checked_against_this_builds_transports() {
        assert!(check(TransportKind::Memory).is_ok() && check(TransportKind::TcpNoise).is_ok());
        assert_eq!(check(TransportKind::Mixed).is_ok(), LINKED.len() >= 2);
    }
}
