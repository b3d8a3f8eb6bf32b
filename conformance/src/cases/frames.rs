//! What a connection carries: whole frames, in order, exactly once, within the size limit.

use std::sync::Arc;

use bytes::Bytes;
use quorumnet_core::transport::{Connection, TransportError};

use crate::harness::{ensure, Limits, Outcome, Run, Task};
use crate::pattern::{FramePlan, Sizes};
use crate::TransportFactory;

/// Frames of the ordering case.
pub const ORDERING_FRAMES: usize = 10_000;
/// Frames of the `try_send` case: small and mid-sized, so a transport with a fast path takes many.
const TRY_SEND_FRAMES: usize = 4_000;
const TRY_SEND_MAX_FRAME: usize = 8 * 1024;
/// Frames each way in the bidirectional case: with sizes up to 16 KiB, ~16 MiB each way, far more than
/// K plus socket buffers, so a transport that cannot receive while its sends are pending deadlocks.
const BIDIRECTIONAL_FRAMES: usize = 2_000;
const BIDIRECTIONAL_MAX_FRAME: usize = 16 * 1024;

/// One frame there, one back.
pub async fn round_trip(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "round_trip");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let ping = Bytes::from_static(b"ping from the dialer");
    run.send(&*link.dialer, ping.clone(), "the ping").await?;
    let got = run.recv_frame(&*link.listener, "the ping").await?;
    ensure!(run, got == ping, "the listener received {got:?}, the dialer sent {ping:?}");
    let pong = Bytes::from_static(b"pong from the listener");
    run.send(&*link.listener, pong.clone(), "the pong").await?;
    let got = run.recv_frame(&*link.dialer, "the pong").await?;
    ensure!(run, got == pong, "the dialer received {got:?}, the listener sent {pong:?}");
    Ok(())
}

/// 10 000 frames of seeded sizes from 1 byte to the limit arrive in order, whole and exactly once: each
/// is checked byte for byte, and the stream must end (clean close) right after the last.
pub async fn ten_thousand_mixed_frames_in_order_exactly_once(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "ten_thousand_mixed_frames_in_order_exactly_once");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let plan = Arc::new(FramePlan::new(10_000, ORDERING_FRAMES, Sizes::Mixed { limit: run.config.max_frame_len }));
    let sender = spawn_sender(run.limits(), link.dialer.clone(), plan.clone(), true);
    receive_plan(run.limits(), &*link.listener, &plan, plan.len()).await?;
    let after = run.recv(&*link.listener, "the end of the stream after the last frame").await?;
    ensure!(
        run,
        after.is_none(),
        "a frame of {} bytes arrived after all {} were received: a duplicate",
        after.map_or(0, |f| f.len()),
        plan.len()
    );
    sender.join("the sender to finish").await
}

/// `try_send` interleaved with `send`: every frame arrives in the order it was accepted, whole and
/// exactly once. A declined `try_send` (`None`, the trait's default) is followed by a `send` of the same
/// frame, as the node's links do; a transport whose `try_send` accepts a frame out of turn fails here.
pub async fn try_send_keeps_order_with_send(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "try_send_keeps_order_with_send");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let plan = Arc::new(FramePlan::new(20_000, TRY_SEND_FRAMES, Sizes::Uniform { max: TRY_SEND_MAX_FRAME }));
    let (limits, conn, frames) = (run.limits(), link.dialer.clone(), plan.clone());
    let sender = limits.spawn(async move {
        for i in 0..frames.len() {
            let (frame, what) = (frames.frame(i), format!("frame {i} of {}", frames.len()));
            let taken = if i % 2 == 0 { conn.try_send(&frame) } else { None };
            match taken {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(limits.fail(format!("try_send of {what} failed: {e}"))),
                None => limits.send(&*conn, frame, what).await?,
            }
        }
        Ok(())
    });
    receive_plan(run.limits(), &*link.listener, &plan, plan.len()).await?;
    sender.join("the sender to finish").await
}

/// A frame of exactly the limit passes, each way.
pub async fn frame_at_limit_passes(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "frame_at_limit_passes");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let limit = run.config.max_frame_len;
    for conn in [&link.dialer, &link.listener] {
        ensure!(
            run,
            conn.max_frame_len() == limit,
            "max_frame_len() is {}, the config says {limit}",
            conn.max_frame_len()
        );
    }
    let plan = FramePlan::new(1, 2, Sizes::Fixed { len: limit });
    for (i, (from, to)) in [(&link.dialer, &link.listener), (&link.listener, &link.dialer)].into_iter().enumerate() {
        run.send(&**from, plan.frame(i), "a frame at the limit").await?;
        let got = run.recv_frame(&**to, "a frame at the limit").await?;
        if let Some(wrong) = plan.mismatch(i, &got) {
            return Err(run.fail(wrong));
        }
    }
    Ok(())
}

/// Decision: an empty or oversize `send` is refused with `EmptyFrame` / `FrameTooLarge` before anything
/// reaches the link, so the connection stays usable: the next frame is the next the peer sees.
pub async fn oversize_and_empty_frames_fail_cleanly(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "oversize_and_empty_frames_fail_cleanly");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let limit = run.config.max_frame_len;
    let empty = run.wait("the send of an empty frame to return", link.dialer.send(Bytes::new())).await?;
    ensure!(
        run,
        matches!(empty, Err(TransportError::EmptyFrame)),
        "send of an empty frame returned {empty:?}, not Err(EmptyFrame)"
    );
    let oversize = Bytes::from(vec![0x5a; limit + 1]);
    let result = run.wait("the send of an oversize frame to return", link.dialer.send(oversize)).await?;
    ensure!(
        run,
        matches!(result, Err(TransportError::FrameTooLarge { .. })),
        "send of a frame of limit + 1 = {} bytes returned {result:?}, not Err(FrameTooLarge)",
        limit + 1
    );
    let next = Bytes::from_static(b"after the refused frames");
    run.send(&*link.dialer, next.clone(), "a frame after the refused ones").await?;
    let got = run.recv_frame(&*link.listener, "the frame after the refused ones").await?;
    ensure!(run, got == next, "after refused sends the peer received {} bytes, not the next frame sent", got.len());
    Ok(())
}

/// Both ends send ~16 MiB at once while both receive: no deadlock, no interference between directions.
pub async fn simultaneous_bidirectional_sends(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "simultaneous_bidirectional_sends");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let sizes = Sizes::Uniform { max: BIDIRECTIONAL_MAX_FRAME.min(run.config.max_frame_len) };
    let forth = Arc::new(FramePlan::new(21, BIDIRECTIONAL_FRAMES, sizes));
    let back = Arc::new(FramePlan::new(22, BIDIRECTIONAL_FRAMES, sizes));
    let senders = [
        spawn_sender(run.limits(), link.dialer.clone(), forth.clone(), false),
        spawn_sender(run.limits(), link.listener.clone(), back.clone(), false),
    ];
    let (got_forth, got_back) = tokio::join!(
        receive_plan(run.limits(), &*link.listener, &forth, forth.len()),
        receive_plan(run.limits(), &*link.dialer, &back, back.len()),
    );
    got_forth?;
    got_back?;
    for sender in senders {
        sender.join("a sender to finish").await?;
    }
    Ok(())
}

/// Sends every frame of `plan` on `conn`, then closes it if `close`.
pub(crate) fn spawn_sender(limits: Limits, conn: Arc<dyn Connection>, plan: Arc<FramePlan>, close: bool) -> Task<()> {
    limits.spawn(async move {
        for i in 0..plan.len() {
            limits.send(&*conn, plan.frame(i), format!("frame {i} of {}", plan.len())).await?;
        }
        if close {
            limits
                .wait("close after the last frame", conn.close())
                .await?
                .map_err(|e| limits.fail(format!("close failed: {e}")))?;
        }
        Ok(())
    })
}

/// Receives the first `count` frames of `plan` and checks each byte for byte.
pub(crate) async fn receive_plan(limits: Limits, conn: &dyn Connection, plan: &FramePlan, count: usize) -> Outcome {
    for i in 0..count {
        let what = format!("frame {i} of {count}");
        let Some(frame) = limits.recv(conn, what).await? else {
            return Err(limits.fail(format!("the stream ended after {i} of {count} frames: frames were lost")));
        };
        if let Some(wrong) = plan.mismatch(i, &frame) {
            return Err(limits.fail(wrong));
        }
    }
    Ok(())
}
