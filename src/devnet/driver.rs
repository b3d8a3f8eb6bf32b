//! Runs an [`Engine`] on a network: the only place the engine meets quorumnet, and only through its
//! public traits — [`MessageBroadcaster`], [`ReliableMessaging`], [`HeartbeatProtocol`],
//! [`LivenessMonitor`], [`NetworkTiming`], [`ByzantineNetworkDetector`] and [`ConsensusMessageReceiver`]
//! — so any engine can be wired the same way.

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::engine::{Action, Engine};
use crate::node::{
    ByzantineNetworkDetector, ConsensusMessageReceiver, HeartbeatProtocol, IncomingMessages, LivenessMonitor,
    MessageBroadcaster, NetworkTiming, Node, NodeError, NodeEvent, ReliableMessaging,
};

/// Runs `engine` on `node` as a task ([`run`]) in an `engine` span naming the validator, so its logs
/// say whose they are when several validators share a process (the devnet) or a log file.
///
/// The task ends as [`run`] does: when the node stops, or on an engine bug.
pub fn spawn(node: Node, incoming: IncomingMessages, engine: Engine) -> JoinHandle<Result<(), NodeError>> {
    let span = tracing::debug_span!("engine", id = %node.id().short());
    tokio::spawn(tracing::Instrument::instrument(run(node, incoming, engine), span))
}

/// Feeds `engine` the node's messages and its own deadlines, and carries out its actions, until the
/// node stops (its incoming channel closes or a call reports [`NodeError::Stopped`]): that is how a
/// validator's crash looks from here.
///
/// Deadlines are polled before messages (`biased`): a flood of messages cannot hold a round open
/// past its timeout. Proofs of equivocation come next, before messages, so an equivocator's votes
/// stop counting as soon as the node has proven it (a subscriber that lagged re-reads every proof).
/// Each time the engine enters a round, the driver reads the node's quorum round trip and hands it to
/// the engine, whose next steps' timeouts follow it.
///
/// # Errors
/// A [`NodeError`] other than `Stopped` from the node (a message this engine signed was refused),
/// which means a bug in the engine rather than in the network.
pub async fn run<N, R>(network: N, mut incoming: R, mut engine: Engine) -> Result<(), NodeError>
where
    N: EngineNetwork + ByzantineNetworkDetector,
    R: ConsensusMessageReceiver,
{
    let mut events = network.byzantine_events();
    let first = engine.start();
    if !perform(&network, first, &mut engine).await? {
        return Ok(());
    }
    loop {
        let deadline = engine.deadline();
        let actions = tokio::select! {
            biased;
            () = sleep_until(deadline), if deadline.is_some() => engine.on_deadline(),
            event = events.recv() => match event {
                Ok(NodeEvent::Equivocation(evidence)) => engine.on_evidence(&evidence),
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => match network.equivocation_proofs().await {
                    Ok(proofs) => proofs.iter().flat_map(|proof| engine.on_evidence(proof)).collect(),
                    Err(NodeError::Stopped) => return Ok(()),
                    Err(other) => return Err(other),
                },
                Err(RecvError::Closed) => return Ok(()),
            },
            message = incoming.receive() => match message {
                Some(message) => {
                    let m = &message.message;
                    tracing::trace!(origin = %message.origin.short(), kind = ?m.kind(), height = ?m.height(), round = ?m.round(), "received");
                    engine.on_message(m, message.origin)
                }
                None => return Ok(()),
            },
        };
        if !perform(&network, actions, &mut engine).await? {
            return Ok(());
        }
    }
}

/// What the engine's actions need of the network.
pub trait EngineNetwork:
    MessageBroadcaster + ReliableMessaging + HeartbeatProtocol + LivenessMonitor + NetworkTiming
{
}

impl<N: MessageBroadcaster + ReliableMessaging + HeartbeatProtocol + LivenessMonitor + NetworkTiming> EngineNetwork
    for N
{
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Carries out `actions`; `false` once the node has stopped.
async fn perform<N: EngineNetwork>(network: &N, actions: Vec<Action>, engine: &mut Engine) -> Result<bool, NodeError> {
    for action in actions {
        let done = match action {
            Action::Broadcast(message) => network.broadcast(&message).await.map(drop),
            Action::SendReliable(to, message) => match network.send_reliable(to, &message).await {
                // Catch-up is best effort: the validator behind asks again with its next vote, so a
                // full unacked window or a validator that just left costs nothing but a retry.
                Err(error @ (NodeError::TooManyUnacked(_) | NodeError::NotAPeer { .. })) => {
                    tracing::debug!(peer = %to.short(), %error, "catch-up send skipped");
                    Ok(())
                }
                sent => sent.map(drop),
            },
            Action::ReportTimeout(validator, reason) => network.report_timeout(validator, reason).await,
            Action::MarkResponsive(validator) => network.mark_responsive(validator).await,
            Action::Position(height, round) => match network.set_consensus_position(height, round).await {
                Ok(()) => network.quorum_round_trip().await.map(|rtt| {
                    tracing::debug!(height = height.0, round = round.0, quorum_round_trip = ?rtt, "entering round");
                    engine.on_quorum_round_trip(rtt);
                }),
                failed => failed,
            },
        };
        match done {
            Ok(()) => {}
            Err(NodeError::Stopped) => return Ok(false),
            Err(other) => return Err(other),
        }
    }
    Ok(true)
}
