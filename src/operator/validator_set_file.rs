//! The validator-set file: the chain's validators as every `quorumnet node` of it reads them.
//!
//! One `[[validator]]` table per validator; `id` and `public_key` are what `quorumnet keygen` printed,
//! `power` its voting power, `addresses` where the others dial it (one per transport it listens on;
//! none for a validator that only dials out):
//!
//! ```toml
//! [[validator]]
//! id = "<64 hex digits>"
//! public_key = "<hex of the public key encoding>"
//! power = 10
//! addresses = ["tcp-noise://10.0.0.1:7000"]
//! ```
//!
//! Checked on load: every field is present and well-formed, `id` is the public key's id (so an id
//! copied from the wrong line is caught), no validator is listed twice, and the total power is not
//! zero; then every invariant of [`ValidatorSet::new`].
//!
//! ```
//! use quorumnet::identity::Keypair;
//! use quorumnet::operator::validator_set_file;
//!
//! let key = Keypair::from_seed(&[1; 32]);
//! let text = format!(
//!     "[[validator]]\nid = \"{}\"\npublic_key = \"{}\"\npower = 1\naddresses = [\"tcp-noise://127.0.0.1:7000\"]\n",
//!     key.validator_id(),
//!     hex::encode(key.public_key().encoded()),
//! );
//! let set = validator_set_file::parse(&text, "validators.toml".as_ref()).unwrap();
//! assert_eq!(set.total_power(), 1);
//! assert_eq!(set.get(&key.validator_id()).unwrap().addresses[0].as_str(), "tcp-noise://127.0.0.1:7000");
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::identity::{PublicKey, ValidatorId};
use crate::transport::PeerAddress;
use crate::validator::{ValidatorInfo, ValidatorSet, ValidatorSetError};

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetFile {
    #[serde(default)]
    validator: Vec<RawValidator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidator {
    id: String,
    public_key: String,
    power: u64,
    #[serde(default)]
    addresses: Vec<String>,
}

/// Why a validator-set file was refused. Entries are numbered from 1, in file order.
#[derive(Debug, thiserror::Error)]
pub enum SetFileError {
    /// The file could not be read.
    #[error("cannot read the validator set file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not TOML, or not this file's tables and fields (the parser's message names the line and field).
    #[error("validator set file {}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message.
        message: String,
    },
    /// No `[[validator]]` table.
    #[error("validator set file {} lists no validator: add one [[validator]] table per validator", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// One entry's field is malformed.
    #[error("validator set file {}: validator #{entry}, field `{field}`: {reason}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The entry, from 1.
        entry: usize,
        /// The field.
        field: &'static str,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Two entries are the same validator.
    #[error("validator set file {}: validators #{first} and #{second} both have id {id}: list each validator once", path.display())]
    DuplicateId {
        /// The file.
        path: PathBuf,
        /// The repeated id.
        id: ValidatorId,
        /// The first entry with it, from 1.
        first: usize,
        /// The next one.
        second: usize,
    },
    /// Every `power` is 0: no quorum could ever form.
    #[error("validator set file {}: total voting power is 0, so no quorum can ever form: give the validators a `power` above 0", path.display())]
    ZeroTotalPower {
        /// The file.
        path: PathBuf,
    },
    /// The entries break another invariant of a validator set.
    #[error("validator set file {}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Which invariant, with its fix.
        source: ValidatorSetError,
    },
}

/// Reads and checks the validator-set file at `path`.
///
/// # Errors
/// [`SetFileError::Read`], or any error of [`parse`].
pub fn load(path: &Path) -> Result<ValidatorSet, SetFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SetFileError::Read { path: path.to_owned(), source })?;
    parse(&text, path)
}

/// Parses and checks a validator-set file's text; `path` names it in errors.
///
/// # Errors
/// [`SetFileError::Syntax`], [`SetFileError::Empty`], [`SetFileError::Field`],
/// [`SetFileError::DuplicateId`], [`SetFileError::ZeroTotalPower`] or [`SetFileError::Invalid`].
pub fn parse(text: &str, path: &Path) -> Result<ValidatorSet, SetFileError> {
    let raw: RawSetFile =
        toml::from_str(text).map_err(|e| SetFileError::Syntax { path: path.to_owned(), message: e.to_string() })?;
    if raw.validator.is_empty() {
        return Err(SetFileError::Empty { path: path.to_owned() });
    }
    let mut entries = Vec::with_capacity(raw.validator.len());
    let mut seen: BTreeMap<ValidatorId, usize> = BTreeMap::new();
    for (index, validator) in raw.validator.into_iter().enumerate() {
        let entry = index + 1;
        let info = entry_info(validator).map_err(|(field, reason)| SetFileError::Field {
            path: path.to_owned(),
            entry,
            field,
            reason,
        })?;
        if let Some(&first) = seen.get(&info.id()) {
            return Err(SetFileError::DuplicateId { path: path.to_owned(), id: info.id(), first, second: entry });
        }
        seen.insert(info.id(), entry);
        entries.push(info);
    }
    // Checked before the set's own rules, which would name one zero-power validator and leave the
    // operator to find that all of them are.
    if entries.iter().all(|info| info.voting_power == 0) {
        return Err(SetFileError::ZeroTotalPower { path: path.to_owned() });
    }
    ValidatorSet::new(entries).map_err(|source| SetFileError::Invalid { path: path.to_owned(), source })
}

/// One entry, or the field that is wrong and why.
fn entry_info(raw: RawValidator) -> Result<ValidatorInfo, (&'static str, String)> {
    let encoded = hex::decode(raw.public_key.trim())
        .map_err(|e| ("public_key", format!("not hex ({e}): paste the public-key line `quorumnet keygen` printed")))?;
    let public_key = PublicKey::from_encoded(&encoded).map_err(|e| ("public_key", e.to_string()))?;
    let id: ValidatorId = raw
        .id
        .trim()
        .parse()
        .map_err(|e| ("id", format!("{e}: paste the validator-id line `quorumnet keygen` printed")))?;
    if id != public_key.validator_id() {
        return Err((
            "id",
            format!(
                "{id} is not the id of this entry's public key ({}): copy both from one key",
                public_key.validator_id()
            ),
        ));
    }
    let addresses = raw
        .addresses
        .iter()
        .map(|text| text.parse::<PeerAddress>().map_err(|e| ("addresses", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidatorInfo::new(public_key, raw.power).with_addresses(addresses))
}
