//! The fields `node.toml` and `relay.toml` share — key file, chain, validator-set file, addresses,
//! log filter, metrics address — parsed and loaded one way for both, each error naming its field.
//!
//! ```
//! use quorumnet::operator::config_fields::ConfigFile;
//!
//! let file = ConfigFile::new("/etc/quorumnet/relay.toml".as_ref());
//! assert_eq!(file.resolve("relay.key".as_ref()), std::path::Path::new("/etc/quorumnet/relay.key"));
//! assert_eq!(file.metrics(Some("localhost".into())).unwrap_err().field(), Some("metrics"));
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tracing_subscriber::EnvFilter;

use super::config_error::{ConfigError, FieldProblem};
use super::transports;
use super::validator_set_file::{self, SetFileError};
use crate::identity::key_file::{self, KeyFileError};
use crate::identity::{ChainId, Keypair};
use crate::transport::{find_plugin, PeerAddress};
use crate::validator::ValidatorSet;

/// The log filter when `log` is not set: start-up, connections lost and warnings, without per-message
/// noise.
pub const DEFAULT_LOG: &str = "info";

/// A config file's format (`node.toml`, `relay.toml`): how its text becomes the typed config, and
/// what every format does alike — reading, key loading, errors naming a field.
pub trait ConfigFormat: Sized {
    /// The typed config from the file's `text`; `file` names it in errors and anchors relative paths.
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] for TOML or a field unknown, missing or mistyped;
    /// [`ConfigError::Field`] for a value the process cannot use.
    fn from_text(text: &str, file: ConfigFile<'_>) -> Result<Self, ConfigError>;

    /// The config file itself, named in errors.
    fn config_path(&self) -> &Path;

    /// The key file (resolved against the config file's directory).
    fn key_path(&self) -> &Path;

    /// Reads and parses the config file at `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`], or as [`from_text`](Self::from_text).
    fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = ConfigFile::new(path);
        Self::from_text(&file.read()?, file)
    }

    /// Parses a config file's text; `path` names it in errors and anchors relative paths.
    ///
    /// # Errors
    /// As [`from_text`](Self::from_text).
    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Self::from_text(text, ConfigFile::new(path))
    }

    /// Loads the key from the key file.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for `key_file`: no file there, a file other users can read, or not a
    /// valid key file.
    fn load_key(&self) -> Result<Arc<Keypair>, ConfigError> {
        ConfigFile::new(self.config_path()).load_key(self.key_path())
    }

    /// An error about `field` of this config.
    fn field_error(&self, field: &'static str, problem: FieldProblem) -> ConfigError {
        ConfigFile::new(self.config_path()).field(field, problem)
    }
}

/// One config file: what errors name, and where its relative paths start.
#[derive(Clone, Copy, Debug)]
pub struct ConfigFile<'a> {
    path: &'a Path,
}

impl<'a> ConfigFile<'a> {
    /// The config file at `path`.
    pub fn new(path: &'a Path) -> Self {
        ConfigFile { path }
    }

    /// The config file.
    pub fn path(self) -> &'a Path {
        self.path
    }

    /// The file's text.
    ///
    /// # Errors
    /// [`ConfigError::Read`].
    pub fn read(self) -> Result<String, ConfigError> {
        std::fs::read_to_string(self.path).map_err(|source| ConfigError::Read { path: self.path.to_owned(), source })
    }

    /// Parses `text` as TOML into `T` (`T` lists the fields, denying unknown ones).
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] for TOML or a field unknown, missing or mistyped.
    pub fn parse<T: DeserializeOwned>(self, text: &str) -> Result<T, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax { path: self.path.to_owned(), message: e.to_string() })
    }

    /// An error about `field` of this file.
    pub fn field(self, field: &'static str, problem: FieldProblem) -> ConfigError {
        ConfigError::Field { path: self.path.to_owned(), field, problem }
    }

    /// `path` (a field's value) against the config file's directory, so a directory holding a
    /// node's files can be moved or started from anywhere.
    pub fn resolve(self, path: &Path) -> PathBuf {
        self.path.parent().unwrap_or(Path::new("")).join(path)
    }

    /// The chain from `network` (a name) or `chain_id` (64 hex digits): exactly one of them.
    ///
    /// # Errors
    /// A [`ConfigError::Field`] for `network` (neither set) or `chain_id` (both, or not hex).
    pub fn chain(self, network: Option<String>, chain_id: Option<String>) -> Result<ChainId, ConfigError> {
        match (network, chain_id) {
            (Some(name), None) => Ok(ChainId::from_network_name(&name)),
            (None, Some(hex)) => hex.trim().parse().map_err(|e: crate::codec::bytes::HexError| {
                self.field("chain_id", FieldProblem::ChainId { value: hex.clone(), reason: e.to_string() })
            }),
            (None, None) => Err(self.field("network", FieldProblem::ChainUnset)),
            (Some(_), Some(_)) => Err(self.field("chain_id", FieldProblem::ChainTwice)),
        }
    }

    /// `texts` (the value of `field`) as addresses, each with a linked transport for its scheme.
    ///
    /// # Errors
    /// A [`ConfigError::Field`] for `field`: a value that is not an address, or a scheme no linked
    /// transport serves.
    pub fn addresses(self, field: &'static str, texts: &[String]) -> Result<Vec<PeerAddress>, ConfigError> {
        texts
            .iter()
            .map(|text| {
                let address: PeerAddress =
                    text.parse().map_err(|e: crate::transport::AddressError| FieldProblem::Address(e.to_string()))?;
                match find_plugin(address.scheme()) {
                    Some(_) => Ok(address),
                    None => Err(FieldProblem::UnknownScheme { address, linked: transports::schemes() }),
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|problem| self.field(field, problem))
    }

    /// As [`addresses`](Self::addresses), each reached directly: a relay's own address, never a
    /// `relay://` one (a relay is not reached through another).
    ///
    /// # Errors
    /// As [`addresses`](Self::addresses), and [`FieldProblem::Relayed`] for a `relay://` address.
    pub fn direct_addresses(self, field: &'static str, texts: &[String]) -> Result<Vec<PeerAddress>, ConfigError> {
        let addresses = self.addresses(field, texts)?;
        match addresses.iter().find(|a| a.scheme() == crate::relay::SCHEME) {
            Some(relayed) => Err(self.field(field, FieldProblem::Relayed { address: relayed.clone() })),
            None => Ok(addresses),
        }
    }

    /// The `log` filter, [`DEFAULT_LOG`] when unset.
    ///
    /// # Errors
    /// A [`ConfigError::Field`] for `log` when it is not a tracing filter.
    pub fn log(self, log: Option<String>) -> Result<String, ConfigError> {
        let log = log.unwrap_or_else(|| DEFAULT_LOG.to_owned());
        match EnvFilter::try_new(&log) {
            Ok(_) => Ok(log),
            Err(e) => Err(self.field("log", FieldProblem::LogFilter { value: log, reason: e.to_string() })),
        }
    }

    /// The `metrics` address, when set.
    ///
    /// # Errors
    /// A [`ConfigError::Field`] for `metrics` when it is not `ip:port`.
    pub fn metrics(self, metrics: Option<String>) -> Result<Option<SocketAddr>, ConfigError> {
        metrics
            .map(|value| {
                value.parse().map_err(|e: std::net::AddrParseError| {
                    self.field("metrics", FieldProblem::Metrics { value: value.clone(), reason: e.to_string() })
                })
            })
            .transpose()
    }

    /// Loads the key at `key_file` (the field's resolved value).
    ///
    /// # Errors
    /// A [`ConfigError::Field`] for `key_file`: no file there, a file other users can read, or not a
    /// valid key file.
    pub fn load_key(self, key_file: &Path) -> Result<Arc<Keypair>, ConfigError> {
        key_file::load(key_file).map(Arc::new).map_err(|error| {
            let problem = match error {
                KeyFileError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                    FieldProblem::KeyFileMissing { path }
                }
                other => FieldProblem::KeyFile(other),
            };
            self.field("key_file", problem)
        })
    }

    /// Loads the validator-set file at `validator_set` (the field's resolved value).
    ///
    /// # Errors
    /// A [`ConfigError::Field`] for `validator_set`, unreadable or invalid (see [`SetFileError`]).
    pub fn load_validator_set(self, validator_set: &Path) -> Result<ValidatorSet, ConfigError> {
        validator_set_file::load(validator_set)
            .map_err(|e: SetFileError| self.field("validator_set", FieldProblem::ValidatorSet(e)))
    }
}
