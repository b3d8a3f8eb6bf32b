//! A connection dropped without `close` flushes in the background, but not for ever: against a live
//! peer that does not read, it gives up after the drop flush limit and closes with code 4, so the
//! peer sees an error — never `Ok(None)`, which would hide the frames it did not get.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext, TransportError};
use quorumnet_quic::settings::{SEND_BUDGET, STREAM_WINDOW};
use quorumnet_quic::QuicTransport;

const LIMIT: Duration = Duration::from_millis(300);
const WITHIN: Duration = Duration::from_secs(10);

fn transport(seed: u8) -> QuicTransport {
    let ctx = TransportContext {
        keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
        chain_id: ChainId::from_network_name("drop-flush"),
        admission: Admission::open(),
        config: TransportConfig::test(),
    };
    QuicTransport::new(ctx).unwrap().with_drop_flush_limit_for_testing(LIMIT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_that_cannot_flush_gives_up_with_an_error_for_the_peer() {
    let (server, client) = (transport(1), transport(2));
    let mut listener = server.listen(&"quic://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let local = listener.local_addr();
    let (dialed, accepted) = tokio::join!(client.dial(&local, None), listener.accept());
    let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap());
    // Fill the peer's window and our queue, so the drop leaves frames that cannot move.
    let frame = Bytes::from(vec![7u8; 16 * 1024]);
    let mut sent = 0;
    while sent < SEND_BUDGET + STREAM_WINDOW {
        match tokio::time::timeout(Duration::from_millis(200), dialed.send(frame.clone())).await {
            Ok(result) => result.unwrap(),
            Err(_) => break, // pending: the window and the queue are full
        }
        sent += frame.len();
    }
    drop(dialed);
    // The peer still does not read while the limit runs out (a bounded wait on a frame it never asks
    // for would race the flush: it would make room). The limit is what it waits for, not a sync.
    tokio::time::sleep(LIMIT * 4).await;
    let mut frames = 0;
    let end = loop {
        match tokio::time::timeout(WITHIN, accepted.recv()).await.expect("recv in time") {
            Ok(Some(_)) => frames += 1,
            other => break other,
        }
    };
    assert!(
        matches!(end, Err(TransportError::ConnectionLost { .. })),
        "after {frames} frames the peer saw {end:?}, not an error: a clean end would hide lost frames"
    );
}
