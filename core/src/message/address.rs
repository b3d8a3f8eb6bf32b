//! Signed address records (WIRE.md §6): where a validator can be reached, as an envelope payload.

use serde::{Deserialize, Serialize};

use crate::codec::{BoundedSeq, CodecError};
use crate::identity::ValidatorId;
use crate::transport::PeerAddress;

/// A validator's current addresses: `{"validator": bstr(32), "version": uint, "addresses": [text…]}`,
/// carried as [`ConsensusMessage::AddressRecord`](super::ConsensusMessage::AddressRecord) inside an
/// [`Envelope`](super::Envelope) its validator signs.
///
/// `version` strictly increases per validator (quorumnet uses the wall clock in µs since the Unix
/// epoch at creation), so receivers keep the highest version they verified and ignore older or equal
/// ones, whatever order gossip delivers them in. At most [`AddressRecord::MAX_ADDRESSES`] addresses,
/// each at most [`AddressRecord::MAX_ADDRESS_LEN`] bytes of `scheme://rest`; decoding refuses more
/// with [`CodecError::TooManyItems`] or [`CodecError::InvalidAddress`].
///
/// Any syntactically valid address is accepted and kept, also with a scheme the receiver has no
/// transport for: the syntax of relayed addresses (a validator reachable through a relay) is left to a
/// later revision and will be a new scheme, which needs no change to this encoding.
///
/// ```
/// use quorumnet_core::identity::Keypair;
/// use quorumnet_core::message::{AddressRecord, ConsensusMessage};
///
/// let me = Keypair::from_seed(&[3; 32]).validator_id();
/// let record = AddressRecord::new(me, 1_795_651_200_000_000, vec!["tcp-noise://192.0.2.7:7000".parse().unwrap()])
///     .unwrap();
/// let message = ConsensusMessage::AddressRecord(record);
/// assert_eq!(ConsensusMessage::decode(&message.encode()).unwrap(), message);
/// assert_eq!(message.validator(), me);
/// assert_eq!(message.height(), None); // judged against the latest validator set
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AddressRecordWire")]
pub struct AddressRecord {
    /// The validator the addresses belong to; it must be the signing envelope's origin.
    pub validator: ValidatorId,
    /// Strictly increasing per validator: a newer record replaces an older one.
    pub version: u64,
    /// Where the validator listens, one entry per transport; a CBOR array of text strings.
    pub addresses: Vec<PeerAddress>,
}

/// The record as received, with the address count bounded while reading and the addresses not yet
/// parsed, so both failures come out as their own [`CodecError`] variants.
#[derive(Deserialize)]
pub(super) struct AddressRecordWire {
    validator: ValidatorId,
    version: u64,
    addresses: BoundedSeq<String, { AddressRecord::MAX_ADDRESSES }>,
}

impl TryFrom<AddressRecordWire> for AddressRecord {
    type Error = CodecError;

    fn try_from(wire: AddressRecordWire) -> Result<Self, CodecError> {
        let addresses = wire
            .addresses
            .into_vec(AddressRecord::ADDRESSES_WHAT)?
            .iter()
            .enumerate()
            .map(|(index, text)| parse_address(index, text))
            .collect::<Result<_, _>>()?;
        Ok(AddressRecord { validator: wire.validator, version: wire.version, addresses })
    }
}

fn parse_address(index: usize, text: &str) -> Result<PeerAddress, CodecError> {
    check_address_len(index, text)?;
    text.parse()
        .map_err(|e: crate::transport::AddressError| CodecError::InvalidAddress { index, reason: e.to_string() })
}

fn check_address_len(index: usize, text: &str) -> Result<(), CodecError> {
    if text.len() > AddressRecord::MAX_ADDRESS_LEN {
        return Err(CodecError::InvalidAddress {
            index,
            reason: format!("{} bytes, above the limit of {}", text.len(), AddressRecord::MAX_ADDRESS_LEN),
        });
    }
    Ok(())
}

impl AddressRecord {
    /// The most addresses one record holds: one per transport and a few relays leaves room to spare,
    /// and it bounds what a peer can make a receiver store per validator.
    pub const MAX_ADDRESSES: usize = 16;
    /// The longest address, in bytes of UTF-8: a `wss://` URL with a host name and path, or a relayed
    /// address naming a relay and a 64-hex-digit validator id, fits with room to spare.
    pub const MAX_ADDRESS_LEN: usize = 256;
    /// What [`CodecError::TooManyItems`] calls the addresses.
    const ADDRESSES_WHAT: &'static str = "address record addresses";

    /// A record of `addresses` for `validator`, numbered `version`.
    ///
    /// # Errors
    /// What a receiver would reject: [`CodecError::TooManyItems`] for more than
    /// [`MAX_ADDRESSES`](Self::MAX_ADDRESSES) addresses, [`CodecError::InvalidAddress`] for one longer
    /// than [`MAX_ADDRESS_LEN`](Self::MAX_ADDRESS_LEN).
    pub fn new(validator: ValidatorId, version: u64, addresses: Vec<PeerAddress>) -> Result<Self, CodecError> {
        let record = AddressRecord { validator, version, addresses };
        record.check()?;
        Ok(record)
    }

    /// Checks the bounds a receiver enforces; see [`AddressRecord::new`].
    ///
    /// # Errors
    /// As [`AddressRecord::new`].
    pub fn check(&self) -> Result<(), CodecError> {
        if self.addresses.len() > Self::MAX_ADDRESSES {
            return Err(CodecError::TooManyItems {
                what: Self::ADDRESSES_WHAT,
                count: self.addresses.len(),
                limit: Self::MAX_ADDRESSES,
            });
        }
        self.addresses.iter().enumerate().try_for_each(|(index, address)| check_address_len(index, address.as_str()))
    }
}
