//! `quorumnet keygen`: a new validator key, in the [key file](crate::identity::key_file) format that
//! `quorumnet node` reads from its `key_file`.
//!
//! ```
//! use quorumnet::operator::keygen::{generate, KeygenArgs};
//! use quorumnet::identity::{key_file, Algorithm};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let args = KeygenArgs { out: dir.path().join("validator.key"), force: false, algorithm: Algorithm::MlDsa65 };
//! let generated = generate(&args).unwrap();
//! assert_eq!(key_file::load(&args.out).unwrap().validator_id(), generated.validator_id);
//! // A second run refuses to replace the key; `--force` replaces it.
//! assert!(generate(&args).is_err());
//! let replaced = generate(&KeygenArgs { force: true, ..args.clone() }).unwrap();
//! assert_ne!(replaced.validator_id, generated.validator_id);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::identity::key_file::{self, KeyFileError};
use crate::identity::{Algorithm, Keypair, ValidatorId};

/// `quorumnet keygen`'s options.
#[derive(Clone, Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the key file (created owner-read-only, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace a file already at PATH: the validator whose key it held loses it for good.
    #[arg(long)]
    pub force: bool,
    /// Signature algorithm: ml-dsa-65 (FIPS 204) or dilithium3 (for chains whose keys already are).
    #[arg(long, default_value = "ml-dsa-65")]
    pub algorithm: Algorithm,
}

/// What `keygen` wrote: the public half, for the validator-set file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The new validator's id (BLAKE3 of the public key encoding).
    pub validator_id: ValidatorId,
    /// Hex of the public key encoding, as the set file's `public_key` takes it.
    pub public_key_hex: String,
}

impl fmt::Display for GeneratedKey {
    /// `validator-id: …` and `public-key: …` lines, named as in the key file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "validator-id: {}", self.validator_id)?;
        write!(f, "public-key: {}", self.public_key_hex)
    }
}

/// Why `keygen` wrote no key.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// A file is at `--out` and `--force` was not given.
    #[error("--out {}: a file is already there; choose another path, or pass --force to replace it (the key it holds is then lost)", .0.display())]
    Exists(PathBuf),
    /// Writing the key file failed (no such directory, no permission…).
    #[error("--out {}: {source}", path.display())]
    Write {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: KeyFileError,
    },
    /// With `--force`, the new key file could not be moved over the old one.
    #[error("--out {}: cannot replace the file there: {source}", path.display())]
    Replace {
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Generates a key with the operating system's randomness and writes it to `args.out`.
///
/// # Errors
/// [`KeygenError::Exists`] without `--force`; [`KeygenError::Write`] or [`KeygenError::Replace`]
/// when the file cannot be written. No error leaves a partial key file at `args.out`.
pub fn generate(args: &KeygenArgs) -> Result<GeneratedKey, KeygenError> {
    let key = Keypair::generate(args.algorithm);
    if args.force {
        replace(&key, &args.out)?;
    } else {
        key_file::save(&key, &args.out).map_err(|source| match source {
            KeyFileError::AlreadyExists(path) => KeygenError::Exists(path),
            source => KeygenError::Write { path: args.out.clone(), source },
        })?;
    }
    Ok(GeneratedKey { validator_id: key.validator_id(), public_key_hex: hex::encode(key.public_key().encoded()) })
}

/// Writes `key` beside `path` and renames it over whatever is there: a crash leaves the old key or
/// the new one, never a half-written file, and the new file is 0600 from its first byte.
fn replace(key: &Keypair, path: &Path) -> Result<(), KeygenError> {
    let mut staged = path.as_os_str().to_owned();
    staged.push(format!(".new-{}", std::process::id()));
    let staged = PathBuf::from(staged);
    key_file::save(key, &staged).map_err(|source| KeygenError::Write { path: path.to_owned(), source })?;
    std::fs::rename(&staged, path).map_err(|source| {
        // The staged copy is a secret nobody will use: do not leave it behind.
        let _ = std::fs::remove_file(&staged);
        KeygenError::Replace { path: path.to_owned(), source }
    })
}
