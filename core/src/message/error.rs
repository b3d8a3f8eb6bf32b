use crate::identity::{IdentityError, ValidatorId};

/// Why an [`Envelope`](super::Envelope) was not accepted as authentic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The key offered for verification is not the origin's: look the origin up in the validator set
    /// in force at the message's height and verify with that key.
    #[error("envelope origin is {origin} but the verifying key belongs to {key}: verify with the origin's key")]
    OriginMismatch {
        /// The validator the envelope claims to come from.
        origin: ValidatorId,
        /// The validator the offered key belongs to.
        key: ValidatorId,
    },
    /// The signature is malformed for the key's algorithm or does not verify: a forgery, a message
    /// altered in transit, or one signed for another chain. Score the peer that sent it.
    #[error("envelope signature rejected: {0}")]
    Signature(#[from] IdentityError),
}
