//! The signals that stop `quorumnet node`: SIGTERM (what service managers and `kill` send) and
//! ctrl-c (SIGINT, at a terminal).
//!
//! Installed before the node starts, so a signal that arrives while it connects is not lost: from
//! [`ShutdownSignal::install`] on, SIGTERM no longer kills the process outright but is waited for.

/// Waits for SIGTERM or ctrl-c.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let mut signal = quorumnet::operator::shutdown::ShutdownSignal::install()?;
/// let name = signal.wait().await;
/// println!("stopping on {name}");
/// # Ok(()) }
/// ```
pub struct ShutdownSignal {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Starts listening for the signals. Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// The operating system refused the signal handler.
    pub fn install() -> std::io::Result<Self> {
        Ok(ShutdownSignal {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
            #[cfg(unix)]
            interrupt: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
        })
    }

    /// Returns the name of the first signal that arrives (`"SIGTERM"` or `"ctrl-c"`).
    pub async fn wait(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "ctrl-c",
            }
        }
        #[cfg(not(unix))]
        {
            // Without a handler ctrl-c would kill the process; an error here means none can be had,
            // and waiting forever is then what the default would have done short of the kill.
            match tokio::signal::ctrl_c().await {
                Ok(()) => "ctrl-c",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
