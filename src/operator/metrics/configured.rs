//! The `metrics` field of a config file (`node.toml`, `relay.toml`) made an endpoint: bound before
//! the process joins the network, so a busy port is a config error naming the field.

use std::net::SocketAddr;

use super::server::MetricsServer;
use crate::operator::config_error::{ConfigError, FieldProblem};
use crate::operator::config_fields::ConfigFormat;

/// Binds `address` (the `metrics` field of `config`), if set.
///
/// # Errors
/// [`ConfigError::Field`] for `metrics`: the address is in use, or cannot be bound.
pub async fn bind(
    config: &impl ConfigFormat,
    address: Option<SocketAddr>,
) -> Result<Option<MetricsServer>, ConfigError> {
    let Some(address) = address else { return Ok(None) };
    MetricsServer::bind(address).await.map(Some).map_err(|error| {
        let problem = if error.kind() == std::io::ErrorKind::AddrInUse {
            FieldProblem::MetricsInUse { address }
        } else {
            FieldProblem::MetricsBind { address, reason: error.to_string() }
        };
        config.field_error("metrics", problem)
    })
}
