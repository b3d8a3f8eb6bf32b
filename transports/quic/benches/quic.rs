//! `cargo bench -p quorumnet-quic`: one table, measured in one run on loopback.
//!
//! Each row sets quorumnet-quic next to raw quinn streams (quinn's default transport parameters,
//! the same TLS and sockets, no identity proof and no K) in the same run, with the ratio:
//! - 64 KiB frames, one `send` per frame, over one connection: throughput;
//! - 200-byte frames, one `send` per frame (the caller does not batch): frame rate; raw quinn writes
//!   each prefixed frame with its own `write_all`, as an unbatched caller would;
//! - connection setup: dial to accepted connection, sequentially; quorumnet-quic includes the §3
//!   identity proof (an ML-DSA-65 sign and verify on each side), raw quinn only QUIC + TLS.
//!
//! Figures are medians of several runs; the machine is shared, so compare the ratios of one run.
//! Environment: `QN_BENCH_RUNS` (default 5), `QN_BENCH_SCALE` (default 1.0) to shorten,
//! `QN_BENCH_ROWS` (any of `bulk small setup`, default all) and `QN_BENCH_SIDES` (any of
//! `quic raw`, default both) to time fewer, e.g. under `perf record`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::transport::{Admission, Listener, Transport, TransportConfig, TransportContext};
use quorumnet_quic::{testing, QuicTransport, SERVER_NAME};

const BIG: usize = 64 * 1024;
const SMALL: usize = 200;

/// Frame contents: static, so handing a frame to `send` costs no allocation.
static CONTENT: [u8; BIG] = [0xa5; BIG];

fn context(seed: u8) -> TransportContext {
    TransportContext {
        keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
        chain_id: ChainId::from_network_name("bench"),
        admission: Admission::open(),
        config: TransportConfig::local(),
    }
}

async fn quic_pair() -> (QuicTransport, Box<dyn Listener>) {
    let server = QuicTransport::new(context(2)).unwrap();
    let listener = server.listen(&"quic://127.0.0.1:0".parse().unwrap()).await.unwrap();
    (QuicTransport::new(context(1)).unwrap(), listener)
}

/// Time to move `frames` frames of `len` bytes through quorumnet-quic, first send to last recv.
async fn quic_stream(len: usize, frames: usize) -> Duration {
    let (client, mut listener) = quic_pair().await;
    let addr = listener.local_addr();
    let (dialed, accepted) = tokio::join!(client.dial(&addr, None), listener.accept());
    let (tx, rx) = (dialed.unwrap(), accepted.unwrap());
    let frame = Bytes::from_static(&CONTENT[..len]);
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for _ in 0..frames {
            tx.send(frame.clone()).await.unwrap();
        }
        tx.close().await.unwrap();
    });
    let mut received = 0;
    while let Some(frame) = rx.recv().await.unwrap() {
        received += 1;
        std::hint::black_box(&frame);
    }
    let elapsed = started.elapsed();
    sender.await.unwrap();
    assert_eq!(received, frames);
    elapsed
}

/// The same prefixed frames over one raw quinn stream, one write per frame; the receiver takes
/// chunks as quinn hands them over and counts bytes.
async fn raw_stream(len: usize, frames: usize) -> Duration {
    let (server, client, config) = testing::raw_quinn_pair();
    let addr = server.local_addr().unwrap();
    let connecting = client.connect_with(config, addr, SERVER_NAME).unwrap();
    let accept = async { server.accept().await.unwrap().await };
    let (dialed, accepted) = tokio::join!(connecting, accept);
    let (tx_conn, rx_conn) = (dialed.unwrap(), accepted.unwrap());
    let (mut tx, _) = tx_conn.open_bi().await.unwrap();
    // Prefix and frame contiguous, so each write is one chunk (quinn's cost grows with chunk count).
    let framed = [&(len as u32).to_be_bytes()[..], &CONTENT[..len]].concat();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for _ in 0..frames {
            tx.write_all(&framed).await.unwrap();
        }
        tx.finish().unwrap();
        tx.stopped().await.unwrap();
        tx_conn
    });
    let (_, mut rx) = rx_conn.accept_bi().await.unwrap();
    let mut bytes = 0;
    while let Some(chunk) = rx.read_chunk(usize::MAX, true).await.unwrap() {
        bytes += chunk.bytes.len();
        std::hint::black_box(&chunk);
    }
    let elapsed = started.elapsed();
    drop(sender.await.unwrap());
    assert_eq!(bytes, frames * (len + 4));
    elapsed
}

/// Mean time from dial to accepted connection over `n` sequential connections, §3 proof included.
async fn quic_setup(n: usize) -> Duration {
    let (client, mut listener) = quic_pair().await;
    let addr = listener.local_addr();
    let started = Instant::now();
    for _ in 0..n {
        let (dialed, accepted) = tokio::join!(client.dial(&addr, None), listener.accept());
        drop((dialed.unwrap(), accepted.unwrap()));
    }
    started.elapsed() / n as u32
}

/// The same for raw quinn: QUIC + TLS handshake, both sides' connections established.
async fn raw_setup(n: usize) -> Duration {
    let (server, client, config) = testing::raw_quinn_pair();
    let addr = server.local_addr().unwrap();
    let started = Instant::now();
    for _ in 0..n {
        let connecting = client.connect_with(config.clone(), addr, SERVER_NAME).unwrap();
        let accept = async { server.accept().await.unwrap().await };
        let (dialed, accepted) = tokio::join!(connecting, accept);
        drop((dialed.unwrap(), accepted.unwrap()));
    }
    started.elapsed() / n as u32
}

/// The median; a row not run shows as zero time (an infinite rate).
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn main() {
    let runs: usize = std::env::var("QN_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let scale: f64 = std::env::var("QN_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let count = |n: f64| ((n * scale) as usize).max(10);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (big, small, setups) = (count(20_000.0), count(2_000_000.0), count(200.0));
    // Interleaved, so a burst of load from elsewhere on the machine hits both alike.
    let rows = std::env::var("QN_BENCH_ROWS").unwrap_or_else(|_| "bulk small setup".into());
    let sides = std::env::var("QN_BENCH_SIDES").unwrap_or_else(|_| "quic raw".into());
    let (quic, raw) = (sides.contains("quic"), sides.contains("raw"));
    let mut samples: [Vec<Duration>; 6] = Default::default();
    let mut time = |slot: usize, on: bool, run: &dyn Fn() -> Duration| {
        if on {
            samples[slot].push(run());
        }
    };
    for _ in 0..runs {
        if rows.contains("bulk") {
            time(0, quic, &|| runtime.block_on(quic_stream(BIG, big)));
            time(1, raw, &|| runtime.block_on(raw_stream(BIG, big)));
        }
        if rows.contains("small") {
            time(2, quic, &|| runtime.block_on(quic_stream(SMALL, small)));
            time(3, raw, &|| runtime.block_on(raw_stream(SMALL, small)));
        }
        if rows.contains("setup") {
            time(4, quic, &|| runtime.block_on(quic_setup(setups)));
            time(5, raw, &|| runtime.block_on(raw_setup(setups)));
        }
    }
    let [q_big, r_big, q_small, r_small, q_setup, r_setup] = samples.map(median);
    let gbps = |d: Duration| (big * BIG) as f64 / d.as_secs_f64() / 1e9;
    let mfps = |d: Duration| small as f64 / d.as_secs_f64() / 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("quorumnet-quic vs raw quinn — loopback, one connection, median of {runs} runs");
    println!("{:<34} | {:>16} | {:>16} | {:>9}", "row", "quorumnet-quic", "raw quinn", "quic/raw");
    let row = |name: String, q: f64, r: f64, unit: &str| {
        println!("{name:<34} | {q:>9.3} {unit:<6} | {r:>9.3} {unit:<6} | {:>8.2}x", q / r);
    };
    row(format!("64 KiB frames ({big})"), gbps(q_big), gbps(r_big), "GB/s");
    row(format!("200-byte frames, unbatched ({small})"), mfps(q_small), mfps(r_small), "M/s");
    row(format!("setup incl. identity proof ({setups})"), ms(q_setup), ms(r_setup), "ms");
    println!("targets: bulk >= 0.8x raw quinn; setup <= 1.5 ms; 200-byte frames >= 3.22 M/s (2x rust-libp2p QUIC)");
}
