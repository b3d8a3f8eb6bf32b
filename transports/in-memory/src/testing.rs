//! Misbehaving peers for tests (the conformance suite and this crate's own): impostors and raw links.
//!
//! Not part of the stable API.

use std::sync::Arc;

use bytes::Bytes;
use quorumnet_core::identity::{Keypair, PublicKey, ValidatorId};
use quorumnet_core::transport::{TransportContext, TransportError};

use crate::handshake::{sign_auth, Prover, Role, NONCE_LEN};
use crate::link::{LinkEnd, LinkError};
use crate::{MemoryNetwork, MemoryTransport};

/// A dialer that holds `ctx.keypair` (key A) but presents `victim` (B's public key) with a signature
/// made by A. Every dial it makes must fail, and no listener may yield its connection.
pub fn impostor_claiming(network: MemoryNetwork, ctx: TransportContext, victim: PublicKey) -> MemoryTransport {
    let prover = Prover::Claiming { key: ctx.keypair.clone(), claimed: victim };
    MemoryTransport::with_prover(network, ctx, prover)
}

/// A dialer that replays B's identity proof captured from another link.
///
/// `victim`'s key is used once, here, to make the proof B would have sent as a dialer on some other
/// link (other nonces) of `ctx.chain_id` — as an eavesdropper would have captured it. The impostor then
/// presents that captured message on every new link. Every dial must fail.
pub fn impostor_replaying(network: MemoryNetwork, ctx: TransportContext, victim: Arc<Keypair>) -> MemoryTransport {
    let (dialer_nonce, listener_nonce): ([u8; NONCE_LEN], [u8; NONCE_LEN]) = (rand::random(), rand::random());
    let captured =
        sign_auth(&victim, victim.public_key().clone(), &ctx.chain_id, Role::Dialer, &dialer_nonce, &listener_nonce);
    MemoryTransport::with_prover(network, ctx, Prover::Replaying(captured))
}

/// A link to a listener with no handshake and no frame checks: send it garbage, half a handshake, or
/// nothing at all. Dropping it closes it.
pub struct RawLink {
    end: LinkEnd,
}

impl MemoryNetwork {
    /// Opens a [`RawLink`] to the listener `name` (without `mem://`). Must be called inside a Tokio
    /// runtime. A raw link has no dialing validator, so no cut or per-pair override names it: it always
    /// gets the default link configuration and is never cut.
    ///
    /// # Errors
    /// [`TransportError::Unreachable`] as for a dial.
    pub fn open_raw(&self, name: &str) -> Result<RawLink, TransportError> {
        Ok(RawLink { end: self.connect(None, name)? })
    }
}

impl RawLink {
    /// Sends any bytes as one frame (even empty or oversize ones); pending while the link is full.
    ///
    /// # Errors
    /// [`TransportError::Closed`] after [`Self::close`], [`TransportError::ConnectionLost`] when the
    /// listener dropped the link.
    pub async fn send(&self, frame: impl Into<Bytes>) -> Result<(), TransportError> {
        self.end.send(frame.into()).await.map_err(|e| self.error(e))
    }

    /// The next frame the listener sent; `Ok(None)` once it closed the link.
    ///
    /// # Errors
    /// [`TransportError::ConnectionLost`] when the link was reset.
    pub async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        self.end.recv().await.map_err(|e| self.error(e))
    }

    /// Closes the sending direction.
    pub fn close(&self) {
        let _ = self.end.close();
    }

    /// The validator listening at the other end.
    pub fn listener(&self) -> ValidatorId {
        self.end.hosts().listener
    }

    fn error(&self, error: LinkError) -> TransportError {
        error.into_transport(self.listener())
    }
}
