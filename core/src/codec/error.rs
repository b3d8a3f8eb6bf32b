/// Why bytes from the network could not be decoded. Every variant names what was wrong; none of them
/// is ever a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A length prefix of zero: empty frames are a protocol violation.
    #[error("frame length prefix is 0: empty frames are a protocol violation")]
    EmptyFrame,
    /// A length prefix above the configured limit, refused before allocating.
    #[error("frame length prefix {len} exceeds the {limit}-byte frame limit")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The input ended inside a CBOR item or a frame.
    #[error("truncated {what}: the input ends before the item does")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
    },
    /// Bytes that are not well-formed CBOR.
    #[error("invalid CBOR in {what} at byte {offset}")]
    InvalidCbor {
        /// What was being decoded.
        what: &'static str,
        /// Where the malformed item starts.
        offset: usize,
    },
    /// Well-formed CBOR that does not have the shape of the expected type: a wrong type (an array where
    /// a byte string belongs), a missing field, an unknown enum variant, a wrong-length id, an invalid key.
    #[error("{what} does not match its wire schema at byte {offset:?}: {reason}")]
    Schema {
        /// What was being decoded.
        what: &'static str,
        /// Where, if ciborium knows.
        offset: Option<usize>,
        /// ciborium's or our validation's description, naming the expected type or field.
        reason: String,
    },
    /// CBOR nested deeper than ciborium's recursion limit.
    #[error("{what} nests CBOR deeper than the recursion limit")]
    TooDeep {
        /// What was being decoded.
        what: &'static str,
    },
    /// Bytes left over after one complete CBOR item.
    #[error("{trailing} bytes left over after the {what}")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        trailing: usize,
    },
    /// An envelope's `ttl` above 255.
    #[error("ttl {0} is above 255: a protocol violation")]
    TtlOutOfRange(u64),
    /// A `Part` frame that cannot belong to any whole frame: `count` is 0 or `index` is not below `count`.
    #[error("part {index} of {count} is impossible: count must be at least 1 and index below count")]
    InvalidPart {
        /// The 0-based index the part claims.
        index: u32,
        /// The number of parts it claims the whole frame has.
        count: u32,
    },
    /// An array holding more items than the wire allows (docs/wire.md gives each bound): a protocol
    /// violation. A sender splits longer lists over several frames.
    #[error("{what} holds {count} items, above the limit of {limit}: a protocol violation")]
    TooManyItems {
        /// Which array: e.g. "Have ids", "address record addresses".
        what: &'static str,
        /// How many items the array held.
        count: usize,
        /// The most the wire allows.
        limit: usize,
    },
    /// An address in an address record that is too long or not `scheme://rest`.
    #[error("address {index} of the address record is invalid: {reason}")]
    InvalidAddress {
        /// The address's 0-based position in the record.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}
