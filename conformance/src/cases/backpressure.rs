//! Backpressure: a declared K, and `send` that stays pending against a peer that never reads.

use std::sync::Arc;
use std::time::Duration;

use quorumnet_core::transport::{MAX_UNSENT_BOUND, NEVER_READING_PEER_CEILING};

use crate::cases::frames::receive_plan;
use crate::harness::{ensure, Outcome, Run};
use crate::pattern::{FramePlan, Sizes};
use crate::TransportFactory;

/// Frames pushed at a peer that never reads.
const CHUNK: usize = 64 * 1024;
/// A `send` still pending after this long is taken as blocked. A transport with room completes a send
/// in microseconds; one that is blocked stays pending until the peer reads, so any short wait will do.
const PENDING_PROBE: Duration = Duration::from_millis(100);

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
    let plan = Arc::new(FramePlan::new(16, NEVER_READING_PEER_CEILING / chunk + 1, Sizes::Fixed { len: chunk }));
    let mut accepted = 0;
    let mut sent = 0;
    let blocked = loop {
        ensure!(
            run,
            accepted < NEVER_READING_PEER_CEILING,
            "{accepted} bytes were accepted for a peer that never reads and send never stayed pending (K = {k})"
        );
        let mut send = Box::pin(link.dialer.send(plan.frame(sent)));
        tokio::select! {
            biased;
            result = &mut send => {
                result.map_err(|e| run.fail(format!("send of frame {sent} to a peer that never reads failed: {e}")))?;
                accepted += chunk;
                sent += 1;
            }
            () = tokio::time::sleep(PENDING_PROBE) => break send,
        }
    };
    tracing::info!(accepted, k, "send stayed pending against a peer that never reads");
    // The peer starts reading: the pending send must complete, and everything must arrive.
    let (completed, received) = tokio::join!(
        run.wait("the pending send to complete once the peer reads", blocked),
        receive_plan(run.limits(), &*link.listener, &plan, sent + 1),
    );
    completed?.map_err(|e| run.fail(format!("the pending send failed once the peer read: {e}")))?;
    received
}
