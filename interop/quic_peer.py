#!/usr/bin/env python3
"""An independent peer for quorumnet's QUIC transport (WIRE.md §3), written from the spec.

QUIC and TLS 1.3 from `aioquic`, ML-DSA-65 identities from `dilithium-py` (keys derived from a 32-byte
seed, as quorumnet's `Keypair::from_seed`), the proof `{"v": 1, "pk": bstr, "sig": bstr}` with
`cbor2`. Nothing here comes from the Rust code.

aioquic has no TLS keying-material exporter API, so this peer derives it from the TLS 1.3 key schedule
itself (RFC 8446 §7.5): it captures `exporter_master_secret = Derive-Secret(master, "exp master",
ClientHello..server Finished)` at the moment aioquic derives the application traffic secrets (the
transcript is then exactly up to the server's Finished), and computes
`HKDF-Expand-Label(Derive-Secret(ems, "EXPORTER-quorumnet-auth", ""), "exporter", Hash(""), 32)`.

Modes (all on 127.0.0.1):
  dial PORT   connect to a quorumnet listener as the client, run the §3 exchange, then echo frames
  listen      listen on a free port (printed as `LISTENING <port>`), serve the first client as the
              server, then echo frames

After the exchange the peer prints `PEER <hex of the remote's pk>`, sends one frame `hello from
python`, then sends back every frame it receives until the remote ends its stream: `ECHOED <n>`.
When the connection is closed before that it prints `CLOSED <application error code>`; when the
remote's proof fails here, it closes with the §3 code and prints `REFUSED <why>`. Misbehaviours for
negative tests: `--alpn NAME`, `--bad-proof` (flip a signature bit), `--wrong-role` (sign with the
other role's byte), `--wrong-exporter` (sign over 32 zero bytes). Every wait is bounded by
`--timeout` seconds. Exit status 0 unless the script itself fails.
"""

import argparse
import asyncio
import ssl
import struct
import sys
import tempfile

import cbor2
from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted, StreamDataReceived
from aioquic import tls
from dilithium_py.ml_dsa import ML_DSA_65

ALPN = "quorumnet/1"
AUTH_DOMAIN = b"quorumnet/1/quic-auth"
EXPORTER_LABEL = b"EXPORTER-quorumnet-auth"
ALG_ML_DSA_65 = 0x01
MAX_PROOF = 8192
GREETING = b"hello from python"
CLIENT, SERVER = 0x00, 0x01
# Whether the outcome line was printed (a failed handshake also raises from `connect`).
REPORTED = False

# ---------------------------------------------------------------- the TLS exporter (RFC 8446 §7.5)

_derive_secret = tls.KeySchedule.derive_secret


def _capturing_derive_secret(self, label):
    # Both roles derive "c ap traffic" right after hashing the server's Finished: the transcript the
    # exporter master secret is defined over.
    if label == b"c ap traffic" and not hasattr(self, "exporter_master"):
        self.exporter_master = _derive_secret(self, b"exp master")
    return _derive_secret(self, label)


tls.KeySchedule.derive_secret = _capturing_derive_secret


def exporter(key_schedule, label: bytes, length: int = 32) -> bytes:
    algorithm = key_schedule.algorithm
    empty_hash = key_schedule.hash_empty_value
    secret = tls.hkdf_expand_label(algorithm, key_schedule.exporter_master, label, empty_hash, algorithm.digest_size)
    return tls.hkdf_expand_label(algorithm, secret, b"exporter", empty_hash, length)


# ---------------------------------------------------------------- identity (WIRE.md §1, §3)


class Identity:
    def __init__(self, seed: bytes):
        self.pk, self.sk = ML_DSA_65.key_derive(seed)
        self.encoded = bytes([ALG_ML_DSA_65]) + self.pk

    def proof(self, chain_id: bytes, role: int, exporter_value: bytes, corrupt=False) -> bytes:
        sig = bytearray(ML_DSA_65.sign(self.sk, AUTH_DOMAIN + chain_id + bytes([role]) + exporter_value))
        if corrupt:
            sig[100] ^= 0x01
        body = cbor2.dumps({"v": 1, "pk": self.encoded, "sig": bytes(sig)})
        return struct.pack(">I", len(body)) + body


class Refused(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code


def verify_proof(body: bytes, chain_id: bytes, role: int, exporter_value: bytes) -> bytes:
    try:
        fields = cbor2.loads(body)
    except Exception as e:  # noqa: BLE001 - any decoding failure is a violation
        raise Refused(3, f"proof does not decode: {e}")
    if not isinstance(fields, dict) or fields.get("v") != 1:
        raise Refused(3, "proof is not version 1")
    pk, sig = fields.get("pk"), fields.get("sig")
    if type(pk) is not bytes or type(sig) is not bytes or len(pk) != 1 + 1952 or pk[0] != ALG_ML_DSA_65:
        raise Refused(1, "proof: not an ML-DSA-65 key and signature")
    if not ML_DSA_65.verify(pk[1:], AUTH_DOMAIN + chain_id + bytes([role]) + exporter_value, sig):
        raise Refused(1, "proof signature does not verify")
    return pk


# ---------------------------------------------------------------- the peer


class Peer(QuicConnectionProtocol):
    """One connection: the §3 exchange, then echo. `role` is this side's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opts = None
        self.role = None
        self.stream_id = None
        self.buf = b""
        self.remote_pk = None
        self.echoed = 0
        self.done = asyncio.get_event_loop().create_future()

    def setup(self, opts, role):
        self.opts, self.role = opts, role

    def start_client(self):
        self.stream_id = self._quic.get_next_available_stream_id()
        self._send_proof()

    def _exporter(self):
        return exporter(self._quic.tls.key_schedule, EXPORTER_LABEL)

    def _send_proof(self):
        o = self.opts
        role = self.role ^ 1 if o.wrong_role else self.role
        value = bytes(32) if o.wrong_exporter else self._exporter()
        proof = Identity(bytes.fromhex(o.seed)).proof(bytes.fromhex(o.chain_id), role, value, o.bad_proof)
        self._quic.send_stream_data(self.stream_id, proof)
        self.transmit()

    def _finish(self, line):
        global REPORTED
        if not self.done.done():
            print(line, flush=True)
            REPORTED = True
            self.done.set_result(None)

    def quic_event_received(self, event):
        if isinstance(event, ConnectionTerminated):
            self._finish(f"CLOSED {event.error_code}")
        elif isinstance(event, StreamDataReceived):
            if self.stream_id is None:  # the server learns the stream from the client's first bytes
                self.stream_id = event.stream_id
                self._send_proof()
            self.buf += event.data
            try:
                self._consume()
            except Refused as r:
                print(f"REFUSED {r}", flush=True)
                self._quic.close(error_code=r.code, reason_phrase=str(r))
                self.transmit()
                self._finish("CLOSED-BY-US")
                return
            if event.end_stream:
                self._quic.send_stream_data(self.stream_id, b"", end_stream=True)
                self.transmit()
                self._finish(f"ECHOED {self.echoed}")

    def _consume(self):
        while len(self.buf) >= 4:
            (length,) = struct.unpack(">I", self.buf[:4])
            limit = MAX_PROOF if self.remote_pk is None else 4 * 1024 * 1024
            if length == 0 or length > limit:
                raise Refused(3, f"length {length}")
            if len(self.buf) < 4 + length:
                return
            body, self.buf = self.buf[4 : 4 + length], self.buf[4 + length :]
            if self.remote_pk is None:
                peer_role = self.role ^ 1
                self.remote_pk = verify_proof(body, bytes.fromhex(self.opts.chain_id), peer_role, self._exporter())
                print(f"PEER {self.remote_pk.hex()}", flush=True)
                self._send_frame(GREETING)
            else:
                self._send_frame(body)
                self.echoed += 1

    def _send_frame(self, frame):
        self._quic.send_stream_data(self.stream_id, struct.pack(">I", len(frame)) + frame)
        self.transmit()


def configuration(opts, is_client):
    config = QuicConfiguration(is_client=is_client, alpn_protocols=[opts.alpn], max_datagram_frame_size=None)
    config.verify_mode = ssl.CERT_NONE
    config.server_name = "quorumnet"
    config.idle_timeout = opts.timeout
    return config


async def dial(opts):
    async with connect("127.0.0.1", opts.port, configuration=configuration(opts, True), create_protocol=Peer) as peer:
        peer.setup(opts, CLIENT)
        peer.start_client()
        await asyncio.wait_for(peer.done, opts.timeout)


async def listen(opts):
    config = configuration(opts, False)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = self_signed(tmp)
        config.load_cert_chain(cert, key)
        connected = asyncio.get_event_loop().create_future()

        def protocol(*args, **kwargs):
            peer = Peer(*args, **kwargs)
            peer.setup(opts, SERVER)
            if not connected.done():
                connected.set_result(peer)
            return peer

        server = await serve("127.0.0.1", 0, configuration=config, create_protocol=protocol)
        print(f"LISTENING {server._transport.get_extra_info('sockname')[1]}", flush=True)
        peer = await asyncio.wait_for(connected, opts.timeout)
        await asyncio.wait_for(peer.done, opts.timeout)
        server.close()


def self_signed(tmp):
    """A throwaway certificate for SNI `quorumnet` (identity-free, as §3 says)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quorumnet")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("quorumnet")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = f"{tmp}/cert.pem", f"{tmp}/key.pem"
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    dial_mode = sub.add_parser("dial")
    dial_mode.add_argument("port", type=int)
    sub.add_parser("listen")
    for p in (dial_mode, sub.choices["listen"]):
        p.add_argument("--seed", required=True, help="32-byte ML-DSA-65 seed, hex")
        p.add_argument("--chain-id", required=True, help="32-byte ChainId, hex")
        p.add_argument("--timeout", type=float, default=20.0)
        p.add_argument("--alpn", default=ALPN)
        p.add_argument("--bad-proof", action="store_true")
        p.add_argument("--wrong-role", action="store_true")
        p.add_argument("--wrong-exporter", action="store_true")
    opts = parser.parse_args()
    try:
        asyncio.run(dial(opts) if opts.mode == "dial" else listen(opts))
    except ConnectionError as e:
        if not REPORTED:
            print(f"CLOSED {e}", flush=True)
    except asyncio.TimeoutError:
        print("TIMEOUT", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
