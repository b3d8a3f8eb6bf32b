//! The transport plugin API: what every transport — ours and third parties' — implements (DESIGN.md §3).

mod address;

pub use address::{AddressError, PeerAddress};
