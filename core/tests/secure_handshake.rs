//! WIRE.md §2 handshake over in-memory pipes: who gets a connection, and how every refusal is reported.

mod secure_support;

use std::time::Duration;

use quorumnet_core::codec::encode;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::secure::snow;
use quorumnet_core::secure::{
    run_handshake, static_key_signing_bytes, IdentityPayload, NoiseHandshake, NoiseKeys, Role, IDENTITY_PAYLOAD_VERSION,
};
use quorumnet_core::transport::{Admission, HandshakeFailure, Refusal, TransportError};
use secure_support::*;
use tokio::io::AsyncWriteExt as _;

#[track_caller]
fn assert_failure<T: std::fmt::Debug>(
    result: Result<T, TransportError>,
    check: impl FnOnce(&HandshakeFailure) -> bool,
) {
    match result {
        Err(TransportError::Handshake { failure, .. }) if check(&failure) => {}
        other => panic!("expected a matching handshake failure, got {other:?}"),
    }
}

#[tokio::test]
async fn both_sides_learn_the_proven_remote_id_and_the_same_handshake_hash() {
    let (dialed, answered) = handshake(&context(1), &context(2), Some(id(2))).await;
    let (dialed, answered) = (dialed.unwrap(), answered.unwrap());
    assert_eq!(dialed.remote(), id(2));
    assert_eq!(answered.remote(), id(1));
    assert_eq!(dialed.handshake_hash, answered.handshake_hash);
    assert_eq!(dialed.role, Role::Initiator);
}

#[tokio::test]
async fn dialer_expecting_another_validator_fails_with_unexpected_identity() {
    let (dialed, _) = handshake(&context(1), &context(2), Some(id(3))).await;
    assert_failure(dialed, |f| *f == HandshakeFailure::UnexpectedIdentity { expected: id(3), actual: id(2) });
}

#[tokio::test]
async fn listener_refuses_an_unadmitted_dialer() {
    let stranger = context(9);
    let (_, answered) = handshake(&stranger, &context(2), None).await;
    assert_failure(answered, |f| *f == HandshakeFailure::NotAdmitted { id: id(9), refusal: Refusal::Unknown });
}

#[tokio::test]
async fn dialer_refuses_an_unadmitted_listener_before_sending_its_identity() {
    let (dialed, answered) = handshake(&context(1), &context(9), None).await;
    assert_failure(dialed, |f| matches!(f, HandshakeFailure::NotAdmitted { refusal: Refusal::Unknown, .. }));
    assert_failure(answered, |f| *f == HandshakeFailure::ClosedByPeer);
}

#[tokio::test]
async fn a_ban_reaches_a_handshake_that_is_already_set_up() {
    let listener = context(2);
    let answer = NoiseHandshake::new(Role::Responder, &listener, None);
    listener.admission.ban(id(1));
    let dial = NoiseHandshake::new(Role::Initiator, &context(1), None);
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    let timeout = listener.config.handshake_timeout;
    let (_, answered) = within("handshakes", async {
        tokio::join!(run_handshake(&mut a, dial, timeout, "l"), run_handshake(&mut b, answer, timeout, "d"))
    })
    .await;
    assert_failure(answered, |f| *f == HandshakeFailure::NotAdmitted { id: id(1), refusal: Refusal::Banned });
}

#[tokio::test]
async fn peers_on_different_chains_never_connect() {
    let other = ChainId::from_network_name("testnet");
    let (dialed, answered) = handshake(&context(1), &context_on(2, other, Admission::open()), None).await;
    assert_failure(dialed, |f| matches!(f, HandshakeFailure::BadIdentityProof(reason) if reason.contains("chain")));
    assert_failure(answered, |f| *f == HandshakeFailure::ClosedByPeer);
}

/// Runs our responder against a hand-driven snow initiator that sends `message_3_payload` as its
/// identity (after a correct message 1), returning the responder's result.
async fn responder_against(message_3_payload: impl FnOnce([u8; 32]) -> Vec<u8>) -> Result<(), TransportError> {
    let listener = context(2);
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    let answer = NoiseHandshake::new(Role::Responder, &listener, None);
    let timeout = listener.config.handshake_timeout;
    let responder = tokio::spawn(async move { run_handshake(&mut b, answer, timeout, "initiator").await.map(drop) });
    let (mut state, static_public) = snow_state(Role::Initiator, &chain());
    write_noise(&mut a, &snow_write(&mut state, &[])).await;
    snow_read(&mut state, &read_noise(&mut a).await);
    write_noise(&mut a, &snow_write(&mut state, &message_3_payload(static_public))).await;
    within("the responder's verdict", responder).await.unwrap()
}

fn payload(key: &Keypair, version: u64, signed_static: &[u8]) -> Vec<u8> {
    let sig = key.sign(&static_key_signing_bytes(&chain(), signed_static));
    IdentityPayload { v: version, pk: key.public_key().encoded().to_vec(), sig }.encode()
}

#[tokio::test]
async fn a_correct_hand_driven_initiator_is_accepted() {
    responder_against(|s| payload(&key(1), IDENTITY_PAYLOAD_VERSION, &s)).await.unwrap();
}

#[tokio::test]
async fn identity_signature_over_another_static_key_is_a_bad_identity_proof() {
    // What replaying another connection's proof amounts to: it signs a static key we do not hold.
    let result = responder_against(|_| payload(&key(1), IDENTITY_PAYLOAD_VERSION, &[7u8; 32])).await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::BadIdentityProof(_)));
}

#[tokio::test]
async fn impostor_claiming_another_validators_key_is_a_bad_identity_proof() {
    let result = responder_against(|s| {
        let mut claimed = IdentityPayload::decode(&payload(&key(1), 1, &s)).unwrap();
        claimed.pk = key(3).public_key().encoded().to_vec();
        claimed.encode()
    })
    .await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::BadIdentityProof(_)));
}

#[tokio::test]
async fn identity_payload_version_other_than_1_is_refused() {
    let result = responder_against(|s| payload(&key(1), 2, &s)).await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::Protocol(reason) if reason.contains("version 2")));
}

#[tokio::test]
async fn undecodable_identity_payload_is_a_protocol_failure() {
    let result = responder_against(|_| encode(&("not", "a payload"))).await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::Protocol(_)));
}

#[tokio::test]
async fn unknown_key_algorithm_is_a_bad_identity_proof() {
    let result = responder_against(|s| {
        let mut claimed = IdentityPayload::decode(&payload(&key(1), 1, &s)).unwrap();
        claimed.pk[0] = 0x7f;
        claimed.encode()
    })
    .await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::BadIdentityProof(reason) if reason.contains("algorithm")));
}

#[tokio::test]
async fn non_empty_message_1_is_refused() {
    let listener = context(2);
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    let (mut state, _) = snow_state(Role::Initiator, &chain());
    write_noise(&mut a, &snow_write(&mut state, b"hello")).await;
    let answer = NoiseHandshake::new(Role::Responder, &listener, None);
    let result = within("responder", run_handshake(&mut b, answer, listener.config.handshake_timeout, "i")).await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::Protocol(reason) if reason.contains("message 1")));
}

#[tokio::test]
async fn garbage_instead_of_message_1_is_refused() {
    let listener = context(2);
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    a.write_all(b"\x00\x05GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let answer = NoiseHandshake::new(Role::Responder, &listener, None);
    let result = within("responder", run_handshake(&mut b, answer, listener.config.handshake_timeout, "i")).await;
    assert_failure(result, |f| matches!(f, HandshakeFailure::Protocol(_)));
}

#[tokio::test]
async fn peer_closing_mid_handshake_is_closed_by_peer() {
    let listener = context(2);
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    let (mut state, _) = snow_state(Role::Initiator, &chain());
    write_noise(&mut a, &snow_write(&mut state, &[])).await;
    drop(a);
    let answer = NoiseHandshake::new(Role::Responder, &listener, None);
    let result = within("responder", run_handshake(&mut b, answer, listener.config.handshake_timeout, "i")).await;
    assert_failure(result, |f| *f == HandshakeFailure::ClosedByPeer);
}

#[tokio::test(start_paused = true)]
async fn peer_stalling_after_message_1_is_dropped_at_the_handshake_timeout() {
    let listener = context(2);
    let (mut a, mut b) = tokio::io::duplex(PIPE);
    let (mut state, _) = snow_state(Role::Initiator, &chain());
    write_noise(&mut a, &snow_write(&mut state, &[])).await;
    let timeout = Duration::from_secs(10);
    let started = tokio::time::Instant::now();
    let answer = NoiseHandshake::new(Role::Responder, &listener, None);
    let result = run_handshake(&mut b, answer, timeout, "staller").await;
    assert!(matches!(result, Err(TransportError::Timeout { after, .. }) if after == timeout), "{result:?}");
    assert_eq!(started.elapsed(), timeout, "virtual time: exactly the timeout");
    drop(a);
}

#[test]
fn fixed_keys_make_the_handshake_reproducible_message_by_message() {
    // The hook for a recorded transcript: fixed static and ephemeral keys give identical messages 1, and
    // messages 2/3 differ only in the (randomized) ML-DSA signature inside the encrypted payload.
    let keys = |s: u8, e: u8| NoiseKeys { static_secret: [s; 32], fixed_ephemeral_secret: Some([e; 32]) };
    let run = || {
        let (alice, bob) = (context(1), context(2));
        let mut i =
            NoiseHandshake::with_keys(Role::Initiator, &alice.keypair, chain(), alice.admission, None, &keys(1, 2));
        let mut r = NoiseHandshake::with_keys(Role::Responder, &bob.keypair, chain(), bob.admission, None, &keys(3, 4));
        let m1 = i.write_message().unwrap();
        r.read_message(&m1).unwrap();
        let m2 = r.write_message().unwrap();
        i.read_message(&m2).unwrap();
        let m3 = i.write_message().unwrap();
        r.read_message(&m3).unwrap();
        assert!(i.is_finished() && r.is_finished());
        let (i, r) = (i.finish().unwrap(), r.finish().unwrap());
        assert_eq!(i.handshake_hash, r.handshake_hash);
        (m1, m2, m3)
    };
    let (first, second) = (run(), run());
    // The sizes docs/wire.md §2 states for ML-DSA-65 identities: payload CBOR 5279 bytes.
    let encoded = IdentityPayload::sign(&key(1), &chain(), &[0; 32]).encode();
    assert_eq!(encoded.len(), 5279);
    assert_eq!(hex::encode(&encoded[..10]), "a361760162706b5907a1");
    assert_eq!(hex::encode(&encoded[10 + 1953..10 + 1953 + 7]), "63736967590ced");
    assert_eq!((first.0.len(), first.1.len(), first.2.len()), (32, 32 + 48 + 5279 + 16, 48 + 5279 + 16));
    assert_eq!(first.0.len(), 32, "message 1 is the bare ephemeral key");
    assert_eq!(first.0, second.0);
    assert_eq!(first.1[..32], second.1[..32], "message 2 starts with the fixed ephemeral key");
    assert_eq!(keys(3, 4).static_public().len(), 32);
    // snow is re-exported for transcript checks.
    let _: Option<snow::StatelessTransportState> = None;
}
