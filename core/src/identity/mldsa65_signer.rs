//! ML-DSA-65 signing with a secret key prepared once: the public matrix `Â = ExpandA(ρ)` and the
//! secret vectors `NTT(s1)`, `NTT(s2)`, `NTT(t0)` are computed on the key's first signature, not on
//! every one.
//!
//! Why: a validator signs every vote it casts with the same key, and ExpandA alone is about half of
//! an AVX2 signature (profiles of a 100-validator devnet put signing at 13 % of all CPU, 55 % of it
//! in ExpandA).
//!
//! How: FIPS 204 Algorithm 7 (`ML-DSA.Sign_internal`, hedged: `rnd` from the operating system) step
//! by step on the AVX2 arithmetic of the PQClean code that `pqcrypto-mldsa` builds, in the order its
//! `crypto_sign_signature_ctx` calls it, with the per-key work taken from the prepared key. The test
//! `matches_fips204_bit_for_bit` compares it with the independent `fips204` crate for a fixed `rnd`.
//! Without AVX2 (or off x86-64, and on Windows) [`PreparedSecret::new`] returns `None` and callers
//! sign with pqcrypto.
//!
//! Memory: ≈ 47 KiB per prepared key; its secret parts are wiped when it is dropped.

#[cfg(all(target_arch = "x86_64", not(windows)))]
pub(super) use avx2::PreparedSecret;

/// Where pqcrypto-mldsa has no AVX2 code there is nothing to prepare: callers sign with pqcrypto.
#[cfg(not(all(target_arch = "x86_64", not(windows))))]
pub(super) struct PreparedSecret;

#[cfg(not(all(target_arch = "x86_64", not(windows))))]
impl PreparedSecret {
    pub(super) fn new(_secret_key: &[u8]) -> Option<Box<Self>> {
        None
    }

    pub(super) fn sign(&self, _message: &[u8]) -> Vec<u8> {
        unreachable!("never constructed")
    }
}

#[cfg(all(target_arch = "x86_64", not(windows)))]
mod avx2 {
    use rand::RngCore as _;
    use zeroize::Zeroize as _;

    use crate::identity::mldsa65_avx2::*;

    /// Bytes of FIPS 204's `rnd` and of `ρ'`.
    const RND_BYTES: usize = 32;
    const RHO_PRIME_BYTES: usize = 64;

    /// An ML-DSA-65 secret key with what signing derives from it alone already computed.
    pub(in crate::identity) struct PreparedSecret {
        /// `Â`, in the NTT domain, row by row (public: derived from ρ).
        matrix: [PolyVecL; K],
        /// The secret vectors, in the NTT domain.
        s1: PolyVecL,
        s2: PolyVecK,
        t0: PolyVecK,
        /// FIPS 204's `K`, the seed of the mask.
        seed: [u8; SEED_BYTES],
        /// `H(pk, 64)`.
        tr: [u8; TR_BYTES],
    }

    /// What one pass of the signing loop commits to before it checks its response: the challenge
    /// and the high and low parts of `w = Â·y`.
    struct Commitment {
        c_tilde: [u8; CTILDE_BYTES],
        c: Poly,
        w1: PolyVecK,
        w0: PolyVecK,
    }

    impl PreparedSecret {
        /// Prepares `secret_key` (4 032 bytes); `None` without AVX2 or for a key of another length.
        pub(in crate::identity) fn new(secret_key: &[u8]) -> Option<Box<Self>> {
            if secret_key.len() != SECRET_KEY_BYTES || !std::is_x86_feature_detected!("avx2") {
                return None;
            }
            let mut key = Box::new(PreparedSecret {
                matrix: [PolyVecL([ZERO; L]); K],
                s1: PolyVecL([ZERO; L]),
                s2: PolyVecK([ZERO; K]),
                t0: PolyVecK([ZERO; K]),
                seed: [0; SEED_BYTES],
                tr: [0; TR_BYTES],
            });
            let mut rho = [0u8; SEED_BYTES];
            // SAFETY: AVX2 is present (checked above); every pointer is to an aligned PQClean type
            // or to a buffer of the length the function reads or writes (see `mldsa65_avx2`).
            unsafe {
                PQCLEAN_MLDSA65_AVX2_unpack_sk(
                    rho.as_mut_ptr(),
                    key.tr.as_mut_ptr(),
                    key.seed.as_mut_ptr(),
                    &mut key.t0,
                    &mut key.s1,
                    &mut key.s2,
                    secret_key.as_ptr(),
                );
                PQCLEAN_MLDSA65_AVX2_polyvec_matrix_expand(key.matrix.as_mut_ptr(), rho.as_ptr());
                PQCLEAN_MLDSA65_AVX2_polyvecl_ntt(&mut key.s1);
                PQCLEAN_MLDSA65_AVX2_polyveck_ntt(&mut key.s2);
                PQCLEAN_MLDSA65_AVX2_polyveck_ntt(&mut key.t0);
            }
            Some(key)
        }

        /// This key's ML-DSA-65 signature of `message` with an empty context, hedged with fresh
        /// operating-system randomness as pqcrypto-mldsa's `detached_sign` is.
        pub(in crate::identity) fn sign(&self, message: &[u8]) -> Vec<u8> {
            let mut rnd = [0u8; RND_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut rnd);
            self.sign_with_rnd(message, &rnd)
        }

        /// [`sign`](Self::sign) with a given `rnd` (all zeros is FIPS 204's deterministic variant).
        pub(in crate::identity) fn sign_with_rnd(&self, message: &[u8], rnd: &[u8; RND_BYTES]) -> Vec<u8> {
            let mu = self.mu(message);
            let mut rho_prime = [0u8; RHO_PRIME_BYTES];
            shake256(&[&self.seed, rnd, &mu], &mut rho_prime);
            // PQClean keeps a 64-bit counter but passes it on as 16 bits; so does this.
            let mut nonce: u16 = 0;
            loop {
                let mut y = PolyVecL([ZERO; L]);
                let [y0, y1, y2, y3, y4] = &mut y.0;
                // SAFETY: AVX2 was present when this key was prepared; ρ' is 64 bytes as both read.
                unsafe {
                    PQCLEAN_MLDSA65_AVX2_poly_uniform_gamma1_4x(
                        y0,
                        y1,
                        y2,
                        y3,
                        rho_prime.as_ptr(),
                        nonce,
                        nonce.wrapping_add(1),
                        nonce.wrapping_add(2),
                        nonce.wrapping_add(3),
                    );
                    PQCLEAN_MLDSA65_AVX2_poly_uniform_gamma1(y4, rho_prime.as_ptr(), nonce.wrapping_add(4));
                }
                nonce = nonce.wrapping_add(L as u16);
                if let Some(signature) = self.respond(&mu, y, response_is_short) {
                    return signature;
                }
            }
        }

        /// `μ = H(tr ‖ 0 ‖ |ctx| ‖ ctx ‖ M, 64)`, with the empty context.
        pub(in crate::identity) fn mu(&self, message: &[u8]) -> [u8; MU_BYTES] {
            let mut mu = [0u8; MU_BYTES];
            shake256(&[&self.tr, &[0, 0], message], &mut mu);
            mu
        }

        /// One pass of the signing loop for the mask `y`: the packed signature, or `None` where the
        /// signer must restart with another mask — `accept` refused the response z, or one of
        /// FIPS 204's other checks (the low bits of `w − c·s2`, `c·t0`, the hint count) failed.
        /// Honest signing accepts a z with ‖z‖∞ < γ1 − β; [`super::super::adversarial`] turns that
        /// one check around.
        pub(in crate::identity) fn respond(
            &self,
            mu: &[u8; MU_BYTES],
            y: PolyVecL,
            accept: impl Fn(&PolyVecL) -> bool,
        ) -> Option<Vec<u8>> {
            let Commitment { c_tilde, c, w1, mut w0 } = self.commit(mu, &y);
            let mut z = y;
            // SAFETY: as in `new`; every operand is an aligned polynomial.
            unsafe {
                for (zi, s1i) in z.0.iter_mut().zip(&self.s1.0) {
                    let mut cs1 = ZERO;
                    PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut cs1, &c, s1i);
                    PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut cs1);
                    PQCLEAN_MLDSA65_AVX2_poly_add(zi, zi, &cs1);
                    PQCLEAN_MLDSA65_AVX2_poly_reduce(zi);
                }
            }
            if !accept(&z) {
                return None;
            }
            let hints = self.hints(&c, &mut w0, &w1)?;
            let mut signature = vec![0u8; SIGNATURE_BYTES];
            // SAFETY: `signature` holds a whole signature; `hints` has at most OMEGA ones.
            unsafe { PQCLEAN_MLDSA65_AVX2_pack_sig(signature.as_mut_ptr(), c_tilde.as_ptr(), &z, &hints) };
            Some(signature)
        }

        /// `w = NTT⁻¹(Â·NTT(y))` split into high and low bits, and the challenge they commit to.
        fn commit(&self, mu: &[u8; MU_BYTES], y: &PolyVecL) -> Commitment {
            let (mut w, mut w1, mut w0) = (PolyVecK([ZERO; K]), PolyVecK([ZERO; K]), PolyVecK([ZERO; K]));
            let mut w1_packed = [0u8; K * POLYW1_PACKED + POLYW1_SLACK];
            let (mut c_tilde, mut c) = ([0u8; CTILDE_BYTES], ZERO);
            let mut y_hat = *y;
            // SAFETY: as in `new`; `w1_packed` has the slack `polyveck_pack_w1` writes past K rows.
            unsafe {
                PQCLEAN_MLDSA65_AVX2_polyvecl_ntt(&mut y_hat);
                PQCLEAN_MLDSA65_AVX2_polyvec_matrix_pointwise_montgomery(&mut w, self.matrix.as_ptr(), &y_hat);
                PQCLEAN_MLDSA65_AVX2_polyveck_invntt_tomont(&mut w);
                PQCLEAN_MLDSA65_AVX2_polyveck_caddq(&mut w);
                PQCLEAN_MLDSA65_AVX2_polyveck_decompose(&mut w1, &mut w0, &w);
                PQCLEAN_MLDSA65_AVX2_polyveck_pack_w1(w1_packed.as_mut_ptr(), &w1);
                shake256(&[mu, &w1_packed[..K * POLYW1_PACKED]], &mut c_tilde);
                PQCLEAN_MLDSA65_AVX2_poly_challenge(&mut c, c_tilde.as_ptr());
                PQCLEAN_MLDSA65_AVX2_poly_ntt(&mut c);
            }
            Commitment { c_tilde, c, w1, w0 }
        }

        /// The hint vector that lets a verifier recover `w1` from `Â·z − c·t1·2^d`, or `None` where
        /// FIPS 204 restarts: `w0 − c·s2` too large, `c·t0` too large, or more than ω hints.
        fn hints(&self, c: &Poly, w0: &mut PolyVecK, w1: &PolyVecK) -> Option<PolyVecK> {
            let mut hints = PolyVecK([ZERO; K]);
            let mut count = 0usize;
            // SAFETY: as in `new`; `indices` has the 8 bytes of slack `poly_make_hint` may write.
            unsafe {
                for i in 0..K {
                    let mut cs2 = ZERO;
                    PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut cs2, c, &self.s2.0[i]);
                    PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut cs2);
                    PQCLEAN_MLDSA65_AVX2_poly_sub(&mut w0.0[i], &w0.0[i], &cs2);
                    PQCLEAN_MLDSA65_AVX2_poly_reduce(&mut w0.0[i]);
                    if PQCLEAN_MLDSA65_AVX2_poly_chknorm(&w0.0[i], GAMMA2 - BETA) != 0 {
                        return None;
                    }
                    let mut ct0 = ZERO;
                    PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut ct0, c, &self.t0.0[i]);
                    PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut ct0);
                    PQCLEAN_MLDSA65_AVX2_poly_reduce(&mut ct0);
                    if PQCLEAN_MLDSA65_AVX2_poly_chknorm(&ct0, GAMMA2) != 0 {
                        return None;
                    }
                    PQCLEAN_MLDSA65_AVX2_poly_add(&mut w0.0[i], &w0.0[i], &ct0);
                    let mut indices = [0u8; N + 8];
                    let n = PQCLEAN_MLDSA65_AVX2_poly_make_hint(indices.as_mut_ptr(), &w0.0[i], &w1.0[i]) as usize;
                    count += n;
                    if count > OMEGA {
                        return None;
                    }
                    indices[..n].iter().for_each(|&j| hints.0[i].0[usize::from(j)] = 1);
                }
            }
            Some(hints)
        }
    }

    /// FIPS 204's honest check on the response: ‖z‖∞ < γ1 − β.
    fn response_is_short(z: &PolyVecL) -> bool {
        // SAFETY: `poly_chknorm` reads one aligned polynomial; AVX2 was present at preparation.
        z.0.iter().all(|zi| unsafe { PQCLEAN_MLDSA65_AVX2_poly_chknorm(zi, GAMMA1 - BETA) } == 0)
    }

    impl Drop for PreparedSecret {
        fn drop(&mut self) {
            let polys = self.s1.0.iter_mut().chain(self.s2.0.iter_mut()).chain(self.t0.0.iter_mut());
            polys.for_each(|poly| poly.0.zeroize());
            self.seed.zeroize();
        }
    }
}

#[cfg(all(test, target_arch = "x86_64", not(windows)))]
mod tests {
    use fips204::traits::{SerDes as _, Signer as _};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::PreparedSecret;
    use crate::identity::{scheme, Algorithm, Keypair};

    #[test]
    fn matches_fips204_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(204);
        for round in 0..40u8 {
            let key = Keypair::from_seed(&[round; 32]);
            let prepared = PreparedSecret::new(key.secret_bytes()).expect("this machine class has AVX2");
            let reference =
                fips204::ml_dsa_65::PrivateKey::try_from_bytes(key.secret_bytes().try_into().unwrap()).unwrap();
            let message: Vec<u8> = (0..rng.gen_range(0..600)).map(|_| rng.gen()).collect();
            let rnd: [u8; 32] = rng.gen();
            let expected = reference.try_sign_with_seed(&rnd, &message, &[]).unwrap();
            assert_eq!(prepared.sign_with_rnd(&message, &rnd), expected.to_vec(), "key {round}");
        }
    }

    #[test]
    fn hedged_signatures_verify_under_pqcrypto_and_differ() {
        let key = Keypair::from_seed(&[42; 32]);
        let prepared = PreparedSecret::new(key.secret_bytes()).unwrap();
        let raw = key.public_key().raw();
        let (first, second) = (prepared.sign(b"precommit"), prepared.sign(b"precommit"));
        assert_ne!(first, second, "rnd is fresh per signature");
        for signature in [first, second] {
            assert!(scheme::verify(Algorithm::MlDsa65, raw, b"precommit", &signature));
            assert!(!scheme::verify(Algorithm::MlDsa65, raw, b"prevote", &signature));
        }
    }

    #[test]
    fn keys_of_other_lengths_are_not_prepared() {
        assert!(PreparedSecret::new(&[0; 100]).is_none());
    }
}
