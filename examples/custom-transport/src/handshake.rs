//! The `custom-tcp/1` handshake: a signed challenge over plain TCP.
//!
//! ```text
//! dialer                                         listener
//!   nonce_d (32 random bytes)        ──▶
//!                                    ◀──   nonce_l (32 random bytes)
//!   auth_d                           ──▶   verify, check admission
//!                                    ◀──   auth_l
//!   verify, check admission and the
//!   expected id; then ACCEPTED (0x01) ──▶
//! ```
//!
//! `auth` is one u32-length-prefixed CBOR map `{"v": 1, "pk": bstr, "sig": bstr}` with
//! `sig = Sign(sk, "custom-tcp/1/auth" || ChainId || role || nonce_d || nonce_l)`, `role` being the
//! signer's own (0x00 dialer, 0x01 listener). Both nonces bind the proof to this link, the chain id to
//! this network and the role to this side, so a proof captured on another link, chain or side verifies
//! nowhere else.
//!
//! Nobody gets a connection unless both sides accepted: the listener speaks its proof only after it
//! admitted the dialer, and yields the connection only after the dialer's `ACCEPTED` byte, so a
//! dialer refused for any reason leaves the listener with nothing, and vice versa.
//!
//! The building blocks are public so tests (and attackers in tests) can speak the protocol.

use quorumnet_core::codec::{self, framing};
use quorumnet_core::identity::{ChainId, Keypair, PublicKey, Signature, ValidatorId};
use quorumnet_core::transport::{Admission, HandshakeFailure};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Domain separation for the identity proof.
pub const AUTH_DOMAIN: &[u8] = b"custom-tcp/1/auth";
/// The only protocol version.
pub const VERSION: u64 = 1;
/// Bytes in each side's nonce.
pub const NONCE_LEN: usize = 32;
/// Largest auth message accepted: an ML-DSA-65 or Dilithium3 key (1 953 B) and signature (3 309 B) with
/// CBOR overhead need ~5.3 KB; a peer cannot make us allocate more than this before it proved anything.
pub const AUTH_FRAME_LIMIT: usize = 8 * 1024;
/// The dialer's last handshake byte: it accepted the listener.
pub const ACCEPTED: u8 = 0x01;

/// Which end of the link a proof speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opened the TCP connection.
    Dialer = 0,
    /// Accepted it.
    Listener = 1,
}

/// Both nonces of one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nonces {
    /// The dialer's.
    pub dialer: [u8; NONCE_LEN],
    /// The listener's.
    pub listener: [u8; NONCE_LEN],
}

/// One side's identity proof, as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthMessage {
    /// Protocol version, [`VERSION`].
    pub v: u64,
    /// The claimed public key (algorithm byte + raw key), a CBOR byte string.
    pub pk: PublicKey,
    /// The signature over [`auth_payload`].
    pub sig: Signature,
}

/// What a side handshaking in `role` signs for this link.
pub fn auth_payload(chain: &ChainId, role: Role, nonces: &Nonces) -> Vec<u8> {
    let mut payload = Vec::with_capacity(AUTH_DOMAIN.len() + 32 + 1 + 2 * NONCE_LEN);
    payload.extend_from_slice(AUTH_DOMAIN);
    payload.extend_from_slice(chain.as_bytes());
    payload.push(role as u8);
    payload.extend_from_slice(&nonces.dialer);
    payload.extend_from_slice(&nonces.listener);
    payload
}

/// `key`'s proof for handshaking in `role` on the link with `nonces`.
pub fn prove(key: &Keypair, chain: &ChainId, role: Role, nonces: &Nonces) -> AuthMessage {
    AuthMessage { v: VERSION, pk: key.public_key().clone(), sig: key.sign(&auth_payload(chain, role, nonces)) }
}

/// Checks the peer's proof for this link (`role` is the peer's) and returns the identity it proves.
///
/// # Errors
/// [`HandshakeFailure::Protocol`] for another version, [`HandshakeFailure::BadIdentityProof`] when the
/// signature does not verify for this chain, role and nonces.
pub fn verify(
    msg: &AuthMessage,
    chain: &ChainId,
    role: Role,
    nonces: &Nonces,
) -> Result<ValidatorId, HandshakeFailure> {
    if msg.v != VERSION {
        return Err(HandshakeFailure::Protocol(format!("auth version {} (this side speaks {VERSION})", msg.v)));
    }
    msg.pk
        .verify(&auth_payload(chain, role, nonces), &msg.sig)
        .map_err(|e| HandshakeFailure::BadIdentityProof(e.to_string()))?;
    Ok(msg.pk.validator_id())
}

/// Why a handshake stopped: the protocol's verdict, or the socket's.
#[derive(Debug)]
pub enum HandshakeError {
    /// The peer is unproven, unadmitted, unexpected or broke the protocol.
    Failure(HandshakeFailure),
    /// The socket failed (other than by the peer closing it, which is [`HandshakeFailure::ClosedByPeer`]).
    Io(std::io::Error),
}

impl From<HandshakeFailure> for HandshakeError {
    fn from(failure: HandshakeFailure) -> Self {
        HandshakeError::Failure(failure)
    }
}

impl From<std::io::Error> for HandshakeError {
    fn from(error: std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match error.kind() {
            UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => HandshakeFailure::ClosedByPeer.into(),
            _ => HandshakeError::Io(error),
        }
    }
}

/// Sends a fresh nonce for `role` and reads the peer's.
///
/// # Errors
/// The socket's.
pub async fn exchange_nonces<S>(stream: &mut S, role: Role) -> Result<Nonces, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let own: [u8; NONCE_LEN] = rand::random();
    stream.write_all(&own).await?;
    let mut theirs = [0u8; NONCE_LEN];
    stream.read_exact(&mut theirs).await?;
    Ok(match role {
        Role::Dialer => Nonces { dialer: own, listener: theirs },
        Role::Listener => Nonces { dialer: theirs, listener: own },
    })
}

/// Writes one auth message.
///
/// # Errors
/// The socket's.
pub async fn write_auth<W: AsyncWrite + Unpin>(stream: &mut W, msg: &AuthMessage) -> Result<(), HandshakeError> {
    framing::write_frame_async(stream, &codec::encode(msg), AUTH_FRAME_LIMIT).await.map_err(framing_error)
}

/// Reads one auth message.
///
/// # Errors
/// [`HandshakeFailure::ClosedByPeer`] when the stream ends, [`HandshakeFailure::Protocol`] for an
/// oversize, empty or undecodable message.
pub async fn read_auth<R: AsyncRead + Unpin>(stream: &mut R) -> Result<AuthMessage, HandshakeError> {
    let bytes = framing::read_frame(stream, AUTH_FRAME_LIMIT)
        .await
        .map_err(framing_error)?
        .ok_or(HandshakeFailure::ClosedByPeer)?;
    codec::decode("custom-tcp auth message", &bytes).map_err(|e| HandshakeFailure::Protocol(e.to_string()).into())
}

fn framing_error(error: framing::ReadFrameError) -> HandshakeError {
    match error {
        framing::ReadFrameError::Io(e) => e.into(),
        framing::ReadFrameError::Codec(e) => HandshakeFailure::Protocol(e.to_string()).into(),
    }
}

/// What a handshake needs from the transport.
pub struct Local<'a> {
    /// Our key.
    pub key: &'a Keypair,
    /// The network.
    pub chain: &'a ChainId,
    /// The live admission handle.
    pub admission: &'a Admission,
}

impl Local<'_> {
    fn admit(&self, id: ValidatorId) -> Result<ValidatorId, HandshakeFailure> {
        self.admission.check(&id).map_err(|refusal| HandshakeFailure::NotAdmitted { id, refusal })?;
        Ok(id)
    }
}

/// Runs the dialer's side; returns the listener's proven, admitted (and, with `expected`, expected) id.
///
/// # Errors
/// Any [`HandshakeError`]; the caller bounds the time.
pub async fn dial<S>(
    stream: &mut S,
    local: &Local<'_>,
    expected: Option<ValidatorId>,
) -> Result<ValidatorId, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let nonces = exchange_nonces(stream, Role::Dialer).await?;
    write_auth(stream, &prove(local.key, local.chain, Role::Dialer, &nonces)).await?;
    let theirs = read_auth(stream).await?;
    let id = verify(&theirs, local.chain, Role::Listener, &nonces)?;
    if let Some(expected) = expected.filter(|expected| *expected != id) {
        return Err(HandshakeFailure::UnexpectedIdentity { expected, actual: id }.into());
    }
    local.admit(id)?;
    stream.write_all(&[ACCEPTED]).await?;
    Ok(id)
}

/// Runs the listener's side; returns the dialer's proven, admitted id.
///
/// # Errors
/// Any [`HandshakeError`]; the caller bounds the time.
pub async fn accept<S>(stream: &mut S, local: &Local<'_>) -> Result<ValidatorId, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let nonces = exchange_nonces(stream, Role::Listener).await?;
    let theirs = read_auth(stream).await?;
    let id = local.admit(verify(&theirs, local.chain, Role::Dialer, &nonces)?)?;
    write_auth(stream, &prove(local.key, local.chain, Role::Listener, &nonces)).await?;
    match stream.read_u8().await? {
        ACCEPTED => Ok(id),
        other => Err(HandshakeFailure::Protocol(format!("expected the ACCEPTED byte, got {other:#04x}")).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonces(seed: u8) -> Nonces {
        Nonces { dialer: [seed; NONCE_LEN], listener: [seed + 1; NONCE_LEN] }
    }

    #[test]
    fn a_proof_verifies_only_for_its_link_chain_and_role() {
        let key = Keypair::from_seed(&[7; 32]);
        let chain = ChainId::from_network_name("example");
        let proof = prove(&key, &chain, Role::Dialer, &nonces(1));
        assert_eq!(verify(&proof, &chain, Role::Dialer, &nonces(1)).unwrap(), key.validator_id());
        assert!(verify(&proof, &chain, Role::Dialer, &nonces(3)).is_err(), "another link");
        assert!(verify(&proof, &chain, Role::Listener, &nonces(1)).is_err(), "the other side");
        let other_chain = ChainId::from_network_name("other");
        assert!(verify(&proof, &other_chain, Role::Dialer, &nonces(1)).is_err(), "another chain");
    }

    #[test]
    fn an_auth_message_of_another_version_is_refused() {
        let key = Keypair::from_seed(&[7; 32]);
        let chain = ChainId::from_network_name("example");
        let mut proof = prove(&key, &chain, Role::Dialer, &nonces(1));
        proof.v = 2;
        assert!(matches!(verify(&proof, &chain, Role::Dialer, &nonces(1)), Err(HandshakeFailure::Protocol(_))));
    }
}
