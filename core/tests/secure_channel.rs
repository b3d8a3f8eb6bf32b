//! SecureConnection over in-memory pipes: framing inside the decrypted stream, coalescing, limits,
//! corruption, truncation, backpressure and close.

mod secure_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use quorumnet_core::codec::DEFAULT_MAX_FRAME_LEN;
use quorumnet_core::secure::wire::MAX_PLAINTEXT_LEN;
use quorumnet_core::transport::{Connection, TransportError, MAX_UNSENT_BOUND, NEVER_READING_PEER_CEILING};
use secure_support::*;
use tokio::io::AsyncWriteExt as _;

/// Frame `index` of a test stream: `len` bytes starting with the index, then a pattern derived from it.
fn numbered_frame(index: u32, len: usize) -> Bytes {
    let mut frame: Vec<u8> = (0..len).map(|i| (i as u32).wrapping_mul(31).wrapping_add(index) as u8).collect();
    let head = index.to_be_bytes();
    let n = len.min(4);
    frame[..n].copy_from_slice(&head[..n]);
    frame.into()
}

/// Mixed sizes, deterministic: mostly small, some around the Noise message size, every 1000th at the limit.
fn mixed_len(index: u32) -> usize {
    let x = index.wrapping_mul(2_654_435_761);
    match index % 1000 {
        999 => DEFAULT_MAX_FRAME_LEN,
        0 => 1,
        n if n % 97 == 0 => MAX_PLAINTEXT_LEN - 2 + (x as usize % 8),
        n if n % 13 == 0 => 1 + x as usize % 200_000,
        _ => 1 + x as usize % 600,
    }
}

/// Sends `count` mixed frames from `a` and checks `b` receives exactly them, in order, then `None`.
async fn assert_exactly_once_in_order(a: impl Connection, b: impl Connection, count: u32) {
    let sender = tokio::spawn(async move {
        for i in 0..count {
            a.send(numbered_frame(i, mixed_len(i))).await.unwrap();
        }
        a.close().await.unwrap();
    });
    for i in 0..count {
        let frame =
            within("the next frame", b.recv()).await.unwrap().unwrap_or_else(|| panic!("closed before frame {i}"));
        assert_eq!(frame, numbered_frame(i, mixed_len(i)), "frame {i}");
    }
    assert!(within("the end", b.recv()).await.unwrap().is_none(), "a frame after the last");
    within("the sender", sender).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mixed_frames_arrive_in_order_exactly_once_including_frames_at_the_limit() {
    let (a, b) = connected_pair().await;
    assert_exactly_once_in_order(a, b, 10_000).await;
}

#[tokio::test]
async fn round_trip_both_ways_and_clean_close_is_none() {
    let (a, b) = connected_pair().await;
    assert_eq!((a.remote(), b.remote()), (id(2), id(1)));
    a.send("ping".into()).await.unwrap();
    assert_eq!(within("ping", b.recv()).await.unwrap().unwrap(), "ping");
    b.send("pong".into()).await.unwrap();
    assert_eq!(within("pong", a.recv()).await.unwrap().unwrap(), "pong");
    within("close", a.close()).await.unwrap();
    within("close again (idempotent)", a.close()).await.unwrap();
    assert!(within("end", b.recv()).await.unwrap().is_none());
    assert!(within("end stays", b.recv()).await.unwrap().is_none());
    assert!(matches!(a.send("late".into()).await, Err(TransportError::Closed)));
    // The other direction is still open until b closes too.
    b.send("still here".into()).await.unwrap();
    assert_eq!(within("half-open", a.recv()).await.unwrap().unwrap(), "still here");
}

#[tokio::test]
async fn empty_and_oversize_sends_are_refused() {
    let (a, _b) = connected_pair().await;
    assert!(matches!(a.send(Bytes::new()).await, Err(TransportError::EmptyFrame)));
    let too_big = Bytes::from(vec![0u8; DEFAULT_MAX_FRAME_LEN + 1]);
    assert!(matches!(a.send(too_big).await, Err(TransportError::FrameTooLarge { .. })));
    assert!(a.unsent_bound() <= MAX_UNSENT_BOUND);
}

#[tokio::test]
async fn a_burst_of_small_frames_is_coalesced_into_few_noise_messages_and_writes() {
    let (a, b) = tokio::io::duplex(4 * 1024 * 1024);
    let tap = Tap::new(a);
    let stats = tap.stats.clone();
    let (sender, receiver) = connect_over(tap, b).await;
    let handshake_writes = stats.writes.load(Ordering::SeqCst);
    const BURST: u32 = 1000;
    let reading = tokio::spawn(async move {
        for i in 0..BURST {
            assert_eq!(within("frame", receiver.recv()).await.unwrap().unwrap(), numbered_frame(i, 200));
        }
    });
    for i in 0..BURST {
        sender.send(numbered_frame(i, 200)).await.unwrap();
    }
    within("close", sender.close()).await.unwrap();
    within("receiver", reading).await.unwrap();
    let writes = stats.writes.load(Ordering::SeqCst) - handshake_writes;
    let messages = stats.noise_messages(2);
    // 1000 × 204 bytes fit in 4 maximal Noise messages; allow slack for batch boundaries.
    assert!(messages <= 20, "{messages} Noise messages for {BURST} frames");
    assert!(writes <= 20, "{writes} writes for {BURST} frames");
}

#[tokio::test]
async fn oversize_frame_length_from_the_peer_is_a_protocol_violation_and_closes() {
    let (victim, mut peer) = victim_and_raw_peer().await;
    peer.send_plaintext(&(DEFAULT_MAX_FRAME_LEN as u32 + 1).to_be_bytes()).await;
    let result = within("victim", victim.recv()).await;
    assert!(matches!(result, Err(TransportError::ProtocolViolation { peer, .. }) if peer == id(1)), "{result:?}");
    within("the victim to close the stream", peer.read_to_end()).await.unwrap();
}

#[tokio::test]
async fn zero_frame_length_from_the_peer_is_a_protocol_violation() {
    let (victim, mut peer) = victim_and_raw_peer().await;
    peer.send_plaintext(&[0, 0, 0, 0]).await;
    let result = within("victim", victim.recv()).await;
    assert!(matches!(result, Err(TransportError::ProtocolViolation { .. })), "{result:?}");
}

#[tokio::test]
async fn frames_split_across_and_packed_into_noise_messages_are_reassembled() {
    let (victim, mut peer) = victim_and_raw_peer().await;
    let mut plaintext = Vec::new();
    for frame in [&b"one"[..], b"two", &[7u8; 70_000]] {
        plaintext.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        plaintext.extend_from_slice(frame);
    }
    // Deliberately odd message boundaries: inside a prefix, inside a frame.
    for piece in [&plaintext[..2], &plaintext[2..9], &plaintext[9..60_000], &plaintext[60_000..]] {
        peer.send_plaintext(piece).await;
    }
    assert_eq!(within("one", victim.recv()).await.unwrap().unwrap(), "one");
    assert_eq!(within("two", victim.recv()).await.unwrap().unwrap(), "two");
    assert_eq!(within("big", victim.recv()).await.unwrap().unwrap(), vec![7u8; 70_000]);
}

#[tokio::test]
async fn ciphertext_altered_in_transit_is_connection_lost() {
    let (a, b) = tokio::io::duplex(PIPE);
    let tap = Tap::new(a);
    let stats = tap.stats.clone();
    let (sender, receiver) = connect_over(tap, b).await;
    stats.corrupt_next_write.store(true, Ordering::SeqCst);
    sender.send("vote".into()).await.unwrap();
    let result = within("receiver", receiver.recv()).await;
    assert!(matches!(result, Err(TransportError::ConnectionLost { peer, .. }) if peer == id(1)), "{result:?}");
}

#[tokio::test]
async fn stream_ending_inside_a_noise_message_is_connection_lost() {
    let (victim, mut peer) = victim_and_raw_peer().await;
    let message = peer.seal(&[0, 0, 0, 3, 1, 2, 3]);
    peer.stream.write_all(&message[..message.len() - 1]).await.unwrap();
    peer.stream.shutdown().await.unwrap();
    assert!(matches!(within("victim", victim.recv()).await, Err(TransportError::ConnectionLost { .. })));
}

#[tokio::test]
async fn stream_ending_inside_a_frame_is_connection_lost() {
    let (victim, mut peer) = victim_and_raw_peer().await;
    peer.send_plaintext(&[0, 0, 0, 10, 1, 2, 3]).await;
    peer.stream.shutdown().await.unwrap();
    assert!(matches!(within("victim", victim.recv()).await, Err(TransportError::ConnectionLost { .. })));
}

#[tokio::test(start_paused = true)]
async fn send_stays_pending_against_a_peer_that_never_reads() {
    let (a, _never_reads) = connected_pair().await;
    let frame = Bytes::from(vec![0u8; 64 * 1024]);
    let mut accepted = 0;
    // Virtual time only advances when every task is blocked, so this timeout fires exactly when the
    // whole pipeline (queue, pipe, peer's inbox) is full.
    while let Ok(sent) = tokio::time::timeout(Duration::from_secs(1), a.send(frame.clone())).await {
        sent.unwrap();
        accepted += frame.len();
        assert!(accepted < NEVER_READING_PEER_CEILING, "accepted {accepted} bytes without blocking");
    }
    eprintln!("accepted {accepted} bytes before send stayed pending");
    assert!(accepted >= 64 * 1024, "nothing was accepted");
}

#[tokio::test]
async fn a_slow_consumer_backpressures_and_then_receives_everything() {
    let (a, b) = connected_pair().await;
    let sender = tokio::spawn(async move {
        for i in 0..2000 {
            a.send(numbered_frame(i, 4096)).await.unwrap();
        }
        a.close().await.unwrap();
    });
    for i in 0..2000 {
        if i % 500 == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(within("frame", b.recv()).await.unwrap().unwrap(), numbered_frame(i, 4096));
    }
    assert!(within("end", b.recv()).await.unwrap().is_none());
    within("sender", sender).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_sends_in_both_directions() {
    let (a, b) = connected_pair().await;
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let send = |c: std::sync::Arc<quorumnet_core::secure::SecureConnection>| async move {
        for i in 0..3000 {
            c.send(numbered_frame(i, mixed_len(i) % 5000 + 1)).await.unwrap();
        }
    };
    let recv = |c: std::sync::Arc<quorumnet_core::secure::SecureConnection>| async move {
        for i in 0..3000 {
            assert_eq!(within("frame", c.recv()).await.unwrap().unwrap(), numbered_frame(i, mixed_len(i) % 5000 + 1));
        }
    };
    let tasks =
        [tokio::spawn(send(a.clone())), tokio::spawn(send(b.clone())), tokio::spawn(recv(a)), tokio::spawn(recv(b))];
    for task in tasks {
        within("both directions", task).await.unwrap();
    }
}

#[tokio::test]
async fn dropping_a_recv_future_loses_no_frame() {
    let (a, b) = connected_pair().await;
    // Cancel a recv that is waiting, then send: the frame must still arrive.
    assert!(tokio::time::timeout(Duration::from_millis(1), b.recv()).await.is_err());
    a.send("kept".into()).await.unwrap();
    assert_eq!(within("kept", b.recv()).await.unwrap().unwrap(), "kept");
}

#[tokio::test]
async fn frames_before_a_violation_are_delivered_before_the_error() {
    let (victim, mut peer) = victim_and_raw_peer().await;
    let mut plaintext = vec![0, 0, 0, 2, b'o', b'k'];
    plaintext.extend_from_slice(&u32::MAX.to_be_bytes());
    peer.send_plaintext(&plaintext).await;
    assert_eq!(within("the good frame", victim.recv()).await.unwrap().unwrap(), "ok");
    assert!(matches!(within("the violation", victim.recv()).await, Err(TransportError::ProtocolViolation { .. })));
}

/// `try_send` queues a frame exactly when `send` would complete at once: in order with `send`s, and
/// declining (queueing nothing) once the credit is spent, until the writer has drained the queue.
#[tokio::test(start_paused = true)]
async fn try_send_takes_a_frame_only_while_send_would_not_wait() {
    let (a, b) = connected_pair().await;
    let mut accepted = Vec::new();
    let mut index = 0u32;
    loop {
        let frame = numbered_frame(index, 16 * 1024);
        index += 1;
        assert!(index < 1_000, "try_send never declined");
        if index % 2 == 0 {
            within("an uncredited send", a.send(frame.clone())).await.unwrap();
            accepted.push(frame);
        } else if let Some(outcome) = a.try_send(&frame) {
            outcome.unwrap();
            accepted.push(frame);
        } else {
            // Polled once, and dropped unfinished (cancel-safe: nothing queued).
            tokio::select! {
                biased;
                _ = a.send(frame.clone()) => panic!("try_send declined a frame send took at once"),
                () = std::future::ready(()) => {}
            }
            break;
        }
    }
    for (i, expected) in accepted.iter().enumerate() {
        let frame = within("an accepted frame", b.recv()).await.unwrap().expect("open");
        assert_eq!(&frame, expected, "frame {i} of {}", accepted.len());
    }
    let last = numbered_frame(index, 100);
    let taken = within("credit back", async {
        loop {
            if let Some(outcome) = a.try_send(&last) {
                break outcome;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    taken.unwrap();
    assert_eq!(within("the last frame", b.recv()).await.unwrap().expect("open"), last, "declined frames were queued");
}
