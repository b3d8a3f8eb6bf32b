use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a peer can be reached: `scheme://rest`, e.g. `tcp-noise://127.0.0.1:7000` or `mem://v1`.
///
/// The scheme picks the transport plugin; the rest is that transport's business. Serialized as the
/// string form.
///
/// ```
/// use quorumnet_core::transport::PeerAddress;
///
/// let addr: PeerAddress = "tcp-noise://127.0.0.1:7000".parse().unwrap();
/// assert_eq!(addr.scheme(), "tcp-noise");
/// assert_eq!(addr.rest(), "127.0.0.1:7000");
/// assert_eq!(addr.to_string(), "tcp-noise://127.0.0.1:7000");
/// assert!("127.0.0.1:7000".parse::<PeerAddress>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerAddress {
    text: String,
    scheme_len: usize,
}

/// A string that is not `scheme://rest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid peer address {text:?}: {reason} (expected scheme://rest, e.g. tcp-noise://127.0.0.1:7000)")]
pub struct AddressError {
    /// The offending text.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl PeerAddress {
    /// Builds `scheme://rest`.
    ///
    /// # Errors
    /// As [`FromStr`]: an empty or non-lowercase scheme, or an empty rest.
    pub fn new(scheme: &str, rest: &str) -> Result<Self, AddressError> {
        format!("{scheme}://{rest}").parse()
    }

    /// The scheme, without `://`.
    pub fn scheme(&self) -> &str {
        &self.text[..self.scheme_len]
    }

    /// Everything after `://`.
    pub fn rest(&self) -> &str {
        &self.text[self.scheme_len + 3..]
    }

    /// The whole address.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for PeerAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| AddressError { text: text.to_owned(), reason };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| error("missing `://`"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
            && scheme.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return Err(error("the scheme must start with a lowercase letter and hold only a-z, 0-9, +, - and ."));
        }
        if rest.is_empty() || rest.chars().any(char::is_whitespace) {
            return Err(error("the part after `://` must be non-empty and hold no whitespace"));
        }
        Ok(PeerAddress { text: text.to_owned(), scheme_len: scheme.len() })
    }
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerAddress({})", self.text)
    }
}

impl Serialize for PeerAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for PeerAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(crate::codec::bytes::invalid)
    }
}
