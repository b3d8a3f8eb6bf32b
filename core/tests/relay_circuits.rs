//! Relay circuits on the simulator, in virtual time: every test puts real bytes through a
//! `RelayServer` between `relay://` transports.

mod relay_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use quorumnet_core::relay::{RelayConfig, RelayTransport};
use quorumnet_core::transport::{Connection, Listener, Transport, TransportError};
use relay_support::{key, within, World};

const PATIENCE: Duration = Duration::from_secs(5);

/// Listener `0` behind the relay, and a connection to it dialed by `dialer`, accepted.
async fn connected(
    world: &World,
    listener: &mut Box<dyn Listener>,
    dialer: &RelayTransport,
) -> (Box<dyn Connection>, Box<dyn Connection>) {
    let addr = listener.local_addr();
    let (dialed, accepted) = within(PATIENCE, "a relayed dial and accept", async {
        tokio::join!(dialer.dial(&addr, Some(world.keys[0].validator_id())), listener.accept())
    })
    .await;
    (dialed.expect("relayed dial"), accepted.expect("relayed accept"))
}

#[tokio::test(start_paused = true)]
async fn a_relayed_connection_proves_both_ends_and_carries_frames_both_ways() {
    let world = World::new(2, RelayConfig::test()).await;
    let (behind, dialer) = (world.transport(0), world.transport(1));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    assert_eq!(listener.local_addr().to_string(), format!("relay://mem://relay/{}", world.keys[0].validator_id()));
    let (dialed, accepted) = connected(&world, &mut listener, &dialer).await;
    assert_eq!(dialed.remote(), world.keys[0].validator_id(), "the destination proved itself end to end");
    assert_eq!(accepted.remote(), world.keys[1].validator_id(), "and so did the dialer");
    dialed.send(Bytes::from_static(b"prevote")).await.unwrap();
    accepted.send(Bytes::from(vec![9u8; 300_000])).await.unwrap();
    assert_eq!(&within(PATIENCE, "frame", accepted.recv()).await.unwrap().unwrap()[..], b"prevote");
    assert_eq!(within(PATIENCE, "large frame", dialed.recv()).await.unwrap().unwrap().len(), 300_000);
    dialed.close().await.unwrap();
    assert!(within(PATIENCE, "clean end", accepted.recv()).await.unwrap().is_none());
    assert_eq!(world.relay.stats().reservations, 1);
}

#[tokio::test(start_paused = true)]
async fn the_relay_forwards_no_plaintext() {
    let world = World::new(2, RelayConfig::test()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tap = seen.clone();
    world.relay.tap_for_testing(move |bytes| tap.lock().unwrap().extend_from_slice(bytes));
    let (behind, dialer) = (world.transport(0), world.transport(1));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    let (dialed, accepted) = connected(&world, &mut listener, &dialer).await;
    let marker = b"PLAINTEXT-PREVOTE-FRAME-MARKER".repeat(4);
    dialed.send(Bytes::from(marker.clone())).await.unwrap();
    assert_eq!(within(PATIENCE, "frame", accepted.recv()).await.unwrap().unwrap(), marker);
    let seen = seen.lock().unwrap();
    assert!(seen.len() > marker.len(), "the frame did cross the relay");
    assert!(!seen.windows(16).any(|w| w == &marker[..16]), "the relay saw plaintext");
}

#[tokio::test(start_paused = true)]
async fn a_byte_flipped_by_the_relay_breaks_the_circuit_instead_of_delivering_a_corrupted_frame() {
    let world = World::new(2, RelayConfig::test()).await;
    let armed = Arc::new(AtomicBool::new(false));
    let trigger = armed.clone();
    world.relay.tap_for_testing(move |bytes| {
        if trigger.swap(false, Ordering::SeqCst) {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
        }
    });
    let (behind, dialer) = (world.transport(0), world.transport(1));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    let (dialed, accepted) = connected(&world, &mut listener, &dialer).await;
    armed.store(true, Ordering::SeqCst);
    dialed.send(Bytes::from_static(b"precommit for block 7")).await.unwrap();
    let outcome = within(PATIENCE, "the receiver's verdict", accepted.recv()).await;
    assert!(matches!(outcome, Err(TransportError::ConnectionLost { .. })), "got {outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn a_stopped_reader_does_not_stall_another_circuit_on_the_same_link() {
    let world = World::new(3, RelayConfig::test()).await;
    let behind = world.transport(0);
    let (slow_dialer, fast_dialer) = (world.transport(1), world.transport(2));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    let (slow, _slow_accepted_never_read) = connected(&world, &mut listener, &slow_dialer).await;
    let (fast, fast_accepted) = connected(&world, &mut listener, &fast_dialer).await;

    // The slow circuit's reader never reads: its sender fills what credit and buffers allow, then waits.
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    let flood = tokio::spawn(async move {
        let frame = Bytes::from(vec![0xab; 64 * 1024]);
        for _ in 0..256 {
            slow.send(frame.clone()).await.unwrap();
            counted.fetch_add(frame.len(), Ordering::SeqCst);
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await; // virtual: lets the flood run into its window
    let stuck_at = accepted.load(Ordering::SeqCst);
    assert!(!flood.is_finished() && stuck_at < 16 << 20, "the slow circuit's sender is held back ({stuck_at} bytes)");

    // Meanwhile the other circuit on the same link to the relay flows.
    within(PATIENCE, "200 frames on the other circuit", async {
        for i in 0..200u32 {
            fast.send(Bytes::from(i.to_be_bytes().to_vec())).await.unwrap();
            assert_eq!(fast_accepted.recv().await.unwrap().unwrap(), Bytes::from(i.to_be_bytes().to_vec()));
        }
    })
    .await;
    assert_eq!(accepted.load(Ordering::SeqCst), stuck_at, "and the slow one stays held");
    flood.abort();
}

#[tokio::test(start_paused = true)]
async fn a_circuit_over_its_byte_limit_is_reset() {
    let world = World::new(2, RelayConfig { circuit_byte_limit: 256 * 1024, ..RelayConfig::test() }).await;
    let (behind, dialer) = (world.transport(0), world.transport(1));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    let (dialed, accepted) = connected(&world, &mut listener, &dialer).await;
    let reader = tokio::spawn(async move {
        loop {
            match accepted.recv().await {
                Ok(Some(_)) => {}
                other => return other.map(|_| ()),
            }
        }
    });
    for _ in 0..8 {
        if dialed.send(Bytes::from(vec![1u8; 64 * 1024])).await.is_err() {
            break;
        }
    }
    let outcome = within(PATIENCE, "the reset to reach the reader", reader).await.unwrap();
    assert!(matches!(outcome, Err(TransportError::ConnectionLost { .. })), "got {outcome:?}");
    assert_eq!(world.relay.stats().circuits, 0, "the relay freed the circuit");
}

#[tokio::test(start_paused = true)]
async fn a_circuit_over_its_time_limit_is_reset() {
    let limit = Duration::from_secs(20);
    let world = World::new(2, RelayConfig { circuit_time_limit: limit, ..RelayConfig::test() }).await;
    let (behind, dialer) = (world.transport(0), world.transport(1));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    let (_dialed, accepted) = connected(&world, &mut listener, &dialer).await;
    let outcome = within(limit + PATIENCE, "the time limit", accepted.recv()).await;
    assert!(matches!(outcome, Err(TransportError::ConnectionLost { .. })), "got {outcome:?}");
    assert_eq!(world.relay.stats().circuits, 0);
}

#[tokio::test(start_paused = true)]
async fn reservations_beyond_the_cap_are_refused_with_a_clear_error() {
    let world = World::new(3, RelayConfig { max_reservations: 2, ..RelayConfig::test() }).await;
    let transports: Vec<_> = (0..3).map(|i| world.transport(i)).collect();
    let _first = transports[0].listen(&world.listen_address()).await.unwrap();
    let _second = transports[1].listen(&world.listen_address()).await.unwrap();
    let refused = transports[2].listen(&world.listen_address()).await.err().expect("the third is refused");
    let message = refused.to_string();
    assert!(message.contains("maximum number of reservations"), "{message}");
    assert_eq!(world.relay.stats().reservations, 2);
}

#[tokio::test(start_paused = true)]
async fn an_unadmitted_identity_cannot_reserve() {
    let world = World::new(1, RelayConfig::test()).await;
    let stranger = world.transport_of(&key(99));
    let outcome = within(PATIENCE, "the stranger's listen", stranger.listen(&world.listen_address())).await;
    assert!(outcome.is_err(), "an identity the relay does not admit got a reservation");
    assert_eq!(world.relay.stats().reservations, 0);
    assert_eq!(world.relay.stats().links, 0, "and no link");
}

#[tokio::test(start_paused = true)]
async fn dialing_a_validator_without_a_reservation_says_so() {
    let world = World::new(2, RelayConfig::test()).await;
    let addr = format!("relay://mem://relay/{}", world.keys[0].validator_id()).parse().unwrap();
    let error = within(PATIENCE, "the dial", world.transport(1).dial(&addr, None)).await.err().unwrap();
    assert!(error.to_string().contains("holds no reservation"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn circuits_beyond_the_per_peer_cap_are_refused() {
    let world = World::new(2, RelayConfig { max_circuits_per_peer: 2, ..RelayConfig::test() }).await;
    let (behind, dialer) = (world.transport(0), world.transport(1));
    let mut listener = behind.listen(&world.listen_address()).await.unwrap();
    let _one = connected(&world, &mut listener, &dialer).await;
    let _two = connected(&world, &mut listener, &dialer).await;
    let error = within(PATIENCE, "the third dial", dialer.dial(&listener.local_addr(), None)).await.err().unwrap();
    assert!(error.to_string().contains("maximum number of circuits"), "{error}");
}
