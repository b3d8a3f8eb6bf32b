//! The process's peak resident memory, for the devnet report.

/// The peak resident set size of this process in bytes (`VmHWM` in Linux's `/proc/self/status`),
/// or `None` where the OS does not report it.
///
/// ```
/// let peak = quorumnet::devnet::peak_memory::peak_rss_bytes();
/// if cfg!(target_os = "linux") {
///     assert!(peak.unwrap() > 0);
/// }
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}
