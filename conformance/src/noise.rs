//! Helpers for the factories of transports that run core's Noise channel (tcp-noise, websocket,
//! relay circuits): the identity payload an impostor sends in message 3, and an honest message 1 for
//! a stalled handshake. Only the bytes around them differ from one such transport to the next.
//!
//! ```
//! use std::sync::Arc;
//! use quorumnet_conformance::{noise, ImpostorAttack};
//! use quorumnet_core::identity::{ChainId, Keypair};
//! use quorumnet_core::secure::NoiseKeys;
//!
//! let (impostor, victim) = (Keypair::from_seed(&[1; 32]), Arc::new(Keypair::from_seed(&[2; 32])));
//! let attack = ImpostorAttack::ClaimsKey { victim: victim.public_key().clone() };
//! let chain = ChainId::from_network_name("doc");
//! let forged = noise::forged_payload(&attack, &impostor, &chain, &NoiseKeys::generate());
//! assert_eq!(forged.pk, victim.public_key().encoded());
//! assert!(!noise::honest_message_1().is_empty());
//! ```

use std::sync::Arc;

use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::secure::wire::noise_len_prefix;
use quorumnet_core::secure::{
    static_key_signing_bytes, IdentityPayload, NoiseHandshake, NoiseKeys, Role, IDENTITY_PAYLOAD_VERSION,
};
use quorumnet_core::transport::Admission;

use crate::ImpostorAttack;

/// The identity payload an impostor holding `impostor` sends over a handshake whose Noise static key
/// is `keys`' (pass it to `NoiseHandshake::replace_local_payload_for_testing`, encoded).
pub fn forged_payload(
    attack: &ImpostorAttack,
    impostor: &Keypair,
    chain: &ChainId,
    keys: &NoiseKeys,
) -> IdentityPayload {
    match attack {
        // The victim's key, with a signature made by the impostor's own key over its real static key.
        ImpostorAttack::ClaimsKey { victim } => IdentityPayload {
            v: IDENTITY_PAYLOAD_VERSION,
            pk: victim.encoded().to_vec(),
            sig: impostor.sign(&static_key_signing_bytes(chain, &keys.static_public())),
        },
        // The victim's genuine proof for another connection's static key, as a capture would hold it.
        ImpostorAttack::ReplaysProof { victim } => {
            IdentityPayload::sign(victim, chain, &NoiseKeys::generate().static_public())
        }
    }
}

/// An honest initiator's message 1 (`e`, empty payload) with its u16 prefix: what a dialer that
/// stalls mid-handshake sends first.
pub fn honest_message_1() -> Vec<u8> {
    let identity = Arc::new(Keypair::from_seed(&[0x5a; 32]));
    let chain = ChainId::from_network_name("conformance-stall");
    let mut handshake =
        NoiseHandshake::with_keys(Role::Initiator, &identity, chain, Admission::open(), None, &NoiseKeys::generate());
    let message = handshake.write_message().expect("message 1 is the initiator's to write");
    [&noise_len_prefix(message.len())[..], &message].concat()
}
