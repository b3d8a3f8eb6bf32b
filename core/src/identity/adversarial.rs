//! Signatures a Byzantine validator could make to split honest ones: for tests and byzantine
//! simulations, never for an honest node.
//!
//! [`sign_with_z_out_of_bound`] makes an ML-DSA-65 signature that is correct in every respect except
//! FIPS 204's bound ‖z‖∞ < γ1 − β: PQClean's AVX2 verify accepts it, FIPS 204 (and this crate's
//! [`PublicKey::verify`](super::PublicKey::verify), see [`super::response_is_short`]) rejects it.
//! It is the honest signing algorithm (FIPS 204 Algorithm 7, on PQClean's AVX2 arithmetic, as
//! `crypto_sign_signature_ctx` does it) with one coefficient of the mask y pushed to the edge of its
//! range and the z rejection step turned around: keep only a z that breaks the bound but still packs.
//!
//! ```
//! use quorumnet_core::identity::adversarial::sign_with_z_out_of_bound;
//! use quorumnet_core::identity::{response_is_short, Algorithm, Keypair};
//!
//! let key = Keypair::from_seed(&[9; 32]);
//! if let Some(sig) = sign_with_z_out_of_bound(&key, b"vote") {
//!     assert!(!response_is_short(Algorithm::MlDsa65, sig.as_bytes()));
//!     assert!(key.public_key().verify(b"vote", &sig).is_err());
//! }
//! ```

use super::{Algorithm, Keypair, Signature};

/// An ML-DSA-65 signature of `message` by `key` whose response z has a coefficient in
/// [γ1 − β, γ1]: one that lax verifiers accept and FIPS 204 rejects.
///
/// `None` for a Dilithium3 key, or where PQClean's AVX2 code is not built or AVX2 is absent (there
/// the arithmetic this reuses does not exist).
pub fn sign_with_z_out_of_bound(key: &Keypair, message: &[u8]) -> Option<Signature> {
    if key.algorithm() != Algorithm::MlDsa65 {
        return None;
    }
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    {
        if std::is_x86_feature_detected!("avx2") {
            return avx2::sign(key.secret_bytes(), message).map(Signature::from_bytes);
        }
    }
    let _ = message;
    None
}

#[cfg(all(target_arch = "x86_64", not(windows)))]
mod avx2 {
    use rand::Rng;

    use crate::identity::mldsa65_avx2::*;
    use crate::identity::mldsa65_signer::PreparedSecret;

    /// Attempts before giving up; each succeeds with probability ≈ 0.3 (the honest signer's
    /// rejection rate on the other checks, times a z coefficient landing in range).
    const ATTEMPTS: usize = 200;

    /// The unbounded-z signature of `message` under secret key `sk` (4 032 bytes), or `None` if no
    /// attempt produced one.
    pub(super) fn sign(sk: &[u8], message: &[u8]) -> Option<Vec<u8>> {
        let key = PreparedSecret::new(sk)?;
        let mu = key.mu(message);
        let mut rng = rand::thread_rng();
        (0..ATTEMPTS).find_map(|_| key.respond(&mu, mask_at_the_edge(&mut rng), breaks_the_bound_but_packs))
    }

    /// A uniform mask y but for its first coefficient: z₀ = y₀ + (c·s1)₀ with |(c·s1)₀| ≤ β, so from
    /// γ1 − 100 it lands in [γ1 − β, γ1] unless (c·s1)₀ < −96 or > 100, which is rare.
    fn mask_at_the_edge(rng: &mut impl Rng) -> PolyVecL {
        let mut y = PolyVecL([ZERO; L]);
        y.0.iter_mut().flat_map(|p| p.0.iter_mut()).for_each(|c| *c = rng.gen_range(-GAMMA1 + 1..=GAMMA1));
        y.0[0].0[0] = GAMMA1 - 100;
        y
    }

    /// The one step turned around: z must break ‖z‖∞ < γ1 − β, yet fit (−γ1, γ1] to pack. The
    /// honest signer's other checks stay: without them the hints would not reconstruct w1 and no
    /// verifier at all would accept.
    fn breaks_the_bound_but_packs(z: &PolyVecL) -> bool {
        let coefficients = || z.0.iter().flat_map(|p| p.0.iter().copied());
        coefficients().all(|v| -GAMMA1 < v && v <= GAMMA1) && coefficients().any(|v| v.abs() >= GAMMA1 - BETA)
    }
}

#[cfg(all(test, target_arch = "x86_64", not(windows)))]
mod tests {
    use super::*;
    use crate::identity::{scheme, IdentityError};

    #[test]
    fn pqcrypto_accepts_it_and_every_verify_path_here_refuses_it() {
        let key = Keypair::from_seed(&[11; 32]);
        let sig = sign_with_z_out_of_bound(&key, b"precommit").expect("this machine class has AVX2");
        let raw = key.public_key().raw();
        // The gap exists: without the bound check, both verifiers accept.
        assert!(scheme::verify(Algorithm::MlDsa65, raw, b"precommit", sig.as_bytes()), "pqcrypto accepts");
        let prepared = super::super::mldsa65_prepared::PreparedKey::new(raw).unwrap();
        assert!(prepared.verify(b"precommit", sig.as_bytes()), "the prepared verifier alone accepts");
        // It is closed: a key verifying for the first time (unprepared) and once prepared both refuse.
        let fresh = crate::identity::PublicKey::from_encoded(key.public_key().encoded()).unwrap();
        let refused = Err(IdentityError::ResponseOutOfBound { algorithm: Algorithm::MlDsa65 });
        assert_eq!(fresh.verify(b"precommit", &sig), refused);
        fresh.verify(b"warm-up", &key.sign(b"warm-up")).unwrap();
        assert_eq!(fresh.verify(b"precommit", &sig), refused);
    }

    #[test]
    fn dilithium_keys_get_none() {
        assert!(sign_with_z_out_of_bound(&Keypair::generate(Algorithm::Dilithium3), b"m").is_none());
    }
}
