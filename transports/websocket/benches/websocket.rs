//! `cargo bench -p quorumnet-websocket`: one table, measured in one run on loopback.
//!
//! Each row sets quorumnet-websocket (`ws://`, and `wss://` with TLS 1.3 on ring) next to
//! quorumnet-tcp-noise in the same run — the same Noise channel over bare TCP, so the ratio is the
//! cost of the WebSocket framing, masking and TLS:
//! - 64 KiB frames, one `send` per frame, over one connection: throughput;
//! - 200-byte frames, one `send` per frame (the caller does not batch): frame rate.
//!
//! Figures are medians of several runs; the machine is shared, so compare the ratios of one run.
//! Environment: `QN_BENCH_RUNS` (default 5), `QN_BENCH_SCALE` (default 1.0) to shorten.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
use quorumnet_tcp_noise::TcpNoiseTransport;
use quorumnet_websocket::{WebSocketTransport, WssConfig};

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

#[derive(Clone, Copy)]
enum Side {
    Ws,
    Wss,
    TcpNoise,
}

fn transport(side: Side, seed: u8, tls: &WssConfig) -> (Arc<dyn Transport>, &'static str) {
    match side {
        Side::Ws => (Arc::new(WebSocketTransport::new(context(seed))), "ws://127.0.0.1:0"),
        Side::Wss => (Arc::new(WebSocketTransport::secure(context(seed), tls.clone())), "wss://127.0.0.1:0"),
        Side::TcpNoise => (Arc::new(TcpNoiseTransport::new(context(seed))), "tcp-noise://127.0.0.1:0"),
    }
}

/// Time to move `frames` frames of `len` bytes over one connection of `side`, first send to last recv.
async fn stream(side: Side, tls: &WssConfig, len: usize, frames: usize) -> Duration {
    let (server, listen) = transport(side, 2, tls);
    let (client, _) = transport(side, 1, tls);
    let mut listener = server.listen(&listen.parse().unwrap()).await.unwrap();
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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("QN_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let scale: f64 = std::env::var("QN_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let count = |n: f64| ((n * scale) as usize).max(10);
    let (big, small) = (count(20_000.0), count(2_000_000.0));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (tls, _) = WssConfig::self_signed_loopback().unwrap();
    let sides = [Side::Ws, Side::Wss, Side::TcpNoise];
    let mut samples: [[Vec<Duration>; 3]; 2] = Default::default();
    // Interleaved, so a burst of load from elsewhere on the machine hits every side alike.
    for _ in 0..runs {
        for (row, (len, frames)) in [(BIG, big), (SMALL, small)].into_iter().enumerate() {
            for (column, side) in sides.into_iter().enumerate() {
                samples[row][column].push(runtime.block_on(stream(side, &tls, len, frames)));
            }
        }
    }
    let [bulk, rate] = samples.map(|row| row.map(median));
    let gbps = |d: Duration| (big * BIG) as f64 / d.as_secs_f64() / 1e9;
    let mfps = |d: Duration| small as f64 / d.as_secs_f64() / 1e6;
    println!("quorumnet-websocket vs quorumnet-tcp-noise — loopback, one connection, median of {runs} runs");
    println!("{:<36} | {:>13} | {:>13} | {:>13} | {:>8} | {:>8}", "row", "ws", "wss", "tcp-noise", "ws/tcp", "wss/tcp");
    let row = |name: String, [ws, wss, tcp]: [f64; 3], unit: &str| {
        println!(
            "{name:<36} | {ws:>8.3} {unit:<4} | {wss:>8.3} {unit:<4} | {tcp:>8.3} {unit:<4} | {:>7.2}x | {:>7.2}x",
            ws / tcp,
            wss / tcp
        );
    };
    row(format!("64 KiB frames ({big})"), bulk.map(gbps), "GB/s");
    row(format!("200-byte frames, unbatched ({small})"), rate.map(mfps), "M/s");
    println!("target: ws bulk >= 0.5x tcp-noise");
}
