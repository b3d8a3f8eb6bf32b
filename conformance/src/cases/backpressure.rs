//! Backpressure: a declared K, and `send` that stays pending against a peer that never reads — for
//! frames under K and for frames larger than K ("K, or one frame if larger").

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::transport::{Connection, TransportError, MAX_UNSENT_BOUND, NEVER_READING_PEER_CEILING};

use crate::cases::frames::receive_plan;
use crate::harness::{ensure, Link, Outcome, Run};
use crate::pattern::{FramePlan, Sizes};
use crate::TransportFactory;

/// Frames pushed at a peer that never reads.
const CHUNK: usize = 64 * 1024;
/// Frames larger than K pushed at a peer that never reads: at most this large, so the case stays fast.
const LARGE_FRAME_MAX: usize = 4 * 1024 * 1024;
/// A `send` still pending after this long is taken as blocked. A transport with room completes a send
/// in microseconds; one that is blocked stays pending until the peer reads, so any short wait will do.
const PENDING_PROBE: Duration = Duration::from_millis(100);

type PendingSend<'a> = Pin<Box<dyn std::future::Future<Output = Result<(), TransportError>> + Send + 'a>>;

/// `unsent_bound()` is at most 256 KiB; against a peer that never reads, a `send` stays pending before
/// 16 MiB were accepted; once the peer reads, that send completes and every accepted frame arrives.
pub async fn backpressure_declared_bound_and_blocks_before_16_mib(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "backpressure_declared_bound_and_blocks_before_16_mib");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let k = link.dialer.unsent_bound();
    ensure!(
        run,
        (1..=MAX_UNSENT_BOUND).contains(&k),
        "unsent_bound() is {k} bytes; the contract allows 1..={MAX_UNSENT_BOUND}"
    );
    let chunk = CHUNK.min(run.config.max_frame_len);
    push_until_pending_then_drain(&run, &link, chunk, NEVER_READING_PEER_CEILING).await
}

/// A frame larger than K is accepted when nothing else is unsent (the contract's "K, or one frame if
/// larger"): the first such `send` to a peer that never reads completes. Further ones stay pending
/// before 16 MiB plus one frame were accepted, and once the peer reads, every frame arrives whole.
/// Passes trivially when the frame limit is at most K.
pub async fn frame_larger_than_k_is_accepted_alone(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "frame_larger_than_k_is_accepted_alone");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let k = link.dialer.unsent_bound();
    let large = run.config.max_frame_len.min(LARGE_FRAME_MAX);
    if large <= k {
        tracing::info!(k, large, "the frame limit is within K: nothing larger than K can be sent");
        return Ok(());
    }
    push_until_pending_then_drain(&run, &link, large, NEVER_READING_PEER_CEILING + large).await
}

/// Sends `len`-byte frames to a peer that never reads until one stays pending — the first must be
/// accepted, and one must stay pending before `ceiling` bytes were accepted — then lets the peer read
/// and checks that the pending send completes and every frame arrives in order.
async fn push_until_pending_then_drain(run: &Run<'_>, link: &Link, len: usize, ceiling: usize) -> Outcome {
    let k = link.dialer.unsent_bound();
    let plan = Arc::new(FramePlan::new(16, ceiling / len + 2, Sizes::Fixed { len }));
    let mut accepted = 0;
    let mut sent = 0;
    let blocked: PendingSend<'_> = loop {
        ensure!(
            run,
            accepted < ceiling,
            "{accepted} bytes were accepted for a peer that never reads and send never stayed pending (K = {k})"
        );
        let mut send: PendingSend<'_> = Box::pin(link.dialer.send(plan.frame(sent)));
        tokio::select! {
            biased;
            result = &mut send => {
                result.map_err(|e| run.fail(format!("send of frame {sent} to a peer that never reads failed: {e}")))?;
                accepted += len;
                sent += 1;
            }
            () = tokio::time::sleep(PENDING_PROBE) => {
                ensure!(
                    run,
                    sent > 0,
                    "the first {len}-byte frame stayed pending with nothing else unsent (K = {k}): a frame \
                     larger than K must be accepted alone"
                );
                break send;
            }
        }
    };
    tracing::info!(accepted, k, len, "send stayed pending against a peer that never reads");
    // The peer starts reading: the pending send must complete, and everything must arrive.
    let receiver: &dyn Connection = &*link.listener;
    let (completed, received) = tokio::join!(
        run.wait("the pending send to complete once the peer reads", blocked),
        receive_plan(run.limits(), receiver, &plan, sent + 1),
    );
    completed?.map_err(|e| run.fail(format!("the pending send failed once the peer read: {e}")))?;
    received
}
