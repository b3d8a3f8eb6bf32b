//! Raw WebSocket peers for this crate's tests, conformance factory and benchmark. **Tests only.**

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::WebSocketStream;

pub use tokio_tungstenite;

/// A plain WebSocket client to the `ws://` listener at `server`, requesting `subprotocol` (none for
/// `None`), with tungstenite's default limits (so it can send what the listener must refuse).
///
/// # Errors
/// The upgrade's failure (e.g. the listener's HTTP 400 without the subprotocol).
pub async fn connect_raw(server: SocketAddr, subprotocol: Option<&str>) -> Result<WebSocketStream<TcpStream>, Error> {
    let stream = TcpStream::connect(server).await?;
    let mut request = format!("ws://{server}/").into_client_request()?;
    if let Some(protocol) = subprotocol {
        let value = HeaderValue::from_str(protocol).expect("a test subprotocol is a valid header value");
        request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
    }
    let (ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    Ok(ws)
}

/// Upgrades to the listener at `server`, sends `bytes` as one binary message and holds the
/// WebSocket until the listener ends it, at most `hold`: a dialer stalled after the upgrade. Returns
/// once the bytes are sent; the hold runs in a spawned task.
///
/// # Panics
/// If the upgrade fails: the listener under test must at least complete it.
pub async fn stall_after_upgrade(server: SocketAddr, bytes: Vec<u8>, hold: Duration) {
    use futures_util::{SinkExt as _, StreamExt as _};
    let mut ws = connect_raw(server, Some(crate::SUBPROTOCOL)).await.expect("the listener completes the upgrade");
    ws.send(Message::Binary(bytes.into())).await.expect("sending the stalled message");
    tokio::spawn(async move {
        let _ = tokio::time::timeout(hold, async { while let Some(Ok(_)) = ws.next().await {} }).await;
    });
}
