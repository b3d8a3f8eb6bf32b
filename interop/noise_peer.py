#!/usr/bin/env python3
"""An independent peer for quorumnet's Noise secure channel (WIRE.md §2), written from the spec.

Noise_XX_25519_AESGCM_SHA256 from `noiseprotocol`, ML-DSA-65 identities from `dilithium-py`
(FIPS 204 keys derived from a 32-byte seed, as quorumnet's `Keypair::from_seed`), the identity
payload `{"v": 1, "pk": bstr, "sig": bstr}` with `cbor2`. Nothing here comes from the Rust code.

Modes (all on 127.0.0.1):
  dial PORT     connect to a quorumnet listener, handshake as the initiator, then echo frames
  listen        listen on a free port (printed as `LISTENING <port>`), handshake as the responder with
                the first dialer, then echo frames
  transcript    decrypt and verify the recorded handshake transcript in docs/wire.md (path given)

After a handshake the peer prints `PEER <hex of the remote's pk>`, sends one frame
`hello from python`, then sends back every frame it receives, unchanged, until the remote closes:
`ECHOED <n>` on a clean end (between frames), `REFUSED <why>` when the connection fails or the
handshake does not complete. Misbehaviours for negative tests: `--bad-signature` (flip a bit of the
identity signature), `--stall-after-1` (send message 1, then nothing; prints `SENT 1`). Every
wait is bounded by `--timeout` seconds. Exit status 0 unless the script itself fails.
"""

import argparse
import os
import re
import socket
import struct
import sys
import warnings

import cbor2
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from dilithium_py.ml_dsa import ML_DSA_65
from noise.connection import Keypair, NoiseConnection

PROTOCOL = b"Noise_XX_25519_AESGCM_SHA256"
PROLOGUE_PREFIX = b"quorumnet/1"
STATIC_DOMAIN = b"quorumnet/1/noise-static"
ALG_ML_DSA_65 = 0x01
MAX_NOISE_MESSAGE = 65535
TAG_LEN = 16
MAX_PLAINTEXT = MAX_NOISE_MESSAGE - TAG_LEN
GREETING = b"hello from python"


class Refused(Exception):
    """The handshake or the connection failed: the expected outcome of negative tests."""


# ---------------------------------------------------------------- identity (WIRE.md §1, §2)


class Identity:
    """An ML-DSA-65 validator key derived from a 32-byte seed (FIPS 204 ML-DSA.KeyGen_internal)."""

    def __init__(self, seed: bytes):
        self.pk, self.sk = ML_DSA_65.key_derive(seed)
        self.encoded = bytes([ALG_ML_DSA_65]) + self.pk

    def payload(self, chain_id: bytes, static_public: bytes, corrupt: bool = False) -> bytes:
        """The identity payload proving this key holds `static_public` on `chain_id`."""
        sig = bytearray(ML_DSA_65.sign(self.sk, STATIC_DOMAIN + chain_id + static_public))
        if corrupt:
            sig[100] ^= 0x01
        return cbor2.dumps({"v": 1, "pk": self.encoded, "sig": bytes(sig)})


def verify_payload(payload: bytes, chain_id: bytes, remote_static: bytes) -> bytes:
    """Checks a peer's identity payload against the static key the handshake authenticated; returns its pk."""
    try:
        fields = cbor2.loads(payload)
    except Exception as e:  # noqa: BLE001 - any decoding failure is a refusal
        raise Refused(f"identity payload does not decode: {e}")
    if not isinstance(fields, dict) or fields.get("v") != 1:
        raise Refused(f"identity payload is not version 1: {fields!r:.80}")
    pk, sig = fields.get("pk"), fields.get("sig")
    if type(pk) is not bytes or type(sig) is not bytes:
        raise Refused("identity payload: pk and sig must be byte strings")
    if len(pk) != 1 + 1952 or pk[0] != ALG_ML_DSA_65:
        raise Refused(f"identity payload: not an ML-DSA-65 key ({len(pk)} bytes, algorithm {pk[:1].hex()})")
    if not ML_DSA_65.verify(pk[1:], STATIC_DOMAIN + chain_id + remote_static, sig):
        raise Refused("identity signature does not verify over the Noise static key")
    return pk


def static_public(secret: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


# ---------------------------------------------------------------- handshake


class Handshake:
    """One side of the XX handshake. Messages are Noise messages without their u16 prefix."""

    def __init__(self, initiator, chain_id, identity, static_secret=None, ephemeral_secret=None, corrupt=False):
        self.chain_id = chain_id
        self.initiator = initiator
        static_secret = static_secret or os.urandom(32)
        # Signed before any connection exists: the proof covers only our own static key.
        self.payload = identity.payload(chain_id, static_public(static_secret), corrupt)
        self.noise = NoiseConnection.from_name(PROTOCOL)
        self.noise.set_as_initiator() if initiator else self.noise.set_as_responder()
        self.noise.set_prologue(PROLOGUE_PREFIX + chain_id)
        self.noise.set_keypair_from_private_bytes(Keypair.STATIC, static_secret)
        if ephemeral_secret is not None:
            self.noise.set_keypair_from_private_bytes(Keypair.EPHEMERAL, ephemeral_secret)
        self.noise.start_handshake()
        # noiseprotocol drops its handshake state when the handshake finishes: keep it for `rs`.
        self.state = self.noise.noise_protocol.handshake_state
        self.written = 0
        self.remote_pk = None
        self.remote_payload = None

    def write(self) -> bytes:
        # Message 1 (the initiator's first) carries nothing; messages 2 and 3 the identity payload.
        payload = b"" if self.initiator and self.written == 0 else self.payload
        self.written += 1
        return bytes(self.noise.write_message(payload))

    def read(self, message: bytes, number: int) -> None:
        try:
            payload = bytes(self.noise.read_message(message))
        except Exception as e:  # noqa: BLE001
            raise Refused(f"Noise message {number} does not authenticate or is malformed: {type(e).__name__} {e}")
        if number == 1:
            if payload:
                raise Refused("message 1 carries a payload")
            return
        self.remote_pk = verify_payload(payload, self.chain_id, self.state.rs.public_bytes)
        self.remote_payload = payload

    @property
    def finished(self) -> bool:
        return self.noise.handshake_finished


# ---------------------------------------------------------------- the byte stream


class Stream:
    """Noise messages behind u16 lengths; after the handshake, frames (u32 length) in the plaintext."""

    def __init__(self, sock):
        self.sock = sock
        self.plaintext = bytearray()

    def read_exact(self, n: int, eof_ok: bool = False):
        data = bytearray()
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except socket.timeout:
                raise Refused("timed out waiting for the peer")
            except OSError as e:
                raise Refused(f"connection failed: {e}")
            if not chunk:
                if eof_ok and not data:
                    return None
                raise Refused(f"connection ended inside a message ({len(data)} of {n} bytes)")
            data += chunk
        return bytes(data)

    def read_noise(self, eof_ok: bool = False):
        prefix = self.read_exact(2, eof_ok)
        if prefix is None:
            return None
        return self.read_exact(struct.unpack(">H", prefix)[0])

    def write_noise(self, message: bytes) -> None:
        self.sock.sendall(struct.pack(">H", len(message)) + message)

    def send_frame(self, noise: NoiseConnection, frame: bytes) -> None:
        data = struct.pack(">I", len(frame)) + frame
        out = bytearray()
        for start in range(0, len(data), MAX_PLAINTEXT):
            sealed = noise.encrypt(data[start : start + MAX_PLAINTEXT])
            out += struct.pack(">H", len(sealed)) + sealed
        try:
            self.sock.sendall(out)
        except OSError as e:
            raise Refused(f"connection failed while sending: {e}")

    def recv_frame(self, noise: NoiseConnection):
        """The next frame, or None when the stream ended cleanly between frames."""
        while True:
            if len(self.plaintext) >= 4:
                length = struct.unpack(">I", self.plaintext[:4])[0]
                if len(self.plaintext) >= 4 + length:
                    frame = bytes(self.plaintext[4 : 4 + length])
                    del self.plaintext[: 4 + length]
                    return frame
            message = self.read_noise(eof_ok=True)
            if message is None:
                if self.plaintext:
                    raise Refused("connection ended inside a frame")
                return None
            self.plaintext += noise.decrypt(message)


def run_handshake(stream: Stream, handshake: Handshake, initiator: bool, stall_after_1: bool) -> None:
    number = 1
    while not handshake.finished:
        if (number % 2 == 1) == initiator:
            stream.write_noise(handshake.write())
            if stall_after_1:
                print("SENT 1", flush=True)
                # Silence until the listener gives up on us (bounded by the socket timeout).
                while stream.read_exact(1, eof_ok=True) is not None:
                    pass
                raise Refused("the listener closed the stalled handshake")
        else:
            message = stream.read_noise()
            handshake.read(message, number)
        number += 1


def prepare(args, initiator: bool) -> Handshake:
    """Keys and the signed identity payload, ready before any connection (signing takes ~0.1 s)."""
    return Handshake(initiator, bytes.fromhex(args.chain_id), Identity(bytes.fromhex(args.seed)),
                     corrupt=args.bad_signature)


def serve(sock, handshake: Handshake, args, initiator: bool) -> None:
    stream = Stream(sock)
    try:
        run_handshake(stream, handshake, initiator, args.stall_after_1)
        print(f"PEER {handshake.remote_pk.hex()}", flush=True)
        stream.send_frame(handshake.noise, GREETING)
        echoed = 0
        while (frame := stream.recv_frame(handshake.noise)) is not None:
            stream.send_frame(handshake.noise, frame)
            echoed += 1
        print(f"ECHOED {echoed}", flush=True)
    except Refused as e:
        print(f"REFUSED {e}", flush=True)


# ---------------------------------------------------------------- recorded transcript (docs/wire.md)

TRANSCRIPT = re.compile(r"<!-- transcript: (\S+) -->\s*```hex\n(.*?)```", re.S)


def transcript(doc_path: str) -> None:
    """Replays both sides of the recorded transcript with its fixed keys. ML-DSA signatures are
    randomized, so each side sends the identity payload the other side decrypted from the recording;
    every message it writes must then equal the recorded bytes, and both signatures must verify."""
    # Fixed ephemeral keys are the point of a transcript; noiseprotocol warns about them.
    warnings.filterwarnings("ignore", message="One of ephemeral keypairs is already set")
    with open(doc_path, encoding="utf-8") as f:
        blocks = {name: bytes.fromhex("".join(body.split())) for name, body in TRANSCRIPT.findall(f.read())}
    chain_id = blocks["chain_id"]
    seeds = {side: blocks[f"{side}_identity_seed"] for side in ("initiator", "responder")}
    sides = {
        side: Handshake(side == "initiator", chain_id, Identity(seeds[side]), blocks[f"{side}_static_secret"],
                        blocks[f"{side}_ephemeral_secret"])
        for side in ("initiator", "responder")
    }

    def unframed(name):
        wire = blocks[name]
        assert struct.unpack(">H", wire[:2])[0] == len(wire) - 2, f"{name}: length prefix"
        return wire[2:]

    def message(number):
        return unframed(f"message_{number}")

    initiator, responder = sides["initiator"], sides["responder"]
    assert initiator.write() == message(1), "message 1 differs from the recording"
    responder.read(message(1), 1)
    initiator.read(message(2), 2)
    responder.payload = initiator.remote_payload
    assert responder.write() == message(2), "message 2 (with the recorded payload) differs from the recording"
    responder.read(message(3), 3)
    initiator.payload = responder.remote_payload
    assert initiator.write() == message(3), "message 3 (with the recorded payload) differs from the recording"
    for side, other in (("initiator", responder), ("responder", initiator)):
        assert other.remote_pk == Identity(seeds[side]).encoded, f"the {side}'s proven key is not its seeded key"
    for writer, reader in (("initiator", responder), ("responder", initiator)):
        plaintext = reader.noise.decrypt(unframed(f"transport_{writer}"))
        assert plaintext == blocks[f"transport_{writer}_plaintext"], f"{writer}'s transport message decrypts wrong"
    for side in sides.values():
        assert side.noise.get_handshake_hash() == blocks["handshake_hash"], "handshake hash differs"
    print("transcript verified")


# ---------------------------------------------------------------- command line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("dial", "listen"):
        p = sub.add_parser(name)
        if name == "dial":
            p.add_argument("port", type=int)
        p.add_argument("--seed", required=True, help="hex of the 32-byte ML-DSA seed")
        p.add_argument("--chain-id", required=True, help="hex of the 32-byte ChainId")
        p.add_argument("--bad-signature", action="store_true")
        p.add_argument("--stall-after-1", action="store_true")
        p.add_argument("--timeout", type=float, default=20.0)
    t = sub.add_parser("transcript")
    t.add_argument("doc")
    args = parser.parse_args()

    if args.mode == "transcript":
        transcript(args.doc)
        return
    initiator = args.mode == "dial"
    handshake = prepare(args, initiator)
    if initiator:
        with socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout) as sock:
            serve(sock, handshake, args, initiator)
        return
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(args.timeout)
        print(f"LISTENING {server.getsockname()[1]}", flush=True)
        sock, _ = server.accept()
        sock.settimeout(args.timeout)
        with sock:
            serve(sock, handshake, args, initiator)


if __name__ == "__main__":
    sys.exit(main())
