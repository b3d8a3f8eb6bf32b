#!/usr/bin/env python3
"""Independent check of quorumnet's wire encodings with Python's cbor2.

Reads every test vector in docs/wire.md (blocks introduced by `<!-- vector: NAME type: TYPE -->`),
decodes it with cbor2, asserts that each field has the CBOR type WIRE.md gives it (byte string,
unsigned integer, map with exactly those keys, ...), rebuilds the value from those fields in
WIRE.md's key order, re-encodes it with cbor2 and asserts the bytes are identical.

The schemas below are written from WIRE.md and docs/wire.md, not from the Rust code.
Prints `N vectors checked` and exits 0 on success; exits 1 naming the first failure.
"""

import re
import sys

import cbor2

VECTOR = re.compile(r"<!-- vector: (\S+) type: (\S+) -->\s*```hex\n(.*?)```", re.S)


class Uint:
    def __init__(self, bits=64):
        self.max = (1 << bits) - 1

    def rebuild(self, value, path):
        if type(value) is not int or value < 0 or value > self.max:
            raise AssertionError(f"{path}: expected unsigned integer <= {self.max}, got {value!r}")
        return value


class Bstr:
    def __init__(self, length=None):
        self.length = length

    def rebuild(self, value, path):
        if type(value) is not bytes:
            raise AssertionError(f"{path}: expected byte string, got {type(value).__name__}")
        if self.length is not None and len(value) != self.length:
            raise AssertionError(f"{path}: expected {self.length} bytes, got {len(value)}")
        return value


class Nullable:
    def __init__(self, inner):
        self.inner = inner

    def rebuild(self, value, path):
        return None if value is None else self.inner.rebuild(value, path)


class Text:
    """A UTF-8 text string of at most max_bytes bytes matching pattern."""

    def __init__(self, pattern, max_bytes):
        self.pattern = re.compile(pattern)
        self.max_bytes = max_bytes

    def rebuild(self, value, path):
        if type(value) is not str:
            raise AssertionError(f"{path}: expected text string, got {type(value).__name__}")
        if len(value.encode("utf-8")) > self.max_bytes:
            raise AssertionError(f"{path}: longer than {self.max_bytes} bytes")
        if not self.pattern.fullmatch(value):
            raise AssertionError(f"{path}: {value!r} does not match {self.pattern.pattern}")
        return value


class Array:
    def __init__(self, item, max_len=None):
        self.item = item
        self.max_len = max_len

    def rebuild(self, value, path):
        if type(value) is not list:
            raise AssertionError(f"{path}: expected array, got {type(value).__name__}")
        if self.max_len is not None and len(value) > self.max_len:
            raise AssertionError(f"{path}: {len(value)} items, above the limit of {self.max_len}")
        return [self.item.rebuild(v, f"{path}[{i}]") for i, v in enumerate(value)]


class Map:
    """A map with exactly these text keys, re-encoded in this order."""

    def __init__(self, *fields):
        self.fields = fields

    def rebuild(self, value, path):
        if type(value) is not dict:
            raise AssertionError(f"{path}: expected map, got {type(value).__name__}")
        names = [name for name, _ in self.fields]
        if sorted(value) != sorted(names):
            raise AssertionError(f"{path}: expected keys {names}, got {list(value)}")
        if list(value) != names:
            raise AssertionError(f"{path}: keys not in WIRE.md order {names}: {list(value)}")
        return {name: schema.rebuild(value[name], f"{path}.{name}") for name, schema in self.fields}


class Enum:
    """Serde's externally tagged enum: a one-entry map {"Variant": body}."""

    def __init__(self, **variants):
        self.variants = variants

    def rebuild(self, value, path):
        if type(value) is not dict or len(value) != 1:
            raise AssertionError(f"{path}: expected a one-entry map naming the variant, got {value!r:.80}")
        (name, body), = value.items()
        if name not in self.variants:
            raise AssertionError(f"{path}: unknown variant {name!r}")
        return {name: self.variants[name].rebuild(body, f"{path}.{name}")}


class Embedded:
    """A byte string holding the CBOR of another schema (the envelope payload)."""

    def __init__(self, inner):
        self.inner = inner

    def rebuild(self, value, path):
        Bstr().rebuild(value, path)
        check_roundtrip(value, self.inner, path)
        return value


ID = Bstr(32)
HEIGHT = Uint(64)
ROUND = Uint(32)
# docs/wire.md §5: Have/Want hold at most 1024 ids. §6: at most 16 addresses of at most 256 bytes,
# scheme://rest with a lowercase scheme and a rest without whitespace.
MAX_IDS = 1024
PEER_ADDRESS = Text(r"[a-z][a-z0-9+.-]*://\S+", 256)
VOTE = Map(("height", HEIGHT), ("round", ROUND), ("validator", ID), ("block_hash", Nullable(ID)))
CONSENSUS_MESSAGE = Enum(
    Proposal=Map(("height", HEIGHT), ("round", ROUND), ("proposer", ID), ("block_hash", ID),
                 ("pol_round", Nullable(ROUND)), ("block", Bstr())),
    PreVote=VOTE,
    PreCommit=VOTE,
    Commit=Map(("height", HEIGHT), ("round", ROUND), ("validator", ID), ("block_hash", ID)),
    Heartbeat=Map(("validator", ID), ("height", HEIGHT), ("round", ROUND), ("time_micros", Uint(64)),
                  ("hears", Bstr())),
    AddressRecord=Map(("validator", ID), ("version", Uint(64)), ("addresses", Array(PEER_ADDRESS, 16))),
    ProposalHeader=Map(("height", HEIGHT), ("round", ROUND), ("proposer", ID), ("block_hash", ID),
                       ("pol_round", Nullable(ROUND)), ("block_len", Uint(64)), ("part_size", Uint(32)),
                       ("part_hashes", Bstr())),
    ProposalPart=Map(("height", HEIGHT), ("round", ROUND), ("proposer", ID), ("block_hash", ID),
                     ("index", Uint(32)), ("data", Bstr())),
)
ENVELOPE = Map(("origin", ID), ("seq", Uint(64)), ("ttl", Uint(8)), ("payload", Embedded(CONSENSUS_MESSAGE)),
               ("sig", Bstr()))
# An evidence report holds two envelopes, whose payloads are consensus messages again.
CONSENSUS_MESSAGE.variants["Evidence"] = Map(
    ("reporter", ID), ("height", HEIGHT), ("evidence", Map(("first", ENVELOPE), ("second", ENVELOPE))))
FRAME = Enum(
    Envelope=ENVELOPE,
    Reliable=ENVELOPE,
    Ack=Map(("id", ID)),
    Ping=Map(("nonce", Uint(64))),
    Pong=Map(("nonce", Uint(64))),
    Part=Map(("id", Uint(64)), ("index", Uint(32)), ("count", Uint(32)), ("data", Bstr())),
    Have=Map(("ids", Array(ID, MAX_IDS))),
    Want=Map(("ids", Array(ID, MAX_IDS))),
    Prune=Map(("origin", ID)),
)
# docs/wire.md §7: the relay control frames; reasons are text strings of a fixed list.
RELAY_REASON = Text(r"NoReservation|ReservationCapReached|CircuitCapReached|ByteLimit|TimeLimit|"
                    r"CreditViolation|PeerGone|Abandoned|ProtocolViolation|Busy", 32)
CIRCUIT = Uint(64)
RELAY_FRAME = Enum(
    Reserve=Map(),
    Reserved=Map(("expires_in_ms", Uint(64))),
    Refused=Map(("reason", RELAY_REASON)),
    Connect=Map(("circuit", CIRCUIT), ("target", ID)),
    Connected=Map(("circuit", CIRCUIT)),
    Incoming=Map(("circuit", CIRCUIT), ("from", ID)),
    Data=Map(("circuit", CIRCUIT), ("bytes", Bstr())),
    Credit=Map(("circuit", CIRCUIT), ("bytes", Uint(64))),
    Close=Map(("circuit", CIRCUIT)),
    Reset=Map(("circuit", CIRCUIT), ("reason", RELAY_REASON)),
)
SCHEMAS = {"ConsensusMessage": CONSENSUS_MESSAGE, "Envelope": ENVELOPE, "Frame": FRAME, "RelayFrame": RELAY_FRAME}


def check_roundtrip(data, schema, path):
    value = cbor2.loads(data)
    rebuilt = schema.rebuild(value, path)
    again = cbor2.dumps(rebuilt)
    if again != data:
        raise AssertionError(f"{path}: cbor2 re-encodes differently:\n  ours  {data.hex()}\n  cbor2 {again.hex()}")


def main(doc_path):
    text = open(doc_path, encoding="utf-8").read()
    vectors = VECTOR.findall(text)
    if not vectors:
        raise AssertionError(f"no vectors found in {doc_path}")
    for name, type_name, hex_text in vectors:
        if type_name not in SCHEMAS:
            raise AssertionError(f"{name}: no schema for type {type_name}")
        check_roundtrip(bytes.fromhex("".join(hex_text.split())), SCHEMAS[type_name], name)
    print(f"{len(vectors)} vectors checked")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (AssertionError, cbor2.CBORDecodeError) as failure:
        print(f"cbor2 check failed: {failure}", file=sys.stderr)
        sys.exit(1)
