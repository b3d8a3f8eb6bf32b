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

    /// Attempts before giving up; each succeeds with probability ≈ 0.3 (the honest signer's
    /// rejection rate on the other checks, times a z coefficient landing in range).
    const ATTEMPTS: usize = 200;

    /// The unbounded-z signature of `message` under secret key `sk` (4 032 bytes), or `None` if no
    /// attempt produced one.
    pub(super) fn sign(sk: &[u8], message: &[u8]) -> Option<Vec<u8>> {
        let (mut rho, mut tr, mut seed) = ([0u8; SEED_BYTES], [0u8; TR_BYTES], [0u8; SEED_BYTES]);
        let (mut t0, mut s1, mut s2) = (PolyVecK([ZERO; K]), PolyVecL([ZERO; L]), PolyVecK([ZERO; K]));
        let mut matrix = [PolyVecL([ZERO; L]); K];
        // SAFETY: AVX2 is present (checked by the caller); every pointer is to an aligned PQClean
        // type or to a buffer of the length the function reads or writes (see `mldsa65_avx2`).
        unsafe {
            PQCLEAN_MLDSA65_AVX2_unpack_sk(
                rho.as_mut_ptr(),
                tr.as_mut_ptr(),
                seed.as_mut_ptr(),
                &mut t0,
                &mut s1,
                &mut s2,
                sk.as_ptr(),
            );
            PQCLEAN_MLDSA65_AVX2_polyvec_matrix_expand(matrix.as_mut_ptr(), rho.as_ptr());
            PQCLEAN_MLDSA65_AVX2_polyvecl_ntt(&mut s1);
            PQCLEAN_MLDSA65_AVX2_polyveck_ntt(&mut s2);
            PQCLEAN_MLDSA65_AVX2_polyveck_ntt(&mut t0);
        }
        let mut mu = [0u8; MU_BYTES];
        shake256(&[&tr, &[0, 0], message], &mut mu);
        let keys = Secret { matrix, s1, s2, t0 };
        (0..ATTEMPTS).find_map(|_| attempt(&keys, &mu))
    }

    /// The secret key unpacked, its vectors and `Â` in the NTT domain.
    struct Secret {
        matrix: [PolyVecL; K],
        s1: PolyVecL,
        s2: PolyVecK,
        t0: PolyVecK,
    }

    /// One pass of the signing loop with a fresh mask; `None` where the honest signer would also
    /// restart, or where z came out inside the bound or too far out to pack.
    fn attempt(key: &Secret, mu: &[u8; MU_BYTES]) -> Option<Vec<u8>> {
        let mut rng = rand::thread_rng();
        let mut z = PolyVecL([ZERO; L]);
        z.0.iter_mut().flat_map(|p| p.0.iter_mut()).for_each(|c| *c = rng.gen_range(-GAMMA1 + 1..=GAMMA1));
        // z₀ = y₀ + (c·s1)₀ with |(c·s1)₀| ≤ β: from γ1 − 100 it lands in [γ1 − β, γ1] unless
        // (c·s1)₀ < −96 or > 100, which is rare.
        z.0[0].0[0] = GAMMA1 - 100;
        let (mut w, mut w1, mut w0) = (PolyVecK([ZERO; K]), PolyVecK([ZERO; K]), PolyVecK([ZERO; K]));
        let mut w1_packed = [0u8; K * POLYW1_PACKED + POLYW1_SLACK];
        let mut c_tilde = [0u8; CTILDE_BYTES];
        let mut c = ZERO;
        let mut h = PolyVecK([ZERO; K]);
        let mut hints = 0usize;
        // SAFETY: as in `sign`.
        unsafe {
            let mut y_hat = z;
            PQCLEAN_MLDSA65_AVX2_polyvecl_ntt(&mut y_hat);
            PQCLEAN_MLDSA65_AVX2_polyvec_matrix_pointwise_montgomery(&mut w, key.matrix.as_ptr(), &y_hat);
            PQCLEAN_MLDSA65_AVX2_polyveck_invntt_tomont(&mut w);
            PQCLEAN_MLDSA65_AVX2_polyveck_caddq(&mut w);
            PQCLEAN_MLDSA65_AVX2_polyveck_decompose(&mut w1, &mut w0, &w);
            PQCLEAN_MLDSA65_AVX2_polyveck_pack_w1(w1_packed.as_mut_ptr(), &w1);
            shake256(&[mu, &w1_packed[..K * POLYW1_PACKED]], &mut c_tilde);
            PQCLEAN_MLDSA65_AVX2_poly_challenge(&mut c, c_tilde.as_ptr());
            PQCLEAN_MLDSA65_AVX2_poly_ntt(&mut c);
            for (zi, s1i) in z.0.iter_mut().zip(&key.s1.0) {
                let mut cs1 = ZERO;
                PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut cs1, &c, s1i);
                PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut cs1);
                PQCLEAN_MLDSA65_AVX2_poly_add(zi, zi, &cs1);
                PQCLEAN_MLDSA65_AVX2_poly_reduce(zi);
            }
            // The one step turned around: z must break ‖z‖∞ < γ1 − β, yet fit (−γ1, γ1] to pack.
            let coefficients = || z.0.iter().flat_map(|p| p.0.iter().copied());
            if coefficients().any(|v| v <= -GAMMA1 || v > GAMMA1) || coefficients().all(|v| v.abs() < GAMMA1 - BETA) {
                return None;
            }
            for i in 0..K {
                // The honest signer's remaining checks, unchanged: without them the hints would
                // not reconstruct w1 and no verifier at all would accept.
                let mut cs2 = ZERO;
                PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut cs2, &c, &key.s2.0[i]);
                PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut cs2);
                PQCLEAN_MLDSA65_AVX2_poly_sub(&mut w0.0[i], &w0.0[i], &cs2);
                PQCLEAN_MLDSA65_AVX2_poly_reduce(&mut w0.0[i]);
                if PQCLEAN_MLDSA65_AVX2_poly_chknorm(&w0.0[i], GAMMA2 - BETA) != 0 {
                    return None;
                }
                let mut ct0 = ZERO;
                PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut ct0, &c, &key.t0.0[i]);
                PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut ct0);
                PQCLEAN_MLDSA65_AVX2_poly_reduce(&mut ct0);
                if PQCLEAN_MLDSA65_AVX2_poly_chknorm(&ct0, GAMMA2) != 0 {
                    return None;
                }
                PQCLEAN_MLDSA65_AVX2_poly_add(&mut w0.0[i], &w0.0[i], &ct0);
                let mut indices = [0u8; N + 8];
                let n = PQCLEAN_MLDSA65_AVX2_poly_make_hint(indices.as_mut_ptr(), &w0.0[i], &w1.0[i]) as usize;
                hints += n;
                if hints > OMEGA {
                    return None;
                }
                indices[..n].iter().for_each(|&j| h.0[i].0[usize::from(j)] = 1);
            }
            let mut signature = vec![0u8; SIGNATURE_BYTES];
            PQCLEAN_MLDSA65_AVX2_pack_sig(signature.as_mut_ptr(), c_tilde.as_ptr(), &z, &h);
            Some(signature)
        }
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
