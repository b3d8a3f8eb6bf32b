//! `frame/...` rows: what one small frame costs end to end on loopback, in CPU, layer by layer, against
//! raw TCP measured in the same run. Two tasks bounce a 200-byte frame back and forth, so every frame
//! pays a whole wakeup at each end — the situation of a gossip frame at 100 messages a second, and the
//! floor under the node rows' CPU per delivery (each delivery moves about three frames).
//!
//! - `raw-tcp`: tokio `TcpStream`s with `TCP_NODELAY`, `write_all` / `read_exact`: the baseline;
//! - `tcp-noise`: the same through [`Connection::send`] / [`Connection::recv`] of two tcp-noise
//!   connections (Noise encryption, the secure channel's reader and writer tasks);
//! - `tcp-noise+link`: through two [`PeerLink`]s over those connections, as the node sends: a `Have`
//!   frame encoded, queued by priority, decoded and delivered as a [`LinkEvent`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quorumnet::identity::{ChainId, Keypair};
use quorumnet::message::{Frame, MessageId};
use quorumnet::node::link::{LinkEvent, PeerLink, PeerLinkConfig};
use quorumnet::node::priority::Priority;
use quorumnet::tcp_noise::TcpNoiseTransport;
use quorumnet::transport::{Admission, Connection, Transport, TransportConfig, TransportContext};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Round trips per row: two frames each.
const ROUND_TRIPS: usize = 20_000;
/// Frame size of the raw and connection rows; the link row's `Have` of five ids is 177 bytes.
const FRAME_LEN: usize = 200;

/// CPU and wall time of one row's round trips.
struct Cost {
    cpu: Duration,
    wall: Duration,
}

/// One row's measurement, started on the bench's runtime.
type Scenario = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Cost>>>;

/// Prints the `frame/...` rows `wanted` selects, on a two-worker runtime like the node rows'.
pub fn frame_rows(wanted: &dyn Fn(&str) -> bool) {
    let rows: [(&str, Scenario); 3] = [
        ("frame/raw-tcp", || Box::pin(raw_tcp())),
        ("frame/tcp-noise", || Box::pin(tcp_noise())),
        ("frame/tcp-noise+link", || Box::pin(tcp_noise_link())),
    ];
    if !rows.iter().any(|(name, _)| wanted(name)) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("\n{:<30} {:>14} {:>15} {:>12}", "node::frame (ping-pong)", "CPU µs/frame", "wall µs/trip", "CPU vs raw");
    let mut raw_cpu = None;
    for (name, row) in rows {
        if !wanted(name) {
            continue;
        }
        let cost = runtime.block_on(row());
        let per_frame = cost.cpu.as_secs_f64() * 1e6 / (2 * ROUND_TRIPS) as f64;
        let baseline = *raw_cpu.get_or_insert(per_frame);
        println!(
            "{:<30} {:>14.1} {:>15.1} {:>11.2}x",
            name,
            per_frame,
            cost.wall.as_secs_f64() * 1e6 / ROUND_TRIPS as f64,
            per_frame / baseline
        );
    }
    println!(
        "frame: {ROUND_TRIPS} round trips of one ~{FRAME_LEN}-byte frame between two tasks over loopback; CPU is the \
         whole process's (user + sys), both ends; the ratio is against the first row run"
    );
}

/// Times `bounce` (a row's round trips); its set-up is done before and not measured.
async fn measured<F: std::future::Future<Output = ()>>(bounce: F) -> Cost {
    let (cpu, wall) = (crate::cpu_time(), Instant::now());
    bounce.await;
    Cost { cpu: crate::cpu_time().saturating_sub(cpu), wall: wall.elapsed() }
}

async fn raw_tcp() -> Cost {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (dialed, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (mut a, mut b) = (dialed.unwrap(), accepted.unwrap().0);
    a.set_nodelay(true).unwrap();
    b.set_nodelay(true).unwrap();
    let echo = tokio::spawn(async move {
        let mut frame = [0u8; FRAME_LEN];
        for _ in 0..ROUND_TRIPS {
            b.read_exact(&mut frame).await.unwrap();
            b.write_all(&frame).await.unwrap();
        }
    });
    measured(async move {
        let mut frame = [7u8; FRAME_LEN];
        for _ in 0..ROUND_TRIPS {
            a.write_all(&frame).await.unwrap();
            a.read_exact(&mut frame).await.unwrap();
        }
        echo.await.unwrap();
    })
    .await
}

/// Two tcp-noise connections to each other on loopback.
async fn tcp_noise_pair() -> (Arc<dyn Connection>, Arc<dyn Connection>) {
    let context = |seed: u8| TransportContext {
        keypair: Arc::new(Keypair::from_seed(&[seed; 32])),
        chain_id: ChainId::from_network_name("frame-cost"),
        admission: Admission::open(),
        config: TransportConfig::local(),
    };
    let server = TcpNoiseTransport::new(context(2));
    let mut listener = server.listen(&"tcp-noise://127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr();
    let client = TcpNoiseTransport::new(context(1));
    let (dialed, accepted) = tokio::join!(client.dial(&addr, None), listener.accept());
    (Arc::from(dialed.unwrap()), Arc::from(accepted.unwrap()))
}

async fn tcp_noise() -> Cost {
    let (a, b) = tcp_noise_pair().await;
    let echo = tokio::spawn(async move {
        for _ in 0..ROUND_TRIPS {
            let frame = b.recv().await.unwrap().unwrap();
            b.send(frame).await.unwrap();
        }
    });
    measured(async move {
        let frame = Bytes::from(vec![7u8; FRAME_LEN]);
        for _ in 0..ROUND_TRIPS {
            a.send(frame.clone()).await.unwrap();
            a.recv().await.unwrap().unwrap();
        }
        echo.await.unwrap();
    })
    .await
}

async fn tcp_noise_link() -> Cost {
    let (a, b) = tcp_noise_pair().await;
    let (a, mut a_events) = PeerLink::spawn(a, PeerLinkConfig::local()).unwrap();
    let (b, mut b_events) = PeerLink::spawn(b, PeerLinkConfig::local()).unwrap();
    let id = MessageId::compute(&Keypair::from_seed(&[1; 32]).validator_id(), 1, b"frame-cost");
    let have = Frame::Have { ids: vec![id; 5] };
    let echoed = have.clone();
    let echo = tokio::spawn(async move {
        for _ in 0..ROUND_TRIPS {
            let Some(LinkEvent::Frame(_)) = b_events.recv().await else { panic!("link b ended") };
            b.send(&echoed, Priority::of(&echoed)).await.unwrap();
        }
        b
    });
    measured(async move {
        for _ in 0..ROUND_TRIPS {
            a.send(&have, Priority::of(&have)).await.unwrap();
            let Some(LinkEvent::Frame(_)) = a_events.recv().await else { panic!("link a ended") };
        }
        drop(echo.await.unwrap());
    })
    .await
}
