//! The timer presets a `node.toml` or `relay.toml` picks by name (`preset = "local"`), so an operator
//! never tunes twenty numbers: each names a [`NodeConfig`], an [`EngineConfig`] and a [`RelayConfig`]
//! preset of the same name.

use serde::Deserialize;

use crate::devnet::EngineConfig;
use crate::node::NodeConfig;
use crate::relay::RelayConfig;

/// A node's and its engine's timers.
///
/// ```
/// use quorumnet::operator::Preset;
///
/// assert_eq!(Preset::default(), Preset::Recommended);
/// let local = Preset::Local.node_config();
/// assert!(local.reconnect_backoff_min < Preset::Recommended.node_config().reconnect_backoff_min);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Production validators across a WAN: [`NodeConfig::recommended`] and
    /// [`EngineConfig::recommended`] (Tendermint's timeouts as the floor).
    #[default]
    Recommended,
    /// Validators on one machine or a LAN: [`NodeConfig::local`] and [`EngineConfig::local`]
    /// (millisecond reconnects, sub-second rounds).
    Local,
}

impl Preset {
    /// The node's configuration.
    pub fn node_config(self) -> NodeConfig {
        match self {
            Preset::Recommended => NodeConfig::recommended(),
            Preset::Local => NodeConfig::local(),
        }
    }

    /// The reference engine's configuration.
    pub fn engine_config(self) -> EngineConfig {
        match self {
            Preset::Recommended => EngineConfig::recommended(),
            Preset::Local => EngineConfig::local(),
        }
    }

    /// A relay's limits, before a `relay.toml`'s `[limits]` change single ones.
    pub fn relay_config(self) -> RelayConfig {
        match self {
            Preset::Recommended => RelayConfig::recommended(),
            Preset::Local => RelayConfig::local(),
        }
    }
}
