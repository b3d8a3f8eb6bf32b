//! Throughput and latency figures: printed for the record, never asserted (the suite runs on whatever
//! machine the transport's CI has).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::cases::frames::{receive_plan, spawn_sender};
use crate::harness::{Outcome, Run};
use crate::pattern::{FramePlan, Sizes};
use crate::TransportFactory;

const THROUGHPUT_FRAME: usize = 64 * 1024;
const THROUGHPUT_FRAMES: usize = 512;
const ROUND_TRIPS: usize = 200;
const PING_LEN: usize = 64;

/// Prints MB/s for 32 MiB of 64 KiB frames and the median and 99th-percentile round trip of a 64-byte
/// frame. Fails only if the traffic itself fails.
pub async fn throughput_and_latency_figures(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "throughput_and_latency_figures");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;

    let plan = Arc::new(FramePlan::new(
        3,
        THROUGHPUT_FRAMES,
        Sizes::Fixed { len: THROUGHPUT_FRAME.min(run.config.max_frame_len) },
    ));
    let started = Instant::now();
    let sender = spawn_sender(run.limits(), link.dialer.clone(), plan.clone(), false);
    receive_plan(run.limits(), &*link.listener, &plan, plan.len()).await?;
    let elapsed = started.elapsed();
    sender.join("the throughput sender to finish").await?;
    let mb_per_s = plan.total_bytes() as f64 / 1e6 / elapsed.as_secs_f64();

    let ping = Bytes::from(vec![0x70; PING_LEN]);
    let mut round_trips = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        run.send(&*link.dialer, ping.clone(), "a ping").await?;
        let got = run.recv_frame(&*link.listener, "a ping").await?;
        run.send(&*link.listener, got, "a pong").await?;
        run.recv_frame(&*link.dialer, "a pong").await?;
        round_trips.push(started.elapsed());
    }
    round_trips.sort();
    let percentile = |p: usize| round_trips[(round_trips.len() - 1) * p / 100];
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{} throughput: {mb_per_s:.0} MB/s ({} x {} B frames); round trip of {PING_LEN} B: median {:.0} µs, p99 {:.0} µs",
        a.transport.scheme(),
        plan.len(),
        THROUGHPUT_FRAME,
        micros(percentile(50)),
        micros(percentile(99)),
    );
    Ok(())
}
