//! Equivocation evidence travels: the node that catches an equivocator gossips one signed report,
//! and validators that never saw the conflict verify it and exclude the equivocator too; a report
//! whose evidence proves nothing is its signer's fault and goes no further.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{chain, next_event, Sim};
use quorumnet::identity::Signature;
use quorumnet::memory::LinkConfig;
use quorumnet::message::{ConsensusMessage, Envelope, EquivocationEvidence, EvidenceReport, Frame, Height};
use quorumnet::node::byzantine::EvidenceError;
use quorumnet::node::reputation::PeerBehavior;
use quorumnet::node::{Misbehaviour, NodeConfig, NodeEvent};
use quorumnet::transport::Connection;
use quorumnet::validator::ListValidatorSetSource;

const WITHIN: Duration = Duration::from_secs(10);

/// Validators 0..3 run nodes, linked to each other; validator 3 is a raw byzantine peer linked to
/// node 0 only.
async fn setup() -> (Sim, Box<dyn Connection>) {
    let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::perfect() };
    let mut sim = Sim::new(4, 7, link, NodeConfig::test());
    let source = Arc::new(ListValidatorSetSource::new(sim.set(0..4), Height(0), 4));
    for i in 0..3 {
        sim.spawn(i, source.clone(), sim.config.clone()).await;
    }
    sim.await_full_mesh(WITHIN).await;
    let conn = sim.raw_peer(3, 0).await;
    (sim, conn)
}

async fn send(conn: &dyn Connection, envelope: Envelope) {
    conn.send(Bytes::from(Frame::Envelope(envelope).encode())).await.expect("raw send");
}

#[tokio::test(start_paused = true)]
async fn evidence_found_by_one_node_excludes_the_equivocator_everywhere() {
    let (sim, conn) = setup().await;
    let equivocator = sim.ids[3];
    let mut far_events = sim.nodes[&2].events();
    let (first, second) = (sim.signed_prevote(3, 1, 1, 1), sim.signed_prevote(3, 2, 1, 2));
    send(&*conn, first.clone()).await;
    send(&*conn, second.clone()).await;
    // Node 2 never had a link to validator 3: it learns from node 0's report.
    let evidence = next_event(&mut far_events, WITHIN, |event| match event {
        NodeEvent::Equivocation(evidence) => Some(evidence),
        _ => None,
    })
    .await;
    assert_eq!(evidence, EquivocationEvidence { first, second });
    let banned = next_event(&mut far_events, WITHIN, |event| match event {
        NodeEvent::PeerBanned { peer, behavior, .. } => Some((peer, behavior)),
        _ => None,
    })
    .await;
    assert_eq!(banned, (equivocator, Some(PeerBehavior::Equivocation)));
    for node in 0..3 {
        assert!(sim.nodes[&node].is_excluded(equivocator).await.unwrap(), "node {node}");
        assert!(!sim.nodes[&node].is_excluded(sim.ids[1]).await.unwrap(), "node {node}: honest 1");
        let proofs = sim.nodes[&node].equivocation_proofs().await.unwrap();
        assert_eq!(proofs.len(), 1, "node {node}");
        assert_eq!(proofs[0].verify(chain(), &sim.set(0..4)).unwrap().origin(), equivocator);
    }
    assert!(sim.try_raw_peer(3, 2).await.is_err(), "banned at node 2 too: it cannot connect there");
    // Gossiped once: node 0 signed one report, and nodes 1 and 2 made none of their own.
    let reports: u64 = {
        let stats = sim.nodes[&2].stats().await.unwrap();
        stats
            .peers
            .values()
            .map(|peer| {
                peer.kinds
                    .get(&Some(quorumnet::message::MessageKind::Evidence))
                    .map_or(0, |k| k.received - k.duplicates)
            })
            .sum()
    };
    assert_eq!(reports, 1, "one report reached node 2 once");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_report_framing_an_honest_validator_is_charged_to_its_signer_and_not_forwarded() {
    let (mut sim, conn) = setup().await;
    let mut events = sim.nodes[&0].events();
    // Two of validator 1's votes for one round, the second with a signature validator 1 never made.
    let genuine = sim.signed_prevote(1, 1, 1, 1);
    let mut forged = sim.signed_prevote(1, 2, 1, 2);
    let mut sig = forged.sig.as_bytes().to_vec();
    sig[10] ^= 0x40;
    forged.sig = Signature::from_bytes(sig);
    let report = EvidenceReport {
        reporter: sim.ids[3],
        height: Height(1),
        evidence: EquivocationEvidence { first: genuine, second: forged },
    };
    let envelope = Envelope::sign_message(&sim.keys[3], chain(), 1, 3, &ConsensusMessage::Evidence(report));
    send(&*conn, envelope).await;
    let misbehaviour = next_event(&mut events, WITHIN, |event| match event {
        NodeEvent::PeerMisbehaved { misbehaviour, .. } => Some(misbehaviour),
        _ => None,
    })
    .await;
    match misbehaviour {
        Misbehaviour::InvalidEvidence { reporter, error: EvidenceError::Signature(_) } => {
            assert_eq!(reporter, sim.ids[3])
        }
        other => panic!("expected invalid evidence, got {other:?}"),
    }
    assert!(sim.nodes[&0].reputation(sim.ids[3]).await.unwrap() < 0.0, "charged to the reporter");
    for node in 0..3 {
        assert!(!sim.nodes[&node].is_excluded(sim.ids[1]).await.unwrap(), "node {node}");
    }
    // A proposal node 0 broadcasts now travels behind anything it forwarded at the report's priority.
    let marker = sim.proposal(0, 1, 16);
    let marker = sim.broadcast_message(0, &marker).await;
    sim.await_delivered(&[1], &[marker], WITHIN).await;
    let at_1 = sim.nodes[&1].stats().await.unwrap();
    let evidence_seen: u64 = at_1
        .peers
        .values()
        .filter_map(|p| p.kinds.get(&Some(quorumnet::message::MessageKind::Evidence)))
        .map(|k| k.received)
        .sum();
    assert_eq!(evidence_seen, 0, "node 0 did not forward it");
    sim.shutdown().await;
}
