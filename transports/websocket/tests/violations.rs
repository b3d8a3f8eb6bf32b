//! WIRE.md §2's WebSocket rules against a raw tokio-tungstenite client that breaks them: a request
//! without the `quorumnet/1` subprotocol is refused with HTTP 400; on an authenticated connection a
//! text message or a binary message above 1 MiB ends it as a protocol violation, and the offender is
//! told why with the matching Close code. The listener serves honest peers afterwards.

mod common;

use common::{context, id, within, Flavour, WAIT};
use futures_util::{SinkExt as _, StreamExt as _};
use quorumnet_core::secure::{run_handshake, NoiseHandshake, Role};
use quorumnet_core::transport::{Connection, Listener, Transport, TransportError};
use quorumnet_websocket::settings::MAX_MESSAGE_LEN;
use quorumnet_websocket::testing::{self, tokio_tungstenite};
use quorumnet_websocket::{WebSocketTransport, WsByteStream, SUBPROTOCOL};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

const LISTENER: u8 = 1;
const RAW: u8 = 2;
const HONEST: u8 = 3;

async fn listening() -> (WebSocketTransport, Box<dyn Listener>) {
    let transport = Flavour::Plain.build(context(LISTENER));
    let listener = transport.listen(&"ws://127.0.0.1:0".parse().unwrap()).await.expect("listen");
    (transport, listener)
}

fn socket(listener: &dyn Listener) -> std::net::SocketAddr {
    listener.local_addr().rest().parse().expect("ws://IP:PORT")
}

/// A raw client that completed the upgrade and the Noise handshake honestly, and the listener's side
/// of its connection.
async fn authenticated_raw_client(listener: &mut dyn Listener) -> (WsByteStream<TcpStream>, Box<dyn Connection>) {
    let ws = within("the upgrade", testing::connect_raw(socket(listener), Some(SUBPROTOCOL))).await.expect("upgrade");
    let mut stream = WsByteStream::new(ws);
    let handshake = NoiseHandshake::new(Role::Initiator, &context(RAW), Some(id(LISTENER)));
    within("the Noise handshake", run_handshake(&mut stream, handshake, WAIT, "listener")).await.expect("handshake");
    let accepted = within("accept", listener.accept()).await.expect("accept");
    assert_eq!(accepted.remote(), id(RAW));
    (stream, accepted)
}

/// The Close code the raw client is sent before its connection ends.
async fn close_code(ws: &mut WebSocketStream<TcpStream>) -> Option<CloseCode> {
    loop {
        match within("the listener's close", ws.next()).await {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

async fn serves_an_honest_peer(listener: &mut dyn Listener) {
    let honest = Flavour::Plain.build(context(HONEST));
    let addr = listener.local_addr();
    let (dialed, accepted) = within("an honest connection", async {
        tokio::join!(honest.dial(&addr, Some(id(LISTENER))), listener.accept())
    })
    .await;
    let (dialed, accepted) = (dialed.expect("dial"), accepted.expect("accept"));
    assert_eq!(accepted.remote(), id(HONEST), "the listener's next connection is not the honest peer's");
    dialed.send("still served".into()).await.expect("send");
    assert_eq!(within("recv", accepted.recv()).await.expect("recv").as_deref(), Some(&b"still served"[..]));
}

/// The violation `send` commits on an authenticated connection ends it with `ProtocolViolation`
/// naming `what`, and the offender is sent Close `code`.
async fn violation_closes_the_connection(send: Message, what: &str, code: CloseCode) {
    let (_transport, mut listener) = listening().await;
    let (mut raw, accepted) = authenticated_raw_client(&mut *listener).await;
    let ws = raw.websocket_mut_for_testing();
    within("the violating send", ws.send(send)).await.expect("the raw client sends");
    match within("recv after the violation", accepted.recv()).await {
        Err(TransportError::ProtocolViolation { peer, reason }) => {
            assert_eq!(peer, id(RAW));
            assert!(reason.contains(what), "the violation's reason {reason:?} does not mention {what:?}");
        }
        other => panic!("expected a protocol violation, got {other:?}"),
    }
    assert_eq!(close_code(ws).await, Some(code), "the offender is told why");
    serves_an_honest_peer(&mut *listener).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_the_subprotocol_is_refused_with_http_400() {
    let (_transport, mut listener) = listening().await;
    for offered in [None, Some("chat"), Some("quorumnet/2")] {
        match within("the refused upgrade", testing::connect_raw(socket(&*listener), offered)).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 400, "{offered:?}");
                let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
                assert!(body.contains(SUBPROTOCOL), "the refusal says what to request: {body:?}");
            }
            Err(other) => panic!("{offered:?}: expected HTTP 400, got {other}"),
            Ok(_) => panic!("{offered:?}: the upgrade succeeded without the subprotocol"),
        }
    }
    serves_an_honest_peer(&mut *listener).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_echoes_the_subprotocol_and_enables_no_extension() {
    let (_transport, listener) = listening().await;
    let stream = TcpStream::connect(socket(&*listener)).await.unwrap();
    let mut request = format!("ws://{}/any/path", socket(&*listener)).into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", SUBPROTOCOL.parse().unwrap());
    headers.insert("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits".parse().unwrap());
    let (_, response) =
        within("the upgrade", tokio_tungstenite::client_async(request, stream)).await.expect("any path is served");
    assert_eq!(response.headers().get("Sec-WebSocket-Protocol").unwrap(), SUBPROTOCOL);
    assert!(response.headers().get("Sec-WebSocket-Extensions").is_none(), "no compression on ciphertext");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_message_is_a_protocol_violation_that_closes_the_connection() {
    violation_closes_the_connection(Message::Text("hello".into()), "text message", CloseCode::Unsupported).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_message_above_1_mib_is_a_protocol_violation_that_closes_the_connection() {
    let oversize = Message::Binary(vec![0u8; MAX_MESSAGE_LEN + 1].into());
    violation_closes_the_connection(oversize, "1048576", CloseCode::Size).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_message_of_exactly_1_mib_is_accepted() {
    let (_transport, mut listener) = listening().await;
    let (mut raw, accepted) = authenticated_raw_client(&mut *listener).await;
    // 1 MiB of stream bytes that are not a valid Noise message: the WebSocket layer lets them through
    // (the violation is then Noise's, a decrypt failure), proving the limit is inclusive.
    let ws = raw.websocket_mut_for_testing();
    within("a 1 MiB message", ws.send(Message::Binary(vec![0xff; MAX_MESSAGE_LEN].into()))).await.unwrap();
    match within("recv", accepted.recv()).await {
        Err(TransportError::ConnectionLost { reason, .. }) => assert!(reason.contains("decrypt"), "{reason}"),
        other => panic!("expected the Noise layer to fail on the bytes, got {other:?}"),
    }
}
