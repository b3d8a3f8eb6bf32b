//! The conformance factory for `custom-tcp`: how the suite builds the transport, and the two attackers
//! only this transport's author can write, because they speak its handshake.
//!
//! `quorumnet-conformance`'s own teeth tests include this file too (by path), so the suite's fault
//! injection wraps exactly the factory a third party would write.

use std::sync::Arc;

use async_trait::async_trait;
use custom_transport_example::handshake::{self, AuthMessage, Nonces, Role, NONCE_LEN};
use custom_transport_example::{CustomTcp, SCHEME};
use quorumnet_conformance::{sockets, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{
    Connection, HandshakeFailure, Listener, PeerAddress, Transport, TransportContext, TransportError,
};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// Builds `custom-tcp` transports on 127.0.0.1.
#[derive(Debug, Default, Clone, Copy)]
pub struct CustomTcpFactory;

#[async_trait]
impl TransportFactory for CustomTcpFactory {
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport> {
        Arc::new(CustomTcp::new(ctx))
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
        sockets::misbehave_over_tcp(addr, how, self.config().handshake_timeout, || {
            rand::random::<[u8; NONCE_LEN]>().to_vec()
        })
        .await
    }
}

/// A dialer holding `ctx.keypair` that runs the handshake with a forged identity proof.
struct Impostor {
    ctx: TransportContext,
    attack: ImpostorAttack,
}

impl Impostor {
    fn forged_proof(&self, nonces: &Nonces) -> AuthMessage {
        let chain = &self.ctx.chain_id;
        match &self.attack {
            ImpostorAttack::ClaimsKey { victim } => AuthMessage {
                v: handshake::VERSION,
                pk: victim.clone(),
                sig: self.ctx.keypair.sign(&handshake::auth_payload(chain, Role::Dialer, nonces)),
            },
            ImpostorAttack::ReplaysProof { victim } => {
                // What the victim proved on another link (other nonces), as an eavesdropper captured it.
                let other_link = Nonces { dialer: rand::random(), listener: rand::random() };
                handshake::prove(victim, chain, Role::Dialer, &other_link)
            }
        }
    }

    /// Runs the dialer's handshake with the forged proof; returns whom the listener proved, if it
    /// went on after seeing the forgery.
    async fn attack(&self, stream: &mut TcpStream) -> Result<ValidatorId, handshake::HandshakeError> {
        let nonces = handshake::exchange_nonces(stream, Role::Dialer).await?;
        handshake::write_auth(stream, &self.forged_proof(&nonces)).await?;
        let listener = handshake::read_auth(stream).await?;
        stream.write_all(&[handshake::ACCEPTED]).await?;
        Ok(listener.pk.validator_id())
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

    /// Always an error: the suite judges the listener, and the impostor keeps no usable connection.
    /// The error says whether the listener went along with the forgery.
    async fn dial(
        &self,
        addr: &PeerAddress,
        _expected: Option<ValidatorId>,
    ) -> Result<Box<dyn Connection>, TransportError> {
        let peer = addr.to_string();
        let mut stream = sockets::connect(addr).await?;
        let limit = self.ctx.config.handshake_timeout;
        let failure = match tokio::time::timeout(limit, self.attack(&mut stream)).await {
            Err(_) => return Err(TransportError::Timeout { what: "impostor handshake", after: limit }),
            Ok(Ok(id)) => HandshakeFailure::Protocol(format!("the listener ({id:?}) answered the forged proof")),
            Ok(Err(handshake::HandshakeError::Failure(failure))) => failure,
            Ok(Err(handshake::HandshakeError::Io(source))) => return Err(TransportError::Io { addr: peer, source }),
        };
        Err(TransportError::Handshake { peer, failure })
    }
}
