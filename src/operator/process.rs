//! What `quorumnet node` and `quorumnet relay` share as processes: the async runtime a service runs
//! on until it returns, a bounded grace for the tasks it leaves, and the errors of a process that
//! cannot run a service at all.

use std::future::Future;
use std::time::Duration;

use super::shutdown::ShutdownSignal;

/// Why the process cannot run a service at all.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The process could not start its async runtime (out of threads or memory).
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The process could not take over SIGTERM and ctrl-c.
    #[error("cannot listen for SIGTERM and ctrl-c: {0}")]
    Signal(std::io::Error),
}

/// Runs `service` to its end on a new runtime, then gives the tasks it left at most `grace`.
///
/// ```
/// use std::time::Duration;
/// use quorumnet::operator::process::{run_service, ProcessError};
///
/// let answer = run_service(Duration::from_secs(1), async { Ok::<_, ProcessError>(42) });
/// assert_eq!(answer.unwrap(), 42);
/// ```
///
/// # Errors
/// [`ProcessError::Runtime`] (as `E`) when no runtime can be had; else what `service` returns.
pub fn run_service<T, E: From<ProcessError>>(
    grace: Duration,
    service: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    // An ordinary runtime rather than `runtime::core_pinned`: pinned workers suit a machine given
    // to one validator, and operators also run several processes on one machine, where pinned
    // workers of different processes would fight over the same CPUs.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ProcessError::Runtime)?;
    let result = runtime.block_on(service);
    runtime.shutdown_timeout(grace);
    result
}

/// [`ShutdownSignal::install`], as a [`ProcessError`]. Within the runtime.
///
/// # Errors
/// [`ProcessError::Signal`].
pub fn install_shutdown_signal() -> Result<ShutdownSignal, ProcessError> {
    ShutdownSignal::install().map_err(ProcessError::Signal)
}
