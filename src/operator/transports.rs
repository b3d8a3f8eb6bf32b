//! `quorumnet transports`: the transport plugins linked into this binary, read from the registry
//! ([`crate::transport::plugins`]) — so a transport crate added as a Cargo feature shows up here
//! without this command knowing it.
//!
//! ```
//! let linked = quorumnet::operator::transports::linked();
//! assert!(linked.iter().any(|t| t.scheme == "tcp-noise"));
//! assert!(quorumnet::operator::transports::table(&linked).contains("tcp-noise://"));
//! ```

use crate::transport::{plugins, TransportPlugin};

/// One linked transport, as listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkedTransport {
    /// The address scheme it serves, without `://`.
    pub scheme: &'static str,
    /// The plugin's one-line description.
    pub description: &'static str,
}

impl From<&TransportPlugin> for LinkedTransport {
    fn from(plugin: &TransportPlugin) -> Self {
        LinkedTransport { scheme: plugin.scheme, description: plugin.description }
    }
}

/// Every linked transport, ordered by scheme.
pub fn linked() -> Vec<LinkedTransport> {
    plugins().into_iter().map(LinkedTransport::from).collect()
}

/// The linked schemes, comma-separated, for error messages.
pub fn schemes() -> String {
    linked().iter().map(|t| t.scheme).collect::<Vec<_>>().join(", ")
}

/// One line per transport: `scheme://`, padded to a column, then the description.
pub fn table(transports: &[LinkedTransport]) -> String {
    let width = transports.iter().map(|t| t.scheme.len()).max().unwrap_or(0) + "://".len();
    transports.iter().map(|t| format!("{:<width$}  {}\n", format!("{}://", t.scheme), t.description)).collect()
}
