//! What can be wrong with a `node.toml` or a `relay.toml`, each cause naming the field and what to
//! write instead.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::identity::key_file::KeyFileError;
use crate::identity::ValidatorId;
use crate::transport::{PeerAddress, TransportError};

use super::journal::JournalFileError;
use super::validator_set_file::SetFileError;

/// A `node.toml` the node (or a `relay.toml` the relay) cannot start from.
///
/// ```
/// use quorumnet::operator::{ConfigError, ConfigFormat as _, NodeFileConfig};
///
/// let error = NodeFileConfig::parse("key_file = 1", "node.toml".as_ref()).unwrap_err();
/// assert!(matches!(error, ConfigError::Syntax { .. }));
/// assert!(error.to_string().contains("key_file"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read the config file {}: {source} (pass --config the path of the config file)", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not TOML, or a field unknown, missing or of the wrong type: the parser's message names the
    /// field and the line.
    #[error("config file {}: {message}", path.display())]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// The TOML parser's message.
        message: String,
    },
    /// A field's value the node or relay cannot use.
    #[error("config file {}: field `{field}`: {problem}", path.display())]
    Field {
        /// The config file.
        path: PathBuf,
        /// The field, as spelt in the file.
        field: &'static str,
        /// What is wrong with it, and the fix.
        problem: FieldProblem,
    },
}

impl ConfigError {
    /// The field at fault, when the error is about one field's value.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ConfigError::Field { field, .. } => Some(field),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }
}

/// What is wrong with one field's value.
#[derive(Debug, thiserror::Error)]
pub enum FieldProblem {
    /// `key_file` names no file.
    #[error("no key file at {}: create one with `quorumnet keygen --out {}`", path.display(), path.display())]
    KeyFileMissing {
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// The key file is readable by others, or not a valid key file.
    #[error(transparent)]
    KeyFile(KeyFileError),
    /// Neither `network` nor `chain_id` is set.
    #[error("the chain is not set: set `network = \"<name>\"` (chain id = BLAKE3 of the name) or `chain_id = \"<64 hex digits>\"`")]
    ChainUnset,
    /// Both `network` and `chain_id` are set, which could disagree.
    #[error("both `network` and `chain_id` are set: keep one of them")]
    ChainTwice,
    /// `chain_id` is not 32 bytes of hex.
    #[error("{value:?} is not a chain id: {reason}; or set `network` to the chain's name instead")]
    ChainId {
        /// The value given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A value that is not `scheme://rest`.
    #[error("{0}")]
    Address(String),
    /// An address whose scheme no linked transport serves.
    #[error("no transport for {address} in this build (linked: {linked}): use one of those schemes, or build quorumnet with the Cargo feature of that transport (`quorumnet transports` lists what is linked)")]
    UnknownScheme {
        /// The address.
        address: PeerAddress,
        /// The schemes that are linked.
        linked: String,
    },
    /// Neither `listen` nor `relays` gives the node an address to be reached at.
    #[error("no address to listen on: add one, e.g. listen = [\"tcp-noise://0.0.0.0:7000\"], or for a node behind NAT a relay to be reached through, e.g. relays = [\"tcp-noise://relay.example:7100\"]")]
    NoListen,
    /// A relay's `listen` is empty.
    #[error("no address to listen on: add one, e.g. listen = [\"tcp-noise://0.0.0.0:7100\"]")]
    NoRelayListen,
    /// A relay's address that is itself relayed.
    #[error("{address} is a relayed address, but a relay is reached directly: give the relay's own address (what `quorumnet relay` printed after `listen=`), e.g. \"tcp-noise://relay.example:7100\"")]
    Relayed {
        /// The address.
        address: PeerAddress,
    },
    /// A relay did not take the node's reservation.
    #[error("cannot hold a reservation at the relay {relay}: {reason}; start `quorumnet relay` there first, with this node in its validator set and on the same network")]
    RelayUnreachable {
        /// The relay's address.
        relay: PeerAddress,
        /// The relayed transport's error.
        reason: String,
    },
    /// A relay limit of zero, which would refuse all service.
    #[error("0 would refuse every validator: leave it out for the default ({default}), or set at least 1")]
    ZeroLimit {
        /// Its default.
        default: String,
    },
    /// Another socket holds a listen address.
    #[error("{address} is already in use: stop the process listening there, or choose a free port")]
    AddressInUse {
        /// The address.
        address: PeerAddress,
    },
    /// Listening failed for another reason (no such local address, no permission for the port…).
    #[error("cannot listen on {address}: {reason}; listen on an address of this machine, on a port above 1023 unless privileged")]
    Listen {
        /// The address.
        address: PeerAddress,
        /// The transport's error.
        reason: String,
    },
    /// `log` is not a tracing filter.
    #[error("{value:?} is not a log filter ({reason}): write e.g. \"info\" or \"info,quorumnet_core::node=debug\"")]
    LogFilter {
        /// The value given.
        value: String,
        /// The filter parser's message.
        reason: String,
    },
    /// `metrics` is not `host:port`.
    #[error("{value:?} is not a socket address ({reason}): write ip:port, e.g. \"127.0.0.1:9100\"")]
    Metrics {
        /// The value given.
        value: String,
        /// The parser's message.
        reason: String,
    },
    /// Another socket holds the `metrics` address.
    #[error("{address} is already in use: stop the process listening there, or choose a free port")]
    MetricsInUse {
        /// The address.
        address: SocketAddr,
    },
    /// Binding the `metrics` address failed for another reason (not an address of this machine, no
    /// permission for the port…).
    #[error("cannot serve metrics on {address}: {reason}; use an address of this machine, on a port above 1023 unless privileged")]
    MetricsBind {
        /// The address.
        address: SocketAddr,
        /// The operating system's error.
        reason: String,
    },
    /// The validator-set file is unreadable or invalid.
    #[error(transparent)]
    ValidatorSet(SetFileError),
    /// The journal file cannot be opened, is held by another node, or is damaged.
    #[error(transparent)]
    Journal(JournalFileError),
    /// The key is not one of the set's validators.
    #[error("this node's key ({id}) is not in the validator set file {}: add it to the set, or point `key_file` at a key the set lists", set.display())]
    NotInSet {
        /// The key's validator id.
        id: ValidatorId,
        /// The validator-set file.
        set: PathBuf,
    },
}

impl FieldProblem {
    /// The problem a failed listen on `address` is: in use, or another reason.
    pub fn listen_failed(address: PeerAddress, error: TransportError) -> FieldProblem {
        match error {
            TransportError::Io { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
                FieldProblem::AddressInUse { address }
            }
            other => FieldProblem::Listen { address, reason: other.to_string() },
        }
    }
}
