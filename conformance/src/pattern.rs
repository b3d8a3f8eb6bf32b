//! Seeded frame streams whose every frame is recognisable: a dropped, duplicated, reordered, truncated
//! or corrupted frame is reported as exactly that.
//!
//! Frame `i` starts with `i` as a little-endian u32 (cut short in frames under 4 bytes, which so still
//! carry the index's low bits and differ from their neighbours) and continues with
//! a slice of a seeded random tape at an offset that depends on `i`. The receiver compares every byte
//! against the frame it expects at that position — a stronger check than a checksum — without
//! building the expected frame.

use bytes::{BufMut as _, Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng as _, RngCore as _, SeedableRng as _};

const INDEX_LEN: usize = 4;
/// Frames of the mixed stream are mostly at most this large, so 10 000 of them stay fast.
const MIXED_SMALL_MAX: usize = 64 * 1024;
/// Per mille of the mixed stream's frames drawn from the whole range up to the limit.
const MIXED_LARGE_PER_MILLE: u32 = 2;

/// How a stream's frame sizes are drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sizes {
    /// 1 byte up to `limit`: the first frame is 1 byte, the second and the last are exactly `limit`,
    /// 0.2 % are uniform up to `limit`, and the rest log-uniform up to 64 KiB.
    Mixed { limit: usize },
    /// Uniform in `1..=max`.
    Uniform { max: usize },
    /// All `len` bytes.
    Fixed { len: usize },
}

/// A planned stream of frames.
#[derive(Debug, Clone)]
pub(crate) struct FramePlan {
    sizes: Vec<usize>,
    tape: Bytes,
}

impl FramePlan {
    pub fn new(seed: u64, count: usize, sizes: Sizes) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let sizes: Vec<usize> = (0..count).map(|i| draw(&mut rng, sizes, i, count)).collect();
        let mut tape = vec![0u8; sizes.iter().copied().max().unwrap_or(0)];
        rng.fill_bytes(&mut tape);
        FramePlan { sizes, tape: tape.into() }
    }

    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    pub fn total_bytes(&self) -> usize {
        self.sizes.iter().sum()
    }

    /// Frame `i`.
    pub fn frame(&self, i: usize) -> Bytes {
        let (head, body) = self.parts(i);
        let mut frame = BytesMut::with_capacity(head.len() + body.len());
        frame.put_slice(head.as_slice());
        frame.put_slice(&body);
        frame.freeze()
    }

    /// `None` if `got` is exactly frame `i`, otherwise what is wrong with it.
    pub fn mismatch(&self, i: usize, got: &[u8]) -> Option<String> {
        let (head, body) = self.parts(i);
        let (head, expected_len) = (head.as_slice(), head.len() + body.len());
        if got.len() == expected_len && got[..head.len()] == *head && got[head.len()..] == body[..] {
            return None;
        }
        let carried = match got.get(..INDEX_LEN) {
            Some(index) => format!("it carries index {}", u32::from_le_bytes(index.try_into().expect("4 bytes"))),
            None => "too short to carry an index".to_owned(),
        };
        if got.len() != expected_len {
            return Some(format!(
                "frame {i}: expected {expected_len} bytes, got {} ({carried}): a frame was lost, duplicated, reordered or cut",
                got.len()
            ));
        }
        let expected = self.frame(i);
        let at = expected.iter().zip(got).position(|(a, b)| a != b).expect("equal lengths that differ somewhere");
        Some(format!(
            "frame {i} ({expected_len} bytes, {carried}): byte {at} is {:#04x}, expected {:#04x}: corrupted, or another frame of the same size",
            got[at], expected[at]
        ))
    }

    /// Frame `i`'s index prefix and tape slice.
    fn parts(&self, i: usize) -> (IndexPrefix, Bytes) {
        let len = self.sizes[i];
        let head = IndexPrefix { bytes: (i as u32).to_le_bytes(), len: len.min(INDEX_LEN) };
        let body_len = len - head.len;
        let offset = i.wrapping_mul(7919) % (self.tape.len() - body_len + 1);
        (head, self.tape.slice(offset..offset + body_len))
    }
}

/// The first bytes of a frame: its index, cut to the frame's length.
struct IndexPrefix {
    bytes: [u8; INDEX_LEN],
    len: usize,
}

impl IndexPrefix {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn len(&self) -> usize {
        self.len
    }
}

fn draw(rng: &mut StdRng, sizes: Sizes, i: usize, count: usize) -> usize {
    match sizes {
        Sizes::Fixed { len } => len,
        Sizes::Uniform { max } => rng.gen_range(1..=max),
        Sizes::Mixed { limit } if i == 0 => limit.min(1),
        Sizes::Mixed { limit } if i == 1 || i + 1 == count => limit,
        Sizes::Mixed { limit } if rng.gen_range(0..1000) < MIXED_LARGE_PER_MILLE => rng.gen_range(1..=limit),
        Sizes::Mixed { limit } => {
            let small_max = limit.min(MIXED_SMALL_MAX);
            let bits = rng.gen_range(0..=small_max.ilog2());
            rng.gen_range(1..=1usize << bits).min(small_max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_matches_itself_and_no_neighbour() {
        let plan = FramePlan::new(7, 2000, Sizes::Mixed { limit: 100_000 });
        for i in 0..plan.len() {
            assert_eq!(plan.mismatch(i, &plan.frame(i)), None, "frame {i}");
            if i > 0 {
                assert!(plan.mismatch(i, &plan.frame(i - 1)).is_some(), "frame {i}");
            }
        }
    }

    #[test]
    fn mixed_sizes_span_one_byte_to_the_limit() {
        let plan = FramePlan::new(1, 10_000, Sizes::Mixed { limit: 4 << 20 });
        assert_eq!(plan.sizes[0], 1);
        assert_eq!(plan.sizes[1], 4 << 20);
        assert_eq!(plan.sizes[9_999], 4 << 20);
        assert!(plan.sizes.iter().all(|&s| (1..=4 << 20).contains(&s)));
        assert!(plan.total_bytes() < 200 << 20, "{} bytes would make the case slow", plan.total_bytes());
    }

    #[test]
    fn one_corrupted_byte_is_named() {
        let plan = FramePlan::new(3, 10, Sizes::Fixed { len: 100 });
        let mut frame = plan.frame(5).to_vec();
        frame[60] ^= 1;
        assert!(plan.mismatch(5, &frame).unwrap().contains("byte 60"));
    }
}
