//! The Noise XX handshake of WIRE.md §2 as an I/O-free state machine ([`NoiseHandshake`]), and the
//! async driver that runs it over a byte stream with a deadline ([`run_handshake`]).
//!
//! The state machine is public so that a transcript test (fixed keys, [`NoiseKeys`]) and an
//! independent implementation can be checked message by message; transports only call
//! [`run_handshake`].

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::identity_payload::{IdentityPayload, NOISE_STATIC_KEY_LEN};
use super::wire::{self, MAX_NOISE_MESSAGE_LEN};
use crate::identity::{ChainId, Keypair, PublicKey, ValidatorId};
use crate::transport::{Admission, HandshakeFailure, TransportContext, TransportError};

/// The Noise protocol name (WIRE.md §2).
pub const PROTOCOL_NAME: &str = "Noise_XX_25519_AESGCM_SHA256";

/// The prologue starts with this; the 32-byte [`ChainId`] follows.
pub const PROLOGUE_PREFIX: &[u8] = b"quorumnet/1";

/// The prologue of every handshake on `chain`: [`PROLOGUE_PREFIX`] || ChainId. Both sides hash it into
/// the handshake, so peers on different chains fail to authenticate message 2.
pub fn prologue(chain: &ChainId) -> Vec<u8> {
    [PROLOGUE_PREFIX, chain.as_bytes()].concat()
}

fn params() -> snow::params::NoiseParams {
    PROTOCOL_NAME.parse().expect("PROTOCOL_NAME is a valid Noise protocol name")
}

/// Which end of the handshake this is: the dialer initiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends messages 1 and 3; checks the expected identity.
    Initiator,
    /// Sends message 2.
    Responder,
}

/// Curve25519 secrets for one handshake. [`NoiseKeys::generate`] (fresh per connection) is what
/// transports use; fixed keys exist for recorded transcripts and interop tests only.
#[derive(Clone)]
pub struct NoiseKeys {
    /// The Noise static secret key (not the validator identity: the identity payload binds the two).
    pub static_secret: [u8; 32],
    /// A fixed ephemeral secret. **Tests and transcripts only**: reusing an ephemeral key across
    /// handshakes destroys forward secrecy. `None` draws a fresh one.
    pub fixed_ephemeral_secret: Option<[u8; 32]>,
}

impl NoiseKeys {
    /// A fresh static key from the operating system's randomness, fresh ephemerals.
    pub fn generate() -> Self {
        let pair = snow::Builder::new(params()).generate_keypair().expect("the default resolver has 25519 and an RNG");
        let mut static_secret = [0u8; 32];
        static_secret.copy_from_slice(&pair.private);
        NoiseKeys { static_secret, fixed_ephemeral_secret: None }
    }

    /// The Curve25519 public key of [`Self::static_secret`]: what the identity payload signs.
    pub fn static_public(&self) -> [u8; NOISE_STATIC_KEY_LEN] {
        use snow::resolvers::CryptoResolver as _;
        let mut dh = snow::resolvers::DefaultResolver
            .resolve_dh(&snow::params::DHChoice::Curve25519)
            .expect("the default resolver has 25519");
        dh.set(&self.static_secret);
        dh.pubkey().try_into().expect("Curve25519 public keys are 32 bytes")
    }
}

impl std::fmt::Debug for NoiseKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoiseKeys(static public {}, secrets redacted)", hex::encode(self.static_public()))
    }
}

/// What a completed handshake yields: the transport ciphers and the proven peer.
pub struct Established {
    /// The split transport ciphers. Stateless (explicit nonces), so a reader task and a writer task
    /// can share them; each direction's nonce starts at 0 and counts that direction's messages.
    pub transport: snow::StatelessTransportState,
    /// This side's role, which decides the cipher direction.
    pub role: Role,
    /// The remote's validator key, proven by its identity payload.
    pub remote_key: PublicKey,
    /// The Noise handshake hash `h`: identical on both ends of one handshake (for transcripts and
    /// channel binding).
    pub handshake_hash: Vec<u8>,
}

impl Established {
    /// The remote validator.
    pub fn remote(&self) -> ValidatorId {
        self.remote_key.validator_id()
    }
}

impl std::fmt::Debug for Established {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Established").field("role", &self.role).field("remote", &self.remote()).finish()
    }
}

/// One Noise XX handshake, message by message, without I/O.
///
/// Messages here are Noise messages *without* the u16 length prefix that the stream carries
/// ([`run_handshake`] adds and strips it). The sequence is: initiator [`write_message`] (1), responder
/// [`read_message`] (1), responder `write_message` (2), initiator `read_message` (2), initiator
/// `write_message` (3), responder `read_message` (3); then both call [`finish`].
///
/// Reading message 2 (initiator) or 3 (responder) verifies the peer's identity payload against the
/// static key the handshake authenticated, derives its [`ValidatorId`], checks the [`Admission`] handle
/// and, on the initiator, the expected id.
///
/// [`write_message`]: NoiseHandshake::write_message
/// [`read_message`]: NoiseHandshake::read_message
/// [`finish`]: NoiseHandshake::finish
pub struct NoiseHandshake {
    state: snow::HandshakeState,
    role: Role,
    /// Noise messages processed so far (0..=3): the next one is `done + 1`.
    done: u8,
    /// Our encoded identity payload, sent in message 2 or 3.
    local_payload: Vec<u8>,
    chain: ChainId,
    admission: Admission,
    expected: Option<ValidatorId>,
    remote_key: Option<PublicKey>,
    /// The peer's identity payload as decrypted (empty until message 2 or 3 was read).
    remote_payload: Vec<u8>,
}

impl NoiseHandshake {
    /// A handshake with a fresh Noise static key, for `ctx`'s identity, chain and admission handle.
    /// `expected` is only meaningful for the [`Role::Initiator`].
    pub fn new(role: Role, ctx: &TransportContext, expected: Option<ValidatorId>) -> Self {
        Self::with_keys(role, &ctx.keypair, ctx.chain_id, ctx.admission.clone(), expected, &NoiseKeys::generate())
    }

    /// A handshake with given Noise keys: for transcripts and interop tests (see [`NoiseKeys`]).
    pub fn with_keys(
        role: Role,
        identity: &Arc<Keypair>,
        chain: ChainId,
        admission: Admission,
        expected: Option<ValidatorId>,
        keys: &NoiseKeys,
    ) -> Self {
        let prologue = prologue(&chain);
        let mut builder = snow::Builder::new(params())
            .local_private_key(&keys.static_secret)
            .and_then(|b| b.prologue(&prologue))
            .expect("fresh builder: each parameter set once");
        if let Some(ephemeral) = &keys.fixed_ephemeral_secret {
            builder = builder.fixed_ephemeral_key_for_testing_only(ephemeral);
        }
        let state = match role {
            Role::Initiator => builder.build_initiator(),
            Role::Responder => builder.build_responder(),
        }
        .expect("XX with a local static key needs nothing else");
        let local_payload = IdentityPayload::sign(identity, &chain, &keys.static_public()).encode();
        NoiseHandshake {
            state,
            role,
            done: 0,
            local_payload,
            chain,
            admission,
            expected,
            remote_key: None,
            remote_payload: Vec::new(),
        }
    }

    /// Replaces the identity payload this side sends (encoded CBOR, sent as is). **Tests only**: lets a
    /// conformance impostor or a negative test present a forged or replayed proof over the real Noise
    /// handshake; honest code never calls it.
    #[doc(hidden)]
    pub fn replace_local_payload_for_testing(&mut self, payload: Vec<u8>) {
        self.local_payload = payload;
    }

    /// The peer's identity payload as decrypted from message 2 or 3 (empty before). **Tests only**: a
    /// recorded transcript is replayed by having each side send the payload the other side decrypted,
    /// since ML-DSA signatures cannot be regenerated byte for byte.
    #[doc(hidden)]
    pub fn remote_payload_for_testing(&self) -> &[u8] {
        &self.remote_payload
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the next step is [`Self::write_message`] (otherwise [`Self::read_message`]).
    pub fn is_my_turn(&self) -> bool {
        !self.is_finished() && self.state.is_my_turn()
    }

    /// Whether all three messages were processed and [`Self::finish`] may be called.
    pub fn is_finished(&self) -> bool {
        self.state.is_handshake_finished()
    }

    /// Produces the next message: 1 (empty payload), 2 or 3 (our identity payload).
    ///
    /// # Errors
    /// [`HandshakeFailure::Protocol`] when it is not our turn.
    pub fn write_message(&mut self) -> Result<Vec<u8>, HandshakeFailure> {
        if !self.is_my_turn() {
            return Err(HandshakeFailure::Protocol("write_message called out of turn".into()));
        }
        let payload: &[u8] = if self.done == 0 { &[] } else { &self.local_payload };
        let mut message = vec![0u8; MAX_NOISE_MESSAGE_LEN];
        let len = self
            .state
            .write_message(payload, &mut message)
            .map_err(|e| HandshakeFailure::Protocol(format!("writing Noise message {}: {e}", self.done + 1)))?;
        message.truncate(len);
        self.done += 1;
        Ok(message)
    }

    /// Consumes the peer's next message and checks it.
    ///
    /// # Errors
    /// - [`HandshakeFailure::Protocol`]: out of turn, a malformed message, a non-empty message 1, an
    ///   undecodable identity payload or one with `v` ≠ 1.
    /// - [`HandshakeFailure::BadIdentityProof`]: message 2 or 3 does not authenticate (the peer uses
    ///   another chain id, so another prologue, or altered the handshake), or its identity payload's key or
    ///   signature is invalid.
    /// - [`HandshakeFailure::NotAdmitted`], [`HandshakeFailure::UnexpectedIdentity`].
    pub fn read_message(&mut self, message: &[u8]) -> Result<(), HandshakeFailure> {
        if self.is_finished() || self.state.is_my_turn() {
            return Err(HandshakeFailure::Protocol("read_message called out of turn".into()));
        }
        let number = self.done + 1;
        let mut payload = vec![0u8; MAX_NOISE_MESSAGE_LEN];
        let len = self.state.read_message(message, &mut payload).map_err(|e| match e {
            snow::Error::Decrypt => HandshakeFailure::BadIdentityProof(format!(
                "Noise message {number} does not authenticate: the peer is on another chain (prologue) or \
                 the handshake was altered"
            )),
            other => HandshakeFailure::Protocol(format!(
                "malformed Noise message {number} ({} bytes): {other}",
                message.len()
            )),
        })?;
        self.done += 1;
        let payload = &payload[..len];
        if number == 1 {
            return match payload.is_empty() {
                true => Ok(()),
                false => {
                    Err(HandshakeFailure::Protocol(format!("message 1 carries a {len}-byte payload; it must be empty")))
                }
            };
        }
        self.remote_payload = payload.to_vec();
        let identity = IdentityPayload::decode(payload)
            .map_err(|e| HandshakeFailure::Protocol(format!("message {number}: {e}")))?;
        let remote_static = self.state.get_remote_static().ok_or_else(|| {
            HandshakeFailure::Protocol(format!("message {number} carried an identity payload before a static key"))
        })?;
        let key = identity.verify(&self.chain, remote_static)?;
        let id = key.validator_id();
        if let Some(expected) = self.expected.filter(|_| self.role == Role::Initiator) {
            if expected != id {
                return Err(HandshakeFailure::UnexpectedIdentity { expected, actual: id });
            }
        }
        self.admission.check(&id).map_err(|refusal| HandshakeFailure::NotAdmitted { id, refusal })?;
        self.remote_key = Some(key);
        Ok(())
    }

    /// The handshake hash so far.
    pub fn handshake_hash(&self) -> &[u8] {
        self.state.get_handshake_hash()
    }

    /// The transport ciphers and proven peer, once [`Self::is_finished`].
    ///
    /// # Errors
    /// [`HandshakeFailure::Protocol`] before the handshake finished.
    pub fn finish(self) -> Result<Established, HandshakeFailure> {
        let unfinished = || HandshakeFailure::Protocol("the handshake has not finished".into());
        let remote_key = self.remote_key.ok_or_else(unfinished)?;
        let handshake_hash = self.state.get_handshake_hash().to_vec();
        let transport = self.state.into_stateless_transport_mode().map_err(|_| unfinished())?;
        Ok(Established { transport, role: self.role, remote_key, handshake_hash })
    }
}

/// Runs `handshake` over `stream` (each Noise message behind a u16 big-endian length), all of it
/// bounded by `timeout`.
///
/// `peer` names the remote (usually its address) in errors. On failure the caller drops the stream; the
/// peer learns nothing but the closed connection.
///
/// # Errors
/// [`TransportError::Timeout`] when the whole exchange took longer than `timeout` (a stalled peer);
/// [`TransportError::Handshake`] with [`HandshakeFailure::ClosedByPeer`] when the stream ended or was
/// reset, or the failure [`NoiseHandshake::read_message`] found; [`TransportError::Io`] for other I/O errors.
pub async fn run_handshake<S>(
    stream: &mut S,
    handshake: NoiseHandshake,
    timeout: Duration,
    peer: &str,
) -> Result<Established, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(timeout, exchange(stream, handshake, peer))
        .await
        .map_err(|_| TransportError::Timeout { what: "Noise handshake", after: timeout })?
}

async fn exchange<S>(stream: &mut S, mut handshake: NoiseHandshake, peer: &str) -> Result<Established, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let failed = |failure| TransportError::Handshake { peer: peer.to_owned(), failure };
    let io_failed = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe => failed(HandshakeFailure::ClosedByPeer),
        _ => TransportError::Io { addr: peer.to_owned(), source },
    };
    let mut message = vec![0u8; MAX_NOISE_MESSAGE_LEN];
    while !handshake.is_finished() {
        if handshake.is_my_turn() {
            let out = handshake.write_message().map_err(failed)?;
            let mut framed = Vec::with_capacity(wire::NOISE_LEN_PREFIX_LEN + out.len());
            wire::put_noise_len(&mut framed, out.len());
            framed.extend_from_slice(&out);
            stream.write_all(&framed).await.map_err(io_failed)?;
            stream.flush().await.map_err(io_failed)?;
        } else {
            let mut prefix = [0u8; wire::NOISE_LEN_PREFIX_LEN];
            stream.read_exact(&mut prefix).await.map_err(io_failed)?;
            let len = u16::from_be_bytes(prefix) as usize;
            stream.read_exact(&mut message[..len]).await.map_err(io_failed)?;
            handshake.read_message(&message[..len]).map_err(failed)?;
        }
    }
    handshake.finish().map_err(failed)
}
