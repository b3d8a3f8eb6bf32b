//! How Noise messages sit in the byte stream (WIRE.md §2): each, handshake and transport alike, behind
//! a u16 big-endian length.

/// Bytes in the length prefix of every Noise message.
pub const NOISE_LEN_PREFIX_LEN: usize = 2;

/// The largest Noise message, and the largest value the u16 prefix can announce.
pub const MAX_NOISE_MESSAGE_LEN: usize = 65535;

/// The AES-GCM tag every transport message carries.
pub const TAG_LEN: usize = 16;

/// The most plaintext one Noise transport message holds: 65 519 bytes.
pub const MAX_PLAINTEXT_LEN: usize = MAX_NOISE_MESSAGE_LEN - TAG_LEN;

/// Appends the u16 big-endian length prefix of a `len`-byte Noise message.
///
/// # Panics
/// If `len` exceeds [`MAX_NOISE_MESSAGE_LEN`]: callers only frame messages snow produced.
pub fn put_noise_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&noise_len_prefix(len));
}

/// The u16 big-endian length prefix of a `len`-byte Noise message.
///
/// # Panics
/// If `len` exceeds [`MAX_NOISE_MESSAGE_LEN`].
pub fn noise_len_prefix(len: usize) -> [u8; NOISE_LEN_PREFIX_LEN] {
    u16::try_from(len).expect("Noise messages are at most 65535 bytes").to_be_bytes()
}

/// The length of the first whole Noise message in `buf` (prefix not included), or `None` if `buf`
/// does not hold one yet.
pub fn whole_message_len(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; NOISE_LEN_PREFIX_LEN] = buf.get(..NOISE_LEN_PREFIX_LEN)?.try_into().ok()?;
    let len = u16::from_be_bytes(prefix) as usize;
    (buf.len() >= NOISE_LEN_PREFIX_LEN + len).then_some(len)
}
