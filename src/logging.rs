//! Logs for the `quorumnet` command: `tracing` events to stderr, filtered by `RUST_LOG`
//! (`RUST_LOG=quorumnet_core::node=debug`), else by the command's own default (`quorumnet node`'s
//! `log` field), else off so tables and reports stay clean.
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
    init_or(None);
}

/// As [`init_from_env`], but with `fallback` filter directives (`quorumnet node`'s `log` field) when
/// `RUST_LOG` is unset: the environment wins, so an operator can turn on debug logs for one run
/// without editing the config.
///
/// ```no_run
/// quorumnet::logging::init_or(Some("info,quorumnet_core::node=debug"));
/// tracing::info!("logged unless RUST_LOG filters it out");
/// ```
pub fn init_or(fallback: Option<&str>) {
    let (directives, origin) = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) => (directives, EnvFilter::DEFAULT_ENV),
        Err(_) => match fallback {
            Some(directives) => (directives.to_owned(), "log"),
            None => return,
        },
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|error| {
        eprintln!("warning: ignoring {origin}={directives:?}: {error}");
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
