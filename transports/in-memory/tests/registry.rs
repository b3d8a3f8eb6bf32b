//! The `mem` plugin is found by scheme and builds a working transport on the global network.

mod common;

use common::*;
use quorumnet_core::transport::{build_transport, find_plugin, plugins, TransportConfig};
use quorumnet_memory::MemoryNetwork;

#[tokio::test(start_paused = true)]
async fn the_registry_finds_the_mem_plugin_and_builds_a_working_transport() {
    let plugin = find_plugin("mem").expect("the mem plugin is registered");
    assert_eq!(plugin.scheme, "mem");
    assert!(plugins().iter().any(|p| p.scheme == "mem"));

    let listen_addr = addr("registry-test-v2");
    let server = build_transport(&listen_addr, &ctx(key(2), admit_all(), TransportConfig::test())).unwrap();
    let client = build_transport(&listen_addr, &ctx(key(1), admit_all(), TransportConfig::test())).unwrap();
    assert_eq!(server.scheme(), "mem");
    let mut listener = server.listen(&listen_addr).await.unwrap();
    let (dialed, accepted) = tokio::join!(client.dial(&listen_addr, Some(id(2))), listener.accept());
    assert_eq!(dialed.unwrap().remote(), id(2));
    assert_eq!(accepted.unwrap().remote(), id(1));
    // The plugin's transports live on the process-wide network.
    assert_eq!(MemoryNetwork::global().seed(), 0);
}
