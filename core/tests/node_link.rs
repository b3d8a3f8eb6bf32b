//! `PeerLink` over the in-process test connection (`node::link::testing`): parts and reassembly,
//! every reassembly bound, priority strictness, queue bounds, backpressure, closing and dropping, and
//! arbitrary bytes from the peer. All on a paused clock: time only passes when every task waits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use quorumnet_core::identity::{Signature, ValidatorId};
use quorumnet_core::message::{
    AddressRecord, BlockHash, Commit, ConsensusMessage, Envelope, Frame, HearsBitmap, Heartbeat, Height, MessageId,
    Proposal, Round, Vote,
};
use quorumnet_core::node::link::testing::{channel_pair, gated_channel_pair, ChannelConnection, Gate, Tap};
use quorumnet_core::node::link::{
    CloseReason, LinkEvent, PeerLink, PeerLinkConfig, SendError, Violation, DEFAULT_PART_SIZE,
};
use quorumnet_core::node::priority::Priority;
use quorumnet_core::transport::{Connection, TransportError};
use tokio::sync::mpsc;

const MIB: usize = 1024 * 1024;
const FRAME_LIMIT: usize = 4 * MIB;
/// Longer than any wait in these tests takes; virtual time, so failing costs nothing.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long a `send` must stay pending to count as waiting (virtual time).
const PENDING: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------------
// Frames

/// An envelope (unsigned: links never verify) carrying `payload`.
fn envelope(seq: u64, payload: Vec<u8>) -> Frame {
    Frame::Envelope(Envelope {
        origin: ValidatorId([7; 32]),
        seq,
        ttl: 3,
        payload: Bytes::from(payload),
        sig: Signature::from_bytes(vec![0x5a; 3309]),
    })
}

/// An envelope whose frame encodes to exactly `len` bytes (`len` ≥ 4 KiB).
fn frame_of_len(seq: u64, len: usize) -> Frame {
    let overhead = envelope(seq, vec![0; len]).encode().len() - len;
    let frame = envelope(seq, (0..len - overhead).map(|i| (i % 253) as u8).collect());
    let actual = frame.encode().len();
    // The payload's byte-string header can shrink by a size class; pad the difference back in.
    if actual == len {
        frame
    } else {
        envelope(seq, (0..len - overhead + (len - actual)).map(|i| (i % 253) as u8).collect())
    }
}

fn message(message: &ConsensusMessage, seq: u64) -> Frame {
    envelope(seq, message.encode())
}

fn prevote(seq: u64) -> Frame {
    let vote = Vote { height: Height(seq), round: Round(0), validator: ValidatorId([7; 32]), block_hash: None };
    message(&ConsensusMessage::PreVote(vote), seq)
}

fn part(id: u64, index: u32, count: u32, data_len: usize) -> Bytes {
    Bytes::from(Frame::Part { id, index, count, data: vec![0xa5; data_len] }.encode())
}

// ---------------------------------------------------------------------------------------------------
// Links

/// A link under test on one end of a channel pair; the other end is raw.
fn link_and_raw(
    config: PeerLinkConfig,
    max_frame_len: usize,
) -> (PeerLink, mpsc::Receiver<LinkEvent>, ChannelConnection) {
    let (conn, raw) = channel_pair(max_frame_len);
    let (link, events) = PeerLink::spawn(Arc::new(conn), config).expect("valid config");
    (link, events, raw)
}

/// Two links connected to each other: (sender, receiver's events), keeping the receiver alive.
fn two_links(config: PeerLinkConfig) -> (PeerLink, PeerLink, mpsc::Receiver<LinkEvent>) {
    let (a, b) = channel_pair(FRAME_LIMIT);
    let (sender, _) = PeerLink::spawn(Arc::new(a), config.clone()).expect("valid config");
    let (receiver, events) = PeerLink::spawn(Arc::new(b), config).expect("valid config");
    (sender, receiver, events)
}

/// A link whose connection's sends wait at a gate, with a tap counting accepted frames.
struct GatedLink {
    link: PeerLink,
    raw: ChannelConnection,
    gate: Gate,
    tap: Arc<Tap>,
}

fn gated_link(config: PeerLinkConfig) -> GatedLink {
    let (conn, raw, gate) = gated_channel_pair(FRAME_LIMIT);
    let tap = Arc::new(Tap::new(Arc::new(conn)));
    let (link, _) = PeerLink::spawn(tap.clone(), config).expect("valid config");
    GatedLink { link, raw, gate, tap }
}

async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn next_frame(events: &mut mpsc::Receiver<LinkEvent>) -> Frame {
    match within("a frame event", events.recv()).await {
        Some(LinkEvent::Frame(inbound)) => inbound.into_frame(),
        other => panic!("expected a frame, got {other:?}"),
    }
}

async fn closed_reason(events: &mut mpsc::Receiver<LinkEvent>) -> CloseReason {
    loop {
        match within("the Closed event", events.recv()).await {
            Some(LinkEvent::Frame(_)) => continue,
            Some(LinkEvent::Closed { reason, .. }) => return reason,
            None => panic!("the event channel ended without a Closed event"),
        }
    }
}

async fn raw_frames(raw: &ChannelConnection, n: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    for _ in 0..n {
        let bytes = within("a frame on the raw end", raw.recv()).await.expect("recv").expect("a frame, not the end");
        frames.push(Frame::decode(&bytes).expect("the link sends valid frames"));
    }
    frames
}

// ---------------------------------------------------------------------------------------------------
// Priorities

#[test]
fn frames_are_classified_vote_proposal_liveness_and_the_rest_by_default() {
    let (height, round, validator, hash) = (Height(1), Round(0), ValidatorId([1; 32]), BlockHash([2; 32]));
    let vote = Vote { height, round, validator, block_hash: Some(hash) };
    let cases = [
        (message(&ConsensusMessage::PreVote(vote.clone()), 1), Priority::Vote),
        (message(&ConsensusMessage::PreCommit(vote), 2), Priority::Vote),
        (message(&ConsensusMessage::Commit(Commit { height, round, validator, block_hash: hash }), 3), Priority::Vote),
        (Frame::Ack { id: MessageId([3; 32]) }, Priority::Vote),
        (
            message(
                &ConsensusMessage::Proposal(Proposal {
                    height,
                    round,
                    proposer: validator,
                    block_hash: hash,
                    pol_round: None,
                    block: vec![1; 100],
                }),
                4,
            ),
            Priority::Proposal,
        ),
        (
            message(
                &ConsensusMessage::Heartbeat(Heartbeat {
                    validator,
                    height,
                    round,
                    time_micros: 5,
                    hears: HearsBitmap::default(),
                }),
                5,
            ),
            Priority::Liveness,
        ),
        (Frame::Ping { nonce: 1 }, Priority::Liveness),
        (Frame::Pong { nonce: 1 }, Priority::Liveness),
        (envelope(6, b"not a consensus message".to_vec()), Priority::Bulk),
        (Frame::Part { id: 0, index: 0, count: 1, data: vec![1] }, Priority::Bulk),
        (Frame::Have { ids: vec![] }, Priority::Liveness),
        (Frame::Want { ids: vec![] }, Priority::Liveness),
        (
            message(&ConsensusMessage::AddressRecord(AddressRecord::new(validator, 1, vec![]).unwrap()), 7),
            Priority::Discovery,
        ),
    ];
    for (frame, expected) in cases {
        assert_eq!(Priority::of(&frame), expected, "{frame:?}");
    }
    let reliable = match prevote(9) {
        Frame::Envelope(envelope) => Frame::Reliable(envelope),
        _ => unreachable!(),
    };
    assert_eq!(Priority::of(&reliable), Priority::Vote);
}

#[tokio::test(start_paused = true)]
async fn the_writer_drains_queues_strictly_by_priority() {
    let gated = gated_link(PeerLinkConfig::test());
    let bulk: Vec<Frame> = (0..3).map(|seq| envelope(seq, vec![seq as u8; 10])).collect();
    let liveness: Vec<Frame> = (0..3).map(|nonce| Frame::Ping { nonce }).collect();
    let votes: Vec<Frame> = (10..13).map(prevote).collect();
    for frame in &bulk {
        gated.link.send(frame, Priority::Bulk).await.unwrap();
    }
    // Let one bulk frame through: the writer then waits at the gate with the second.
    gated.gate.release(1);
    gated.tap.accepted_at_least(1).await;
    for frame in &liveness {
        gated.link.send(frame, Priority::Liveness).await.unwrap();
    }
    for frame in &votes {
        gated.link.send(frame, Priority::Vote).await.unwrap();
    }
    gated.gate.open();

    let expected: Vec<Frame> = [&bulk[..1], &votes, &liveness, &bulk[1..]].concat();
    assert_eq!(raw_frames(&gated.raw, expected.len()).await, expected);
    let stats = gated.link.stats();
    assert!(stats.preempted_sends >= 1, "the bulk frame waiting at the gate was set aside for the vote");
    assert_eq!(stats.sent[Priority::Vote].frames, 3);
    assert_eq!(stats.sent[Priority::Liveness].frames, 3);
    assert_eq!(stats.sent[Priority::Bulk].frames, 3);
}

// ---------------------------------------------------------------------------------------------------
// Queue bounds

#[tokio::test(start_paused = true)]
async fn full_low_priority_queues_drop_the_newest_frame_and_count_it() {
    let gated = gated_link(PeerLinkConfig::test()); // 8 frames per queue; the gate stays closed
    for (priority, frame) in
        [(Priority::Bulk, envelope(1, vec![1; 10])), (Priority::Liveness, Frame::Ping { nonce: 1 })]
    {
        for _ in 0..8 {
            gated.link.send(&frame, priority).await.unwrap();
        }
        assert_eq!(gated.link.send(&frame, priority).await, Err(SendError::Dropped(priority)));
        assert_eq!(gated.link.try_send(&frame, priority), Err(SendError::Dropped(priority)));
    }
    let stats = gated.link.stats();
    assert_eq!((stats.dropped[Priority::Bulk], stats.dropped[Priority::Liveness]), (2, 2));
    assert_eq!(stats.queued[Priority::Bulk].frames, 8);
    assert_eq!(stats.dropped[Priority::Vote], 0);
}

#[tokio::test(start_paused = true)]
async fn full_vote_queue_makes_send_wait_until_the_writer_makes_room() {
    let gated = gated_link(PeerLinkConfig::test());
    for seq in 0..8 {
        gated.link.send(&prevote(seq), Priority::Vote).await.unwrap();
    }
    let ninth = prevote(8);
    assert!(
        tokio::time::timeout(PENDING, gated.link.send(&ninth, Priority::Vote)).await.is_err(),
        "send to a full vote queue must wait"
    );
    assert_eq!(gated.link.try_send(&ninth, Priority::Vote), Err(SendError::Full(Priority::Vote)));
    let stats = gated.link.stats();
    assert_eq!(stats.queued[Priority::Vote].frames, 8, "a cancelled send queued nothing");
    assert_eq!(stats.dropped[Priority::Vote], 0, "votes are never dropped");

    gated.gate.release(1);
    within("the waiting vote to be queued", gated.link.send(&ninth, Priority::Vote)).await.unwrap();
    gated.gate.open();
    let received = raw_frames(&gated.raw, 9).await;
    assert_eq!(received.last(), Some(&ninth));
}

#[tokio::test(start_paused = true)]
async fn an_empty_queue_accepts_a_frame_larger_than_its_byte_bound() {
    let (sender, _receiver, mut events) = two_links(PeerLinkConfig::test()); // 1 MiB per queue
    let big = frame_of_len(1, 2 * MIB);
    sender.send(&big, Priority::Bulk).await.unwrap();
    assert_eq!(sender.try_send(&big, Priority::Bulk), Err(SendError::Dropped(Priority::Bulk)));
    assert_eq!(next_frame(&mut events).await, big);
}

#[tokio::test(start_paused = true)]
async fn sends_the_connection_could_never_carry_are_refused() {
    let (link, _events, _raw) = link_and_raw(PeerLinkConfig::test(), FRAME_LIMIT);
    let too_big = frame_of_len(1, FRAME_LIMIT + 1);
    assert_eq!(
        link.send(&too_big, Priority::Bulk).await,
        Err(SendError::FrameTooLarge { len: FRAME_LIMIT + 1, limit: FRAME_LIMIT })
    );
    assert_eq!(link.send_encoded(Bytes::new(), Priority::Bulk).await, Err(SendError::EmptyFrame));
    let stray = Frame::Part { id: 1, index: 0, count: 1, data: vec![1] };
    assert_eq!(link.send(&stray, Priority::Bulk).await, Err(SendError::PartNotAllowed));
    assert_eq!(link.try_send_encoded(stray.encode().into(), Priority::Bulk), Err(SendError::PartNotAllowed));
}

// ---------------------------------------------------------------------------------------------------
// Parts

#[tokio::test(start_paused = true)]
async fn frames_from_one_byte_over_the_part_size_to_the_frame_limit_are_reassembled_intact() {
    let (sender, receiver, mut events) = two_links(PeerLinkConfig::test());
    let part = DEFAULT_PART_SIZE;
    let lens = [part, part + 1, 2 * part, 2 * part + 1, MIB + 3, FRAME_LIMIT - 1, FRAME_LIMIT];
    let mut expected_parts = 0;
    for (seq, len) in lens.into_iter().enumerate() {
        let frame = frame_of_len(seq as u64, len);
        assert_eq!(frame.encode().len(), len);
        let queued_at = tokio::time::Instant::now();
        sender.send(&frame, Priority::Bulk).await.unwrap();
        let Some(LinkEvent::Frame(inbound)) = within("a frame event", events.recv()).await else { panic!() };
        assert_eq!(inbound.frame, frame, "frame of {len} bytes");
        assert!(inbound.received_at >= queued_at);
        let encoding = Bytes::from(frame.encode());
        let wire_len = if len > part {
            let count = len.div_ceil(part);
            // Part ids count the link's frames sent in parts: those before this one.
            let id = lens.iter().take_while(|&&l| l != len).filter(|&&l| l > part).count() as u64;
            expected_parts += count as u64;
            (0..count)
                .map(|i| {
                    let data = encoding.slice(i * part..((i + 1) * part).min(len)).to_vec();
                    Frame::Part { id, index: i as u32, count: count as u32, data }.encode().len()
                })
                .sum()
        } else {
            len
        };
        assert_eq!(inbound.wire_len, wire_len, "wire length of the frame of {len} bytes");
        assert_eq!(sender.stats().parts_sent, expected_parts, "after the frame of {len} bytes");
    }
    let stats = sender.stats();
    assert_eq!(stats.sent[Priority::Bulk].frames, lens.len() as u64);
    assert_eq!(receiver.stats().parts_received, expected_parts);
    assert_eq!(receiver.stats().received[Priority::Bulk].frames, lens.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn two_large_frames_of_different_priorities_interleave_and_both_arrive_intact() {
    let gated = gated_link(PeerLinkConfig::test());
    let (relay_in, relay_out) = channel_pair(FRAME_LIMIT);
    let (_receiver, mut events) = PeerLink::spawn(Arc::new(relay_out), PeerLinkConfig::test()).unwrap();
    let bulk = frame_of_len(1, MIB);
    let proposal = frame_of_len(2, MIB / 2);
    gated.link.send(&bulk, Priority::Bulk).await.unwrap();
    gated.gate.release(2);
    gated.tap.accepted_at_least(2).await;
    gated.link.send(&proposal, Priority::Proposal).await.unwrap();
    gated.gate.open();

    // Watch the wire, and relay it to a receiving link.
    let (bulk_parts, proposal_parts) = (MIB.div_ceil(DEFAULT_PART_SIZE), (MIB / 2).div_ceil(DEFAULT_PART_SIZE));
    let mut ids = Vec::new();
    for frame in raw_frames(&gated.raw, bulk_parts + proposal_parts).await {
        let Frame::Part { id, .. } = frame else { panic!("large frames travel as parts") };
        ids.push(id);
        relay_in.send(frame.encode().into()).await.unwrap();
    }
    let expected: Vec<u64> = [vec![0; 2], vec![1; proposal_parts], vec![0; bulk_parts - 2]].concat();
    assert_eq!(ids, expected, "two bulk parts, the whole proposal, the rest of the bulk frame");
    assert_eq!(next_frame(&mut events).await, proposal);
    assert_eq!(next_frame(&mut events).await, bulk);
}

/// Sends `frames` from the raw end at a link built with `config`, and asserts it closes charging the
/// peer with `expected`, and closes the connection.
async fn assert_violation(config: PeerLinkConfig, max_frame_len: usize, frames: Vec<Bytes>, expected: Violation) {
    let (_link, mut events, raw) = link_and_raw(config, max_frame_len);
    for frame in frames {
        if raw.send(frame).await.is_err() {
            break; // the link may close before reading everything
        }
    }
    assert_eq!(closed_reason(&mut events).await, CloseReason::ProtocolViolation(expected.clone()), "{expected}");
    assert!(matches!(within("the link closing the connection", raw.recv()).await, Ok(None)), "{expected}");
}

#[tokio::test(start_paused = true)]
async fn every_broken_reassembly_bound_is_a_violation_that_closes_the_link() {
    const PART: usize = 1000;
    const LIMIT: usize = 10 * PART + 1; // 11 parts at most, the last carrying one byte
    let config = PeerLinkConfig {
        part_size: PART,
        max_partial_frames: 2,
        max_reassembly_bytes: LIMIT,
        ..PeerLinkConfig::test()
    };
    let full = |id, index, count| part(id, index, count, PART);
    let garbage = |id, index, count| Bytes::from(Frame::Part { id, index, count, data: vec![0xff; PART] }.encode());
    let nested = Frame::Part { id: 9, index: 0, count: 1, data: vec![1] }.encode();
    let cases: Vec<(Vec<Bytes>, Violation)> = vec![
        (vec![part(1, 0, 2, 0)], Violation::EmptyPart { id: 1, index: 0 }),
        (vec![part(1, 0, 2, PART + 1)], Violation::PartTooLarge { id: 1, len: PART + 1, limit: PART }),
        (vec![full(1, 0, 12)], Violation::TooManyParts { id: 1, count: 12, limit: 11 }),
        (vec![full(1, 1, 3)], Violation::PartOutOfSequence { id: 1, expected: None, got: 1 }),
        (vec![full(1, 0, 3), full(1, 2, 3)], Violation::PartOutOfSequence { id: 1, expected: Some(1), got: 2 }),
        (vec![full(1, 0, 3), full(1, 0, 3)], Violation::PartOutOfSequence { id: 1, expected: Some(1), got: 0 }),
        (vec![full(1, 0, 3), full(1, 1, 4)], Violation::PartCountMismatch { id: 1, first: 3, got: 4 }),
        (vec![full(1, 0, 3), full(2, 0, 3), full(3, 0, 3)], Violation::TooManyPartialFrames { limit: 2 }),
        (
            [(0..6).map(|i| full(1, i, 11)).collect::<Vec<_>>(), (0..5).map(|i| full(2, i, 11)).collect()].concat(),
            Violation::ReassemblyBudgetExceeded { limit: LIMIT },
        ),
        (
            (0..11).map(|i| full(1, i, 11)).collect(),
            Violation::ReassembledFrameTooLarge { id: 1, len: 11 * PART, limit: LIMIT },
        ),
        (
            vec![garbage(4, 0, 2), garbage(4, 1, 2)],
            Violation::UndecodableReassembled {
                id: 4,
                error: Frame::decode(&[0xff; 2 * PART]).expect_err("garbage does not decode"),
            },
        ),
        (
            vec![
                Bytes::from(Frame::Part { id: 5, index: 0, count: 2, data: nested[..5].to_vec() }.encode()),
                Bytes::from(Frame::Part { id: 5, index: 1, count: 2, data: nested[5..].to_vec() }.encode()),
            ],
            Violation::NestedPart { id: 5 },
        ),
    ];
    for (frames, expected) in cases {
        assert_violation(config.clone(), LIMIT, frames, expected).await;
    }
}

#[tokio::test(start_paused = true)]
async fn an_undecodable_frame_is_a_violation_that_closes_the_link() {
    let garbage = Bytes::from_static(&[0xa1, 0x63, b'B', b'a', b'd', 0x00]); // {"Bad": 0}
    let expected = Violation::Undecodable(Frame::decode(&garbage).expect_err("unknown variant"));
    assert_violation(PeerLinkConfig::test(), FRAME_LIMIT, vec![garbage], expected).await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Whatever the peer sends, the link delivers frames that decode, or closes charging the peer, and
    /// never panics.
    #[test]
    fn arbitrary_bytes_from_the_peer_never_panic_the_link(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..4)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        runtime.block_on(async {
            let (_link, mut events, raw) = link_and_raw(PeerLinkConfig::test(), FRAME_LIMIT);
            for frame in &frames {
                if raw.send(Bytes::from(frame.clone())).await.is_err() {
                    break;
                }
            }
            raw.close().await.unwrap();
            loop {
                match within("the link's events", events.recv()).await {
                    Some(LinkEvent::Frame(inbound)) => {
                        prop_assert!(frames.iter().any(|f| Frame::decode(f).ok().as_ref() == Some(&inbound.frame)));
                    }
                    Some(LinkEvent::Closed { reason, .. }) => {
                        prop_assert!(
                            matches!(reason, CloseReason::PeerClosed | CloseReason::ProtocolViolation(_)),
                            "{reason}"
                        );
                        break;
                    }
                    None => prop_assert!(false, "no Closed event"),
                }
            }
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------------------------------
// Backpressure on the inbound side

#[tokio::test(start_paused = true)]
async fn a_full_event_channel_stops_the_link_reading_from_the_connection() {
    let config = PeerLinkConfig { event_capacity: 1, ..PeerLinkConfig::test() };
    let (_link, mut events, raw) = link_and_raw(config, FRAME_LIMIT);
    let ping = |nonce| Bytes::from(Frame::Ping { nonce }.encode());
    let mut sent = 0;
    while tokio::time::timeout(PENDING, raw.send(ping(sent))).await.is_ok() {
        sent += 1;
        assert!(sent < 100, "the peer's sends never stalled: the link reads without bound");
    }
    // One event in the channel, one waiting to enter it, and the connection's own few frames.
    assert!(sent <= 10, "{sent} frames accepted before the peer stalled");
    for nonce in 0..sent {
        assert_eq!(next_frame(&mut events).await, Frame::Ping { nonce });
    }
}

#[tokio::test(start_paused = true)]
async fn undelivered_frames_hold_their_bytes_until_the_node_drops_them() {
    let config = PeerLinkConfig { max_undelivered_bytes: 10_000, ..PeerLinkConfig::test() };
    let (_link, mut events, raw) = link_and_raw(config, FRAME_LIMIT);
    let (first, second) = (frame_of_len(1, 6000), frame_of_len(2, 6000));
    raw.send(first.encode().into()).await.unwrap();
    raw.send(second.encode().into()).await.unwrap();
    let Some(LinkEvent::Frame(held)) = within("the first frame", events.recv()).await else { panic!() };
    assert_eq!(held.frame, first);
    assert!(
        tokio::time::timeout(PENDING, events.recv()).await.is_err(),
        "the second frame must wait while the first holds the budget"
    );
    drop(held);
    assert_eq!(next_frame(&mut events).await, second);
}

// ---------------------------------------------------------------------------------------------------
// Ending

#[tokio::test(start_paused = true)]
async fn close_emits_one_closed_event_and_the_peer_sees_a_clean_close() {
    let (a, b) = channel_pair(FRAME_LIMIT);
    let (alice, mut alice_events) = PeerLink::spawn(Arc::new(a), PeerLinkConfig::test()).unwrap();
    let (bob, mut bob_events) = PeerLink::spawn(Arc::new(b), PeerLinkConfig::test()).unwrap();
    alice.send(&prevote(1), Priority::Vote).await.unwrap();
    assert_eq!(next_frame(&mut bob_events).await, prevote(1));

    within("close", alice.close()).await;
    within("a second close", alice.close()).await;
    assert!(alice.is_closed());
    assert_eq!(alice.send(&prevote(2), Priority::Vote).await, Err(SendError::Closed));
    assert_eq!(closed_reason(&mut alice_events).await, CloseReason::Local);
    assert!(within("the end of alice's events", alice_events.recv()).await.is_none());
    assert_eq!(closed_reason(&mut bob_events).await, CloseReason::PeerClosed);
    assert!(bob.is_closed());
    assert_ne!(alice.id(), bob.id());
    assert_eq!(alice.peer(), ValidatorId([2; 32]));
}

#[tokio::test(start_paused = true)]
async fn dropping_a_link_stops_its_task_and_releases_the_connection() {
    let (link, mut events, raw) = link_and_raw(PeerLinkConfig::test(), FRAME_LIMIT);
    drop(link);
    assert!(matches!(within("the connection to be dropped", raw.recv()).await, Ok(None)));
    assert!(within("the event channel to end", events.recv()).await.is_none(), "a dropped link emits nothing");
}

#[tokio::test(start_paused = true)]
async fn a_send_waiting_for_room_fails_once_the_link_closes() {
    let gated = gated_link(PeerLinkConfig::test());
    for seq in 0..8 {
        gated.link.send(&prevote(seq), Priority::Vote).await.unwrap();
    }
    let link = Arc::new(gated.link);
    let waiting = tokio::spawn({
        let link = link.clone();
        async move { link.send(&prevote(8), Priority::Vote).await }
    });
    gated.raw.close().await.unwrap(); // the peer goes away: the link ends
    assert_eq!(within("the waiting send", waiting).await.unwrap(), Err(SendError::Closed));
}

#[test]
fn configs_that_cannot_work_with_the_connection_are_refused() {
    let config = |f: fn(&mut PeerLinkConfig)| {
        let mut config = PeerLinkConfig::recommended();
        f(&mut config);
        config.validate(FRAME_LIMIT).map_err(|e| e.field)
    };
    assert_eq!(config(|_| {}), Ok(()));
    assert_eq!(config(|c| c.part_size = 0), Err("part_size"));
    assert_eq!(config(|c| c.part_size = FRAME_LIMIT), Err("part_size"));
    assert_eq!(config(|c| c.max_reassembly_bytes = FRAME_LIMIT - 1), Err("max_reassembly_bytes"));
    assert_eq!(config(|c| c.max_partial_frames = 0), Err("max_partial_frames"));
    assert_eq!(config(|c| c.event_capacity = 0), Err("event_capacity"));
    assert_eq!(config(|c| c.queues[Priority::Vote].max_frames = 0), Err("queues"));
    assert_eq!(PeerLinkConfig::local().validate(FRAME_LIMIT), Ok(()));
    assert_eq!(PeerLinkConfig::test().validate(FRAME_LIMIT), Ok(()));
}

/// A connection whose `send` never completes: only frames handed over with `try_send` get through.
struct TrySendOnly(ChannelConnection);

#[async_trait::async_trait]
impl Connection for TrySendOnly {
    fn remote(&self) -> ValidatorId {
        self.0.remote()
    }

    fn max_frame_len(&self) -> usize {
        self.0.max_frame_len()
    }

    fn unsent_bound(&self) -> usize {
        self.0.unsent_bound()
    }

    async fn send(&self, _frame: Bytes) -> Result<(), TransportError> {
        std::future::pending().await
    }

    fn try_send(&self, frame: &Bytes) -> Option<Result<(), TransportError>> {
        self.0.try_send(frame)
    }

    async fn recv(&self) -> Result<Option<Bytes>, TransportError> {
        self.0.recv().await
    }

    async fn close(&self) -> Result<(), TransportError> {
        self.0.close().await
    }
}

/// A frame sent while nothing is queued goes straight to the connection (`try_send`), without the
/// hand-over to the link's writer, and is counted like any other; one that must wait behind a queued
/// frame goes through the writer, in priority order.
#[tokio::test(start_paused = true)]
async fn an_idle_link_hands_frames_straight_to_the_connection() {
    let (conn, raw) = channel_pair(FRAME_LIMIT);
    let (link, _events) = PeerLink::spawn(Arc::new(TrySendOnly(conn)), PeerLinkConfig::test()).expect("valid config");
    let pings: Vec<Frame> = (0..3).map(|nonce| Frame::Ping { nonce }).collect();
    for ping in &pings {
        link.send(ping, Priority::Liveness).await.unwrap();
    }
    assert_eq!(raw_frames(&raw, 3).await, pings);
    assert_eq!(link.stats().sent[Priority::Liveness].frames, 3);
    // Over a part's size, a frame is queued for the writer, whose `send` never completes here; what
    // comes after it waits behind it too, rather than overtaking through `try_send`.
    let large = frame_of_len(1, PeerLinkConfig::test().part_size + 1);
    link.send(&large, Priority::Bulk).await.unwrap();
    link.send(&Frame::Ping { nonce: 9 }, Priority::Liveness).await.unwrap();
    assert!(tokio::time::timeout(PENDING, raw.recv()).await.is_err(), "a queued frame was overtaken");
}
