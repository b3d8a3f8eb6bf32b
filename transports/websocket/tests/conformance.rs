//! websocket passes the shared conformance suite over `ws://` and over `wss://`: one line each, one
//! test per case, on loopback.
//!
//! The impostors run the real TLS, upgrade and Noise handshake and present a forged identity payload
//! in message 3. Garbage is raw bytes on the TCP connection. The stall is, for `ws://`, an upgraded
//! WebSocket that sends an honest Noise message 1 and then nothing; for `wss://`, a TLS record header
//! promising a ClientHello that never comes.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::Flavour;
use quorumnet_conformance::{noise, sockets, ImpostorAttack, Misbehaviour, TransportFactory};
use quorumnet_core::transport::{PeerAddress, Transport, TransportContext};
use quorumnet_websocket::testing;

/// How many handshake timeouts a stalled dialer holds its connection at most.
const STALL_HOLD_TIMEOUTS: u32 = 4;

/// The first 5 bytes a TLS client sends: a handshake record header announcing 512 bytes.
const TLS_RECORD_HEADER: [u8; 5] = [0x16, 0x03, 0x01, 0x02, 0x00];

/// Builds websocket transports of one flavour on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
struct WebSocketFactory(Flavour);

#[async_trait]
impl TransportFactory for WebSocketFactory {
    fn build(&self, ctx: TransportContext) -> Arc<dyn Transport> {
        self.0.shared(ctx)
    }

    fn listen_address(&self) -> PeerAddress {
        sockets::loopback_listen_address(self.0.scheme())
    }

    fn dead_address(&self) -> PeerAddress {
        sockets::dead_loopback_address(self.0.scheme())
    }

    fn impostor(&self, ctx: TransportContext, attack: ImpostorAttack) -> Arc<dyn Transport> {
        let (keypair, chain) = (ctx.keypair.clone(), ctx.chain_id);
        let forge = Arc::new(move |keys: &_| noise::forged_payload(&attack, &keypair, &chain, keys).encode());
        Arc::new(self.0.build(ctx).with_payload_forger_for_testing(forge))
    }

    async fn misbehave(&self, addr: &PeerAddress, how: Misbehaviour) {
        let timeout = self.config().handshake_timeout;
        match (how, self.0) {
            (Misbehaviour::StallMidHandshake, Flavour::Plain) => {
                let hold = timeout * STALL_HOLD_TIMEOUTS;
                testing::stall_after_upgrade(sockets::socket_addr(addr), noise::honest_message_1(), hold).await
            }
            (how, _) => sockets::misbehave_over_tcp(addr, how, timeout, || TLS_RECORD_HEADER.to_vec()).await,
        }
    }
}

mod ws {
    quorumnet_conformance::conformance_tests!(crate::WebSocketFactory(crate::Flavour::Plain));
}

mod wss {
    quorumnet_conformance::conformance_tests!(crate::WebSocketFactory(crate::Flavour::Tls));
}
