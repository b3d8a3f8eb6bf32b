use crate::codec::bytes::fixed_bytes_id;

fixed_bytes_id! {
    /// A validator's identity: BLAKE3-256 of its public key encoding (algorithm byte + raw key).
    ///
    /// Printed as 64 lowercase hex digits; a CBOR `bstr(32)` on the wire.
    ///
    /// ```
    /// use quorumnet_core::identity::{Keypair, ValidatorId};
    ///
    /// let key = Keypair::from_seed(&[3; 32]);
    /// let id = key.validator_id();
    /// assert_eq!(id, ValidatorId::of_public_key(key.public_key().encoded()));
    /// assert_eq!(id.to_string().parse::<ValidatorId>().unwrap(), id);
    /// ```
    ValidatorId
}

impl ValidatorId {
    /// The id of a public key, given its wire encoding.
    pub fn of_public_key(encoded: &[u8]) -> Self {
        ValidatorId(*blake3::hash(encoded).as_bytes())
    }

    /// The id's first four bytes as a number: ids are hashes, so these spread evenly over validators
    /// (and no validator picks its own), for staggering per-validator timers.
    pub fn spread(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}
