//! ML-DSA-65 verification against a key prepared once: the public matrix `Â = ExpandA(ρ)`, the
//! vector `NTT(t1 · 2^d)` and `tr = H(pk)` are computed when the key is first used, not per signature.
//!
//! Why: every validator verifies every message, always against the same hundred or so keys, and
//! ExpandA plus `H(pk)` are about half of an AVX2 verify (≈ 36 µs on this machine class; profiles of
//! the tcp-noise reference workload put verification at a third of all CPU per delivery).
//!
//! How: FIPS 204 Algorithm 8 step by step, on the AVX2 polynomial arithmetic of the PQClean code that
//! `pqcrypto-mldsa` builds — the very functions its own verify calls, in the same order, so the result
//! is bit-for-bit the same computation with three inputs taken from the cache. Those functions are
//! internal to PQClean, not part of `pqcrypto-mldsa`'s API, which is why the crate is pinned to one
//! version (`=0.1.2` in the workspace manifest) and why `tests::agrees_with_pqcrypto_on_every_*`
//! compare this verifier with pqcrypto's on valid, corrupted and forged signatures. Without AVX2 (or
//! off x86-64, and on Windows, where pqcrypto-mldsa builds no AVX2 code) [`PreparedKey::new`]
//! returns `None` and callers use pqcrypto's verify.
//!
//! Memory: ≈ 37 KiB per prepared key (`Â` is 6 × 5 polynomials of 1 KiB).

// pqcrypto-mldsa builds its AVX2 code (with its default `avx2` feature) on x86-64 outside Windows.
#[cfg(all(target_arch = "x86_64", not(windows)))]
pub(super) use avx2::PreparedKey;

/// Where pqcrypto-mldsa has no AVX2 code there is nothing to prepare: callers verify with pqcrypto.
#[cfg(not(all(target_arch = "x86_64", not(windows))))]
pub(super) struct PreparedKey;

#[cfg(not(all(target_arch = "x86_64", not(windows))))]
impl PreparedKey {
    pub(super) fn new(_raw_public_key: &[u8]) -> Option<Box<Self>> {
        None
    }

    pub(super) fn verify(&self, _message: &[u8], _signature: &[u8]) -> bool {
        unreachable!("never constructed")
    }
}

#[cfg(all(target_arch = "x86_64", not(windows)))]
mod avx2 {
    use crate::identity::mldsa65_avx2::*;

    /// An ML-DSA-65 public key with what verification derives from it alone already computed.
    pub(in crate::identity) struct PreparedKey {
        /// `Â`, in the NTT domain, row by row.
        matrix: [PolyVecL; K],
        /// `NTT(t1 · 2^d)`.
        t1_shifted: [Poly; K],
        /// `H(pk, 64)`.
        tr: [u8; TR_BYTES],
    }

    impl PreparedKey {
        /// Prepares `raw_public_key` (ρ ‖ t1, 1 952 bytes); `None` without AVX2 or for a key of
        /// another length.
        pub(in crate::identity) fn new(raw_public_key: &[u8]) -> Option<Box<Self>> {
            if raw_public_key.len() != PUBLIC_KEY_BYTES || !std::is_x86_feature_detected!("avx2") {
                return None;
            }
            let mut key =
                Box::new(PreparedKey { matrix: [PolyVecL([ZERO; L]); K], t1_shifted: [ZERO; K], tr: [0; TR_BYTES] });
            shake256(&[raw_public_key], &mut key.tr);
            // SAFETY: AVX2 is present (checked above); `matrix` holds K rows of L aligned polynomials
            // as `polyvec_matrix_expand` expects, ρ is the key's first 32 bytes, and each t1 chunk is
            // 320 bytes inside the key.
            unsafe {
                PQCLEAN_MLDSA65_AVX2_polyvec_matrix_expand(key.matrix.as_mut_ptr(), raw_public_key.as_ptr());
                for (i, t1) in key.t1_shifted.iter_mut().enumerate() {
                    PQCLEAN_MLDSA65_AVX2_polyt1_unpack(t1, raw_public_key[SEED_BYTES + i * POLYT1_PACKED..].as_ptr());
                    PQCLEAN_MLDSA65_AVX2_poly_shiftl(t1);
                    PQCLEAN_MLDSA65_AVX2_poly_ntt(t1);
                }
            }
            Some(key)
        }

        /// Whether `signature` is this key's ML-DSA-65 signature of `message` with an empty context,
        /// exactly as pqcrypto-mldsa's `verify_detached_signature` decides — including its omission of
        /// the ‖z‖∞ bound, which [`super::super::response_bound`] adds for every verify path.
        pub(in crate::identity) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            if signature.len() != SIGNATURE_BYTES {
                return false;
            }
            let (c_tilde, rest) = signature.split_at(CTILDE_BYTES);
            let (z_packed, hint) = rest.split_at(L * POLYZ_PACKED);
            // μ = H(tr ‖ 0 ‖ |ctx| ‖ ctx ‖ M), with the empty context.
            let mut mu = [0u8; MU_BYTES];
            shake256(&[&self.tr, &[0, 0], message], &mut mu);

            let (mut c, mut z) = (ZERO, PolyVecL([ZERO; L]));
            let mut w1_packed = [0u8; K * POLYW1_PACKED + POLYW1_SLACK];
            let mut pos = 0;
            // SAFETY: AVX2 was present when this key was prepared; every pointer is to an aligned
            // `Poly`/`PolyVecL` or into `signature`/`w1_packed` with the length each function reads
            // or writes (48 challenge bytes, 640 per z, 128 + 14 per packed w1 row).
            unsafe {
                PQCLEAN_MLDSA65_AVX2_poly_challenge(&mut c, c_tilde.as_ptr());
                PQCLEAN_MLDSA65_AVX2_poly_ntt(&mut c);
                for (i, zi) in z.0.iter_mut().enumerate() {
                    // Unpacking bounds each coefficient to (−γ1, γ1] only; FIPS 204's tighter
                    // ‖z‖∞ < γ1 − β is checked by `PublicKey::verify` before this runs.
                    PQCLEAN_MLDSA65_AVX2_polyz_unpack(zi, z_packed[i * POLYZ_PACKED..].as_ptr());
                    PQCLEAN_MLDSA65_AVX2_poly_ntt(zi);
                }
                for i in 0..K {
                    // w' = NTT⁻¹(Â·NTT(z) − NTT(c)·NTT(t1·2^d)), row i.
                    let (mut w1, mut ct1) = (ZERO, ZERO);
                    PQCLEAN_MLDSA65_AVX2_polyvecl_pointwise_acc_montgomery(&mut w1, &self.matrix[i], &z);
                    PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(&mut ct1, &c, &self.t1_shifted[i]);
                    PQCLEAN_MLDSA65_AVX2_poly_sub(&mut w1, &w1, &ct1);
                    PQCLEAN_MLDSA65_AVX2_poly_reduce(&mut w1);
                    PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(&mut w1);
                    let Some(h) = hint_row(hint, i, &mut pos) else { return false };
                    PQCLEAN_MLDSA65_AVX2_poly_caddq(&mut w1);
                    PQCLEAN_MLDSA65_AVX2_poly_use_hint(&mut w1, &w1, &h);
                    PQCLEAN_MLDSA65_AVX2_polyw1_pack(w1_packed[i * POLYW1_PACKED..].as_mut_ptr(), &w1);
                }
            }
            // Unused hint slots must be zero (strong unforgeability).
            if hint[pos..OMEGA].iter().any(|&index| index != 0) {
                return false;
            }
            let mut c_tilde_again = [0u8; CTILDE_BYTES];
            shake256(&[&mu, &w1_packed[..K * POLYW1_PACKED]], &mut c_tilde_again);
            c_tilde_again == c_tilde
        }
    }

    /// Row `i` of the hint vector `h` from its encoding (`OMEGA` indices, then `K` running ends), or
    /// `None` if malformed: ends out of order or past `OMEGA`, or a row's indices not strictly
    /// increasing. `pos` is where row `i` starts; it is moved to where row `i + 1` starts.
    fn hint_row(hint: &[u8], i: usize, pos: &mut usize) -> Option<Poly> {
        let end = usize::from(hint[OMEGA + i]);
        if end < *pos || end > OMEGA {
            return None;
        }
        let mut h = ZERO;
        for j in *pos..end {
            if j > *pos && hint[j] <= hint[j - 1] {
                return None;
            }
            h.0[usize::from(hint[j])] = 1;
        }
        *pos = end;
        Some(h)
    }
}

#[cfg(all(test, target_arch = "x86_64", not(windows)))]
mod tests {
    use pqcrypto_mldsa::mldsa65;
    use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::PreparedKey;

    fn reference(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let (Ok(pk), Ok(sig)) =
            (mldsa65::PublicKey::from_bytes(public), mldsa65::DetachedSignature::from_bytes(signature))
        else {
            return false;
        };
        mldsa65::verify_detached_signature(&sig, message, &pk).is_ok()
    }

    /// A key, its prepared form, and its signature of a random message.
    struct Signed {
        public: Vec<u8>,
        prepared: Box<PreparedKey>,
        message: Vec<u8>,
        signature: Vec<u8>,
    }

    /// `keys` signed messages, and the rng that made them.
    fn fixtures(keys: usize, seed: u64) -> (Vec<Signed>, StdRng) {
        let mut rng = StdRng::seed_from_u64(seed);
        let fixtures = (0..keys)
            .map(|_| {
                let (pk, sk) = mldsa65::keypair();
                let message: Vec<u8> = (0..rng.gen_range(0..600)).map(|_| rng.gen()).collect();
                let signature = mldsa65::detached_sign(&message, &sk).as_bytes().to_vec();
                let prepared = PreparedKey::new(pk.as_bytes()).expect("this machine class has AVX2");
                Signed { public: pk.as_bytes().to_vec(), prepared, message, signature }
            })
            .collect();
        (fixtures, rng)
    }

    #[test]
    fn agrees_with_pqcrypto_on_every_valid_signature_and_wrong_message_or_key() {
        let (fixtures, _) = fixtures(8, 1);
        for (i, Signed { public, prepared, message, signature }) in fixtures.iter().enumerate() {
            assert!(reference(public, message, signature));
            assert!(prepared.verify(message, signature), "key {i}: a valid signature");
            let mut other = message.clone();
            other.push(1);
            assert!(!prepared.verify(&other, signature), "key {i}: another message");
            let next = &fixtures[(i + 1) % fixtures.len()].prepared;
            assert!(!next.verify(message, signature), "key {i}: another key");
        }
    }

    /// Random bytes of the signature replaced — across c̃, z and the hint encoding, whose checks
    /// (indices increasing, ends in order, unused slots zero) are most of what a port can get wrong.
    #[test]
    fn agrees_with_pqcrypto_on_every_corrupted_signature() {
        let (fixtures, mut rng) = fixtures(4, 2);
        let hint_start = 48 + 5 * 640;
        for Signed { public, prepared, message, signature } in &fixtures {
            for trial in 0..600 {
                let mut corrupted = signature.clone();
                // A third of the trials aim at the hint bytes, where structure checks matter.
                let at = if trial % 3 == 0 {
                    rng.gen_range(hint_start..corrupted.len())
                } else {
                    rng.gen_range(0..corrupted.len())
                };
                corrupted[at] = if trial % 2 == 0 { corrupted[at] ^ (1 << rng.gen_range(0..8)) } else { rng.gen() };
                assert_eq!(
                    prepared.verify(message, &corrupted),
                    reference(public, message, &corrupted),
                    "byte {at} set to {}",
                    corrupted[at]
                );
            }
        }
    }

    /// Hint encodings crafted to sit on each check's boundary, keeping everything else valid.
    #[test]
    fn agrees_with_pqcrypto_on_every_malformed_hint() {
        let (fixtures, _) = fixtures(2, 3);
        let hint_start = 48 + 5 * 640;
        for Signed { public, prepared, message, signature } in &fixtures {
            let hint = &signature[hint_start..];
            let used = usize::from(hint[55 + 5]);
            let mut cases: Vec<Vec<u8>> = Vec::new();
            for row in 0..6 {
                for end in [0u8, 1, 54, 55, 56, 255] {
                    let mut s = signature.clone();
                    s[hint_start + 55 + row] = end;
                    cases.push(s);
                }
            }
            for j in 0..55 {
                for value in [0u8, 1, 255] {
                    let mut s = signature.clone();
                    s[hint_start + j] = value;
                    cases.push(s);
                }
                if j + 1 < used {
                    let mut s = signature.clone();
                    s.swap(hint_start + j, hint_start + j + 1);
                    cases.push(s);
                }
            }
            // An index repeated within its row leaves `h` as it was: only the "strictly increasing"
            // check can reject it.
            if let Some(repeated) = repeat_first_hint_index(signature, hint_start) {
                assert!(!reference(public, message, &repeated));
                cases.push(repeated);
            }
            for case in &cases {
                assert_eq!(prepared.verify(message, case), reference(public, message, case));
            }
        }
    }

    /// `signature` with the first hint index written twice (the rest shifted up, the running ends
    /// counting one more); `None` if no row has an index or no slot is free.
    fn repeat_first_hint_index(signature: &[u8], hint_start: usize) -> Option<Vec<u8>> {
        let mut repeated = signature.to_vec();
        let hint = &mut repeated[hint_start..];
        let used = usize::from(hint[55 + 5]);
        let row = (0..6).find(|&row| hint[55 + row] > 0)?;
        if used >= 55 {
            return None;
        }
        hint.copy_within(0..used, 1);
        hint[55 + row..55 + 6].iter_mut().for_each(|end| *end += 1);
        Some(repeated)
    }

    #[test]
    fn keys_of_the_wrong_length_are_not_prepared_and_signatures_of_the_wrong_length_fail() {
        assert!(PreparedKey::new(&[0; 1951]).is_none());
        let (fixtures, _) = fixtures(1, 4);
        let Signed { prepared, message, signature, .. } = &fixtures[0];
        assert!(!prepared.verify(message, &signature[..signature.len() - 1]));
    }
}
