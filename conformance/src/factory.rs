//! What a transport's author writes once to run the suite: a [`TransportFactory`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quorumnet_core::identity::{Keypair, PublicKey};
use quorumnet_core::transport::{PeerAddress, Transport, TransportConfig, TransportContext};

/// Builds the transport under test, and the attackers the suite needs, for one test.
///
/// A factory is created afresh for every case (the macro evaluates its expression once per test), so
/// it may hold per-test state such as a simulated network.
#[async_trait]
pub trait TransportFactory: Send + Sync + 'static {
    /// Builds the transport under test for one participant.
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport>;

    /// A fresh address to listen on: port 0 for sockets, a unique name for a simulator.
    fn listen_address(&self) -> PeerAddress;

    /// An address where nothing listens.
    fn dead_address(&self) -> PeerAddress;

    /// A dialer holding `ctx.keypair` (key A) that tries to pass as someone else.
    ///
    /// Its `dial` may return `Ok` or `Err` (an attacker cannot always tell whether it was refused); the
    /// cases judge the listener, which must yield no connection. It must return within the suite's
    /// patience, and it only needs to implement `dial`.
    fn impostor(&self, ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport>;

    /// Opens a raw link to the listener at `addr` and misbehaves as told, then returns.
    ///
    /// For [`Misbehaviour::Garbage`], return once the listener has dealt with the bytes (it closed the
    /// link), or after the configured handshake timeout at the latest. For
    /// [`Misbehaviour::StallMidHandshake`], return as soon as the stall is in place, leaving the link
    /// open (e.g. held by a spawned task) until the listener drops it.
    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour);

    /// The limits every participant's transport is built with. Defaults to [`TransportConfig::test`].
    fn config(&self) -> TransportConfig {
        TransportConfig::test()
    }

    /// How long any one network wait of a case may take before the case fails naming what it waited
    /// for. Defaults to 5 s: generous on loopback or a simulator, short enough to fail fast.
    fn patience(&self) -> Duration {
        Duration::from_secs(5)
    }
}

/// How an impostor tries to pass as a victim.
pub enum ImpostorAttack {
    /// Presents the victim's public key with a proof signed by A's key.
    ClaimsKey {
        /// The key it claims.
        victim: PublicKey,
    },
    /// Replays a proof the victim made for another link. The factory may use the victim's key only
    /// to produce that proof for a different link, as a capture would have.
    ReplaysProof {
        /// The victim, whose key made the captured proof.
        victim: Arc<Keypair>,
    },
}

/// How a raw link misbehaves towards a listener.
pub enum Misbehaviour {
    /// Sends these bytes instead of a handshake, then stops sending.
    Garbage(Vec<u8>),
    /// Starts a handshake as an honest dialer would, then sends nothing more and keeps the link open.
    StallMidHandshake,
}
