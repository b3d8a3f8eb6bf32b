//! The timer presets a `node.toml` picks by name (`preset = "local"`), so an operator never tunes
//! twenty numbers: each names a [`NodeConfig`] and an [`EngineConfig`] preset of the same name.

use serde::Deserialize;

use crate::devnet::EngineConfig;
use crate::node::NodeConfig;

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
}
