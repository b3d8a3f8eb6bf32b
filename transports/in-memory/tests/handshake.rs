//! Authentication and admission: who gets a connection, and who does not.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use quorumnet_core::identity::ChainId;
use quorumnet_core::transport::{
    Admission, HandshakeFailure, Refusal, Transport, TransportConfig, TransportContext, TransportError,
};
use quorumnet_memory::testing::{impostor_claiming, impostor_replaying};
use quorumnet_memory::{MemoryNetwork, MemoryTransport, NONCE_LEN};

const REFUSAL_WAIT: Duration = Duration::from_secs(5);

fn handshake_failure(
    result: Result<Box<dyn quorumnet_core::transport::Connection>, TransportError>,
) -> HandshakeFailure {
    match result {
        Err(TransportError::Handshake { failure, .. }) => failure,
        Err(other) => panic!("expected a handshake failure, got {other}"),
        Ok(c) => panic!("expected a handshake failure, got a connection to {}", c.remote()),
    }
}

#[tokio::test(start_paused = true)]
async fn both_ends_learn_the_proven_identity_of_the_other() {
    let network = MemoryNetwork::new(1);
    let mut listener = node(&network, 2).listen(&addr("v2")).await.unwrap();
    let (dialed, accepted) = connect(&node(&network, 1), &mut listener).await;
    assert_eq!(dialed.remote(), id(2));
    assert_eq!(accepted.remote(), id(1));
    assert_eq!(dialed.remote_addr(), Some(addr("v2")));
    assert!(dialed.unsent_bound() <= quorumnet_core::transport::MAX_UNSENT_BOUND);
}

#[tokio::test(start_paused = true)]
async fn dialing_with_the_expected_identity_succeeds_and_with_another_fails() {
    let network = MemoryNetwork::new(1);
    let mut listener = node(&network, 2).listen(&addr("v2")).await.unwrap();
    let dialer = node(&network, 1);
    let v2 = addr("v2");
    let (ok, accepted) = tokio::join!(dialer.dial(&v2, Some(id(2))), listener.accept());
    assert_eq!(ok.unwrap().remote(), id(2));
    assert_eq!(accepted.unwrap().remote(), id(1));

    let failure = handshake_failure(dialer.dial(&addr("v2"), Some(id(3))).await);
    assert_eq!(failure, HandshakeFailure::UnexpectedIdentity { expected: id(3), actual: id(2) });
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;
}

#[tokio::test(start_paused = true)]
async fn a_dialer_the_listener_does_not_admit_gets_no_connection() {
    let network = MemoryNetwork::new(1);
    let only_v3 = Admission::for_validators([id(3)]);
    let mut listener = node_with(&network, 2, only_v3, TransportConfig::test()).listen(&addr("v2")).await.unwrap();
    let failure = handshake_failure(node(&network, 1).dial(&addr("v2"), None).await);
    assert_eq!(failure, HandshakeFailure::ClosedByPeer);
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;
}

#[tokio::test(start_paused = true)]
async fn a_dialer_refuses_a_listener_it_does_not_admit() {
    let network = MemoryNetwork::new(1);
    let mut listener = node(&network, 2).listen(&addr("v2")).await.unwrap();
    let dialer = node_with(&network, 1, Admission::for_validators([id(3)]), TransportConfig::test());
    let failure = handshake_failure(dialer.dial(&addr("v2"), None).await);
    assert_eq!(failure, HandshakeFailure::NotAdmitted { id: id(2), refusal: Refusal::Unknown });
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;
}

#[tokio::test(start_paused = true)]
async fn banned_peer_cannot_reconnect_by_redialing() {
    let network = MemoryNetwork::new(1);
    let listener_admission = admit_all();
    let mut listener =
        node_with(&network, 2, listener_admission.clone(), TransportConfig::test()).listen(&addr("v2")).await.unwrap();
    let dialer = node(&network, 1);
    let (_first, _accepted) = connect(&dialer, &mut listener).await;

    listener_admission.ban(id(1));
    let failure = handshake_failure(dialer.dial(&addr("v2"), None).await);
    assert_eq!(failure, HandshakeFailure::ClosedByPeer);
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;

    listener_admission.unban(id(1));
    connect(&dialer, &mut listener).await;
}

#[tokio::test(start_paused = true)]
async fn a_peer_on_another_chain_fails_the_identity_proof() {
    let network = MemoryNetwork::new(1);
    let mut listener = node(&network, 2).listen(&addr("v2")).await.unwrap();
    let other_chain = TransportContext {
        chain_id: ChainId::from_network_name("another-chain"),
        ..ctx(key(1), admit_all(), TransportConfig::test())
    };
    let failure = handshake_failure(MemoryTransport::new(network.clone(), other_chain).dial(&addr("v2"), None).await);
    assert!(matches!(failure, HandshakeFailure::BadIdentityProof(_)), "{failure:?}");
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;
}

#[tokio::test(start_paused = true)]
async fn impostors_get_no_connection_and_the_listener_still_serves_honest_peers() {
    let network = MemoryNetwork::new(1);
    let mut listener = node(&network, 2).listen(&addr("v2")).await.unwrap();
    // Validator 7 is not admitted; it claims to be validator 1, who is.
    let attacker = || ctx(key(7), Admission::open(), TransportConfig::test());

    let claiming = impostor_claiming(network.clone(), attacker(), key(1).public_key().clone());
    assert_eq!(handshake_failure(claiming.dial(&addr("v2"), None).await), HandshakeFailure::ClosedByPeer);
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;

    let replaying = impostor_replaying(network.clone(), attacker(), key(1));
    assert_eq!(handshake_failure(replaying.dial(&addr("v2"), None).await), HandshakeFailure::ClosedByPeer);
    assert_no_accept(&mut listener, REFUSAL_WAIT).await;

    let (_dialed, accepted) = connect(&node(&network, 3), &mut listener).await;
    assert_eq!(accepted.remote(), id(3));
}

#[tokio::test(start_paused = true)]
async fn a_listening_impostor_cannot_pass_as_the_validator_a_dialer_expects() {
    let network = MemoryNetwork::new(1);
    let impostor = impostor_claiming(
        network.clone(),
        ctx(key(7), Admission::open(), TransportConfig::test()),
        key(2).public_key().clone(),
    );
    let _listener = impostor.listen(&addr("v2")).await.unwrap();
    let failure = handshake_failure(node(&network, 1).dial(&addr("v2"), Some(id(2))).await);
    assert!(matches!(failure, HandshakeFailure::BadIdentityProof(_)), "{failure:?}");
}

#[tokio::test(start_paused = true)]
async fn garbage_and_stalled_handshakes_do_not_stop_accept() {
    let network = MemoryNetwork::new(1);
    let config = TransportConfig::test();
    let timeout = config.handshake_timeout;
    let mut listener = node(&network, 2).listen(&addr("v2")).await.unwrap();

    let stalled = network.open_raw("v2").unwrap(); // sends nothing at all
    let half = network.open_raw("v2").unwrap(); // a nonce, then silence
    half.send(Bytes::from(vec![0u8; NONCE_LEN])).await.unwrap();
    let garbage = network.open_raw("v2").unwrap(); // a nonce, then bytes that are not an auth message
    garbage.send(Bytes::from(vec![1u8; NONCE_LEN])).await.unwrap();
    garbage.send(Bytes::from_static(b"\xff\x00garbage")).await.unwrap();
    let short_nonce = network.open_raw("v2").unwrap();
    short_nonce.send(Bytes::from_static(b"xyz")).await.unwrap();
    let huge = network.open_raw("v2").unwrap(); // an oversize handshake frame
    huge.send(Bytes::from(vec![0u8; 1024 * 1024])).await.unwrap();
    let empty = network.open_raw("v2").unwrap();
    empty.send(Bytes::new()).await.unwrap();

    // An honest peer is served at once, long before the stalled handshakes time out.
    let (_dialed, accepted) =
        within("honest connection next to garbage", timeout / 2, connect(&node(&network, 1), &mut listener)).await;
    assert_eq!(accepted.remote(), id(1));

    // The listener refused the garbage by closing those links (after its own nonce and proof).
    for raw in [&garbage, &short_nonce, &huge, &empty] {
        let end = within("listener closes a garbage link", timeout, async {
            loop {
                match raw.recv().await {
                    Ok(Some(_)) => continue,
                    end => break end,
                }
            }
        })
        .await;
        assert!(matches!(end, Ok(None) | Err(TransportError::ConnectionLost { .. })), "{end:?}");
    }
    // The stalled ones are dropped after the handshake timeout, and the listener still works.
    let _ = (stalled, half);
    tokio::time::sleep(timeout * 2).await;
    connect(&node(&network, 3), &mut listener).await;
}

#[tokio::test(start_paused = true)]
async fn more_stalled_handshakes_than_slots_only_delay_until_timeout() {
    let network = MemoryNetwork::new(1);
    let config = TransportConfig { max_concurrent_handshakes: 2, ..TransportConfig::test() };
    let timeout = config.handshake_timeout;
    let mut listener = node_with(&network, 2, admit_all(), config).listen(&addr("v2")).await.unwrap();
    let _stalls: Vec<_> = (0..2).map(|_| network.open_raw("v2").unwrap()).collect();
    // Both slots are taken by stalls; the honest dial waits in the backlog until they time out (its
    // own handshake limit is longer, so it outlives the wait).
    let patient = node_with(
        &network,
        1,
        admit_all(),
        TransportConfig { handshake_timeout: timeout * 3, ..TransportConfig::test() },
    );
    let started = tokio::time::Instant::now();
    let (_dialed, accepted) = within("dial after stalls time out", timeout * 3, connect(&patient, &mut listener)).await;
    assert!(started.elapsed() >= timeout, "the dial overtook the stalled handshakes");
    assert_eq!(accepted.remote(), id(1));
}

#[tokio::test(start_paused = true)]
async fn dialing_a_dead_name_fails_promptly_with_unreachable() {
    let network = MemoryNetwork::new(1);
    let dialer = node(&network, 1);
    let result = within("dead dial", Duration::from_millis(1), dialer.dial(&addr("nobody"), None)).await;
    assert!(matches!(result, Err(TransportError::Unreachable { .. })), "{:?}", result.err());

    let listener = node(&network, 2).listen(&addr("v2")).await.unwrap();
    drop(listener);
    let result = within("dial after listener dropped", Duration::from_millis(1), dialer.dial(&addr("v2"), None)).await;
    assert!(matches!(result, Err(TransportError::Unreachable { .. })), "{:?}", result.err());
}

#[tokio::test(start_paused = true)]
async fn a_dial_whose_listener_never_answers_times_out_within_the_bound() {
    let network = MemoryNetwork::new(1);
    let config = TransportConfig { max_concurrent_handshakes: 1, ..TransportConfig::test() };
    let mut listener = node_with(&network, 2, admit_all(), config.clone()).listen(&addr("v2")).await.unwrap();
    let _ = &mut listener;
    // The listener's only slot is stalled by a raw link, so the dial's handshake is never answered.
    let _stall = network.open_raw("v2").unwrap();
    let started = tokio::time::Instant::now();
    let dialer = node_with(
        &network,
        1,
        admit_all(),
        TransportConfig { handshake_timeout: Duration::from_millis(300), ..config },
    );
    let result = dialer.dial(&addr("v2"), None).await;
    assert!(matches!(result, Err(TransportError::Timeout { .. })), "{:?}", result.err());
    assert!(started.elapsed() <= Duration::from_millis(301), "took {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn listen_names_are_exclusive_and_port_zero_picks_a_real_name() {
    let network = MemoryNetwork::new(1);
    let transport = node(&network, 2);
    let first = transport.listen(&addr("v2")).await.unwrap();
    match transport.listen(&addr("v2")).await {
        Err(TransportError::Io { source, .. }) => assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse),
        other => panic!("duplicate listen: {:?}", other.err()),
    }
    drop(first);
    let _again = transport.listen(&addr("v2")).await.unwrap();

    let mut any = transport.listen(&addr("0")).await.unwrap();
    let real = any.local_addr();
    assert_eq!(real.scheme(), "mem");
    assert_ne!(real.rest(), "0");
    let (dialed, _accepted) = connect(&node(&network, 1), &mut any).await;
    assert_eq!(dialed.remote_addr(), Some(real));

    let wrong_scheme = "tcp-noise://127.0.0.1:1".parse().unwrap();
    assert!(matches!(transport.listen(&wrong_scheme).await.err(), Some(TransportError::InvalidAddress { .. })));
    assert!(matches!(transport.dial(&wrong_scheme, None).await.err(), Some(TransportError::InvalidAddress { .. })));
}
