//! `node.toml`: one validator's configuration, parsed into a typed [`NodeFileConfig`].
//!
//! ```toml
//! key_file = "validator.key"            # written by `quorumnet keygen --out validator.key`
//! network = "my-chain"                  # chain id = BLAKE3 of the name; or chain_id = "<64 hex>"
//! validator_set = "validators.toml"     # see `validator_set_file`
//! listen = ["tcp-noise://0.0.0.0:7000"] # any linked transport's scheme (`quorumnet transports`)
//! log = "info"                          # tracing filter; RUST_LOG overrides it (default "info")
//! preset = "recommended"                # or "local" for one machine or a LAN (default "recommended")
//! relays = ["ws://relay.example:443"]   # parsed and checked; not dialled yet (default none)
//! metrics = "127.0.0.1:9100"            # Prometheus endpoint, GET /metrics (default none)
//! journal = "v0.journal"                # see `operator::journal` (default: <config name>.journal)
//! ```
//!
//! `journal` defaults to the config file's name with the extension `.journal`, beside it
//! (`v0.toml` → `v0.journal`): one file per validator even when several configs share a directory,
//! and a node that was given none still resumes after a crash — starting afresh is what could make
//! it sign a round twice.
//!
//! Relative paths are relative to the directory of the config file, so a directory holding a
//! node's files can be moved or started from anywhere. Unknown fields are errors: a misspelt field
//! never silently falls back to its default.
//!
//! [`NodeFileConfig::parse`] checks what the text alone can tell (syntax, addresses and their
//! schemes, the log filter, the metrics address); [`NodeFileConfig::load_key`] and
//! [`NodeFileConfig::load_validator_set`] check the files it names. Every error names the field.
//!
//! ```
//! use quorumnet::operator::NodeFileConfig;
//!
//! let text = r#"
//!     key_file = "validator.key"
//!     network = "my-chain"
//!     validator_set = "validators.toml"
//!     listen = ["tcp-noise://0.0.0.0:7000"]
//! "#;
//! let config = NodeFileConfig::parse(text, "/etc/quorumnet/node.toml".as_ref()).unwrap();
//! assert_eq!(config.key_file, std::path::Path::new("/etc/quorumnet/validator.key"));
//! assert_eq!(config.listen[0].scheme(), "tcp-noise");
//!
//! let error = NodeFileConfig::parse(&text.replace("tcp-noise://", "carrier-pigeon://"), "node.toml".as_ref());
//! assert_eq!(error.unwrap_err().field(), Some("listen"));
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

use super::config_error::{ConfigError, FieldProblem};
use super::journal::JournalFile;
use super::preset::Preset;
use super::transports;
use super::validator_set_file::{self, SetFileError};
use crate::devnet::journal::JournalState;
use crate::identity::key_file::{self, KeyFileError};
use crate::identity::{ChainId, Keypair};
use crate::transport::{find_plugin, PeerAddress};
use crate::validator::ValidatorSet;

/// The log filter when `log` is not set: start-up, connections lost and warnings, without per-message
/// noise.
pub const DEFAULT_LOG: &str = "info";

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodeConfig {
    key_file: PathBuf,
    network: Option<String>,
    chain_id: Option<String>,
    validator_set: PathBuf,
    listen: Vec<String>,
    log: Option<String>,
    #[serde(default)]
    preset: Preset,
    #[serde(default)]
    relays: Vec<String>,
    metrics: Option<String>,
    journal: Option<PathBuf>,
}

/// A parsed `node.toml`; see the [module documentation](self) for the fields.
#[derive(Clone, Debug)]
pub struct NodeFileConfig {
    /// The config file itself, named in errors.
    pub path: PathBuf,
    /// The validator's key file (resolved against the config file's directory).
    pub key_file: PathBuf,
    /// The chain.
    pub chain_id: ChainId,
    /// The validator-set file (resolved against the config file's directory).
    pub validator_set: PathBuf,
    /// Where to listen, at least one address, each on a linked transport.
    pub listen: Vec<PeerAddress>,
    /// The log filter's directives, checked to parse.
    pub log: String,
    /// The node's and engine's timers.
    pub preset: Preset,
    /// Relays to reserve a slot at, each on a linked transport (not dialled yet).
    pub relays: Vec<PeerAddress>,
    /// Where Prometheus metrics are served (`GET /metrics`), if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The validator's journal file (resolved against the config file's directory).
    pub journal: PathBuf,
}

impl NodeFileConfig {
    /// Reads and parses the config file at `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`], or as [`parse`](Self::parse).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// Parses a config file's text; `path` names it in errors and anchors relative paths.
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] for TOML or a field unknown, missing or mistyped;
    /// [`ConfigError::Field`] for a value the node cannot use.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawNodeConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax { path: path.to_owned(), message: e.to_string() })?;
        let field = |field, problem| ConfigError::Field { path: path.to_owned(), field, problem };
        let chain_id = match (raw.network, raw.chain_id) {
            (Some(name), None) => ChainId::from_network_name(&name),
            (None, Some(hex)) => hex.trim().parse().map_err(|e: crate::codec::bytes::HexError| {
                field("chain_id", FieldProblem::ChainId { value: hex.clone(), reason: e.to_string() })
            })?,
            (None, None) => return Err(field("network", FieldProblem::ChainUnset)),
            (Some(_), Some(_)) => return Err(field("chain_id", FieldProblem::ChainTwice)),
        };
        let listen = linked_addresses(&raw.listen).map_err(|problem| field("listen", problem))?;
        if listen.is_empty() {
            return Err(field("listen", FieldProblem::NoListen));
        }
        let relays = linked_addresses(&raw.relays).map_err(|problem| field("relays", problem))?;
        let log = raw.log.unwrap_or_else(|| DEFAULT_LOG.to_owned());
        if let Err(e) = EnvFilter::try_new(&log) {
            return Err(field("log", FieldProblem::LogFilter { value: log, reason: e.to_string() }));
        }
        let metrics = raw
            .metrics
            .map(|value| {
                value.parse().map_err(|e: std::net::AddrParseError| {
                    field("metrics", FieldProblem::Metrics { value: value.clone(), reason: e.to_string() })
                })
            })
            .transpose()?;
        let base = path.parent().unwrap_or(Path::new(""));
        let journal =
            raw.journal.unwrap_or_else(|| Path::new(path.file_name().unwrap_or_default()).with_extension("journal"));
        Ok(NodeFileConfig {
            path: path.to_owned(),
            key_file: base.join(raw.key_file),
            chain_id,
            validator_set: base.join(raw.validator_set),
            listen,
            log,
            preset: raw.preset,
            relays,
            metrics,
            journal: base.join(journal),
        })
    }

    /// Loads the validator's key from `key_file`.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for `key_file`: no file there, a file other users can read, or not a
    /// valid key file.
    pub fn load_key(&self) -> Result<Arc<Keypair>, ConfigError> {
        key_file::load(&self.key_file).map(Arc::new).map_err(|error| {
            let problem = match error {
                KeyFileError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                    FieldProblem::KeyFileMissing { path }
                }
                other => FieldProblem::KeyFile(other),
            };
            self.field_error("key_file", problem)
        })
    }

    /// Loads the validator set from `validator_set` and checks that `key` is one of its validators.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for `validator_set` (unreadable or invalid, see [`SetFileError`]), or
    /// for `key_file` when the key is not in the set.
    pub fn load_validator_set(&self, key: &Keypair) -> Result<ValidatorSet, ConfigError> {
        let set = validator_set_file::load(&self.validator_set)
            .map_err(|e: SetFileError| self.field_error("validator_set", FieldProblem::ValidatorSet(e)))?;
        if !set.contains(&key.validator_id()) {
            let problem = FieldProblem::NotInSet { id: key.validator_id(), set: self.validator_set.clone() };
            return Err(self.field_error("key_file", problem));
        }
        Ok(set)
    }

    /// Opens the journal file `journal` and reads the state the engine resumes from.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for `journal` (see [`JournalFileError`](super::journal::JournalFileError)).
    pub fn open_journal(&self) -> Result<(JournalFile, JournalState), ConfigError> {
        JournalFile::open(&self.journal).map_err(|e| self.field_error("journal", FieldProblem::Journal(e)))
    }

    /// An error about `field` of this config.
    pub fn field_error(&self, field: &'static str, problem: FieldProblem) -> ConfigError {
        ConfigError::Field { path: self.path.clone(), field, problem }
    }
}

/// `texts` as addresses, each with a linked transport for its scheme.
fn linked_addresses(texts: &[String]) -> Result<Vec<PeerAddress>, FieldProblem> {
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
        .collect()
}
