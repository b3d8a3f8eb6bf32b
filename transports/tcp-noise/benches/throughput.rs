//! `cargo bench -p quorumnet-tcp-noise`: one table, measured in one run on loopback.
//!
//! For 64 KiB frames (throughput) and 200-byte frames (frame rate), each sent with one `send` call per
//! frame over one connection, it compares tcp-noise with
//! - raw tokio TCP carrying the same u32 framing through a 64 KiB `BufWriter` / `BufReader` (writes
//!   coalesced: the raw-TCP frame rate), and
//! - snow alone encrypting and decrypting the same plaintext stream in memory, in maximal messages.
//!
//! Each figure is the median of several runs; the machine is shared, so ratios from one run are what
//! to compare. Environment: `QN_BENCH_RUNS` (default 5), `QN_BENCH_SCALE` (default 1.0) to shorten, and
//! `QN_BENCH_SHAPE` (a substring of a shape's name) to run one shape, and
//! `QN_BENCH_IMPL` (any of `noise raw snow`, default all) to time fewer, e.g. under `perf record`.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quorumnet_core::identity::{ChainId, Keypair};
use quorumnet_core::secure::snow;
use quorumnet_core::secure::wire::{MAX_PLAINTEXT_LEN, TAG_LEN};
use quorumnet_core::transport::{Admission, Transport, TransportConfig, TransportContext};
use quorumnet_tcp_noise::TcpNoiseTransport;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

const BIG: usize = 64 * 1024;
const SMALL: usize = 200;
const BUF: usize = 64 * 1024;

/// Frame contents: static, so handing a frame to `send` costs no reference counting, like the raw side
/// writing from one buffer.
static CONTENT: [u8; BIG] = [0xa5; BIG];

struct Shape {
    name: &'static str,
    frame_len: usize,
    frames: usize,
}

fn context(seed: u8) -> TransportContext {
    TransportContext {
        keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
        chain_id: ChainId::from_network_name("bench"),
        admission: Admission::open(),
        config: TransportConfig::local(),
    }
}

/// Time to move `shape.frames` frames through tcp-noise, first send to last recv.
async fn tcp_noise(shape: &Shape) -> Duration {
    let server = TcpNoiseTransport::new(context(2));
    let mut listener = server.listen(&"tcp-noise://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr();
    let client = TcpNoiseTransport::new(context(1));
    let (dialed, accepted) = tokio::join!(client.dial(&addr, None), listener.accept());
    let (tx, rx) = (dialed.unwrap(), accepted.unwrap());
    let frame = Bytes::from_static(&CONTENT[..shape.frame_len]);
    let frames = shape.frames;
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

/// The same framing over raw TCP: 64 KiB BufWriter on one side, 64 KiB BufReader on the other.
async fn raw_tcp(shape: &Shape) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (dialed, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (tx, rx) = (dialed.unwrap(), accepted.unwrap().0);
    tx.set_nodelay(true).unwrap();
    let frame = &CONTENT[..shape.frame_len];
    let frames = shape.frames;
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        let mut out = BufWriter::with_capacity(BUF, tx);
        for _ in 0..frames {
            // Prefix and frame in one vectored write: buffered when small, one `writev` when large
            // (two plain writes would flush a 4-byte packet before every large frame).
            let prefix = (frame.len() as u32).to_be_bytes();
            let mut slices = [IoSlice::new(&prefix), IoSlice::new(frame)];
            let mut rest = &mut slices[..];
            while !rest.is_empty() {
                let n = out.write_vectored(rest).await.unwrap();
                IoSlice::advance_slices(&mut rest, n);
            }
        }
        out.shutdown().await.unwrap();
    });
    let mut input = BufReader::with_capacity(BUF, rx);
    let mut buf = vec![0u8; shape.frame_len];
    let mut received = 0;
    loop {
        let mut prefix = [0u8; 4];
        match input.read_exact(&mut prefix).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("{e}"),
        }
        let len = u32::from_be_bytes(prefix) as usize;
        input.read_exact(&mut buf[..len]).await.unwrap();
        std::hint::black_box(&buf);
        received += 1;
    }
    let elapsed = started.elapsed();
    sender.await.unwrap();
    assert_eq!(received, frames);
    elapsed
}

/// snow alone: the plaintext stream of `shape` (frames + u32 prefixes) encrypted and decrypted in
/// maximal Noise messages, in memory, on one core.
fn snow_in_memory(shape: &Shape) -> Duration {
    let params: snow::params::NoiseParams = quorumnet_core::secure::PROTOCOL_NAME.parse().unwrap();
    let keys = |p: &snow::params::NoiseParams| snow::Builder::new(p.clone()).generate_keypair().unwrap();
    let (ki, kr) = (keys(&params), keys(&params));
    let mut i = snow::Builder::new(params.clone()).local_private_key(&ki.private).unwrap().build_initiator().unwrap();
    let mut r = snow::Builder::new(params).local_private_key(&kr.private).unwrap().build_responder().unwrap();
    let mut msg = vec![0u8; 65535];
    let mut payload = vec![0u8; 65535];
    for turn in 0..3 {
        let (w, rd) = if turn % 2 == 0 { (&mut i, &mut r) } else { (&mut r, &mut i) };
        let n = w.write_message(&[], &mut msg).unwrap();
        rd.read_message(&msg[..n], &mut payload).unwrap();
    }
    let (i, r) = (i.into_stateless_transport_mode().unwrap(), r.into_stateless_transport_mode().unwrap());
    let total = shape.frames * (shape.frame_len + 4);
    let plaintext = vec![0xa5u8; MAX_PLAINTEXT_LEN];
    let mut out = vec![0u8; MAX_PLAINTEXT_LEN + TAG_LEN];
    let mut back = vec![0u8; MAX_PLAINTEXT_LEN + TAG_LEN];
    let started = Instant::now();
    let (mut done, mut nonce) = (0, 0);
    while done < total {
        let n = (total - done).min(MAX_PLAINTEXT_LEN);
        let c = i.write_message(nonce, &plaintext[..n], &mut out).unwrap();
        r.read_message(nonce, &out[..c], &mut back).unwrap();
        std::hint::black_box(&back);
        nonce += 1;
        done += n;
    }
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Throughput in the unit that suits the shape: GB/s for large frames, M frames/s for small ones.
fn rate(shape: &Shape, elapsed: Duration) -> (f64, &'static str) {
    let secs = elapsed.as_secs_f64();
    if shape.frame_len >= 4096 {
        ((shape.frames * shape.frame_len) as f64 / secs / 1e9, "GB/s")
    } else {
        (shape.frames as f64 / secs / 1e6, "M frames/s")
    }
}

fn main() {
    let runs: usize = std::env::var("QN_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let scale: f64 = std::env::var("QN_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let count = |n: f64| ((n * scale) as usize).max(10);
    let shapes = [
        Shape { name: "64 KiB frames", frame_len: BIG, frames: count(20_000.0) },
        Shape { name: "200-byte frames", frame_len: SMALL, frames: count(5_000_000.0) },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("tcp-noise vs raw TCP vs snow in memory — loopback, one connection, median of {runs} runs");
    println!(
        "{:<16} {:>8} | {:>20} | {:>20} | {:>20} | {:>9} | {:>10}",
        "shape", "frames", "tcp-noise", "raw TCP (64K buf)", "snow enc+dec (mem)", "noise/raw", "noise/snow"
    );
    let only = std::env::var("QN_BENCH_SHAPE").unwrap_or_default();
    let which = std::env::var("QN_BENCH_IMPL").unwrap_or_else(|_| "noise raw snow".into());
    for shape in shapes.iter().filter(|s| s.name.contains(only.as_str())) {
        // Interleaved, so a burst of load from elsewhere on the machine hits all three alike.
        let (mut noise, mut raw, mut snow) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            if which.contains("noise") {
                noise.push(runtime.block_on(tcp_noise(shape)));
            }
            if which.contains("raw") {
                raw.push(runtime.block_on(raw_tcp(shape)));
            }
            if which.contains("snow") {
                snow.push(snow_in_memory(shape));
            }
        }
        let show = |samples: Vec<Duration>| match samples.is_empty() {
            true => (f64::NAN, "-"),
            false => rate(shape, median(samples)),
        };
        let ((n, unit), (r, _), (s, _)) = (show(noise), show(raw), show(snow));
        println!(
            "{:<16} {:>8} | {:>9.2} {:<10} | {:>9.2} {:<10} | {:>9.2} {:<10} | {:>8.2}x | {:>9.2}x",
            shape.name,
            shape.frames,
            n,
            unit,
            r,
            unit,
            s,
            unit,
            n / r,
            n / s
        );
    }
    println!("targets: 64 KiB frames >= 0.5x raw TCP; 200-byte frames >= 0.5x the raw-TCP frame rate");
}
