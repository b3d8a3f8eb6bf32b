use std::sync::Arc;

use crate::identity::{ChainId, Keypair};

use super::{Admission, PeerAddress, Transport, TransportConfig, TransportError};

/// Everything a transport is built from.
#[derive(Clone, Debug)]
pub struct TransportContext {
    /// The local validator's key: it proves our identity in every handshake.
    pub keypair: Arc<Keypair>,
    /// The network: bound into every handshake, so two chains never connect.
    pub chain_id: ChainId,
    /// Which proven identities may connect (live).
    pub admission: Admission,
    /// Limits.
    pub config: TransportConfig,
}

/// A transport crate's registration: a binary links the crate (a Cargo feature of the facade) and can
/// then build the transport from an address's scheme at run time.
///
/// ```ignore
/// inventory::submit! {
///     quorumnet_core::transport::TransportPlugin {
///         scheme: "mytcp",
///         description: "TCP with a signed challenge",
///         build: |ctx| Ok(std::sync::Arc::new(MyTransport::new(ctx.clone()))),
///     }
/// }
/// ```
pub struct TransportPlugin {
    /// The address scheme served, without `://`.
    pub scheme: &'static str,
    /// One line for `--help` output and error messages.
    pub description: &'static str,
    /// Builds the transport.
    pub build: fn(&TransportContext) -> Result<Arc<dyn Transport>, TransportError>,
}

inventory::collect!(TransportPlugin);

/// Every plugin linked into this binary, ordered by scheme.
pub fn plugins() -> Vec<&'static TransportPlugin> {
    let mut all: Vec<_> = inventory::iter::<TransportPlugin>.into_iter().collect();
    all.sort_by_key(|p| p.scheme);
    all
}

/// The plugin serving `scheme`, if one is linked.
pub fn find_plugin(scheme: &str) -> Option<&'static TransportPlugin> {
    inventory::iter::<TransportPlugin>.into_iter().find(|p| p.scheme == scheme)
}

/// Builds the transport that serves `addr`'s scheme.
///
/// # Errors
/// [`TransportError::UnsupportedScheme`] naming the schemes that are available, or the plugin's own
/// construction error.
pub fn build_transport(addr: &PeerAddress, ctx: &TransportContext) -> Result<Arc<dyn Transport>, TransportError> {
    let plugin = find_plugin(addr.scheme()).ok_or_else(|| TransportError::UnsupportedScheme {
        scheme: addr.scheme().to_owned(),
        available: plugins().iter().map(|p| p.scheme).collect::<Vec<_>>().join(", "),
    })?;
    (plugin.build)(ctx)
}
