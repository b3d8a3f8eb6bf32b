//! FIPS 204's bound on a signature's response vector: ‖z‖∞ < γ1 − β (Algorithm 8, step 13).
//!
//! Why here and not in pqcrypto: PQClean's AVX2 verify (which pqcrypto-mldsa and pqcrypto-dilithium
//! run on this machine class, and which [`super::mldsa65_prepared`] follows step by step) only unpacks
//! z, which bounds each coefficient to (−γ1, γ1], and never checks the tighter bound ("shortness
//! follows from unpacking", its comment says). A signature with a coefficient in [γ1 − β, γ1] that
//! FIPS 204 rejects would pass it, and a validator running another implementation would disagree
//! about what is a valid vote. [`PublicKey::verify`](super::PublicKey::verify) calls
//! [`response_is_short`] before either verifier, so every path (receive, evidence, vote validator,
//! handshakes, prepared key or not) rejects what FIPS 204 rejects.
//!
//! Cost: one pass over the 3 200 packed bytes of z, no allocation (bench `mldsa65::verify/z_bound`).

use super::Algorithm;

/// γ1 = 2^19 for both ML-DSA-65 and Dilithium3 (FIPS 204 draft, level 3).
const GAMMA1: u32 = 1 << 19;
/// β = τ·η = 49 · 4.
const BETA: u32 = 196;
/// Where z starts: after c̃ (48 bytes for both algorithms at this level).
const Z_OFFSET: usize = 48;
/// L = 5 polynomials of 256 coefficients, 20 bits each.
const Z_LEN: usize = 5 * 640;

/// Whether every coefficient of `signature`'s response z satisfies |z| < γ1 − β, as FIPS 204 requires
/// before it accepts. `false` for a signature too short to hold z.
///
/// Both algorithms pack z alike: each coefficient as the 20-bit `γ1 − z`, two per 5 bytes. So the
/// check needs no unpacking to signed values: |γ1 − t| < γ1 − β exactly when β < t < 2γ1 − β.
///
/// ```
/// use quorumnet_core::identity::{response_is_short, Algorithm, Keypair};
///
/// let key = Keypair::from_seed(&[3; 32]);
/// let mut sig = key.sign(b"vote").as_bytes().to_vec();
/// assert!(response_is_short(Algorithm::MlDsa65, &sig));
/// // The first coefficient packed as t = 0: z = γ1, inside what unpacking allows, outside FIPS 204.
/// let high_nibble = sig[50] & 0xF0; // the next coefficient's low bits
/// sig[48..51].copy_from_slice(&[0, 0, high_nibble]);
/// assert!(!response_is_short(Algorithm::MlDsa65, &sig));
/// ```
pub fn response_is_short(algorithm: Algorithm, signature: &[u8]) -> bool {
    // Both algorithms share the layout today; the match makes a third one decide for itself.
    match algorithm {
        Algorithm::MlDsa65 | Algorithm::Dilithium3 => {}
    }
    let Some(z) = signature.get(Z_OFFSET..Z_OFFSET + Z_LEN) else { return false };
    // t − (β + 1) < 2γ1 − 2β − 1, in wrapping arithmetic: one compare per coefficient.
    const SPAN: u32 = 2 * GAMMA1 - 2 * BETA - 1;
    let out_of_bound = |t: u32| t.wrapping_sub(BETA + 1) >= SPAN;
    // No early exit: a branch-free fold the compiler vectorises, and honest signatures read it all anyway.
    !z.chunks_exact(5).fold(false, |bad, b| {
        let (b0, b1, b2, b3, b4) =
            (u32::from(b[0]), u32::from(b[1]), u32::from(b[2]), u32::from(b[3]), u32::from(b[4]));
        let t0 = b0 | b1 << 8 | (b2 & 0x0F) << 16;
        let t1 = b2 >> 4 | b3 << 4 | b4 << 12;
        bad | out_of_bound(t0) | out_of_bound(t1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `signature` with coefficient `index` of z packed as `t`.
    fn with_packed(mut signature: Vec<u8>, index: usize, t: u32) -> Vec<u8> {
        let at = Z_OFFSET + index / 2 * 5;
        let b = &mut signature[at..at + 5];
        if index % 2 == 0 {
            b[0] = t as u8;
            b[1] = (t >> 8) as u8;
            b[2] = (b[2] & 0xF0) | (t >> 16) as u8;
        } else {
            b[2] = (b[2] & 0x0F) | ((t & 0xF) << 4) as u8;
            b[3] = (t >> 4) as u8;
            b[4] = (t >> 12) as u8;
        }
        signature
    }

    #[test]
    fn accepts_exactly_the_coefficients_strictly_inside_the_bound() {
        let honest = crate::identity::Keypair::from_seed(&[5; 32]).sign(b"m").as_bytes().to_vec();
        for alg in Algorithm::ALL {
            assert!(response_is_short(alg, &honest));
            // t = γ1 − z: |z| = γ1 − β − 1 is the largest allowed, |z| = γ1 − β the smallest refused.
            for index in [0, 1, 640, 1279] {
                for (t, short) in [
                    (BETA + 1, true),
                    (2 * GAMMA1 - BETA - 1, true),
                    (GAMMA1, true),
                    (BETA, false),
                    (2 * GAMMA1 - BETA, false),
                    (0, false),
                    (2 * GAMMA1 - 1, false),
                ] {
                    let case = with_packed(honest.clone(), index, t);
                    assert_eq!(response_is_short(alg, &case), short, "{alg}: coefficient {index} packed as {t}");
                }
            }
        }
    }

    #[test]
    fn a_signature_too_short_to_hold_z_is_refused() {
        assert!(!response_is_short(Algorithm::MlDsa65, &[0x80; Z_OFFSET + Z_LEN - 1]));
    }

    /// The decoder reads coefficients where PQClean's `polyz_unpack` does.
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    #[test]
    fn agrees_with_pqclean_unpacking_on_random_bytes() {
        use rand::{Rng, SeedableRng};

        use crate::identity::mldsa65_avx2::{PQCLEAN_MLDSA65_AVX2_polyz_unpack, Poly, ZERO};
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for trial in 0..400 {
            // Mostly short coefficients, a few at or past the bound, so both answers occur.
            let mut sig = vec![0u8; 3309];
            for index in 0..1280 {
                let z: i32 = if rng.gen_ratio(1, 2000) {
                    rng.gen_range(-(GAMMA1 as i32) + 1..=GAMMA1 as i32)
                } else {
                    rng.gen_range(-(GAMMA1 as i32 - BETA as i32) + 1..(GAMMA1 - BETA) as i32)
                };
                sig = with_packed(sig, index, (GAMMA1 as i32 - z) as u32);
            }
            let mut max = 0;
            for i in 0..5 {
                let mut poly: Poly = ZERO;
                // SAFETY: `poly` is an aligned PQClean `poly`, and 640 bytes are read from inside `sig`.
                unsafe { PQCLEAN_MLDSA65_AVX2_polyz_unpack(&mut poly, sig[Z_OFFSET + i * 640..].as_ptr()) };
                max = poly.0.iter().map(|c| c.unsigned_abs()).max().unwrap().max(max);
            }
            assert_eq!(response_is_short(Algorithm::MlDsa65, &sig), max < GAMMA1 - BETA, "trial {trial}, max {max}");
        }
    }
}
