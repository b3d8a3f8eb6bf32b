//! `cargo bench -p quorumnet-websocket`: one table, measured in one run on loopback.
//!
//! Each row sets quorumnet-websocket (`ws://`, and `wss://` with TLS 1.3 on ring) next to
//! quorumnet-tcp-noise in the same run — the same Noise channel over bare TCP, so the ratio is the
//! cost of the WebSocket framing, masking and TLS:
//! - 64 KiB frames, one `send` per frame, over one connection: throughput;
//! - 200-byte frames, one `send` per frame (the caller does not batch): frame rate;
//! - one 200-byte frame each way at a time: the round trip, so a relay's added latency shows.
//!
//! A fourth column runs the same connection through a relay (`relay://ws://…`, core's relay circuits:
//! the relay and both ends on loopback WebSocket, Noise end to end inside the circuit), so the cost
//! of the relay's hop — two more WebSocket links, its forwarding and the circuit's credit — is read
//! against a direct `ws://` connection and tcp-noise in the same run.
//!
//! A last table loads one relay with many circuits at once (each its own pair of validators on
//! loopback ws), for what one relay forwards before the machine's CPU is spent. The ends run in the
//! same process and do the Noise work, so the figure is a lower bound on the relay's own capacity.
//!
//! Figures are medians of several runs; the machine is shared, so compare the ratios of one run.
//! Environment: `QN_BENCH_RUNS` (default 5), `QN_BENCH_SCALE` (default 1.0) to shorten.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::relay::{RelayConfig, RelayServer, RelayTransport};
use quorumnet_core::transport::{Admission, Connection, Transport, TransportConfig, TransportContext};
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
    /// `ws://` through a relay, itself on `ws://`.
    WsRelay,
}

fn transport(side: Side, seed: u8, tls: &WssConfig) -> (Arc<dyn Transport>, &'static str) {
    match side {
        Side::Ws => (Arc::new(WebSocketTransport::new(context(seed))), "ws://127.0.0.1:0"),
        Side::Wss => (Arc::new(WebSocketTransport::secure(context(seed), tls.clone())), "wss://127.0.0.1:0"),
        Side::TcpNoise => (Arc::new(TcpNoiseTransport::new(context(seed))), "tcp-noise://127.0.0.1:0"),
        Side::WsRelay => {
            let ws: Arc<dyn Transport> = Arc::new(WebSocketTransport::new(context(seed)));
            (Arc::new(RelayTransport::over(context(seed), ws)), "")
        }
    }
}

/// A connection of `side` from a client to a server (and, for the relayed side, the relay between).
async fn connect(side: Side, tls: &WssConfig) -> (Box<dyn Connection>, Box<dyn Connection>, Option<RelayServer>) {
    let (server, listen) = transport(side, 2, tls);
    let (client, _) = transport(side, 1, tls);
    let (relay, listen) = match side {
        Side::WsRelay => {
            let relay_ws = WebSocketTransport::new(context(3));
            let relay_listener = relay_ws.listen(&"ws://127.0.0.1:0".parse().unwrap()).await.unwrap();
            let relay = RelayServer::spawn(relay_listener, RelayConfig::recommended());
            let listen = format!("relay://{}", relay.local_addr());
            (Some(relay), listen)
        }
        _ => (None, listen.to_owned()),
    };
    let mut listener = server.listen(&listen.parse().unwrap()).await.unwrap();
    let addr = listener.local_addr();
    let (dialed, accepted) = tokio::join!(client.dial(&addr, None), listener.accept());
    (dialed.unwrap(), accepted.unwrap(), relay)
}

/// Time to move `frames` frames of `len` bytes over one connection of `side`, first send to last recv.
async fn stream(side: Side, tls: &WssConfig, len: usize, frames: usize) -> Duration {
    let (tx, rx, _relay) = connect(side, tls).await;
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

/// The median round trip of `trips` 200-byte frames sent one at a time and echoed.
async fn round_trip(side: Side, tls: &WssConfig, trips: usize) -> Duration {
    let (client, server, _relay) = connect(side, tls).await;
    let echo = tokio::spawn(async move {
        while let Ok(Some(frame)) = server.recv().await {
            if server.send(frame).await.is_err() {
                return;
            }
        }
    });
    let frame = Bytes::from_static(&CONTENT[..SMALL]);
    let mut samples = Vec::with_capacity(trips);
    for _ in 0..trips {
        let sent = Instant::now();
        client.send(frame.clone()).await.unwrap();
        client.recv().await.unwrap().expect("echoed");
        samples.push(sent.elapsed());
    }
    client.close().await.unwrap();
    echo.abort();
    median(samples)
}

/// `circuits` circuits through one relay at once, each a validator dialing another that listens only
/// through the relay, each moving `frames` frames of `len` bytes: time from the first send to the
/// last frame received.
async fn relay_fan_out(circuits: usize, len: usize, frames: usize) -> Duration {
    let relay_ws = WebSocketTransport::new(context(3));
    let relay_listener = relay_ws.listen(&"ws://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let relay = RelayServer::spawn(relay_listener, RelayConfig::recommended());
    let listen = format!("relay://{}", relay.local_addr()).parse().unwrap();
    let tls = WssConfig::self_signed_loopback().unwrap().0;
    // The transports and listeners stay alive for the run: their links to the relay carry the circuits.
    let (mut connections, mut keep) = (Vec::with_capacity(circuits), Vec::with_capacity(circuits));
    for k in 0..circuits {
        let seed = u8::try_from(k).expect("at most 100 circuits");
        let (server, _) = transport(Side::WsRelay, 10 + seed, &tls);
        let (client, _) = transport(Side::WsRelay, 120 + seed, &tls);
        let mut listener = server.listen(&listen).await.unwrap();
        let addr = listener.local_addr();
        let (dialed, accepted) = tokio::join!(client.dial(&addr, None), listener.accept());
        connections.push((dialed.unwrap(), accepted.unwrap()));
        keep.push((server, client, listener));
    }
    let frame = Bytes::from_static(&CONTENT[..len]);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (tx, rx) in connections {
        let frame = frame.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..frames {
                tx.send(frame.clone()).await.unwrap();
            }
            tx.close().await.unwrap();
        }));
        tasks.push(tokio::spawn(async move {
            let mut received = 0;
            while let Some(frame) = rx.recv().await.unwrap() {
                received += 1;
                std::hint::black_box(&frame);
            }
            assert_eq!(received, frames);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    drop((keep, relay));
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
    let trips = count(2_000.0);
    let sides = [Side::Ws, Side::Wss, Side::TcpNoise, Side::WsRelay];
    let mut samples: [[Vec<Duration>; 4]; 3] = Default::default();
    // Interleaved, so a burst of load from elsewhere on the machine hits every side alike.
    for _ in 0..runs {
        for (column, side) in sides.into_iter().enumerate() {
            for (row, (len, frames)) in [(BIG, big), (SMALL, small)].into_iter().enumerate() {
                samples[row][column].push(runtime.block_on(stream(side, &tls, len, frames)));
            }
            samples[2][column].push(runtime.block_on(round_trip(side, &tls, trips)));
        }
    }
    let [bulk, rate, rtt] = samples.map(|row| row.map(median));
    let gbps = |d: Duration| (big * BIG) as f64 / d.as_secs_f64() / 1e9;
    let mfps = |d: Duration| small as f64 / d.as_secs_f64() / 1e6;
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!("quorumnet-websocket vs quorumnet-tcp-noise — loopback, one connection, median of {runs} runs");
    println!(
        "{:<36} | {:>13} | {:>13} | {:>13} | {:>13} | {:>8} | {:>8} | {:>9}",
        "row", "ws", "wss", "tcp-noise", "ws via relay", "ws/tcp", "wss/tcp", "relay/ws"
    );
    let row = |name: String, [ws, wss, tcp, relayed]: [f64; 4], unit: &str| {
        println!(
            "{name:<36} | {ws:>8.3} {unit:<4} | {wss:>8.3} {unit:<4} | {tcp:>8.3} {unit:<4} | {relayed:>8.3} {unit:<4} | {:>7.2}x | {:>7.2}x | {:>8.2}x",
            ws / tcp,
            wss / tcp,
            relayed / ws
        );
    };
    row(format!("64 KiB frames ({big})"), bulk.map(gbps), "GB/s");
    row(format!("200-byte frames, unbatched ({small})"), rate.map(mfps), "M/s");
    row(format!("round trip, 200 bytes ({trips})"), rtt.map(micros), "µs");
    println!("target: ws bulk >= 0.5x tcp-noise; the relay column is a circuit through a relay on loopback ws");

    // One relay, many circuits at once: 4 KiB frames, about a vote's envelope each.
    const FAN_FRAME: usize = 4 * 1024;
    let per_circuit = count(2_000.0);
    println!();
    println!("one relay, circuits at once, {per_circuit} x 4 KiB frames each (median of {runs} runs; ends in the same process)");
    println!(
        "{:>9} | {:>12} | {:>14} | {:>26}",
        "circuits", "MB/s total", "MB/s / circuit", "circuits at 50 KB/s each"
    );
    for circuits in [1, 16, 64] {
        let times: Vec<Duration> =
            (0..runs).map(|_| runtime.block_on(relay_fan_out(circuits, FAN_FRAME, per_circuit))).collect();
        let total = (circuits * per_circuit * FAN_FRAME) as f64 / median(times).as_secs_f64() / 1e6;
        println!("{circuits:>9} | {total:>12.1} | {:>14.1} | {:>26.0}", total / circuits as f64, total * 1e3 / 50.0);
    }
    println!("50 KB/s: one link's consensus traffic in a 100-validator devnet (80 MB per height over 9 900 links at ~6 heights/s)");
}
