//! The PQClean ML-DSA-65 AVX2 internals this crate calls directly, and the types and sizes they work
//! on: shared by [`super::mldsa65_prepared`] (verification against a prepared key),
//! [`super::mldsa65_signer`] (signing with a prepared key) and [`super::adversarial`] (signatures
//! that only a lax verifier accepts).
//!
//! Linked from pqcrypto-mldsa's static library, which is why that crate is pinned to one version.
//! Every function takes pointers to [`Poly`], [`PolyVecL`] or [`PolyVecK`] as laid out here (PQClean's
//! `poly`, `polyvecl`, `polyveck`) and byte buffers of the lengths noted, and touches nothing else.

// ML-DSA-65 (FIPS 204, table 1) and PQClean's packed sizes.
pub(super) const N: usize = 256;
pub(super) const K: usize = 6;
pub(super) const L: usize = 5;
pub(super) const OMEGA: usize = 55;
pub(super) const GAMMA1: i32 = 1 << 19;
pub(super) const GAMMA2: i32 = (8_380_417 - 1) / 32;
pub(super) const BETA: i32 = 196;
pub(super) const SEED_BYTES: usize = 32;
pub(super) const TR_BYTES: usize = 64;
pub(super) const MU_BYTES: usize = 64;
pub(super) const CTILDE_BYTES: usize = 48;
pub(super) const POLYT1_PACKED: usize = 320;
pub(super) const POLYZ_PACKED: usize = 640;
pub(super) const POLYW1_PACKED: usize = 128;
/// `polyw1_pack` writes up to 14 bytes past its polynomial's 128 (AVX2 stores).
pub(super) const POLYW1_SLACK: usize = 14;
pub(super) const PUBLIC_KEY_BYTES: usize = SEED_BYTES + K * POLYT1_PACKED;
pub(super) const SIGNATURE_BYTES: usize = CTILDE_BYTES + L * POLYZ_PACKED + OMEGA + K;
/// ρ, K, tr, then s1 and s2 (η = 4: 128 bytes per polynomial) and t0 (416 bytes per polynomial).
pub(super) const SECRET_KEY_BYTES: usize = 2 * SEED_BYTES + TR_BYTES + (L + K) * 128 + K * 416;

/// PQClean's `poly`: 256 coefficients, 32-byte aligned for AVX2 loads.
#[repr(C, align(32))]
#[derive(Clone, Copy)]
pub(super) struct Poly(pub(super) [i32; N]);

/// PQClean's `polyvecl`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct PolyVecL(pub(super) [Poly; L]);

/// PQClean's `polyveck`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct PolyVecK(pub(super) [Poly; K]);

pub(super) const ZERO: Poly = Poly([0; N]);

unsafe extern "C" {
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyvec_matrix_expand(mat: *mut PolyVecL, rho: *const u8);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyvecl_pointwise_acc_montgomery(
        w: *mut Poly,
        u: *const PolyVecL,
        v: *const PolyVecL,
    );
    /// `seed` is 64 bytes (ρ').
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_uniform_gamma1(a: *mut Poly, seed: *const u8, nonce: u16);
    /// Four [`PQCLEAN_MLDSA65_AVX2_poly_uniform_gamma1`]s at once.
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_uniform_gamma1_4x(
        a0: *mut Poly,
        a1: *mut Poly,
        a2: *mut Poly,
        a3: *mut Poly,
        seed: *const u8,
        nonce0: u16,
        nonce1: u16,
        nonce2: u16,
        nonce3: u16,
    );
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyt1_unpack(r: *mut Poly, a: *const u8);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyz_unpack(r: *mut Poly, a: *const u8);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyw1_pack(r: *mut u8, a: *const Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_challenge(c: *mut Poly, seed: *const u8);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_shiftl(a: *mut Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_ntt(a: *mut Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_invntt_tomont(a: *mut Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_pointwise_montgomery(c: *mut Poly, a: *const Poly, b: *const Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_add(c: *mut Poly, a: *const Poly, b: *const Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_sub(c: *mut Poly, a: *const Poly, b: *const Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_reduce(a: *mut Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_caddq(a: *mut Poly);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_use_hint(b: *mut Poly, a: *const Poly, h: *const Poly);
    /// 1 if some coefficient's absolute value is at least `bound`.
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_chknorm(a: *const Poly, bound: i32) -> i32;
    /// Writes the indices needing a hint to `hint` (`N` bytes, 8 written at a time) and returns their count.
    pub(super) fn PQCLEAN_MLDSA65_AVX2_poly_make_hint(hint: *mut u8, a0: *const Poly, a1: *const Poly) -> u32;
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyvecl_ntt(v: *mut PolyVecL);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyveck_ntt(v: *mut PolyVecK);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyveck_invntt_tomont(v: *mut PolyVecK);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyveck_caddq(v: *mut PolyVecK);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyveck_decompose(v1: *mut PolyVecK, v0: *mut PolyVecK, v: *const PolyVecK);
    /// Writes `K * 128` bytes plus [`POLYW1_SLACK`].
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyveck_pack_w1(r: *mut u8, w1: *const PolyVecK);
    pub(super) fn PQCLEAN_MLDSA65_AVX2_polyvec_matrix_pointwise_montgomery(
        t: *mut PolyVecK,
        mat: *const PolyVecL,
        v: *const PolyVecL,
    );
    /// `rho` 32 bytes, `tr` 64, `key` 32, `sk` 4 032.
    pub(super) fn PQCLEAN_MLDSA65_AVX2_unpack_sk(
        rho: *mut u8,
        tr: *mut u8,
        key: *mut u8,
        t0: *mut PolyVecK,
        s1: *mut PolyVecL,
        s2: *mut PolyVecK,
        sk: *const u8,
    );
    /// Writes a whole signature ([`SIGNATURE_BYTES`]); `h` holds 0/1 coefficients, at most `OMEGA` ones.
    pub(super) fn PQCLEAN_MLDSA65_AVX2_pack_sig(sig: *mut u8, c: *const u8, z: *const PolyVecL, h: *const PolyVecK);
}

/// SHAKE256 of the concatenation of `parts`, `out.len()` bytes of it.
pub(super) fn shake256(parts: &[&[u8]], out: &mut [u8]) {
    use sha3::digest::{ExtendableOutput, Update, XofReader};
    let mut hasher = sha3::Shake256::default();
    parts.iter().for_each(|part| hasher.update(part));
    hasher.finalize_xof().read(out);
}
