//! The §3 exchange over the first bidirectional stream: both sides write their proof at once, then
//! read and judge the peer's. A failure closes the QUIC connection with §3's code before it is
//! returned, and a handshake abandoned (dropped at the listener's time limit) closes with code 4.

use std::sync::Arc;
use std::time::Duration;

use quinn::{ConnectionError, RecvStream, SendStream};
use quorumnet_core::identity::{ChainId, Keypair, ValidatorId};
use quorumnet_core::secure::IdentityPayload;
use quorumnet_core::transport::{HandshakeFailure, TransportContext, TransportError};

use crate::address::peer_address;
use crate::connection::Established;
use crate::proof::{self, CloseCode, Role, EXPORTER_LABEL, EXPORTER_LEN, MAX_PROOF_LEN};
use crate::tls::ALPN;

/// Makes this side's proof from the session's exporter: honest signing, or (tests only) a forgery.
pub type ProofMaker = Arc<dyn Fn(&Keypair, &ChainId, Role, &[u8; EXPORTER_LEN]) -> IdentityPayload + Send + Sync>;

/// Closes the connection with code 4 (timeout) if dropped before [`Self::disarm`]: a handshake future
/// cut off by a deadline says why to the peer.
struct CloseUnlessDone(Option<quinn::Connection>);

impl CloseUnlessDone {
    fn disarm(mut self) -> quinn::Connection {
        self.0.take().expect("armed until disarmed")
    }
}

impl Drop for CloseUnlessDone {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.close(CloseCode::Timeout.varint(), b"handshake timed out");
        }
    }
}

/// Runs the §3 exchange on `conn` (TLS done) as `role`, within `limit`.
pub(crate) async fn authenticate(
    ctx: &TransportContext,
    make_proof: &ProofMaker,
    conn: quinn::Connection,
    role: Role,
    expected: Option<ValidatorId>,
    limit: Duration,
) -> Result<Established, TransportError> {
    let remote_addr = peer_address(conn.remote_address());
    let peer = remote_addr.to_string();
    let guard = CloseUnlessDone(Some(conn.clone()));
    let exchange = exchange(ctx, make_proof, &conn, role, expected);
    let outcome = match tokio::time::timeout(limit, exchange).await {
        Ok(outcome) => outcome,
        // The guard closes with code 4 as it drops.
        Err(_) => return Err(TransportError::Timeout { what: "QUIC identity proof", after: limit }),
    };
    match outcome {
        Ok((send, recv, remote)) => Ok(Established { conn: guard.disarm(), send, recv, remote, remote_addr }),
        Err(failure) => {
            let conn = guard.disarm();
            if !matches!(failure, HandshakeFailure::ClosedByPeer) {
                conn.close(CloseCode::for_failure(&failure).varint(), failure.to_string().as_bytes());
            }
            Err(TransportError::Handshake { peer, failure })
        }
    }
}

async fn exchange(
    ctx: &TransportContext,
    make_proof: &ProofMaker,
    conn: &quinn::Connection,
    role: Role,
    expected: Option<ValidatorId>,
) -> Result<(SendStream, RecvStream, ValidatorId), HandshakeFailure> {
    check_alpn(conn)?;
    let mut exporter = [0u8; EXPORTER_LEN];
    conn.export_keying_material(&mut exporter, EXPORTER_LABEL, b"")
        .map_err(|_| HandshakeFailure::Protocol("the TLS session has no keying-material exporter".into()))?;
    let (mut send, mut recv) = match role {
        Role::Client => conn.open_bi().await,
        Role::Server => conn.accept_bi().await,
    }
    .map_err(|e| closed(&e))?;
    let own = make_proof(&ctx.keypair, &ctx.chain_id, role, &exporter).encode();
    let mut message = Vec::with_capacity(4 + own.len());
    message.extend_from_slice(&(own.len() as u32).to_be_bytes());
    message.extend_from_slice(&own);
    let (written, read) = tokio::join!(send.write_all(&message), read_proof(&mut recv));
    written.map_err(|e| match e {
        quinn::WriteError::ConnectionLost(e) => closed(&e),
        other => HandshakeFailure::Protocol(format!("writing the identity proof: {other}")),
    })?;
    let peer_proof = read?;
    let key = proof::verify(&peer_proof, &ctx.chain_id, role.peer(), &exporter, &ctx.admission, expected)?;
    Ok((send, recv, key.validator_id()))
}

fn check_alpn(conn: &quinn::Connection) -> Result<(), HandshakeFailure> {
    let protocol = conn
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol);
    match protocol.as_deref() {
        Some(ALPN) => Ok(()),
        other => Err(HandshakeFailure::Protocol(format!("ALPN {other:?}, expected {:?}", ALPN))),
    }
}

/// The peer's u32-length-prefixed proof, its length checked before allocating.
async fn read_proof(recv: &mut RecvStream) -> Result<Vec<u8>, HandshakeFailure> {
    let mut prefix = [0u8; 4];
    recv.read_exact(&mut prefix).await.map_err(read_failure)?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 || len > MAX_PROOF_LEN {
        return Err(HandshakeFailure::Protocol(format!("identity proof of {len} bytes (allowed 1..={MAX_PROOF_LEN})")));
    }
    let mut proof = vec![0u8; len];
    recv.read_exact(&mut proof).await.map_err(read_failure)?;
    Ok(proof)
}

fn read_failure(error: quinn::ReadExactError) -> HandshakeFailure {
    match error {
        quinn::ReadExactError::ReadError(quinn::ReadError::ConnectionLost(e)) => closed(&e),
        other => HandshakeFailure::Protocol(format!("reading the identity proof: {other}")),
    }
}

/// What the peer's close during the handshake tells us: its §3 code names our failure.
fn closed(error: &ConnectionError) -> HandshakeFailure {
    let ConnectionError::ApplicationClosed(close) = error else { return HandshakeFailure::ClosedByPeer };
    let reason = String::from_utf8_lossy(&close.reason).into_owned();
    match CloseCode::from_wire(close.error_code.into_inner()) {
        Some(CloseCode::BadIdentityProof) => {
            HandshakeFailure::BadIdentityProof(format!("the peer rejected our identity proof: {reason}"))
        }
        Some(CloseCode::ProtocolViolation) => HandshakeFailure::Protocol(format!("the peer reported: {reason}")),
        // Refused (code 2), timed out (4) or anything else: the peer would not have us.
        _ => HandshakeFailure::ClosedByPeer,
    }
}
