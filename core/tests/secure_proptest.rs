//! Property tests: nothing a peer sends panics the handshake or the channel. These are also the
//! functions a `fuzz/` target (outside the workspace, nightly) will drive.

mod secure_support;

use proptest::prelude::*;
use quorumnet_core::secure::{NoiseHandshake, Role};
use quorumnet_core::transport::{Connection, TransportError};
use secure_support::*;
use tokio::io::AsyncWriteExt as _;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_message_1_never_panics_the_responder(message in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut responder = NoiseHandshake::new(Role::Responder, &context(2), None);
        let result = responder.read_message(&message);
        // Only a bare 32-byte ephemeral key is a valid message 1.
        prop_assert_eq!(result.is_ok(), message.len() == 32);
    }

    #[test]
    fn arbitrary_message_2_never_panics_the_initiator(message in proptest::collection::vec(any::<u8>(), 0..6000)) {
        let mut initiator = NoiseHandshake::new(Role::Initiator, &context(1), None);
        initiator.write_message().unwrap();
        prop_assert!(initiator.read_message(&message).is_err());
    }
}

proptest! {
    // Each case runs a real handshake (two ML-DSA signatures): fewer cases.
    #![proptest_config(config(48))]

    #[test]
    fn arbitrary_plaintext_streams_end_the_channel_without_panicking(
        pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..3000), 0..8),
        truncate in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (victim, mut peer) = victim_and_raw_peer().await;
            for piece in &pieces {
                peer.send_plaintext(piece).await;
            }
            if truncate {
                peer.stream.write_all(&[0xff, 0xff, 1, 2, 3]).await.unwrap();
            }
            peer.stream.shutdown().await.unwrap();
            // Frames, then a clean end or a typed failure: never a hang or a panic.
            loop {
                match within("the victim to finish", victim.recv()).await {
                    Ok(Some(frame)) => assert!(!frame.is_empty()),
                    Ok(None) => break,
                    Err(TransportError::ConnectionLost { .. } | TransportError::ProtocolViolation { .. }) => break,
                    Err(other) => panic!("unexpected error {other:?}"),
                }
            }
        });
    }
}
