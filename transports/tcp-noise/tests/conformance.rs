//! tcp-noise passes the shared conformance suite: one line, one test per case, on loopback.
//!
//! The factory plays the two attackers only this transport's author can write, on the real Noise
//! handshake ([`NoiseHandshake`]) with a forged identity payload in message 3, and the raw-socket
//! misbehaviours (garbage, a stall after an honest message 1).

use std::sync::Arc;

use async_trait::async_trait;
use quorumnet_conformance::{sockets, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::secure::wire::noise_len_prefix;
use quorumnet_core::secure::{
    run_handshake, static_key_signing_bytes, ChannelOptions, IdentityPayload, NoiseHandshake, NoiseKeys, Role,
    SecureConnection, IDENTITY_PAYLOAD_VERSION,
};
use quorumnet_core::transport::{
    Admission, Connection, Listener, PeerAddress, Transport, TransportContext, TransportError,
};
use quorumnet_tcp_noise::{TcpNoiseTransport, SCHEME};

/// Builds `tcp-noise` transports on 127.0.0.1.
#[derive(Debug, Default, Clone, Copy)]
struct TcpNoiseFactory;

impl TcpNoiseFactory {
    fn new() -> Self {
        TcpNoiseFactory
    }
}

/// An honest initiator's message 1 (`e`, empty payload) with its u16 prefix.
fn honest_message_1() -> Vec<u8> {
    let identity = Arc::new(Keypair::from_seed(&[0x5a; 32]));
    let chain = ChainId::from_network_name("conformance-stall");
    let mut handshake =
        NoiseHandshake::with_keys(Role::Initiator, &identity, chain, Admission::open(), None, &NoiseKeys::generate());
    let message = handshake.write_message().expect("message 1 is the initiator's to write");
    [&noise_len_prefix(message.len())[..], &message].concat()
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
        sockets::misbehave_over_tcp(addr, how, self.config().handshake_timeout, honest_message_1).await
    }
}

/// A dialer holding `ctx.keypair` that runs the real Noise handshake but sends a forged identity
/// payload in message 3.
struct Impostor {
    ctx: TransportContext,
    attack: ImpostorAttack,
}

impl Impostor {
    /// The identity payload message 3 carries for a handshake whose Noise static key is `keys`'.
    fn forged_payload(&self, keys: &NoiseKeys) -> IdentityPayload {
        let chain = &self.ctx.chain_id;
        match &self.attack {
            // The victim's key, with a signature made by the impostor's own key over its real static key.
            ImpostorAttack::ClaimsKey { victim } => IdentityPayload {
                v: IDENTITY_PAYLOAD_VERSION,
                pk: victim.encoded().to_vec(),
                sig: self.ctx.keypair.sign(&static_key_signing_bytes(chain, &keys.static_public())),
            },
            // The victim's genuine proof for another connection's static key, as a capture would hold it.
            ImpostorAttack::ReplaysProof { victim } => {
                IdentityPayload::sign(victim, chain, &NoiseKeys::generate().static_public())
            }
        }
    }
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
        handshake.replace_local_payload_for_testing(self.forged_payload(&keys).encode());
        let established = run_handshake(&mut stream, handshake, self.ctx.config.handshake_timeout, &peer).await?;
        let options = ChannelOptions::new(self.ctx.config.max_frame_len);
        Ok(Box::new(SecureConnection::spawn(established, stream, options)))
    }
}

quorumnet_conformance::conformance_tests!(TcpNoiseFactory::new());
