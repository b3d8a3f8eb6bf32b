//! The `mem` handshake: mutual authentication over the simulated link itself.
//!
//! Both sides run the same three steps, each one frame on the link:
//!
//! 1. **nonce**: 32 fresh random bytes.
//! 2. **auth**: CBOR `{"v": 1, "pk": bstr, "sig": bstr}` where
//!    `sig = Sign(sk, "quorumnet/1/mem-auth" || chain id (32) || role || dialer nonce || listener nonce)`
//!    and `role` is 0 for the dialer's proof, 1 for the listener's. The peer verifies `sig` with `pk`
//!    over the transcript *it* computes (its own chain id, both nonces it saw), so a proof made for
//!    another link, chain or role does not verify; the proven id is BLAKE3(`pk`).
//! 3. **confirm**: the two bytes `ok`, sent once this side has admitted the peer (and, for the
//!    dialer, found the identity it expected). A side that refuses closes the link instead, so neither
//!    side yields a connection unless both accepted.
//!
//! A handshake frame above [`MAX_HANDSHAKE_MESSAGE`] bytes, a malformed message or an early close ends
//! the handshake with a [`HandshakeFailure`]; nothing a peer sends can panic it.

use std::sync::Arc;

use bytes::Bytes;
use quorumnet_core::codec::{decode, encode};
use quorumnet_core::identity::{ChainId, Keypair, PublicKey, Signature, ValidatorId};
use quorumnet_core::transport::HandshakeFailure;
use serde::{Deserialize, Serialize};

use crate::link::LinkEnd;

/// Domain separation for the signed transcript.
const CONTEXT: &[u8] = b"quorumnet/1/mem-auth";

/// Length of each side's nonce.
pub const NONCE_LEN: usize = 32;

/// The largest handshake frame accepted: an ML-DSA-65 key (1 953 bytes) and signature (3 309 bytes)
/// in CBOR take about 5.3 KiB; anything far larger is garbage.
pub const MAX_HANDSHAKE_MESSAGE: usize = 16 * 1024;

/// The version this implementation speaks.
const VERSION: u64 = 1;

/// The final frame that says "I accept this connection".
pub(crate) const CONFIRM: &[u8] = b"ok";

/// Which side of the handshake signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Dialer = 0,
    Listener = 1,
}

impl Role {
    fn peer(self) -> Role {
        match self {
            Role::Dialer => Role::Listener,
            Role::Listener => Role::Dialer,
        }
    }
}

/// Step 2's message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthMessage {
    v: u64,
    pk: PublicKey,
    sig: Signature,
}

/// The bytes a side with `role` signs.
fn transcript(chain: &ChainId, role: Role, dialer_nonce: &[u8], listener_nonce: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(CONTEXT.len() + 32 + 1 + 2 * NONCE_LEN);
    t.extend_from_slice(CONTEXT);
    t.extend_from_slice(chain.as_bytes());
    t.push(role as u8);
    t.extend_from_slice(dialer_nonce);
    t.extend_from_slice(listener_nonce);
    t
}

/// How this side proves an identity. Only [`Prover::Honest`] is used outside `crate::testing`.
#[derive(Clone)]
pub(crate) enum Prover {
    /// Signs with our own key.
    Honest(Arc<Keypair>),
    /// An impostor: presents `claimed` but signs with `key`.
    Claiming { key: Arc<Keypair>, claimed: PublicKey },
    /// An impostor: replays a proof captured from another link.
    Replaying(AuthMessage),
}

impl Prover {
    fn auth(&self, chain: &ChainId, role: Role, dialer_nonce: &[u8], listener_nonce: &[u8]) -> AuthMessage {
        match self {
            Prover::Honest(key) => sign_auth(key, key.public_key().clone(), chain, role, dialer_nonce, listener_nonce),
            Prover::Claiming { key, claimed } => {
                sign_auth(key, claimed.clone(), chain, role, dialer_nonce, listener_nonce)
            }
            Prover::Replaying(captured) => captured.clone(),
        }
    }
}

/// An auth message presenting `pk`, signed by `key`.
pub(crate) fn sign_auth(
    key: &Keypair,
    pk: PublicKey,
    chain: &ChainId,
    role: Role,
    dialer_nonce: &[u8],
    listener_nonce: &[u8],
) -> AuthMessage {
    let sig = key.sign(&transcript(chain, role, dialer_nonce, listener_nonce));
    AuthMessage { v: VERSION, pk, sig }
}

/// Runs the handshake as `role` and returns the peer's proven id once `judge` admitted it and the
/// peer confirmed. On `Err` the caller drops `link`, which the peer sees as a close.
pub(crate) async fn run(
    link: &LinkEnd,
    role: Role,
    prover: &Prover,
    chain: &ChainId,
    judge: impl FnOnce(ValidatorId) -> Result<(), HandshakeFailure>,
) -> Result<ValidatorId, HandshakeFailure> {
    let mine: [u8; NONCE_LEN] = rand::random();
    send(link, Bytes::copy_from_slice(&mine)).await?;
    let theirs = recv(link).await?;
    if theirs.len() != NONCE_LEN {
        return Err(HandshakeFailure::Protocol(format!("nonce of {} bytes, expected {NONCE_LEN}", theirs.len())));
    }
    let (dialer_nonce, listener_nonce) = match role {
        Role::Dialer => (&mine[..], &theirs[..]),
        Role::Listener => (&theirs[..], &mine[..]),
    };

    let auth = prover.auth(chain, role, dialer_nonce, listener_nonce);
    send(link, Bytes::from(encode(&auth))).await?;
    let peer: AuthMessage = decode("mem handshake auth message", &recv(link).await?)
        .map_err(|e| HandshakeFailure::Protocol(e.to_string()))?;
    if peer.v != VERSION {
        return Err(HandshakeFailure::Protocol(format!("auth message version {}, this side speaks {VERSION}", peer.v)));
    }
    peer.pk.verify(&transcript(chain, role.peer(), dialer_nonce, listener_nonce), &peer.sig).map_err(|e| {
        HandshakeFailure::BadIdentityProof(format!("{e} (wrong key, chain, or a proof replayed from another link)"))
    })?;
    let id = peer.pk.validator_id();
    judge(id)?;

    send(link, Bytes::from_static(CONFIRM)).await?;
    let confirm = recv(link).await?;
    if confirm.as_ref() != CONFIRM {
        return Err(HandshakeFailure::Protocol("expected the confirmation frame".into()));
    }
    Ok(id)
}

async fn send(link: &LinkEnd, frame: Bytes) -> Result<(), HandshakeFailure> {
    link.send(frame).await.map_err(|_| HandshakeFailure::ClosedByPeer)
}

async fn recv(link: &LinkEnd) -> Result<Bytes, HandshakeFailure> {
    match link.recv().await {
        Ok(Some(frame)) if frame.len() <= MAX_HANDSHAKE_MESSAGE => Ok(frame),
        Ok(Some(frame)) => Err(HandshakeFailure::Protocol(format!(
            "handshake frame of {} bytes exceeds {MAX_HANDSHAKE_MESSAGE}",
            frame.len()
        ))),
        Ok(None) | Err(_) => Err(HandshakeFailure::ClosedByPeer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifies(auth: &AuthMessage, chain: &ChainId, role: Role, d: &[u8], l: &[u8]) -> bool {
        auth.pk.verify(&transcript(chain, role, d, l), &auth.sig).is_ok()
    }

    #[test]
    fn a_proof_binds_the_chain_the_role_and_both_nonces() {
        let key = Keypair::from_seed(&[9; 32]);
        let chain = ChainId::from_network_name("a");
        let (d, l) = ([1u8; NONCE_LEN], [2u8; NONCE_LEN]);
        let auth = sign_auth(&key, key.public_key().clone(), &chain, Role::Dialer, &d, &l);
        assert!(verifies(&auth, &chain, Role::Dialer, &d, &l));
        assert!(!verifies(&auth, &ChainId::from_network_name("b"), Role::Dialer, &d, &l), "chain not bound");
        assert!(!verifies(&auth, &chain, Role::Listener, &d, &l), "role not bound");
        assert!(!verifies(&auth, &chain, Role::Dialer, &[3; NONCE_LEN], &l), "dialer nonce not bound");
        assert!(!verifies(&auth, &chain, Role::Dialer, &d, &[3; NONCE_LEN]), "listener nonce not bound");
    }

    #[test]
    fn the_auth_message_is_a_cbor_map_of_v_pk_and_sig_byte_strings() {
        let key = Keypair::from_seed(&[9; 32]);
        let auth = sign_auth(
            &key,
            key.public_key().clone(),
            &ChainId::from_network_name("a"),
            Role::Listener,
            &[0; 32],
            &[0; 32],
        );
        let bytes = encode(&auth);
        // map(3), "v": 1, "pk": bstr(1953) ...
        assert_eq!(bytes[0], 0xa3);
        assert_eq!(&bytes[1..4], &[0x61, b'v', 0x01]);
        assert_eq!(&bytes[4..7], &[0x62, b'p', b'k']);
        assert_eq!(bytes[7], 0x59, "pk is a byte string with a 2-byte length");
        let decoded: AuthMessage = decode("auth", &bytes).unwrap();
        assert_eq!(decoded.pk, *key.public_key());
        assert!(bytes.len() <= MAX_HANDSHAKE_MESSAGE);
    }
}
