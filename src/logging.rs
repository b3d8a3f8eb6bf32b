//! Logs for the `quorumnet` command: `tracing` events to stderr, filtered by `RUST_LOG`
//! (`RUST_LOG=quorumnet_core::node=debug`), off when it is unset so tables and reports stay clean.
//!
//! Timestamps are read from tokio's clock, as time since the process started logging: on the
//! simulator's paused clock that is virtual time, so a log lines up with the report's latencies.

use std::io::IsTerminal as _;

use tokio::time::Instant;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber if `RUST_LOG` is set; a bad filter is reported, not fatal.
pub fn init_from_env() {
    let Ok(directives) = std::env::var(EnvFilter::DEFAULT_ENV) else { return };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|error| {
        eprintln!("warning: ignoring RUST_LOG={directives:?}: {error}");
        EnvFilter::new("off")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_timer(SinceStart(std::sync::OnceLock::new()))
        .init();
}

/// Seconds since the first log line, on tokio's clock (virtual under a paused runtime).
struct SinceStart(std::sync::OnceLock<Instant>);

impl FormatTime for SinceStart {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        // Outside a runtime (argument parsing) tokio's clock still reads the real one.
        let start = *self.0.get_or_init(Instant::now);
        write!(w, "{:9.3}s", Instant::now().saturating_duration_since(start).as_secs_f64())
    }
}
