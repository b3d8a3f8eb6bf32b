//! The one place that calls into pqcrypto: every other module works with [`Algorithm`] and raw bytes.

use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _, SecretKey as _};

use super::Algorithm;

/// Runs `$body` with `$scheme` bound to the pqcrypto module of `$alg`.
macro_rules! with_scheme {
    ($alg:expr, $scheme:ident => $body:expr) => {
        match $alg {
            Algorithm::MlDsa65 => {
                use pqcrypto_mldsa::mldsa65 as $scheme;
                $body
            }
            Algorithm::Dilithium3 => {
                use pqcrypto_dilithium::dilithium3 as $scheme;
                $body
            }
        }
    };
}

/// A fresh key pair from OS randomness, as `(raw public key, raw secret key)`.
pub(super) fn generate(alg: Algorithm) -> (Vec<u8>, Vec<u8>) {
    with_scheme!(alg, s => {
        let (pk, sk) = s::keypair();
        (pk.as_bytes().to_vec(), sk.as_bytes().to_vec())
    })
}

/// A detached signature. `secret` must already have the algorithm's secret key length.
pub(super) fn sign(alg: Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    with_scheme!(alg, s => {
        let sk = s::SecretKey::from_bytes(secret).expect("secret key length is checked on construction");
        s::detached_sign(message, &sk).as_bytes().to_vec()
    })
}

/// Whether `signature` verifies. `public` and `signature` must already have the algorithm's lengths.
pub(super) fn verify(alg: Algorithm, public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    with_scheme!(alg, s => {
        let (Ok(pk), Ok(sig)) = (s::PublicKey::from_bytes(public), s::DetachedSignature::from_bytes(signature)) else {
            return false;
        };
        s::verify_detached_signature(&sig, message, &pk).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_lengths_match_the_pqcrypto_implementations() {
        for alg in Algorithm::ALL {
            with_scheme!(alg, s => {
                assert_eq!(alg.public_key_len(), s::public_key_bytes(), "{alg} public key");
                assert_eq!(alg.secret_key_len(), s::secret_key_bytes(), "{alg} secret key");
                assert_eq!(alg.signature_len(), s::signature_bytes(), "{alg} signature");
            });
        }
    }
}
