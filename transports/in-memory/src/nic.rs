//! A validator's network interface: one upload and one download capacity, each shared by all of the
//! validator's links, as a machine's uplink is (`MemoryNetwork::set_validator_bandwidth`).
//!
//! Each link still transmits one frame at a time per direction, so a validator with many links
//! takes turns between them a frame at a time: a vote queued on one link waits for at most one frame
//! per other busy link, not for everything another link has queued.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// One direction of an interface: frames pass one after another at `bytes_per_second`.
#[derive(Debug)]
pub(crate) struct Nic {
    bytes_per_second: u64,
    /// When the last frame reserved finishes passing.
    free_at: Mutex<Option<Instant>>,
}

impl Nic {
    pub fn new(bytes_per_second: u64) -> Self {
        Nic { bytes_per_second, free_at: Mutex::new(None) }
    }

    /// Passes `len` bytes no earlier than `earliest`, after whatever was reserved before; returns
    /// when their first byte goes through and when their last has.
    pub fn pass(&self, len: usize, earliest: Instant) -> Range<Instant> {
        let mut free_at = self.free_at.lock().unwrap_or_else(PoisonError::into_inner);
        let start = free_at.map_or(earliest, |free| free.max(earliest));
        let end = start + serialisation_time(len, Some(self.bytes_per_second));
        *free_at = Some(end);
        start..end
    }
}

/// How long `len` bytes take at `bytes_per_second` (`None`: no limit).
pub(crate) fn serialisation_time(len: usize, bytes_per_second: Option<u64>) -> Duration {
    match bytes_per_second {
        None => Duration::ZERO,
        Some(rate) => {
            let nanos = (len as u128 * 1_000_000_000) / u128::from(rate.max(1));
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_pass_one_after_another_at_the_rate() {
        let nic = Nic::new(1_000_000);
        let start = Instant::now();
        assert_eq!(nic.pass(1_000, start), start..start + Duration::from_millis(1));
        let queued = start + Duration::from_millis(1)..start + Duration::from_millis(2);
        assert_eq!(nic.pass(1_000, start), queued, "queued behind the first");
        let later = start + Duration::from_secs(1);
        assert_eq!(nic.pass(500, later), later..later + Duration::from_micros(500), "idle again");
    }
}
