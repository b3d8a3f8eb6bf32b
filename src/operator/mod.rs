//! What an operator runs: `quorumnet keygen`, `quorumnet transports`, `quorumnet node` (one
//! validator as its own process) and `quorumnet relay` (a relay for validators behind NAT).
//!
//! ```text
//! quorumnet keygen --out validator.key      # prints validator-id: … and public-key: …
//! quorumnet transports                      # the address schemes this build can listen and dial on
//! quorumnet node --config node.toml         # runs until SIGTERM or ctrl-c
//! quorumnet relay --config relay.toml       # likewise; prints started relay=… listen=…
//! ```
//!
//! A node is configured by two TOML files: its own [`node.toml`](config) (key file, chain, listen
//! addresses, log filter, preset) and the [validator-set file](validator_set_file) every validator of
//! the chain shares (each validator's id, public key, voting power and dial addresses). Every mistake
//! in either is reported before the node starts, as a [`ConfigError`] naming the field and the fix,
//! and the process exits non-zero.
//!
//! # Guarantees
//! - The key file is read only if no other user can read it, and `keygen` never replaces one unless
//!   told to (`--force`, which swaps the file whole: never a half-written key).
//! - SIGTERM or ctrl-c stops the node cleanly: every connection is closed (each link flushing for at
//!   most its close timeout), the engine ends, its journal is synced and closed, and the process
//!   exits 0.
//! - What the node commits is printed on stdout, one [line per height](output), as it commits.
//! - With `metrics` set, the address is bound before the node starts (a busy port is a config error
//!   naming `metrics`) and Prometheus metrics are served there until the node (or relay) has shut
//!   down ([`metrics`]).
//! - The engine's [journal] is on disk: every round the validator signs in is synced before the
//!   signed message is sent, so a validator killed at any point (SIGKILL included) and restarted
//!   resumes at its chain's tip, in the round after the last it signed in, honouring its lock, and
//!   catches up the heights it missed from the others.
//!
//! # Non-guarantees (yet)
//! - The journal keeps every committed height, in the file (some 90 bytes each, plus some 30 per
//!   signed round) and in memory for the process's life; nothing prunes it yet.
//! - The validator set is the file's, fixed for the process's life.
//!
//! # Pieces
//! - [`keygen`]: `quorumnet keygen`; [`transports`]: `quorumnet transports`.
//! - [`config`]: `node.toml` into a typed [`NodeFileConfig`]; [`config_error`]: what can be wrong.
//! - [`validator_set_file`]: the shared set file into a [`ValidatorSet`](crate::validator::ValidatorSet).
//! - [`preset`]: the node and engine timer presets a config picks by name.
//! - [`config_fields`]: the fields `node.toml` and `relay.toml` share, parsed one way for both.
//! - [`journal`]: the validator's journal file, which `node` resumes from and writes through to.
//! - [`node`]: `quorumnet node`; [`shutdown`]: the signals that stop it; [`output`]: what it prints;
//!   [`process`]: the runtime and errors it shares with `relay`.
//! - [`metrics`]: the Prometheus endpoint and what a node exposes through it.
//! - [`relay`]: `quorumnet relay` and its `relay.toml`; a node reaches it through `relays`.

pub mod config;
pub mod config_error;
pub mod config_fields;
pub mod journal;
pub mod keygen;
pub mod metrics;
pub mod node;
pub mod output;
pub mod preset;
pub mod process;
pub mod relay;
pub mod shutdown;
pub mod transports;
pub mod validator_set_file;

pub use config::NodeFileConfig;
pub use config_error::{ConfigError, FieldProblem};
pub use config_fields::ConfigFormat;
pub use keygen::KeygenArgs;
pub use node::NodeArgs;
pub use preset::Preset;
pub use relay::{RelayArgs, RelayFileConfig};
pub use validator_set_file::SetFileError;
