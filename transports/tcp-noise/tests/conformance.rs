//! tcp-noise passes the shared conformance suite: one line, one test per case, on loopback.
//!
//! The factory plays the two attackers only this transport's author can write, on the real Noise
//! handshake ([`NoiseHandshake`]) with a forged identity payload in message 3, and the raw-socket
//! misbehaviours (garbage, a stall after an honest message 1).

use std::sync::Arc;

use async_trait::async_trait;
use quorumnet_conformance::{noise, sockets, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::secure::{run_handshake, ChannelOptions, NoiseHandshake, NoiseKeys, Role, SecureConnection};
use quorumnet_core::transport::{Connection, Listener, PeerAddress, Transport, TransportContext, TransportError};
use quorumnet_tcp_noise::{TcpNoiseTransport, SCHEME};

/// Builds `tcp-noise` transports on 127.0.0.1.
#[derive(Debug, Default, Clone, Copy)]
struct TcpNoiseFactory;

impl TcpNoiseFactory {
    fn new() -> Self {
        TcpNoiseFactory
    }
}

#[async_trait]
impl TransportFactory for TcpNoiseFactory {
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport> {
        Arc::new(TcpNoiseTransport::new(ctx))
    }

    fn listen_address(&self) -> PeerAddress {
        sockets::loopback_listen_address(SCHEME)
    }

    fn dead_address(&self) -> PeerAddress {
        sockets::dead_loopback_address(SCHEME)
    }

    fn impostor(&self, ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport> {
        Arc::new(Impostor { ctx, attack })
    }

    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
        sockets::misbehave_over_tcp(addr, how, self.config().handshake_timeout, noise::honest_message_1).await
    }
}

/// A dialer holding `ctx.keypair` that runs the real Noise handshake but sends a forged identity
/// payload in message 3.
struct Impostor {
    ctx: TransportContext,
    attack: ImpostorAttack,
}

#[async_trait]
impl Transport for Impostor {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
        Err(TransportError::InvalidAddress { addr: addr.to_string(), reason: "an impostor only dials".into() })
    }

    /// The impostor's side of XX finishes after message 3, so this usually returns `Ok`: the listener,
    /// which judges message 3, is what the suite checks.
    async fn dial(
        &self,
        addr: &PeerAddress,
        expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let peer = addr.to_string();
        let mut stream = sockets::connect(addr).await?;
        let keys = NoiseKeys::generate();
        let mut handshake = NoiseHandshake::with_keys(
            Role::Initiator,
            &self.ctx.keypair,
            self.ctx.chain_id,
            self.ctx.admission.clone(),
            expected,
            &keys,
        );
        let forged = noise::forged_payload(&self.attack, &self.ctx.keypair, &self.ctx.chain_id, &keys);
        handshake.replace_local_payload_for_testing(forged.encode());
        let established = run_handshake(&mut stream, handshake, self.ctx.config.handshake_timeout, &peer).await?;
        let options = ChannelOptions::new(self.ctx.config.max_frame_len);
        Ok(Box::new(SecureConnection::spawn(established, stream, options)))
    }
}

quorumnet_conformance::conformance_tests!(TcpNoiseFactory::new());
