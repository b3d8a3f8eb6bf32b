//! Validator identity: post-quantum signing keys and the ids derived from them (WIRE.md §1).
//!
//! - [`Keypair`]: an ML-DSA-65 (default, algorithm byte `0x01`) or Dilithium3 (`0x02`, pqcrypto-dilithium
//!   0.5) signing key pair; [`Keypair::from_seed`] derives an ML-DSA-65 key deterministically for
//!   simulations and tests.
//! - [`PublicKey`]: encoded on the wire as one algorithm byte followed by the raw key.
//! - [`Signature`]: detached, raw bytes of the algorithm (no prefix).
//! - [`ValidatorId`]: BLAKE3-256 of the public key encoding.
//! - [`ChainId`]: 32 bytes bound into every handshake and signature.
//! - [`key_file`]: the on-disk key format, written owner-read-only.
//! - [`response_is_short`]: FIPS 204's ‖z‖∞ bound, which PQClean's AVX2 verify skips; checked by
//!   every [`PublicKey::verify`], so no path accepts a signature FIPS 204 rejects.
//! - [`adversarial`]: signatures only a lax verifier accepts, for byzantine tests.
//!
//! ```
//! use quorumnet_core::identity::{Algorithm, Keypair};
//!
//! let key = Keypair::from_seed(&[1; 32]);
//! assert_eq!(key.algorithm(), Algorithm::MlDsa65);
//! let sig = key.sign(b"vote");
//! key.public_key().verify(b"vote", &sig).unwrap();
//! assert!(key.public_key().verify(b"another vote", &sig).is_err());
//! ```

pub mod adversarial;
mod algorithm;
mod chain_id;
mod error;
pub mod key_file;
mod key_interner;
mod keypair;
#[cfg(all(target_arch = "x86_64", not(windows)))]
mod mldsa65_avx2;
mod mldsa65_prepared;
mod mldsa65_signer;
mod public_key;
mod response_bound;
mod scheme;
mod signature;
mod validator_id;

pub use algorithm::Algorithm;
pub use chain_id::ChainId;
pub use error::IdentityError;
pub use keypair::Keypair;
pub use public_key::PublicKey;
pub use response_bound::response_is_short;
pub use signature::Signature;
pub use validator_id::ValidatorId;
