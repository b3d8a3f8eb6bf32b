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
//!   most its close timeout), the engine ends, and the process exits 0.
//! - What the node commits is printed on stdout, one [line per height](output), as it commits.
//!
//! # Non-guarantees (yet)
//! - The engine's journal lives in memory: a restarted validator starts from height 1 and catches up
//!   from the others, and — because it no longer knows which rounds it signed in — may sign a second,
//!   different vote for a round it voted in before the crash, which its peers prove as an
//!   equivocation. Do not restart a validator into a running chain until the journal is on disk.
//!   It also keeps every committed height (some 100 bytes each) for the process's life.
//! - `metrics` is parsed and validated, but no metrics are served (by `node` or `relay`).
//! - The validator set is the file's, fixed for the process's life.
//!
//! # Pieces
//! - [`keygen`]: `quorumnet keygen`; [`transports`]: `quorumnet transports`.
//! - [`config`]: `node.toml` into a typed [`NodeFileConfig`]; [`config_error`]: what can be wrong.
//! - [`validator_set_file`]: the shared set file into a [`ValidatorSet`](crate::validator::ValidatorSet).
//! - [`preset`]: the node and engine timer presets a config picks by name.
//! - [`config_fields`]: the fields `node.toml` and `relay.toml` share, parsed one way for both.
//! - [`node`]: `quorumnet node`; [`shutdown`]: the signals that stop it; [`output`]: what it prints;
//!   [`process`]: the runtime and errors it shares with `relay`.
//! - [`relay`]: `quorumnet relay` and its `relay.toml`; a node reaches it through `relays`.

pub mod config;
pub mod config_error;
pub mod config_fields;
pub mod keygen;
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
