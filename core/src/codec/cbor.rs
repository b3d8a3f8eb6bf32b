use serde::de::DeserializeOwned;
use serde::Serialize;

use super::CodecError;

/// Encodes `value` as CBOR.
///
/// # Panics
/// Only if `value`'s `Serialize` impl itself reports an error; quorumnet's wire types never do.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the CBOR encoding of `value` to `out`.
///
/// # Panics
/// As [`encode`].
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    ciborium::ser::into_writer(value, out).expect("writing CBOR to a Vec cannot fail for quorumnet's wire types");
}

/// Decodes exactly one CBOR item of type `T` from `bytes`; `what` names it in errors.
///
/// # Errors
/// [`CodecError::TrailingBytes`] if anything follows the item, otherwise ciborium's failure as a
/// [`CodecError`] variant.
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    let mut rest = bytes;
    let value = ciborium::de::from_reader(&mut rest).map_err(|e| map_error(what, e))?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes { what, trailing: rest.len() });
    }
    Ok(value)
}

fn map_error(what: &'static str, error: ciborium::de::Error<std::io::Error>) -> CodecError {
    use ciborium::de::Error;
    match error {
        Error::Io(_) => CodecError::Truncated { what },
        Error::Syntax(offset) => CodecError::InvalidCbor { what, offset },
        Error::Semantic(offset, reason) => CodecError::Schema { what, offset, reason },
        Error::RecursionLimitExceeded => CodecError::TooDeep { what },
    }
}
