//! WIRE.md §1: key encodings, ids, signatures, seeded keys and the key file.

use fips204::traits::{SerDes as _, Verifier as _};
use quorumnet_core::identity::key_file::{self, KeyFileError};
use quorumnet_core::identity::{Algorithm, ChainId, IdentityError, Keypair, PublicKey, Signature, ValidatorId};

const SEED: [u8; 32] = [0x42; 32];

/// The pinned values were computed independently with dilithium-py 1.5.1 (`ML_DSA_65.key_derive`)
/// and the Python blake3 package, so they also prove our seeded keys are standard FIPS 204 keys.
#[test]
fn seed_fixture_pins_the_public_key() {
    let key = Keypair::from_seed(&SEED);
    let pk = key.public_key();
    assert_eq!(pk.algorithm(), Algorithm::MlDsa65);
    assert_eq!(pk.encoded().len(), 1 + 1952);
    assert_eq!(&hex::encode(&pk.encoded()[..17]), "01ecfb111611963d2cd4b2dbb29f77d782", "first bytes of the encoding");
    assert_eq!(
        key.validator_id().to_string(),
        "ac9fa54a9f0ad9ac2ea63ae63daae83672cba651521b57c9635eb7ed2c2b83fb",
        "ValidatorId of the key derived from [0x42; 32]"
    );
}

#[test]
fn different_seeds_give_different_keys_and_the_same_seed_the_same_key() {
    let a = Keypair::from_seed(&SEED);
    let mut other = SEED;
    other[31] ^= 1;
    assert_ne!(a.public_key(), Keypair::from_seed(&other).public_key());
    assert_eq!(a.public_key(), Keypair::from_seed(&SEED).public_key());
}

#[test]
fn seeded_key_signs_through_pqcrypto_and_an_independent_fips204_verifier_accepts() {
    let key = Keypair::from_seed(&SEED);
    let sig = key.sign(b"block 7");
    key.public_key().verify(b"block 7", &sig).unwrap();

    let raw: [u8; 1952] = key.public_key().raw().try_into().unwrap();
    let fips_pk = fips204::ml_dsa_65::PublicKey::try_from_bytes(raw).unwrap();
    let fips_sig: [u8; 3309] = sig.as_bytes().try_into().unwrap();
    assert!(fips_pk.verify(b"block 7", &fips_sig, b""), "pure ML-DSA with an empty context");
}

#[test]
fn ml_dsa_signing_is_randomized() {
    let key = Keypair::from_seed(&SEED);
    assert_ne!(key.sign(b"m"), key.sign(b"m"));
}

#[test]
fn public_key_encoding_is_algorithm_byte_then_raw_key() {
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        let pk = key.public_key();
        assert_eq!(pk.encoded()[0], alg.byte());
        assert_eq!(&pk.encoded()[1..], pk.raw());
        assert_eq!(pk.raw().len(), alg.public_key_len());
        assert_eq!(PublicKey::from_encoded(pk.encoded()).unwrap(), *pk);
    }
    assert_eq!(Algorithm::MlDsa65.byte(), 0x01);
    assert_eq!(Algorithm::Dilithium3.byte(), 0x02);
}

#[test]
fn validator_id_is_blake3_of_the_encoding_and_prints_as_lowercase_hex() {
    let key = Keypair::from_seed(&SEED);
    let expected = blake3::hash(key.public_key().encoded());
    assert_eq!(key.validator_id().as_bytes(), expected.as_bytes());
    assert_eq!(key.validator_id().to_string(), expected.to_hex().as_str());
    assert_eq!(key.validator_id().to_string().parse::<ValidatorId>().unwrap(), key.validator_id());
    assert!("ABCD".parse::<ValidatorId>().is_err());
}

#[test]
fn chain_id_of_a_devnet_is_blake3_of_its_name() {
    assert_eq!(ChainId::from_network_name("devnet").as_bytes(), blake3::hash(b"devnet").as_bytes());
}

#[test]
fn malformed_public_keys_are_typed_errors() {
    let good = Keypair::from_seed(&SEED).public_key().encoded().to_vec();
    assert_eq!(PublicKey::from_encoded(&[]), Err(IdentityError::EmptyPublicKey));
    for bad_alg in [0x00, 0x03, 0xff] {
        let mut bytes = good.clone();
        bytes[0] = bad_alg;
        assert_eq!(PublicKey::from_encoded(&bytes), Err(IdentityError::UnknownAlgorithm(bad_alg)));
    }
    for len in [1, 1952, 1954] {
        let mut bytes = good.clone();
        bytes.resize(len, 0);
        assert_eq!(
            PublicKey::from_encoded(&bytes),
            Err(IdentityError::WrongPublicKeyLength { algorithm: Algorithm::MlDsa65, expected: 1952, actual: len - 1 })
        );
    }
}

#[test]
fn signatures_of_the_wrong_length_or_key_are_rejected() {
    let key = Keypair::from_seed(&SEED);
    let sig = key.sign(b"m");
    let short = Signature::from_bytes(&sig.as_bytes()[..100]);
    assert_eq!(
        key.public_key().verify(b"m", &short),
        Err(IdentityError::WrongSignatureLength { algorithm: Algorithm::MlDsa65, expected: 3309, actual: 100 })
    );
    assert_eq!(
        key.public_key().verify(b"other", &sig),
        Err(IdentityError::BadSignature { algorithm: Algorithm::MlDsa65 })
    );
    let stranger = Keypair::from_seed(&[1; 32]);
    assert!(stranger.public_key().verify(b"m", &sig).is_err());
}

#[test]
fn dilithium3_and_ml_dsa_65_signatures_do_not_cross_verify() {
    let dilithium = Keypair::generate(Algorithm::Dilithium3);
    let sig = dilithium.sign(b"m");
    dilithium.public_key().verify(b"m", &sig).unwrap();
    let as_ml_dsa = PublicKey::from_raw(Algorithm::MlDsa65, dilithium.public_key().raw()).unwrap();
    assert!(as_ml_dsa.verify(b"m", &sig).is_err(), "the algorithm byte matters");

    let ml_dsa = Keypair::from_seed(&SEED);
    let sig = ml_dsa.sign(b"m");
    let as_dilithium = PublicKey::from_raw(Algorithm::Dilithium3, ml_dsa.public_key().raw()).unwrap();
    assert!(as_dilithium.verify(b"m", &sig).is_err());
}

#[test]
fn keypair_debug_never_shows_the_secret() {
    let key = Keypair::from_seed(&SEED);
    let text = key_file::to_text(&key);
    let secret_hex = text.lines().find_map(|l| l.strip_prefix("secret-key: ")).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("redacted"));
    assert!(!debug.contains(&secret_hex[..32]));
}

#[test]
fn key_file_round_trips_owner_read_only_for_both_algorithms() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    for (i, key) in [Keypair::from_seed(&SEED), Keypair::generate(Algorithm::Dilithium3)].into_iter().enumerate() {
        let path = dir.path().join(format!("k{i}.key"));
        key_file::save(&key, &path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let loaded = key_file::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        loaded.public_key().verify(b"x", &loaded.sign(b"x")).unwrap();
    }
}

#[test]
fn key_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.key");
    key_file::save(&Keypair::from_seed(&SEED), &path).unwrap();
    let err = key_file::save(&Keypair::from_seed(&[1; 32]), &path).unwrap_err();
    assert!(matches!(err, KeyFileError::AlreadyExists(_)), "{err}");
    assert_eq!(key_file::load(&path).unwrap().public_key(), Keypair::from_seed(&SEED).public_key());
}

#[test]
fn key_file_readable_by_others_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.key");
    key_file::save(&Keypair::from_seed(&SEED), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = key_file::load(&path).unwrap_err();
    assert!(matches!(err, KeyFileError::InsecurePermissions { mode: 0o644, .. }), "{err}");
    assert!(err.to_string().contains("chmod 600"));
}

#[test]
fn key_file_format_errors_name_the_problem() {
    let good = key_file::to_text(&Keypair::from_seed(&SEED)).to_string();
    let other = key_file::to_text(&Keypair::from_seed(&[1; 32])).to_string();
    let line = |text: &str, name: &str| text.lines().find(|l| l.starts_with(name)).unwrap().to_owned();
    let origin = std::path::Path::new("test.key");
    let cases: Vec<(String, &str)> = vec![
        (good.replace("quorumnet-key: 1", "quorumnet-key: 2"), "version"),
        (good.replace(&line(&good, "secret-key"), ""), "missing field `secret-key`"),
        (format!("{good}algorithm: ml-dsa-65\n"), "appears twice"),
        (format!("{good}colour: blue\n"), "unknown field"),
        (good.replace(&line(&good, "validator-id"), &line(&other, "validator-id")), "not the public key's id"),
        (good.replace("algorithm: ml-dsa-65", "algorithm: dilithium3"), "algorithm byte"),
        (good.replace("algorithm: ml-dsa-65", "algorithm: rsa"), "unknown signature algorithm"),
        (good.replace(&line(&good, "public-key"), "public-key: zz"), "not hex"),
        (good.replace(&line(&good, "secret-key"), &line(&other, "secret-key")), "does not match"),
        ("just some text\n".to_owned(), "expected `name: value`"),
    ];
    for (text, expected) in cases {
        let err = key_file::from_text(&text, origin).unwrap_err().to_string();
        assert!(err.contains(expected), "expected an error containing {expected:?}, got {err:?}");
    }
}
