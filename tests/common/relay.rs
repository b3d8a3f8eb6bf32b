//! Validators behind NAT on the simulator: relays with keys of the [`Sim`], and a set in which one
//! validator has no listener and is listed only at its `relay://` addresses. Shared by the relay node
//! tests and the node bench's `relay/` rows.

use std::sync::Arc;

use quorumnet::devnet::cluster::{self, set_listing, WALL_BASE_MICROS};
use quorumnet::identity::{Keypair, ValidatorId};
use quorumnet::message::Height;
use quorumnet::relay::{RelayConfig, RelayServer};
use quorumnet::transport::{PeerAddress, TransportConfig};
use quorumnet::validator::ListValidatorSetSource;

use super::Sim;

/// A relay with `sim`'s key `relay`, for validators `0..n`, listening on the simulator at
/// [`cluster::relay_memory_address`]`(relay)`.
pub async fn start_relay(sim: &Sim, relay: usize, n: usize) -> RelayServer {
    let listen = cluster::relay_memory_address(relay);
    let (key, admitted) = (sim.keys[relay].clone(), sim.ids[..n].iter().copied());
    cluster::start_memory_relay(
        &sim.network,
        key,
        super::chain(),
        admitted,
        &listen,
        TransportConfig::test(),
        RelayConfig::test(),
    )
    .await
    .expect("the relay listens")
}

/// Validator `validator`'s address behind relay `relay`.
pub fn relayed_address(sim: &Sim, relay: usize, validator: usize) -> PeerAddress {
    cluster::relayed_address(&cluster::relay_memory_address(relay), sim.ids[validator])
}

/// Starts validators `0..n` on the simulator, every one able to dial through `relays` (key indices of
/// `sim`, started with [`start_relay`]), and validator `nat` behind them only: no listener and no
/// transport but `relay`, listed at its `relay://` addresses in `relays`' order.
pub async fn start_with_nat_bound(sim: &mut Sim, n: usize, nat: usize, relays: &[usize]) {
    let nat_addresses: Vec<PeerAddress> = relays.iter().map(|r| relayed_address(sim, *r, nat)).collect();
    let keys: Vec<(usize, &Arc<Keypair>)> = (0..n).map(|i| (i, &sim.keys[i])).collect();
    let set = set_listing(&keys, |i| if i == nat { nat_addresses.clone() } else { vec![cluster::memory_address(i)] });
    let source = Arc::new(ListValidatorSetSource::new(set, Height(0), 4));
    let relay_ids: Vec<ValidatorId> = relays.iter().map(|r| sim.ids[*r]).collect();
    // The NAT-bound validator first: its `listen` holds its reservations before anyone dials it.
    for i in std::iter::once(nat).chain((0..n).filter(|i| *i != nat)) {
        let (network, relay_ids, nat_addresses) = (sim.network.clone(), relay_ids.clone(), nat_addresses.clone());
        sim.spawn_with(i, source.clone(), sim.config.clone(), move |builder| {
            if i == nat {
                // No listening socket and no transport to dial anyone directly: only circuits reach it.
                cluster::behind_relays(builder, &relay_ids, &network, &nat_addresses, WALL_BASE_MICROS)
            } else {
                cluster::on_memory(cluster::with_relays(builder, &relay_ids, &network), &network, i, WALL_BASE_MICROS)
            }
        })
        .await;
    }
}
