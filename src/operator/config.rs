//! `node.toml`: one validator's configuration, parsed into a typed [`NodeFileConfig`].
//!
//! ```toml
//! key_file = "validator.key"            # written by `quorumnet keygen --out validator.key`
//! network = "my-chain"                  # chain id = BLAKE3 of the name; or chain_id = "<64 hex>"
//! validator_set = "validators.toml"     # see `validator_set_file`
//! listen = ["tcp-noise://0.0.0.0:7000"] # any linked transport's scheme (`quorumnet transports`)
//! log = "info"                          # tracing filter; RUST_LOG overrides it (default "info")
//! preset = "recommended"                # or "local" for one machine or a LAN (default "recommended")
//! relays = ["ws://relay.example:443"]   # relays to be reached through (default none)
//! metrics = "127.0.0.1:9100"            # Prometheus endpoint, GET /metrics (default none)
//! journal = "v0.journal"                # see `operator::journal` (default: <config name>.journal)
//! ```
//!
//! `journal` defaults to the config file's name with the extension `.journal`, beside it
//! (`v0.toml` → `v0.journal`): one file per validator even when several configs share a directory,
//! and a node that was given none still resumes after a crash — starting afresh is what could make
//! it sign a round twice.
//!
//! # Behind NAT: `relays`
//! A node that others cannot dial lists one or more relays (each a `quorumnet relay`, at the address
//! it printed after `listen=`; reached directly, never through another relay) and may have no
//! `listen` at all. It holds a reservation at each relay before it starts — a relay that does not
//! answer, or refuses it, is an error naming `relays` — and is reachable as
//! `relay://<relay address>/<its validator id>` through each, which its `started` line prints. Its
//! entry in the validator-set file lists those addresses, so the others dial it through a relay (a
//! missing one is warned about at start). Every node dials `relay://` addresses of the set on its own;
//! the relay's identity is not configured: whoever answers at the relay's address carries the
//! circuits, which run the Noise channel end to end, so a wrong relay can refuse service but never
//! read or forge a message. A node needs `listen`, `relays` or both.
//!
//! Relative paths are relative to the directory of the config file, so a directory holding a
//! node's files can be moved or started from anywhere. Unknown fields are errors: a misspelt field
//! never silently falls back to its default.
//!
//! [`ConfigFormat::parse`] checks what the text alone can tell (syntax, addresses and their
//! schemes, the log filter, the metrics address); [`ConfigFormat::load_key`] and
//! [`NodeFileConfig::load_validator_set`] check the files it names. Every error names the field.
//!
//! ```
//! use quorumnet::operator::{ConfigFormat as _, NodeFileConfig};
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

use serde::Deserialize;

use super::config_error::{ConfigError, FieldProblem};
pub use super::config_fields::DEFAULT_LOG;
use super::config_fields::{ConfigFile, ConfigFormat};
use super::journal::JournalFile;
use super::preset::Preset;
use crate::devnet::journal::JournalState;
use crate::identity::{ChainId, Keypair};
use crate::transport::PeerAddress;
use crate::validator::ValidatorSet;

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodeConfig {
    key_file: PathBuf,
    network: Option<String>,
    chain_id: Option<String>,
    validator_set: PathBuf,
    #[serde(default)]
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
    /// Where to listen, each on a linked transport (none for a node reached only through relays).
    pub listen: Vec<PeerAddress>,
    /// The log filter's directives, checked to parse.
    pub log: String,
    /// The node's and engine's timers.
    pub preset: Preset,
    /// The relays to hold a reservation at, each reached directly on a linked transport: the node is
    /// reachable as `relay://<relay>/<its id>` through each ([`relayed_listen`](Self::relayed_listen)).
    pub relays: Vec<PeerAddress>,
    /// Where Prometheus metrics are served (`GET /metrics`), if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The validator's journal file (resolved against the config file's directory).
    pub journal: PathBuf,
}

impl NodeFileConfig {
    fn from_raw(raw: RawNodeConfig, file: ConfigFile<'_>) -> Result<Self, ConfigError> {
        let chain_id = file.chain(raw.network, raw.chain_id)?;
        let listen = file.addresses("listen", &raw.listen)?;
        let relays = file.direct_addresses("relays", &raw.relays)?;
        if listen.is_empty() && relays.is_empty() {
            return Err(file.field("listen", FieldProblem::NoListen));
        }
        let journal = raw
            .journal
            .unwrap_or_else(|| Path::new(file.path().file_name().unwrap_or_default()).with_extension("journal"));
        Ok(NodeFileConfig {
            path: file.path().to_owned(),
            key_file: file.resolve(&raw.key_file),
            chain_id,
            validator_set: file.resolve(&raw.validator_set),
            listen,
            log: file.log(raw.log)?,
            preset: raw.preset,
            relays,
            metrics: file.metrics(raw.metrics)?,
            journal: file.resolve(&journal),
        })
    }

    /// Loads the validator set from `validator_set` and checks that `key` is one of its validators.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for `validator_set` (unreadable or invalid, see
    /// [`SetFileError`](super::SetFileError)), or for `key_file` when the key is not in the set.
    pub fn load_validator_set(&self, key: &Keypair) -> Result<ValidatorSet, ConfigError> {
        let set = ConfigFile::new(&self.path).load_validator_set(&self.validator_set)?;
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

    /// What the node listens on through its relays, `relay://<relay>` each: the relayed transport
    /// holds a reservation there and reports the full `relay://<relay>/<id>` as the listen address.
    pub fn relayed_listen(&self) -> Vec<PeerAddress> {
        self.relays.iter().map(relay_listen_address).collect()
    }
}

impl ConfigFormat for NodeFileConfig {
    fn from_text(text: &str, file: ConfigFile<'_>) -> Result<Self, ConfigError> {
        Self::from_raw(file.parse(text)?, file)
    }

    fn config_path(&self) -> &Path {
        &self.path
    }

    fn key_path(&self) -> &Path {
        &self.key_file
    }
}

/// `relay://<relay>`, the bare listen form of a relayed address.
fn relay_listen_address(relay: &PeerAddress) -> PeerAddress {
    PeerAddress::new(crate::relay::SCHEME, relay.as_str()).expect("a relay:// around a valid address is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "key_file = \"v.key\"\nnetwork = \"n\"\nvalidator_set = \"validators.toml\"\n";

    fn parse(extra: &str) -> Result<NodeFileConfig, ConfigError> {
        NodeFileConfig::parse(&format!("{BASE}{extra}"), "node.toml".as_ref())
    }

    #[test]
    fn a_node_behind_nat_needs_no_listen_and_listens_through_each_relay() {
        let config = parse("relays = [\"tcp-noise://10.0.0.1:7100\", \"mem://relay-1\"]\n").unwrap();
        assert!(config.listen.is_empty());
        let relayed: Vec<String> = config.relayed_listen().iter().map(|a| a.as_str().to_owned()).collect();
        assert_eq!(relayed, ["relay://tcp-noise://10.0.0.1:7100", "relay://mem://relay-1"]);
    }

    #[test]
    fn neither_listen_nor_relays_names_listen() {
        assert_eq!(parse("").unwrap_err().field(), Some("listen"));
        assert_eq!(parse("listen = []\nrelays = []\n").unwrap_err().field(), Some("listen"));
    }

    #[test]
    fn a_relayed_relay_address_names_relays() {
        let id = "ab".repeat(32);
        let error = parse(&format!("relays = [\"relay://tcp-noise://10.0.0.1:7100/{id}\"]\n")).unwrap_err();
        assert_eq!(error.field(), Some("relays"));
        assert!(error.to_string().contains("reached directly"), "{error}");
    }
}
