#!/usr/bin/env python3
"""An independent WebSocket client for quorumnet's websocket transport (WIRE.md §2), written from
the spec: Python's `websockets` carries the Noise byte stream of `noise_peer.py` (whose handshake,
identity payload and framing it reuses unchanged) in binary messages.

  dial URL    connect to a quorumnet `ws://` or `wss://` listener, requesting subprotocol
              `quorumnet/1` without compression, handshake as the initiator, then echo frames
              (as noise_peer.py does: `PEER`, one greeting frame, `ECHOED <n>` or `REFUSED <why>`)

Messages are at most 64 KiB sent and 1 MiB received; their boundaries carry no meaning. The end of
a side's byte stream is an empty binary message (quorumnet's half-close, docs/wire.md); a Close with
code 1000 ends it too. After echoing, the peer sends its own end of stream and closes (1000).
`--ca FILE` trusts that PEM certificate for `wss://`; `--no-subprotocol` requests none (the listener
must refuse the upgrade: `REFUSED HTTP 400 ...`); `--bad-signature` as in noise_peer.py.
"""

import argparse
import socket
import ssl
import sys

import websockets.sync.client
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus, NegotiationError
from websockets.sync.client import connect

import noise_peer

SUBPROTOCOL = "quorumnet/1"
MAX_MESSAGE = 1 << 20
OUTGOING_MESSAGE = 64 * 1024


class QuorumnetClientProtocol(ClientProtocol):
    """`websockets` accepts only RFC 7230 tokens as subprotocols, and `quorumnet/1` holds a `/`, which
    RFC 6455 §4.1 (by way of RFC 2616's separators) excludes: the request carries the header by hand
    and the answer is checked here, for exactly that value."""

    def process_subprotocol(self, headers):
        answered = headers.get_all("Sec-WebSocket-Protocol")
        if not answered:
            return None
        if answered != [SUBPROTOCOL]:
            raise NegotiationError(f"unsupported subprotocol: {answered}")
        return SUBPROTOCOL


# The sync client builds its protocol object from this module-level name.
websockets.sync.client.ClientProtocol = QuorumnetClientProtocol


class WebSocketAsSocket:
    """The two socket calls noise_peer.Stream makes (`recv`, `sendall`), over a WebSocket."""

    def __init__(self, ws, timeout: float):
        self.ws = ws
        self.timeout = timeout
        self.unread = bytearray()
        self.ended = False

    def recv(self, n: int) -> bytes:
        while not self.unread and not self.ended:
            try:
                message = self.ws.recv(timeout=self.timeout)
            except TimeoutError:
                raise socket.timeout()
            except ConnectionClosedOK:
                self.ended = True
                break
            except ConnectionClosedError as e:
                raise OSError(f"WebSocket closed abnormally: {e}")
            if isinstance(message, str):
                raise OSError("the peer sent a text message")
            if not message:
                self.ended = True
            self.unread += message
        data = bytes(self.unread[:n])
        del self.unread[:n]
        return data

    def sendall(self, data: bytes) -> None:
        try:
            for start in range(0, len(data), OUTGOING_MESSAGE):
                self.ws.send(data[start : start + OUTGOING_MESSAGE])
        except ConnectionClosedError as e:
            raise OSError(f"WebSocket closed abnormally: {e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("dial")
    p.add_argument("url")
    p.add_argument("--seed", required=True, help="hex of the 32-byte ML-DSA seed")
    p.add_argument("--chain-id", required=True, help="hex of the 32-byte ChainId")
    p.add_argument("--ca", help="PEM certificate to trust for wss://")
    p.add_argument("--no-subprotocol", action="store_true")
    p.add_argument("--bad-signature", action="store_true")
    p.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    args.stall_after_1 = False

    handshake = noise_peer.prepare(args, initiator=True)
    context = ssl.create_default_context(cafile=args.ca) if args.url.startswith("wss://") else None
    headers = {} if args.no_subprotocol else {"Sec-WebSocket-Protocol": SUBPROTOCOL}
    try:
        ws = connect(args.url, ssl=context, additional_headers=headers, compression=None, max_size=MAX_MESSAGE,
                     open_timeout=args.timeout, close_timeout=args.timeout, proxy=None)
    except InvalidStatus as e:
        print(f"REFUSED HTTP {e.response.status_code} {e.response.body.decode(errors='replace').strip()}", flush=True)
        return
    with ws:
        if ws.subprotocol != SUBPROTOCOL:
            print(f"REFUSED the server chose subprotocol {ws.subprotocol!r}", flush=True)
            return
        noise_peer.serve(WebSocketAsSocket(ws, args.timeout), handshake, args, initiator=True)
        try:
            ws.send(b"")  # our end of stream; the with-block then closes with 1000
        except ConnectionClosedError:
            pass


if __name__ == "__main__":
    sys.exit(main())
