use super::Algorithm;

/// Why a key, signature or identity could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The first byte of a public key encoding names no algorithm this build knows.
    #[error("unknown signature algorithm byte {0:#04x}: expected 0x01 (ML-DSA-65) or 0x02 (Dilithium3)")]
    UnknownAlgorithm(u8),
    /// An algorithm name (key file, command line) that is not `ml-dsa-65` or `dilithium3`.
    #[error("unknown signature algorithm {0:?}: expected \"ml-dsa-65\" or \"dilithium3\"")]
    UnknownAlgorithmName(String),
    /// A public key encoding with no bytes at all.
    #[error("empty public key encoding: expected an algorithm byte followed by the raw key")]
    EmptyPublicKey,
    /// A raw public key of the wrong length for its algorithm.
    #[error("{algorithm} public key is {actual} bytes, expected {expected}")]
    WrongPublicKeyLength {
        /// The algorithm the key claims.
        algorithm: Algorithm,
        /// The algorithm's public key length.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// A raw secret key of the wrong length for its algorithm.
    #[error("{algorithm} secret key is {actual} bytes, expected {expected}")]
    WrongSecretKeyLength {
        /// The algorithm the key claims.
        algorithm: Algorithm,
        /// The algorithm's secret key length.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// A signature of the wrong length for the verifying key's algorithm.
    #[error("{algorithm} signature is {actual} bytes, expected {expected}")]
    WrongSignatureLength {
        /// The verifying key's algorithm.
        algorithm: Algorithm,
        /// The algorithm's signature length.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// A well-formed signature that does not verify: wrong key, altered message, or forgery.
    #[error("{algorithm} signature does not verify under this public key")]
    BadSignature {
        /// The verifying key's algorithm.
        algorithm: Algorithm,
    },
    /// A signature whose response z has a coefficient of absolute value at least γ1 − β: FIPS 204
    /// rejects it, though PQClean's AVX2 verify alone would accept it if the rest is consistent.
    #[error("{algorithm} signature's response z is out of FIPS 204's bound (||z||inf >= gamma1 - beta)")]
    ResponseOutOfBound {
        /// The verifying key's algorithm.
        algorithm: Algorithm,
    },
    /// A secret key and public key that do not belong together.
    #[error("secret key does not match public key: the key material is corrupt or from two different keys")]
    KeyMismatch,
}
