//! The HTTP upgrade of WIRE.md §2: the client requests subprotocol `quorumnet/1` and offers no
//! extension; the server refuses a request without the subprotocol (HTTP 400, saying why) and echoes
//! it. Both sides apply [`websocket_config`]'s limits from the first message on.

use quorumnet_core::transport::{HandshakeFailure, PeerAddress, TransportError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::header::{SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use crate::address::WsAddress;
use crate::settings::{websocket_config, SUBPROTOCOL};

fn failed(peer: &PeerAddress, failure: HandshakeFailure) -> TransportError {
    TransportError::Handshake { peer: peer.to_string(), failure }
}

/// What a failed upgrade tells the caller: a refusal or a dead peer is the peer's doing, anything else
/// a protocol problem.
fn upgrade_error(peer: &PeerAddress, error: WsError) -> TransportError {
    match error {
        WsError::Http(response) => {
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let reason = format!("the server refused the WebSocket upgrade: HTTP {}: {body}", response.status());
            failed(peer, HandshakeFailure::Protocol(reason))
        }
        WsError::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            failed(peer, HandshakeFailure::ClosedByPeer)
        }
        WsError::ConnectionClosed | WsError::AlreadyClosed => failed(peer, HandshakeFailure::ClosedByPeer),
        other => failed(peer, HandshakeFailure::Protocol(format!("WebSocket upgrade: {other}"))),
    }
}

/// Whether any `Sec-WebSocket-Protocol` header lists [`SUBPROTOCOL`].
fn offers_subprotocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').any(|token| token.trim() == SUBPROTOCOL))
}

/// The client's side: requests `addr`'s path with the subprotocol, and checks the server echoed it
/// and accepted no extension.
pub(crate) async fn client<S>(
    stream: S,
    addr: &WsAddress<'_>,
    peer: &PeerAddress,
) -> Result<WebSocketStream<S>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = addr.uri().into_client_request().map_err(|e| TransportError::InvalidAddress {
        addr: peer.to_string(),
        reason: format!("not a WebSocket request URI: {e}"),
    })?;
    request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(SUBPROTOCOL));
    let (ws, response) = tokio_tungstenite::client_async_with_config(request, stream, Some(websocket_config()))
        .await
        .map_err(|e| upgrade_error(peer, e))?;
    let echoed = response.headers().get(SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok());
    if echoed != Some(SUBPROTOCOL) {
        let reason = format!("the server answered subprotocol {echoed:?}, not {SUBPROTOCOL:?}");
        return Err(failed(peer, HandshakeFailure::Protocol(reason)));
    }
    if let Some(extensions) = response.headers().get(SEC_WEBSOCKET_EXTENSIONS) {
        let reason = format!("the server enabled extensions {extensions:?}, which were not offered");
        return Err(failed(peer, HandshakeFailure::Protocol(reason)));
    }
    Ok(ws)
}

/// The server's side: any path; the subprotocol required and echoed.
pub(crate) async fn server<S>(stream: S, peer: &PeerAddress) -> Result<WebSocketStream<S>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let check = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        if !offers_subprotocol(request.headers()) {
            let mut refusal = ErrorResponse::new(Some(format!(
                "quorumnet WebSocket endpoints speak only the {SUBPROTOCOL} subprotocol: request it with \
                 Sec-WebSocket-Protocol\n"
            )));
            *refusal.status_mut() = StatusCode::BAD_REQUEST;
            return Err(refusal);
        }
        response.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(SUBPROTOCOL));
        Ok(response)
    };
    tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(websocket_config()))
        .await
        .map_err(|e| upgrade_error(peer, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_subprotocol_is_found_in_any_header_and_list_position() {
        assert!(offers_subprotocol(&headers(&["quorumnet/1"])));
        assert!(offers_subprotocol(&headers(&["chat, quorumnet/1"])));
        assert!(offers_subprotocol(&headers(&["chat", "quorumnet/1"])));
        assert!(!offers_subprotocol(&headers(&[])));
        assert!(!offers_subprotocol(&headers(&["quorumnet/2", "quorumnet"])));
    }
}
