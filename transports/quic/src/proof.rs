//! The §3 identity proof, without I/O: what each side signs, how the peer's proof is judged, and the
//! application error codes a failed handshake closes the connection with.

use quorumnet_core::identity::{ChainId, Keypair, PublicKey, ValidatorId};
use quorumnet_core::secure::{IdentityPayload, IDENTITY_PAYLOAD_VERSION};
use quorumnet_core::transport::{Admission, HandshakeFailure};

/// The domain-separation prefix of the proof's signature.
pub const QUIC_AUTH_DOMAIN: &[u8] = b"quorumnet/1/quic-auth";

/// The TLS keying-material exporter label the proof signs (empty context, 32 bytes).
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-quorumnet-auth";

/// Length of the exporter output.
pub const EXPORTER_LEN: usize = 32;

/// The largest proof accepted: an ML-DSA-65 key (1 953 B) and signature (3 309 B) with CBOR framing
/// are ≈ 5.3 KiB; a length above this is a protocol violation, refused before any allocation.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// Which end of the QUIC connection signed a proof: its byte in the signed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The dialer (QUIC client): `0x00`.
    Client = 0,
    /// The listener (QUIC server): `0x01`.
    Server = 1,
}

impl Role {
    /// The other end.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// WIRE.md §3's application error codes: a failed handshake closes the connection with one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// Both directions ended normally (not a handshake failure).
    Done = 0,
    /// The identity proof did not verify.
    BadIdentityProof = 1,
    /// The proven identity is not admitted, or not the one the dialer expected.
    NotAdmitted = 2,
    /// Something the protocol does not allow (a bad length, undecodable CBOR, a wrong ALPN).
    ProtocolViolation = 3,
    /// The handshake ran out of time.
    Timeout = 4,
}

impl CloseCode {
    /// The code for a handshake failure found on this side.
    pub fn for_failure(failure: &HandshakeFailure) -> CloseCode {
        match failure {
            HandshakeFailure::BadIdentityProof(_) => CloseCode::BadIdentityProof,
            HandshakeFailure::NotAdmitted { .. } | HandshakeFailure::UnexpectedIdentity { .. } => {
                CloseCode::NotAdmitted
            }
            HandshakeFailure::Protocol(_) | HandshakeFailure::ClosedByPeer => CloseCode::ProtocolViolation,
        }
    }

    /// The code a peer closed with, if it is one of §3's.
    pub fn from_wire(code: u64) -> Option<CloseCode> {
        [Self::Done, Self::BadIdentityProof, Self::NotAdmitted, Self::ProtocolViolation, Self::Timeout]
            .into_iter()
            .find(|c| *c as u64 == code)
    }

    /// As a QUIC varint.
    pub fn varint(self) -> quinn::VarInt {
        quinn::VarInt::from_u32(self as u32)
    }
}

/// The bytes a proof signs: [`QUIC_AUTH_DOMAIN`] || `chain` || `role` || `exporter`.
///
/// ```
/// use quorumnet_core::identity::ChainId;
/// use quorumnet_quic::proof::{signing_bytes, Role};
///
/// let bytes = signing_bytes(&ChainId::from_network_name("devnet"), Role::Server, &[7; 32]);
/// assert_eq!(bytes.len(), b"quorumnet/1/quic-auth".len() + 32 + 1 + 32);
/// assert_eq!(bytes[b"quorumnet/1/quic-auth".len() + 32], 0x01);
/// ```
pub fn signing_bytes(chain: &ChainId, role: Role, exporter: &[u8; EXPORTER_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(QUIC_AUTH_DOMAIN.len() + 32 + 1 + EXPORTER_LEN);
    out.extend_from_slice(QUIC_AUTH_DOMAIN);
    out.extend_from_slice(chain.as_bytes());
    out.push(role as u8);
    out.extend_from_slice(exporter);
    out
}

/// `key`'s proof, as `role`, for the TLS session whose exporter is `exporter`.
pub fn sign(key: &Keypair, chain: &ChainId, role: Role, exporter: &[u8; EXPORTER_LEN]) -> IdentityPayload {
    IdentityPayload {
        v: IDENTITY_PAYLOAD_VERSION,
        pk: key.public_key().encoded().to_vec(),
        sig: key.sign(&signing_bytes(chain, role, exporter)),
    }
}

/// Judges the peer's encoded proof: it must decode, be version 1, be signed by its key as `peer_role`
/// over this session's `exporter` on `chain`, name an admitted validator and, with `expected`, exactly
/// that one.
///
/// # Errors
/// [`HandshakeFailure::Protocol`] for undecodable CBOR or another version,
/// [`HandshakeFailure::BadIdentityProof`] for a bad key or signature (another role, session or chain),
/// [`HandshakeFailure::NotAdmitted`] / [`HandshakeFailure::UnexpectedIdentity`].
pub fn verify(
    encoded: &[u8],
    chain: &ChainId,
    peer_role: Role,
    exporter: &[u8; EXPORTER_LEN],
    admission: &Admission,
    expected: Option<ValidatorId>,
) -> Result<PublicKey, HandshakeFailure> {
    let proof =
        IdentityPayload::decode(encoded).map_err(|e| HandshakeFailure::Protocol(format!("identity proof: {e}")))?;
    if proof.v != IDENTITY_PAYLOAD_VERSION {
        return Err(HandshakeFailure::Protocol(format!(
            "identity proof version {} (this node speaks version {IDENTITY_PAYLOAD_VERSION})",
            proof.v
        )));
    }
    let key = PublicKey::from_encoded(&proof.pk)
        .map_err(|e| HandshakeFailure::BadIdentityProof(format!("public key: {e}")))?;
    key.verify(&signing_bytes(chain, peer_role, exporter), &proof.sig)
        .map_err(|e| HandshakeFailure::BadIdentityProof(format!("signature over the TLS exporter: {e}")))?;
    let id = key.validator_id();
    if let Some(expected) = expected.filter(|expected| *expected != id) {
        return Err(HandshakeFailure::UnexpectedIdentity { expected, actual: id });
    }
    admission.check(&id).map_err(|refusal| HandshakeFailure::NotAdmitted { id, refusal })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        ChainId::from_network_name("proof-tests")
    }

    fn judge(proof: &IdentityPayload, role: Role, exporter: &[u8; 32]) -> Result<PublicKey, HandshakeFailure> {
        verify(&proof.encode(), &chain(), role, exporter, &Admission::open(), None)
    }

    #[test]
    fn a_proof_verifies_only_for_its_role_session_and_chain() {
        let key = Keypair::from_seed(&[3; 32]);
        let proof = sign(&key, &chain(), Role::Client, &[1; 32]);
        assert_eq!(judge(&proof, Role::Client, &[1; 32]).unwrap(), *key.public_key());
        assert!(matches!(judge(&proof, Role::Server, &[1; 32]), Err(HandshakeFailure::BadIdentityProof(_))));
        assert!(matches!(judge(&proof, Role::Client, &[2; 32]), Err(HandshakeFailure::BadIdentityProof(_))));
        let other =
            verify(&proof.encode(), &ChainId::from_network_name("x"), Role::Client, &[1; 32], &Admission::open(), None);
        assert!(matches!(other, Err(HandshakeFailure::BadIdentityProof(_))));
    }

    #[test]
    fn admission_and_the_expected_id_are_enforced() {
        let key = Keypair::from_seed(&[3; 32]);
        let proof = sign(&key, &chain(), Role::Server, &[1; 32]).encode();
        let closed = Admission::for_validators([]);
        let refused = verify(&proof, &chain(), Role::Server, &[1; 32], &closed, None);
        assert!(matches!(refused, Err(HandshakeFailure::NotAdmitted { .. })));
        let someone_else = Keypair::from_seed(&[4; 32]).validator_id();
        let unexpected = verify(&proof, &chain(), Role::Server, &[1; 32], &Admission::open(), Some(someone_else));
        assert!(matches!(unexpected, Err(HandshakeFailure::UnexpectedIdentity { .. })));
    }

    #[test]
    fn garbage_and_other_versions_are_protocol_violations() {
        let bad = verify(b"\xff\x00", &chain(), Role::Client, &[0; 32], &Admission::open(), None);
        assert!(matches!(bad, Err(HandshakeFailure::Protocol(_))));
        let mut proof = sign(&Keypair::from_seed(&[3; 32]), &chain(), Role::Client, &[0; 32]);
        proof.v = 2;
        assert!(matches!(judge(&proof, Role::Client, &[0; 32]), Err(HandshakeFailure::Protocol(_))));
    }

    #[test]
    fn failures_map_to_the_wire_codes() {
        let bad = HandshakeFailure::BadIdentityProof(String::new());
        assert_eq!(CloseCode::for_failure(&bad) as u64, 1);
        assert_eq!(CloseCode::for_failure(&HandshakeFailure::Protocol(String::new())) as u64, 3);
        assert_eq!(CloseCode::from_wire(4), Some(CloseCode::Timeout));
        assert_eq!(CloseCode::from_wire(9), None);
    }
}
