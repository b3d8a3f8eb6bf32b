use crate::codec::bytes::fixed_bytes_id;

fixed_bytes_id! {
    /// The 32-byte id of one network, bound into every handshake and every signature so that two
    /// networks never accept each other's traffic.
    ///
    /// ```
    /// use quorumnet_core::identity::ChainId;
    ///
    /// assert_ne!(ChainId::from_network_name("devnet"), ChainId::from_network_name("testnet"));
    /// ```
    ChainId
}

impl ChainId {
    /// The devnet convention: BLAKE3-256 of the UTF-8 network name.
    pub fn from_network_name(name: &str) -> Self {
        ChainId(*blake3::hash(name.as_bytes()).as_bytes())
    }
}
