//! Hostile bytes before any handshake: the listener survives them and keeps serving honest peers.

use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};

use crate::harness::{Outcome, Run};
use crate::{Misbehaviour, TransportFactory};

/// Stalled handshakes pending while an honest peer connects in the half-finished-handshake case.
const STALLED_HANDSHAKES: usize = 3;

/// Random bytes, a huge length prefix, zeros and a single byte are each thrown at the listener; an
/// honest peer then connects, and its connection is the next the listener yields.
pub async fn garbage_does_not_take_listener_down(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "garbage_does_not_take_listener_down");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    let mut random = vec![0u8; 1024];
    StdRng::seed_from_u64(0x9a4ba9e).fill_bytes(&mut random);
    let samples = [random, vec![0xff; 64], vec![0; 4096], vec![0x01]];
    let limit = run.config.handshake_timeout + run.patience;
    for garbage in samples {
        let len = garbage.len();
        run.wait_at_most(
            limit,
            format!("the factory's misbehave(Garbage({len} bytes)) to return"),
            run.factory.misbehave(&addr, Misbehaviour::Garbage(garbage)),
        )
        .await?;
    }
    // `connect` fails unless the next accepted connection is the honest dialer's.
    run.connect(&b, &a, &mut *listener).await?;
    Ok(())
}

/// While three dialers stall mid-handshake, an honest peer connects within one handshake timeout: the
/// listener runs handshakes concurrently, so stalled peers delay nobody.
pub async fn half_finished_handshake_does_not_take_listener_down(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "half_finished_handshake_does_not_take_listener_down");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    for n in 0..STALLED_HANDSHAKES {
        run.wait(
            format!("the factory's misbehave(StallMidHandshake) #{n} to return"),
            run.factory.misbehave(&addr, Misbehaviour::StallMidHandshake),
        )
        .await?;
    }
    let limit = run.config.handshake_timeout;
    run.wait_at_most(
        limit,
        format!("an honest connection while {STALLED_HANDSHAKES} handshakes stall (handshakes must not wait for each other)"),
        run.connect(&b, &a, &mut *listener),
    )
    .await??;
    Ok(())
}
