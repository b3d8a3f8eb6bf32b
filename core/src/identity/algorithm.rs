use std::fmt;
use std::str::FromStr;

use super::IdentityError;

/// A signature algorithm, identified on the wire by the first byte of a public key encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Algorithm {
    /// ML-DSA-65 (FIPS 204), pure form with an empty context: the default for new keys.
    MlDsa65 = 0x01,
    /// Dilithium3 as pqcrypto-dilithium 0.5 implements it (the FIPS 204 draft), for chains whose
    /// validators already hold such keys. Its signatures do not verify as ML-DSA-65, nor the reverse.
    Dilithium3 = 0x02,
}

impl Algorithm {
    /// Every supported algorithm, in algorithm-byte order.
    pub const ALL: [Algorithm; 2] = [Algorithm::MlDsa65, Algorithm::Dilithium3];

    /// The algorithm byte that prefixes a public key encoding.
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// The algorithm named by an algorithm byte.
    ///
    /// # Errors
    /// [`IdentityError::UnknownAlgorithm`] for any byte other than `0x01` and `0x02`.
    pub const fn from_byte(byte: u8) -> Result<Self, IdentityError> {
        match byte {
            0x01 => Ok(Algorithm::MlDsa65),
            0x02 => Ok(Algorithm::Dilithium3),
            other => Err(IdentityError::UnknownAlgorithm(other)),
        }
    }

    /// Length of a raw public key (without the algorithm byte). Both algorithms use 1 952 bytes.
    pub const fn public_key_len(self) -> usize {
        1952
    }

    /// Length of a raw secret key. Both algorithms use 4 032 bytes.
    pub const fn secret_key_len(self) -> usize {
        4032
    }

    /// Length of a detached signature. Both algorithms use 3 309 bytes.
    pub const fn signature_len(self) -> usize {
        3309
    }

    /// The name used in key files and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::MlDsa65 => "ml-dsa-65",
            Algorithm::Dilithium3 => "dilithium3",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| IdentityError::UnknownAlgorithmName(s.to_owned()))
    }
}
