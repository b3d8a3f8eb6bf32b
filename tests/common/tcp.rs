//! The harness over a socket transport (tcp-noise, QUIC) on loopback, in real time: each validator
//! listens on `tcp-noise://127.0.0.1:0` (or `quic://…`), and learns where the others listen from its own copy of the validator
//! set (the same validators and keys; only the addresses differ), since ports are known only once a
//! node has started.

use std::collections::BTreeSet;
use std::sync::Arc;

use quorumnet::devnet::{cluster, TransportKind};
use quorumnet::message::Height;
use quorumnet::node::{Node, NodeConfig};
use quorumnet::transport::PeerAddress;
use quorumnet::validator::ListValidatorSetSource;

use super::{set_listing, Sim};

impl Sim {
    /// Validators `0..n` over tcp-noise. Validator `i` is started knowing the addresses of the
    /// validators before it that `linked(i, j)` allows, so it dials exactly those; the earlier ones
    /// do not know its address and wait to be dialed. Links therefore follow `linked` (and every pair
    /// has one dialer, so no tie-break is needed to start).
    pub async fn start_tcp(n: usize, seed: u64, config: NodeConfig, linked: impl Fn(usize, usize) -> bool) -> Self {
        Self::start_loopback(TransportKind::TcpNoise, n, seed, config, linked).await
    }

    /// As [`Sim::start_tcp`], on the socket transport `kind`.
    pub async fn start_loopback(
        kind: TransportKind,
        n: usize,
        seed: u64,
        config: NodeConfig,
        linked: impl Fn(usize, usize) -> bool,
    ) -> Self {
        let mut sim = Sim::new(n, seed, quorumnet::memory::LinkConfig::perfect(), config);
        for i in 0..n {
            let known: BTreeSet<usize> = (0..i).filter(|j| linked(i, *j)).collect();
            sim.spawn_loopback(kind, i, &known).await;
        }
        sim
    }

    /// Starts validator `index` over tcp-noise on a fresh loopback port, knowing the current
    /// addresses of the started validators `known` (none for the others), with the sim's config.
    /// Starting an index again replaces the previous node (a restart on a new port).
    pub async fn spawn_tcp(&mut self, index: usize, known: &BTreeSet<usize>) -> Node {
        self.spawn_loopback(TransportKind::TcpNoise, index, known).await
    }

    /// As [`Sim::spawn_tcp`], on the socket transport `kind`.
    pub async fn spawn_loopback(&mut self, kind: TransportKind, index: usize, known: &BTreeSet<usize>) -> Node {
        let addresses = |i: usize| -> Vec<PeerAddress> {
            match self.nodes.get(&i) {
                Some(node) if known.contains(&i) => node.listen_addresses().to_vec(),
                _ => Vec::new(),
            }
        };
        let keys: Vec<_> = self.keys.iter().enumerate().collect();
        let set = set_listing(&keys, addresses);
        let source = Arc::new(ListValidatorSetSource::new(set, Height(0), 4));
        let listen = cluster::loopback_address_of(kind).expect("a socket transport");
        self.spawn_with(index, source, self.config.clone(), move |builder| cluster::on_loopback(kind, builder, listen))
            .await
    }
}
