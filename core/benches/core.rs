//! Costs of the per-message hot path: signing and verifying envelopes, CBOR encoding and decoding of a
//! vote envelope, and length-prefixed framing; ML-DSA-65 verification with and without a prepared key.
//! Names follow `module::op/key=value`.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quorumnet_core::codec::framing::{write_frame, FrameDecoder};
use quorumnet_core::codec::DEFAULT_MAX_FRAME_LEN;
use quorumnet_core::identity::{Algorithm, ChainId, Keypair};
use quorumnet_core::message::{BlockHash, ConsensusMessage, Envelope, Frame, Height, Round, Vote};

fn key(algorithm: Algorithm) -> Keypair {
    match algorithm {
        Algorithm::MlDsa65 => Keypair::from_seed(&[1; 32]),
        Algorithm::Dilithium3 => Keypair::generate(algorithm),
    }
}

fn vote(key: &Keypair) -> ConsensusMessage {
    ConsensusMessage::PreCommit(Vote {
        height: Height(1_000_000),
        round: Round(0),
        validator: key.validator_id(),
        block_hash: Some(BlockHash([7; 32])),
    })
}

fn chain() -> ChainId {
    ChainId::from_network_name("bench")
}

fn envelopes(c: &mut Criterion) {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let payload = vote(&key).encode();
        c.benchmark_group("envelope::sign").bench_function(format!("alg={algorithm}"), |b| {
            b.iter(|| Envelope::sign(&key, chain(), 1, 8, black_box(payload.clone())))
        });
        let envelope = Envelope::sign(&key, chain(), 1, 8, payload);
        c.benchmark_group("envelope::verify").bench_function(format!("alg={algorithm}"), |b| {
            b.iter(|| black_box(&envelope).verify(chain(), key.public_key()).unwrap())
        });
    }
}

/// An ML-DSA-65 verify straight through pqcrypto (the baseline, same run) and through a prepared
/// [`PublicKey`](quorumnet_core::identity::PublicKey), which skips re-deriving the public matrix and
/// adds FIPS 204's ‖z‖∞ bound (`z_bound`: that check alone).
fn mldsa65_verify(c: &mut Criterion) {
    use pqcrypto_mldsa::mldsa65;
    use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
    use quorumnet_core::identity::{PublicKey, Signature};

    let (pk, sk) = mldsa65::keypair();
    let message = vote(&key(Algorithm::MlDsa65)).encode();
    let sig = mldsa65::detached_sign(&message, &sk);
    let mut group = c.benchmark_group("mldsa65::verify");
    group.bench_function("pqcrypto", |b| {
        b.iter(|| mldsa65::verify_detached_signature(black_box(&sig), &message, &pk).unwrap())
    });
    let public = PublicKey::from_raw(Algorithm::MlDsa65, pk.as_bytes()).unwrap();
    let signature = Signature::from_bytes(sig.as_bytes());
    group.bench_function("prepared", |b| b.iter(|| public.verify(&message, black_box(&signature)).unwrap()));
    // The FIPS 204 ‖z‖∞ bound pqcrypto skips, which `prepared` (every `PublicKey::verify`) now includes.
    group.bench_function("z_bound", |b| {
        b.iter(|| assert!(quorumnet_core::identity::response_is_short(Algorithm::MlDsa65, black_box(sig.as_bytes()))))
    });
}

/// An ML-DSA-65 signature straight through pqcrypto (the baseline, same run) and through a
/// [`Keypair`](quorumnet_core::identity::Keypair), whose key is prepared on its first signature.
fn mldsa65_sign(c: &mut Criterion) {
    use pqcrypto_mldsa::mldsa65;
    use pqcrypto_traits::sign::{PublicKey as _, SecretKey as _};
    use quorumnet_core::identity::{Keypair, PublicKey};

    let (pk, sk) = mldsa65::keypair();
    let public = PublicKey::from_raw(Algorithm::MlDsa65, pk.as_bytes()).unwrap();
    let key = Keypair::from_parts(public, sk.as_bytes()).unwrap();
    let message = vote(&key).encode();
    let mut group = c.benchmark_group("mldsa65::sign");
    group.bench_function("pqcrypto", |b| b.iter(|| mldsa65::detached_sign(black_box(&message), &sk)));
    group.bench_function("prepared", |b| b.iter(|| key.sign(black_box(&message))));
}

fn cbor(c: &mut Criterion) {
    let key = key(Algorithm::MlDsa65);
    let frame = Frame::Envelope(Envelope::sign_message(&key, chain(), 1, 8, &vote(&key)));
    let bytes = frame.encode();
    c.benchmark_group("cbor::encode")
        .throughput(Throughput::Bytes(bytes.len() as u64))
        .bench_function("vote_envelope", |b| b.iter(|| black_box(&frame).encode()));
    c.benchmark_group("cbor::decode")
        .throughput(Throughput::Bytes(bytes.len() as u64))
        .bench_function("vote_envelope", |b| b.iter(|| Frame::decode(black_box(&bytes)).unwrap()));
}

fn framing(c: &mut Criterion) {
    for len in [200usize, 65_536] {
        let body = vec![0x5a; len];
        let mut encode = c.benchmark_group("framing::encode");
        encode.throughput(Throughput::Bytes(len as u64));
        encode.bench_function(format!("len={len}"), |b| {
            let mut out = BytesMut::with_capacity(len + 4);
            b.iter(|| {
                out.clear();
                write_frame(&mut out, black_box(&body), DEFAULT_MAX_FRAME_LEN).unwrap();
            })
        });
        encode.finish();

        let mut wire = BytesMut::new();
        write_frame(&mut wire, &body, DEFAULT_MAX_FRAME_LEN).unwrap();
        let mut decode = c.benchmark_group("framing::decode");
        decode.throughput(Throughput::Bytes(len as u64));
        // Includes copying the bytes into the receive buffer, as a socket read would: splitting a frame
        // off alone costs the same ~0.1 µs at any length and would report a meaningless throughput.
        decode.bench_function(format!("len={len}"), |b| {
            let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
            let mut buf = BytesMut::with_capacity(wire.len());
            b.iter(|| {
                buf.extend_from_slice(black_box(&wire));
                decoder.decode(&mut buf).unwrap().unwrap()
            })
        });
    }
}

criterion_group!(benches, envelopes, mldsa65_verify, mldsa65_sign, cbor, framing);
criterion_main!(benches);
