//! The frame contract: sizes, ordering, exactly-once, close, backpressure.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use quorumnet_core::codec::DEFAULT_MAX_FRAME_LEN;
use quorumnet_core::transport::{
    Connection, Transport, TransportConfig, TransportError, MAX_UNSENT_BOUND, NEVER_READING_PEER_CEILING,
};
use quorumnet_memory::{MemoryNetwork, UNSENT_BOUND};

/// Frame `i` of `len` bytes: its index, then its low byte repeated.
fn frame(i: u32, len: usize) -> Bytes {
    let mut bytes = vec![i as u8; len];
    let head = i.to_le_bytes();
    let n = len.min(4);
    bytes[..n].copy_from_slice(&head[..n]);
    Bytes::from(bytes)
}

fn check_frame(i: u32, len: usize, got: &[u8]) {
    assert_eq!(got.len(), len, "frame {i} has the wrong length");
    let n = len.min(4);
    assert_eq!(got[..n], i.to_le_bytes()[..n], "frame {i} arrived out of order");
    assert!(got[n..].iter().all(|&b| b == i as u8), "frame {i} is corrupted");
}

/// Sizes from 1 byte to exactly `limit`, mixed by a fixed recipe.
fn size(i: u32, limit: usize) -> usize {
    match i % 16 {
        0 => limit,
        1 => 1,
        2 => limit - 1,
        _ => 1 + (i as usize * 7919) % (limit / 8),
    }
}

async fn pair(network: &MemoryNetwork, config: TransportConfig) -> (Box<dyn Connection>, Box<dyn Connection>) {
    let mut listener = node_with(network, 2, admit_all(), config.clone()).listen(&addr("v2")).await.unwrap();
    connect(&node_with(network, 1, admit_all(), config), &mut listener).await
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_mixed_size_frames_arrive_in_order_exactly_once() {
    const FRAMES: u32 = 10_000;
    let limit = 64 * 1024;
    let network = MemoryNetwork::new(3);
    let (a, b) = pair(&network, TransportConfig { max_frame_len: limit, ..TransportConfig::test() }).await;
    let sender = async {
        for i in 0..FRAMES {
            a.send(frame(i, size(i, limit))).await.unwrap();
        }
        a.close().await.unwrap();
    };
    let receiver = async {
        for i in 0..FRAMES {
            let got = b.recv().await.unwrap().unwrap_or_else(|| panic!("closed before frame {i}"));
            check_frame(i, size(i, limit), &got);
        }
        assert!(b.recv().await.unwrap().is_none(), "an extra frame arrived");
    };
    within("10 000 frames", Duration::from_secs(60), async { tokio::join!(sender, receiver) }).await;
}

#[tokio::test(start_paused = true)]
async fn frames_at_the_limit_pass_and_empty_or_larger_ones_fail() {
    let network = MemoryNetwork::new(3);
    let (a, b) = pair(&network, TransportConfig::test()).await;
    assert_eq!(a.max_frame_len(), DEFAULT_MAX_FRAME_LEN);
    let at_limit = frame(1, DEFAULT_MAX_FRAME_LEN);
    let (sent, got) = tokio::join!(a.send(at_limit.clone()), b.recv());
    sent.unwrap();
    assert_eq!(got.unwrap().unwrap(), at_limit);

    assert!(matches!(a.send(Bytes::new()).await, Err(TransportError::EmptyFrame)));
    let over = a.send(Bytes::from(vec![0; DEFAULT_MAX_FRAME_LEN + 1])).await;
    assert!(
        matches!(over, Err(TransportError::FrameTooLarge { len, limit }) if len == DEFAULT_MAX_FRAME_LEN + 1 && limit == DEFAULT_MAX_FRAME_LEN)
    );
    // The connection survives refused sends.
    a.send(Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(&b.recv().await.unwrap().unwrap()[..], b"x");
}

#[tokio::test(start_paused = true)]
async fn an_oversize_frame_from_the_peer_is_a_protocol_violation() {
    let network = MemoryNetwork::new(3);
    let small = TransportConfig { max_frame_len: 1024, ..TransportConfig::test() };
    let mut listener = node_with(&network, 2, admit_all(), small).listen(&addr("v2")).await.unwrap();
    let (a, b) = connect(&node(&network, 1), &mut listener).await;
    a.send(Bytes::from(vec![7; 2048])).await.unwrap();
    match b.recv().await {
        Err(TransportError::ProtocolViolation { peer, .. }) => assert_eq!(peer, id(1)),
        other => panic!("expected a protocol violation, got {other:?}"),
    }
    // The violation resets the connection for both ends.
    assert!(matches!(a.recv().await, Err(TransportError::ConnectionLost { .. })));
}

#[tokio::test(start_paused = true)]
async fn clean_close_is_seen_as_none_after_every_frame() {
    let network = MemoryNetwork::new(3);
    let (a, b) = pair(&network, TransportConfig::test()).await;
    for i in 0..100 {
        a.send(frame(i, 100)).await.unwrap();
    }
    a.close().await.unwrap();
    a.close().await.unwrap(); // idempotent
    assert!(matches!(a.send(frame(0, 1)).await, Err(TransportError::Closed)));
    for i in 0..100 {
        check_frame(i, 100, &b.recv().await.unwrap().unwrap());
    }
    assert!(b.recv().await.unwrap().is_none());
    assert!(b.recv().await.unwrap().is_none(), "None is sticky");
    // The other direction still works until b closes too.
    b.send(frame(9, 9)).await.unwrap();
    check_frame(9, 9, &a.recv().await.unwrap().unwrap());
    drop(b);
    assert!(a.recv().await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_peer_is_seen_as_closed_and_sending_to_it_fails() {
    let network = MemoryNetwork::new(3);
    let (a, b) = pair(&network, TransportConfig::test()).await;
    b.send(frame(1, 10)).await.unwrap();
    drop(b);
    check_frame(1, 10, &a.recv().await.unwrap().unwrap());
    assert!(a.recv().await.unwrap().is_none());
    assert!(matches!(a.send(frame(2, 10)).await, Err(TransportError::ConnectionLost { .. })));
}

/// Spawns a task sending 2000 frames and another receiving 2000 on the same connection.
fn exchange(me: Arc<dyn Connection>) -> [tokio::task::JoinHandle<()>; 2] {
    let sender = me.clone();
    let send = tokio::spawn(async move {
        for i in 0..2000 {
            sender.send(frame(i, 1 + (i as usize * 31) % 5000)).await.unwrap();
        }
    });
    let recv = tokio::spawn(async move {
        for i in 0..2000 {
            check_frame(i, 1 + (i as usize * 31) % 5000, &me.recv().await.unwrap().unwrap());
        }
    });
    [send, recv]
}

#[tokio::test(start_paused = true)]
async fn simultaneous_bidirectional_sends_from_concurrent_tasks() {
    let network = MemoryNetwork::new(3);
    let (a, b) = pair(&network, TransportConfig::test()).await;
    let tasks = [exchange(Arc::from(a)), exchange(Arc::from(b))];
    within("bidirectional exchange", Duration::from_secs(30), async {
        for task in tasks.into_iter().flatten() {
            task.await.unwrap();
        }
    })
    .await;
}

/// Sends `len`-byte frames until a send stays pending for a second; returns the bytes accepted.
async fn fill(conn: &dyn Connection, len: usize) -> (usize, u32) {
    let mut accepted = 0;
    let mut count = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), conn.send(frame(count, len))).await {
            Ok(result) => result.unwrap(),
            Err(_) => return (accepted, count),
        }
        accepted += len;
        count += 1;
        assert!(accepted < NEVER_READING_PEER_CEILING, "send kept accepting: {accepted} bytes");
    }
}

#[tokio::test(start_paused = true)]
async fn send_blocks_against_a_never_reading_peer_and_a_reader_drains_it() {
    const { assert!(UNSENT_BOUND <= MAX_UNSENT_BOUND) };
    for len in [1024, DEFAULT_MAX_FRAME_LEN] {
        let network = MemoryNetwork::new(3);
        let (a, b) = pair(&network, TransportConfig::test()).await;
        let (accepted, count) = fill(&*a, len).await;
        assert!(accepted >= UNSENT_BOUND.min(len), "send blocked too early: {accepted}");
        // A pending send goes through once the peer reads, and every frame arrives.
        let pending = a.send(frame(count, len));
        let drain = async {
            for i in 0..=count {
                check_frame(i, len, &b.recv().await.unwrap().unwrap());
            }
        };
        let (sent, ()) =
            within("drain a blocked sender", Duration::from_secs(10), async { tokio::join!(pending, drain) }).await;
        sent.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_send_or_recv_loses_no_frame() {
    let network = MemoryNetwork::new(3);
    let (a, b) = pair(&network, TransportConfig::test()).await;
    let (_, count) = fill(&*a, 4096).await;
    // A send that is cancelled while pending was not accepted.
    assert!(tokio::time::timeout(Duration::from_millis(10), a.send(frame(count, 4096))).await.is_err());
    // A recv cancelled before anything arrives loses nothing either.
    assert!(tokio::time::timeout(Duration::from_millis(10), a.recv()).await.is_err());
    for i in 0..count {
        check_frame(i, 4096, &b.recv().await.unwrap().unwrap());
    }
    a.close().await.unwrap();
    assert!(b.recv().await.unwrap().is_none(), "the cancelled send was delivered");
}
