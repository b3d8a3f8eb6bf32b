//! The journal file's format: a header, then append-only records, each framed as
//! `length: u32 LE | checksum: 8 bytes | body`, the body a CBOR [`Record`] and the checksum the first
//! 8 bytes of its BLAKE3 hash.
//!
//! A crash mid-append leaves a torn last record (short, or whose checksum fails); [`decode`] reports
//! it as [`Decoded::torn_at`] so the reader can drop it. The same damage anywhere before the last
//! record cannot come from a crash, and is an error.
//!
//! ```
//! use quorumnet::message::{Height, Round};
//! use quorumnet::operator::journal::record::{decode, encode, Record, HEADER};
//!
//! let mut file = HEADER.to_vec();
//! file.extend(encode(&Record::Signed { height: Height(1), round: Round(0) }));
//! let decoded = decode(&file).unwrap();
//! assert_eq!(decoded.records.len(), 1);
//! assert_eq!(decoded.torn_at, None);
//!
//! file.truncate(file.len() - 1); // a crash mid-write
//! assert_eq!(decode(&file).unwrap().torn_at, Some(HEADER.len() as u64));
//! ```

use serde::{Deserialize, Serialize};

use crate::message::{BlockHash, Height, Round};

/// The file's first bytes: what it is, and the format's version.
pub const HEADER: &[u8; 24] = b"quorumnet journal v1\n\0\0\0";

/// A record's largest body: records are a few dozen bytes, so a larger length is damage.
pub const MAX_BODY: u32 = 4096;

/// The length and checksum before each body.
const FRAME: usize = 4 + 8;

/// One journal entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// The validator signs a vote or proposal in this round.
    Signed {
        /// The height.
        height: Height,
        /// The round.
        round: Round,
    },
    /// The validator locked on `block` (polka in `round`) at `height`.
    Locked {
        /// The height.
        height: Height,
        /// The polka's round.
        round: Round,
        /// The block.
        block: BlockHash,
    },
    /// The validator committed `block` at `height`, decided in `round`.
    Committed {
        /// The height.
        height: Height,
        /// The round it was decided in.
        round: Round,
        /// The block.
        block: BlockHash,
        /// Adopted from other validators' `Commit`s rather than decided by its own votes.
        caught_up: bool,
    },
}

/// `record` framed for appending.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut body = Vec::new();
    // Writing to a Vec cannot fail, and a `Record` always serializes.
    ciborium::into_writer(record, &mut body).expect("a record encodes to CBOR");
    let length = u32::try_from(body.len()).expect("a record is a few dozen bytes");
    let mut framed = Vec::with_capacity(FRAME + body.len());
    framed.extend_from_slice(&length.to_le_bytes());
    framed.extend_from_slice(&checksum(&body));
    framed.extend_from_slice(&body);
    framed
}

/// A journal file's records, and where a torn last one starts (the file's good length).
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The records, in file order, each with its offset in the file (named in errors).
    pub records: Vec<(u64, Record)>,
    /// The offset of a torn trailing record (or of a torn header), if any.
    pub torn_at: Option<u64>,
}

/// Damage at `offset`: the offset and what is wrong there.
pub type Damage = (u64, String);

/// Reads a whole journal file's bytes. An empty file (or a torn header) is a journal without records.
///
/// # Errors
/// The offset and nature of damage that is not a torn last record.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Damage> {
    if bytes.len() < HEADER.len() && HEADER.starts_with(bytes) {
        let torn_at = (!bytes.is_empty()).then_some(0);
        return Ok(Decoded { records: Vec::new(), torn_at });
    }
    if !bytes.starts_with(HEADER) {
        return Err((0, "not a quorumnet journal (its header is missing)".into()));
    }
    let mut records = Vec::new();
    let mut at = HEADER.len();
    while at < bytes.len() {
        let offset = at as u64;
        let torn = |records| Ok(Decoded { records, torn_at: Some(offset) });
        let Some(frame) = bytes.get(at..at + FRAME) else { return torn(records) };
        let length = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes"));
        if length > MAX_BODY {
            return Err((offset, format!("a record of {length} bytes (at most {MAX_BODY})")));
        }
        let end = at + FRAME + length as usize;
        let Some(body) = bytes.get(at + FRAME..end) else { return torn(records) };
        if checksum(body) != frame[4..] {
            if end == bytes.len() {
                return torn(records);
            }
            return Err((offset, "a record's checksum does not match its contents".into()));
        }
        let record =
            ciborium::from_reader(body).map_err(|e| (offset, format!("a record that does not decode: {e}")))?;
        records.push((offset, record));
        at = end;
    }
    Ok(Decoded { records, torn_at: None })
}

fn checksum(body: &[u8]) -> [u8; 8] {
    let hash = blake3::hash(body);
    hash.as_bytes()[..8].try_into().expect("8 of 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[Record]) -> Vec<u8> {
        let mut bytes = HEADER.to_vec();
        records.iter().for_each(|r| bytes.extend(encode(r)));
        bytes
    }

    const SIGNED: Record = Record::Signed { height: Height(4), round: Round(2) };
    const COMMITTED: Record =
        Record::Committed { height: Height(1), round: Round(0), block: BlockHash([9; 32]), caught_up: true };

    #[test]
    fn records_read_back_in_order() {
        let records =
            [COMMITTED, SIGNED, Record::Locked { height: Height(2), round: Round(1), block: BlockHash([3; 32]) }];
        let decoded = decode(&file(&records)).unwrap();
        assert_eq!(decoded.records.iter().map(|(_, r)| *r).collect::<Vec<_>>(), records);
        assert_eq!(decoded.records[1].0, (HEADER.len() + encode(&COMMITTED).len()) as u64);
        assert_eq!(decoded.torn_at, None);
    }

    #[test]
    fn a_last_record_with_a_bad_checksum_is_torn_but_an_earlier_one_is_damage() {
        let mut bytes = file(&[COMMITTED, SIGNED]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let second = (HEADER.len() + encode(&COMMITTED).len()) as u64;
        let offset = HEADER.len() as u64;
        assert_eq!(decode(&bytes), Ok(Decoded { records: vec![(offset, COMMITTED)], torn_at: Some(second) }));

        let mut bytes = file(&[COMMITTED, SIGNED]);
        bytes[HEADER.len() + FRAME] ^= 1;
        assert_eq!(decode(&bytes).unwrap_err().0, HEADER.len() as u64);
    }

    #[test]
    fn another_file_and_an_impossible_length_are_damage_and_a_torn_header_is_empty() {
        assert_eq!(decode(b"key_file = \"v.key\"\nnetwork = \"x\"").unwrap_err().0, 0);
        let mut bytes = file(&[SIGNED]);
        bytes[HEADER.len()..HEADER.len() + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bytes).unwrap_err().1.contains("bytes"));
        assert_eq!(decode(&HEADER[..5]), Ok(Decoded { records: vec![], torn_at: Some(0) }));
        assert_eq!(decode(b""), Ok(Decoded { records: vec![], torn_at: None }));
    }
}
