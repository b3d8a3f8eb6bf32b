//! Connections coming and going: many at once, clean close, drop and reconnect, dead addresses, port 0.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quorumnet_core::transport::{Admission, TransportError};

use crate::harness::{ensure, Link, Outcome, Run};
use crate::TransportFactory;

/// Dialers in the concurrency case.
const CONCURRENT_DIALERS: u8 = 8;
/// What a dial to a dead address may take beyond the configured dial and handshake timeouts.
const DEAD_DIAL_SLACK: Duration = Duration::from_millis(500);

/// Eight peers dial one listener at once; each connection carries its own traffic to the right peer.
pub async fn concurrent_connections(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "concurrent_connections");
    let keys: Vec<_> = (1..=CONCURRENT_DIALERS + 1).map(|seed| run.key(seed)).collect();
    let admission = || Admission::for_validators(keys.iter().map(|k| k.validator_id()));
    let a = run.peer(keys[0].clone(), admission());
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    let limits = run.limits();
    let dialers: Vec<_> = keys[1..]
        .iter()
        .map(|key| {
            let dialer = run.peer(key.clone(), admission());
            let (addr, expected) = (addr.clone(), a.id);
            limits.spawn(async move {
                let conn = limits
                    .wait(format!("dial of {:?}", dialer.id), dialer.transport.dial(&addr, Some(expected)))
                    .await?
                    .map_err(|e| limits.fail(format!("concurrent dial of {:?} failed: {e}", dialer.id)))?;
                let own = Bytes::copy_from_slice(dialer.id.as_bytes());
                limits.send(&*conn, own.clone(), "the dialer's id").await?;
                let echo = limits.recv_frame(&*conn, "the echo of the dialer's id").await?;
                ensure!(limits, echo == own, "{:?} received someone else's echo", dialer.id);
                Ok(())
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for n in 0..CONCURRENT_DIALERS {
        let conn = run.accept(&mut *listener, format!("concurrent connection {n}")).await?;
        let said = run.recv_frame(&*conn, "a dialer's id").await?;
        ensure!(
            run,
            said[..] == conn.remote().as_bytes()[..],
            "the connection whose remote() is {:?} carried another peer's traffic",
            conn.remote()
        );
        ensure!(run, seen.insert(conn.remote()), "two accepted connections report remote() {:?}", conn.remote());
        run.send(&*conn, said, "the echo").await?;
    }
    for dialer in dialers {
        dialer.join("a concurrent dialer to finish").await?;
    }
    Ok(())
}

/// After `close`, the peer receives every frame sent, then `Ok(None)`; `close` is idempotent and a
/// later `send` fails with `Closed`.
pub async fn clean_close_is_seen_as_none(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "clean_close_is_seen_as_none");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    let frames = ["first", "second", "last before close"].map(|s| Bytes::from_static(s.as_bytes()));
    for frame in &frames {
        run.send(&*link.dialer, frame.clone(), "a frame before close").await?;
    }
    close(&run, &link, "close").await?;
    for frame in &frames {
        let got = run.recv_frame(&*link.listener, "a frame sent before close").await?;
        ensure!(run, got == *frame, "after close the peer received {got:?} where {frame:?} was sent");
    }
    let end = run.recv(&*link.listener, "Ok(None) after the peer's close").await?;
    ensure!(
        run,
        end.is_none(),
        "after the peer's close, recv returned a frame of {} bytes, not Ok(None)",
        end.map_or(0, |f| f.len())
    );
    close(&run, &link, "a second close").await?;
    let after = run.wait("a send after close to return", link.dialer.send(Bytes::from_static(b"late"))).await?;
    ensure!(
        run,
        matches!(after, Err(TransportError::Closed)),
        "a send after close returned {after:?}, not Err(Closed)"
    );
    Ok(())
}

async fn close(run: &Run<'_>, link: &Link, what: &str) -> Outcome {
    run.wait(what, link.dialer.close()).await?.map_err(|e| run.fail(format!("{what} failed: {e}")))
}

/// A dial to an address where nothing listens fails within the configured dial + handshake timeouts.
pub async fn dial_to_dead_address_fails_within_bound(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "dial_to_dead_address_fails_within_bound");
    let [a] = run.group();
    let dead = run.factory.dead_address();
    let bound = run.config.dial_timeout + run.config.handshake_timeout + DEAD_DIAL_SLACK;
    let started = Instant::now();
    let result = run
        .wait_at_most(
            bound,
            format!("a dial to the dead address {dead} to fail (dial + handshake timeouts + slack)"),
            a.transport.dial(&dead, None),
        )
        .await?;
    ensure!(run, result.is_err(), "a dial to the dead address {dead} succeeded");
    tracing::info!(took = ?started.elapsed(), "dial to a dead address failed");
    Ok(())
}

/// Dropping a connection ends it for the peer too (`Ok(None)` or an error), and the same pair can
/// connect again.
pub async fn reconnect_after_drop(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "reconnect_after_drop");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let first = run.connect(&b, &a, &mut *listener).await?;
    exchange(&run, &first, "on the first connection").await?;
    let Link { dialer, listener: accepted } = first;
    drop(dialer);
    let end = run.wait("the listener's side to see the dropped connection end", accepted.recv()).await?;
    ensure!(run, !matches!(end, Ok(Some(_))), "the peer of a dropped connection received a frame nobody sent");
    drop(accepted);
    let second = run.connect(&b, &a, &mut *listener).await?;
    exchange(&run, &second, "after reconnecting").await
}

async fn exchange(run: &Run<'_>, link: &Link, when: &str) -> Outcome {
    let frame = Bytes::from_static(b"still here");
    run.send(&*link.dialer, frame.clone(), format!("a frame {when}")).await?;
    let got = run.recv_frame(&*link.listener, format!("a frame {when}")).await?;
    ensure!(run, got == frame, "{when}: received {got:?}, sent {frame:?}");
    Ok(())
}

/// A listener reports the address it really listens on: dialable, with the scheme of its transport,
/// and with any port 0 resolved.
pub async fn listen_port_zero_reports_real_address(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "listen_port_zero_reports_real_address");
    let [a, b] = run.group();
    let requested = run.factory.listen_address();
    let mut listener = run
        .wait(format!("listen on {requested}"), a.transport.listen(&requested))
        .await?
        .map_err(|e| run.fail(format!("listen on {requested} failed: {e}")))?;
    let local = listener.local_addr();
    ensure!(
        run,
        local.scheme() == a.transport.scheme(),
        "local_addr() {local} is not of the transport's scheme {}",
        a.transport.scheme()
    );
    if requested.rest().ends_with(":0") {
        ensure!(
            run,
            local != requested && !local.rest().ends_with(":0"),
            "listening on {requested} reported {local}: port 0 not resolved"
        );
    }
    // `connect` dials `local_addr()` and checks that it reached `a`.
    run.connect(&b, &a, &mut *listener).await?;
    Ok(())
}

/// Frames each side sends in the close and drop cases.
fn few_frames(side: &str) -> [Bytes; 3] {
    ["one", "two", "three"].map(|s| Bytes::from(format!("{side} {s}")))
}

/// After a local `close`, `recv` still returns what the peer sends, then `Ok(None)` after the peer's
/// own close: `close` ends only the sending direction.
pub async fn recv_works_after_local_close(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "recv_works_after_local_close");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let link = run.connect(&b, &a, &mut *listener).await?;
    close(&run, &link, "the dialer's close").await?;
    let end = run.recv(&*link.listener, "Ok(None) after the dialer's close").await?;
    ensure!(run, end.is_none(), "after the dialer's close, its peer received a frame nobody sent");
    let frames = few_frames("after close");
    for frame in &frames {
        run.send(&*link.listener, frame.clone(), "a frame to a peer that closed its sending side").await?;
    }
    let closing = &link.listener;
    run.wait("the listener's close", closing.close())
        .await?
        .map_err(|e| run.fail(format!("the listener's close failed: {e}")))?;
    for frame in &frames {
        let got = run.recv_frame(&*link.dialer, "a frame sent to a side that had closed").await?;
        ensure!(run, got == *frame, "after its own close the dialer received {got:?} where {frame:?} was sent");
    }
    let end = run.recv(&*link.dialer, "Ok(None) after both closed").await?;
    ensure!(run, end.is_none(), "after both closed, recv returned a frame, not Ok(None)");
    Ok(())
}

/// Dropping a connection without `close` closes it in the background: the peer receives every frame
/// that was accepted, then `Ok(None)`.
pub async fn dropped_connection_delivers_what_it_accepted(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "dropped_connection_delivers_what_it_accepted");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    let Link { dialer, listener: accepted } = run.connect(&b, &a, &mut *listener).await?;
    let frames = few_frames("before drop");
    for frame in &frames {
        run.send(&*dialer, frame.clone(), "a frame before the connection is dropped").await?;
    }
    drop(dialer);
    for frame in &frames {
        let got = run.recv(&*accepted, "a frame accepted before the drop").await?;
        ensure!(
            run,
            got.as_ref() == Some(frame),
            "the peer of a dropped connection received {got:?} where {frame:?} was accepted"
        );
    }
    let end = run.recv(&*accepted, "Ok(None) after the peer's drop").await?;
    ensure!(run, end.is_none(), "after the peer's drop, recv returned a frame, not Ok(None)");
    Ok(())
}

/// Dropping a listener closes it: connections that finished their handshake but were never accepted
/// end for their dialers (`Ok(None)` or an error, never a frame), and a new dial to its address fails
/// within the dial and handshake timeouts. Connections already accepted are not its to end.
pub async fn dropped_listener_ends_unaccepted_connections(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "dropped_listener_ends_unaccepted_connections");
    let [a, b, c] = run.group();
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    let kept = run.connect(&c, &a, &mut *listener).await?;
    let unaccepted = run.dial(&b, &addr, Some(a.id)).await?;
    let unaccepted = unaccepted.map_err(|e| run.fail(format!("a dial the listener never accepts failed: {e}")))?;
    drop(listener);
    let end = run.wait("the unaccepted connection to end after the listener's drop", unaccepted.recv()).await?;
    ensure!(run, !matches!(end, Ok(Some(_))), "an unaccepted connection delivered a frame nobody sent");
    let bound = run.config.dial_timeout + run.config.handshake_timeout + DEAD_DIAL_SLACK;
    let again =
        run.wait_at_most(bound, "a dial to a dropped listener to fail", b.transport.dial(&addr, Some(a.id))).await?;
    ensure!(run, again.is_err(), "a dial to {addr} succeeded after its listener was dropped");
    exchange(&run, &kept, "on a connection accepted before the listener's drop").await
}
