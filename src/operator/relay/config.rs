//! `relay.toml`: one relay's configuration, parsed into a typed [`RelayFileConfig`].
//!
//! ```toml
//! key_file = "relay.key"                 # the relay's identity: `quorumnet keygen --out relay.key`
//! network = "my-chain"                   # the chain it serves; or chain_id = "<64 hex>"
//! validator_set = "validators.toml"      # the validators it admits (the node's set file)
//! listen = ["tcp-noise://0.0.0.0:7100"]  # any linked transport's scheme but `relay`
//! log = "info"                           # tracing filter; RUST_LOG overrides it (default "info")
//! preset = "recommended"                 # "local": 5-minute reservations, local transport timers
//! metrics = "127.0.0.1:9101"             # Prometheus endpoint, GET /metrics (default none)
//!
//! [limits]                               # each optional, defaulting to the preset's RelayConfig
//! reservation_lifetime_secs = 3600       # clients renew at half of it
//! max_reservations = 256
//! max_circuits = 65536
//! max_circuits_per_peer = 512
//! circuit_byte_limit = 68719476736       # bytes per circuit, both directions together
//! circuit_time_limit_secs = 86400
//! link_queue_frames = 256
//! ```
//!
//! A relay needs an identity like a validator (the Noise channel of its links proves one), but it is
//! not in the validator set: it admits the set's validators, so only they hold reservations and open
//! circuits. Relative paths are relative to the config file's directory; unknown fields are errors;
//! a limit of 0 is refused (it would refuse every validator). Every error names the field.
//!
//! ```
//! use quorumnet::operator::relay::RelayFileConfig;
//! use quorumnet::operator::ConfigFormat as _;
//!
//! let text = r#"
//!     key_file = "relay.key"
//!     network = "my-chain"
//!     validator_set = "validators.toml"
//!     listen = ["tcp-noise://0.0.0.0:7100"]
//!     [limits]
//!     max_circuits = 1024
//! "#;
//! let config = RelayFileConfig::parse(text, "/etc/quorumnet/relay.toml".as_ref()).unwrap();
//! assert_eq!(config.key_file, std::path::Path::new("/etc/quorumnet/relay.key"));
//! assert_eq!(config.limits.max_circuits, 1024);
//!
//! let error = RelayFileConfig::parse(&text.replace("1024", "0"), "relay.toml".as_ref()).unwrap_err();
//! assert_eq!(error.field(), Some("limits.max_circuits"));
//! ```

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::identity::ChainId;
use crate::operator::config_error::{ConfigError, FieldProblem};
use crate::operator::config_fields::{ConfigFile, ConfigFormat};
use crate::operator::Preset;
use crate::relay::RelayConfig;
use crate::transport::PeerAddress;
use crate::validator::ValidatorSet;

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelayConfig {
    key_file: PathBuf,
    network: Option<String>,
    chain_id: Option<String>,
    validator_set: PathBuf,
    listen: Vec<String>,
    log: Option<String>,
    #[serde(default)]
    preset: Preset,
    metrics: Option<String>,
    #[serde(default)]
    limits: RawLimits,
}

/// `[limits]` as written: each unset one keeps the preset's value.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    reservation_lifetime_secs: Option<u64>,
    max_reservations: Option<usize>,
    max_circuits: Option<usize>,
    max_circuits_per_peer: Option<usize>,
    circuit_byte_limit: Option<u64>,
    circuit_time_limit_secs: Option<u64>,
    link_queue_frames: Option<usize>,
}

/// A parsed `relay.toml`; see the [module documentation](self) for the fields.
#[derive(Clone, Debug)]
pub struct RelayFileConfig {
    /// The config file itself, named in errors.
    pub path: PathBuf,
    /// The relay's key file (resolved against the config file's directory).
    pub key_file: PathBuf,
    /// The chain whose validators it serves.
    pub chain_id: ChainId,
    /// The validator-set file (resolved against the config file's directory).
    pub validator_set: PathBuf,
    /// Where to listen, at least one address, each on a linked transport and none relayed. Each is
    /// a relay of its own: a validator is reached through the address it holds its reservation at.
    pub listen: Vec<PeerAddress>,
    /// The log filter's directives, checked to parse.
    pub log: String,
    /// The transport's timers (and the limits' defaults).
    pub preset: Preset,
    /// The limits the relay enforces.
    pub limits: RelayConfig,
    /// Where metrics will be served (not yet).
    pub metrics: Option<SocketAddr>,
}

impl RelayFileConfig {
    fn from_raw(raw: RawRelayConfig, file: ConfigFile<'_>) -> Result<Self, ConfigError> {
        let chain_id = file.chain(raw.network, raw.chain_id)?;
        let listen = file.direct_addresses("listen", &raw.listen)?;
        if listen.is_empty() {
            return Err(file.field("listen", FieldProblem::NoRelayListen));
        }
        Ok(RelayFileConfig {
            path: file.path().to_owned(),
            key_file: file.resolve(&raw.key_file),
            chain_id,
            validator_set: file.resolve(&raw.validator_set),
            listen,
            log: file.log(raw.log)?,
            preset: raw.preset,
            limits: limits(file, raw.limits, raw.preset.relay_config())?,
            metrics: file.metrics(raw.metrics)?,
        })
    }

    /// Loads the validators the relay serves from `validator_set`.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for `validator_set`, unreadable or invalid.
    pub fn load_validator_set(&self) -> Result<ValidatorSet, ConfigError> {
        ConfigFile::new(&self.path).load_validator_set(&self.validator_set)
    }
}

impl ConfigFormat for RelayFileConfig {
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

/// `base` with `raw`'s limits set.
fn limits(file: ConfigFile<'_>, raw: RawLimits, base: RelayConfig) -> Result<RelayConfig, ConfigError> {
    let secs = |field, value, default: Duration| limit(file, field, value, default.as_secs()).map(Duration::from_secs);
    Ok(RelayConfig {
        reservation_lifetime: secs(
            "limits.reservation_lifetime_secs",
            raw.reservation_lifetime_secs,
            base.reservation_lifetime,
        )?,
        max_reservations: limit(file, "limits.max_reservations", raw.max_reservations, base.max_reservations)?,
        max_circuits: limit(file, "limits.max_circuits", raw.max_circuits, base.max_circuits)?,
        max_circuits_per_peer: limit(
            file,
            "limits.max_circuits_per_peer",
            raw.max_circuits_per_peer,
            base.max_circuits_per_peer,
        )?,
        circuit_byte_limit: limit(file, "limits.circuit_byte_limit", raw.circuit_byte_limit, base.circuit_byte_limit)?,
        circuit_time_limit: secs(
            "limits.circuit_time_limit_secs",
            raw.circuit_time_limit_secs,
            base.circuit_time_limit,
        )?,
        link_queue_frames: limit(file, "limits.link_queue_frames", raw.link_queue_frames, base.link_queue_frames)?,
    })
}

/// `value`, or `default` when unset; a zero is refused.
fn limit<T: Default + PartialEq + Display>(
    file: ConfigFile<'_>,
    field: &'static str,
    value: Option<T>,
    default: T,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) if value == T::default() => {
            Err(file.field(field, FieldProblem::ZeroLimit { default: default.to_string() }))
        }
        Some(value) => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
        key_file = "relay.key"
        network = "relay-test"
        validator_set = "validators.toml"
        listen = ["tcp-noise://127.0.0.1:7100"]
    "#;

    fn parse(text: &str) -> Result<RelayFileConfig, ConfigError> {
        RelayFileConfig::parse(text, "/srv/relay/relay.toml".as_ref())
    }

    fn refused_field(text: &str) -> Option<&'static str> {
        parse(text).expect_err("the config was accepted").field()
    }

    #[test]
    fn a_minimal_config_takes_the_recommended_limits_and_resolves_paths_beside_it() {
        let config = parse(VALID).unwrap();
        assert_eq!(config.limits, RelayConfig::recommended());
        assert_eq!(config.key_file, Path::new("/srv/relay/relay.key"));
        assert_eq!(config.validator_set, Path::new("/srv/relay/validators.toml"));
        assert_eq!(config.chain_id, ChainId::from_network_name("relay-test"));
        assert_eq!(config.log, crate::operator::config::DEFAULT_LOG);
        assert_eq!(config.metrics, None);
    }

    #[test]
    fn limits_change_single_fields_of_the_preset() {
        let text = format!(
            "{VALID}preset = \"local\"\nmetrics = \"127.0.0.1:9101\"\n[limits]\nmax_circuits = 10\ncircuit_time_limit_secs = 60\n"
        );
        let config = parse(&text).unwrap();
        let expected =
            RelayConfig { max_circuits: 10, circuit_time_limit: Duration::from_secs(60), ..RelayConfig::local() };
        assert_eq!(config.limits, expected);
        assert_eq!(config.metrics, Some("127.0.0.1:9101".parse().unwrap()));
    }

    #[test]
    fn a_zero_limit_names_it_and_gives_the_default() {
        let error = parse(&format!("{VALID}[limits]\nreservation_lifetime_secs = 0\n")).unwrap_err();
        assert_eq!(error.field(), Some("limits.reservation_lifetime_secs"));
        assert!(error.to_string().contains("3600"), "{error}");
    }

    #[test]
    fn an_unknown_limit_is_a_syntax_error_naming_it() {
        let error = parse(&format!("{VALID}[limits]\nmax_circuit = 5\n")).unwrap_err();
        assert!(matches!(error, ConfigError::Syntax { .. }) && error.to_string().contains("max_circuit"), "{error}");
    }

    #[test]
    fn listen_must_name_a_linked_direct_transport() {
        assert_eq!(refused_field(&VALID.replace("tcp-noise://", "carrier-pigeon://")), Some("listen"));
        assert_eq!(refused_field(&VALID.replace("tcp-noise://", "relay://tcp-noise://")), Some("listen"));
        assert_eq!(refused_field(&VALID.replace(r#"["tcp-noise://127.0.0.1:7100"]"#, "[]")), Some("listen"));
    }

    #[test]
    fn the_shared_fields_are_checked_as_for_a_node() {
        assert_eq!(refused_field(&VALID.replace("network = \"relay-test\"", "")), Some("network"));
        assert_eq!(refused_field(&format!("{VALID}chain_id = \"00\"\n")), Some("chain_id"));
        assert_eq!(refused_field(&format!("{VALID}log = \"quorumnet=loud\"\n")), Some("log"));
        assert_eq!(refused_field(&format!("{VALID}metrics = \"localhost\"\n")), Some("metrics"));
    }

    #[test]
    fn a_missing_key_file_names_key_file_and_says_to_run_keygen() {
        let error = parse(VALID).unwrap().load_key().unwrap_err();
        assert_eq!(error.field(), Some("key_file"));
        assert!(error.to_string().contains("quorumnet keygen --out /srv/relay/relay.key"), "{error}");
    }
}
