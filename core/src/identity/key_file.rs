//! The validator key file.
//!
//! A UTF-8 text file of `name: value` lines; `#` starts a comment line, blank lines are ignored:
//!
//! ```text
//! # quorumnet validator key: secret, keep it owner-read-only
//! quorumnet-key: 1
//! algorithm: ml-dsa-65
//! validator-id: <64 hex digits: BLAKE3-256 of the public key encoding>
//! public-key: <hex of the public key encoding: algorithm byte, then the raw key>
//! secret-key: <hex of the raw secret key>
//! ```
//!
//! Every field is required and appears once. Loading checks the version, that the algorithm matches the
//! public key's algorithm byte, that `validator-id` is the key's id (so an operator copying ids from the
//! file copies the right one), and that the secret key signs for the public key. [`save`] creates the file
//! with mode `0600` and refuses to overwrite an existing key; [`load`] refuses a file that group or others
//! can read.
//!
//! ```
//! use quorumnet_core::identity::{key_file, Keypair};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("validator.key");
//! let key = Keypair::from_seed(&[9; 32]);
//! key_file::save(&key, &path).unwrap();
//! assert_eq!(key_file::load(&path).unwrap().validator_id(), key.validator_id());
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{Algorithm, IdentityError, Keypair, PublicKey, ValidatorId};

/// The key file format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be opened, created or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `save` found a file already there: keys are never silently replaced.
    #[error("key file {0} already exists: move it away first if you really mean to replace this validator's key")]
    AlreadyExists(PathBuf),
    /// The file is readable by group or others.
    #[error("key file {path} has mode {mode:o}, readable by other users: run `chmod 600 {path}`")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not in the documented format.
    #[error("key file {path}: {reason}")]
    Format {
        /// The key file.
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The key material itself is invalid.
    #[error("key file {path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with the key.
        source: IdentityError,
    },
}

/// Renders a key pair in the key file format.
pub fn to_text(key: &Keypair) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "# quorumnet validator key: secret, keep it owner-read-only\n\
         quorumnet-key: {FORMAT_VERSION}\n\
         algorithm: {}\n\
         validator-id: {}\n\
         public-key: {}\n\
         secret-key: {}\n",
        key.algorithm(),
        key.validator_id(),
        hex::encode(key.public_key().encoded()),
        Zeroizing::new(hex::encode(key.secret_bytes())).as_str(),
    ))
}

/// Parses the key file format. `origin` names the source in errors.
///
/// # Errors
/// [`KeyFileError::Format`] or [`KeyFileError::Key`].
pub fn from_text(text: &str, origin: &Path) -> Result<Keypair, KeyFileError> {
    let format = |reason: String| KeyFileError::Format { path: origin.to_owned(), reason };
    const FIELDS: [&str; 5] = ["quorumnet-key", "algorithm", "validator-id", "public-key", "secret-key"];
    let mut fields = std::collections::BTreeMap::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) =
            line.split_once(':').ok_or_else(|| format(format!("line {number}: expected `name: value`")))?;
        let name = name.trim();
        if !FIELDS.contains(&name) {
            return Err(format(format!("line {number}: unknown field `{name}`")));
        }
        if fields.insert(name, value.trim()).is_some() {
            return Err(format(format!("line {number}: field `{name}` appears twice")));
        }
    }
    let field = |name: &str| fields.get(name).copied().ok_or_else(|| format(format!("missing field `{name}`")));
    let (version, algorithm, id) = (field("quorumnet-key")?, field("algorithm")?, field("validator-id")?);
    let (public, secret) = (field("public-key")?, field("secret-key")?);

    if version != FORMAT_VERSION.to_string() {
        return Err(format(format!("format version {version:?}: this build reads version {FORMAT_VERSION}")));
    }
    let key_error = |source| KeyFileError::Key { path: origin.to_owned(), source };
    let algorithm: Algorithm = algorithm.parse().map_err(key_error)?;
    let hex_field = |name: &str, value: &str| {
        hex::decode(value).map(Zeroizing::new).map_err(|e| format(format!("field `{name}` is not hex: {e}")))
    };
    let public = PublicKey::from_encoded(&hex_field("public-key", public)?).map_err(key_error)?;
    if public.algorithm() != algorithm {
        return Err(format(format!(
            "`algorithm: {algorithm}` but the public key's algorithm byte says {}",
            public.algorithm()
        )));
    }
    let id: ValidatorId = id.parse().map_err(|e| format(format!("field `validator-id`: {e}")))?;
    if id != public.validator_id() {
        return Err(format(format!("`validator-id` {id} is not the public key's id {}", public.validator_id())));
    }
    Keypair::from_parts(public, &hex_field("secret-key", secret)?).map_err(key_error)
}

/// Writes `key` to a new file at `path` with mode `0600`.
///
/// # Errors
/// [`KeyFileError::AlreadyExists`] if anything is at `path`, [`KeyFileError::Io`] otherwise.
pub fn save(key: &Keypair, path: &Path) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io { path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::AlreadyExists(path.to_owned()),
        _ => io(e),
    })?;
    file.write_all(to_text(key).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a key file written by [`save`].
///
/// # Errors
/// [`KeyFileError::InsecurePermissions`] if group or others may read it; otherwise as [`from_text`].
pub fn load(path: &Path) -> Result<Keypair, KeyFileError> {
    let io = |source| KeyFileError::Io { path: path.to_owned(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::InsecurePermissions { path: path.to_owned(), mode });
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
    from_text(&text, path)
}
