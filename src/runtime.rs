//! The tokio runtime for a process that runs validators over real transports: one worker thread per
//! CPU the process may use, each worker pinned to its own CPU.
//!
//! Why pin: a node's work comes in short bursts that wake other tasks — a received envelope is
//! verified and forwarded, and each forward wakes a connection's writer. A worker preempted in the
//! middle of such a burst holds the rest of it up for a whole time slice. With unpinned workers that
//! happens often: Linux's scheduler may place a woken thread (the runtime's other worker, most
//! likely) on the waker's CPU, where it preempts the waker, while another CPU idles.
//!
//! Measured on the reference workload of `cargo bench --bench node` (32 validators in one process,
//! 2 CPUs): one run had 273 hand-overs of an envelope to a link that took over 0.3 ms (up to 5.4 ms),
//! and each of them spanned exactly one involuntary context switch of its worker; with pinned
//! workers there were none. In alternated runs, p99 from broadcast to 2/3 of the validators went
//! from 3.1–4.6 ms to 2.0–2.2 ms; CPU per delivery was the same to 10 % higher (likely because both
//! workers now run at once, and park and wake each other more often).
//!
//! The cost: a pinned worker cannot move away from a CPU that something else keeps busy. Give the
//! process CPUs of its own (e.g. `taskset`, a cgroup cpuset or a dedicated machine), or build an
//! ordinary runtime instead. Threads for `spawn_blocking` are not pinned.
//!
//! Off Linux this is an ordinary multi-thread runtime with one worker per available CPU.
//!
//! ```
//! let runtime = quorumnet::runtime::core_pinned().expect("a tokio runtime");
//! let answer = runtime.block_on(async { tokio::spawn(async { 6 * 7 }).await.unwrap() });
//! assert_eq!(answer, 42);
//! ```

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::runtime::{Builder, Runtime};

/// A multi-thread runtime (I/O and time enabled) with one worker per CPU this process may run on,
/// each pinned to a different one of those CPUs; see the [module documentation](self). If the
/// process's CPU set cannot be read (e.g. more CPUs than `CPU_SETSIZE`), the runtime is built
/// unpinned, with a warning.
///
/// # Errors
/// What [`Builder::build`] returns.
pub fn core_pinned() -> io::Result<Runtime> {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all();
    match affinity::allowed_cpus() {
        Ok(cpus) => {
            // The set holds at least the CPU this thread runs on; tokio would panic on zero workers.
            builder.worker_threads(cpus.len().max(1));
            // The runtime starts its workers while it is built, before anything can ask for a
            // blocking thread, so the first `cpus.len()` threads to start are the workers.
            let started = Arc::new(AtomicUsize::new(0));
            builder.on_thread_start(move || {
                if let Some(cpu) = cpus.get(started.fetch_add(1, Ordering::Relaxed)) {
                    affinity::pin_current_thread(*cpu);
                }
            });
        }
        Err(error) => tracing::warn!(%error, "cannot read this process's CPU set: runtime workers left unpinned"),
    }
    builder.build()
}

#[cfg(target_os = "linux")]
mod affinity {
    use std::io;

    /// The CPUs the calling thread may run on, in ascending order: called before the runtime
    /// exists, the process's CPU set (as `taskset` or a cgroup cpuset left it).
    pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
        // SAFETY: `sched_getaffinity` writes at most `size_of::<cpu_set_t>()` bytes into the zeroed
        // set it is given; `CPU_ISSET` reads it within its bounds.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok((0..libc::CPU_SETSIZE as usize).filter(|cpu| libc::CPU_ISSET(*cpu, &set)).collect())
        }
    }

    /// Restricts the calling thread to `cpu`. A failure leaves the thread unpinned, which is slower
    /// at worst: it is logged, not returned.
    pub(super) fn pin_current_thread(cpu: usize) {
        // SAFETY: `CPU_SET` writes within the zeroed set (`cpu` < CPU_SETSIZE, from
        // `allowed_cpus`); `sched_setaffinity` only reads it.
        let result = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if result != 0 {
            tracing::warn!(cpu, error = %io::Error::last_os_error(), "could not pin a runtime worker to its CPU");
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod affinity {
    use std::io;

    /// One entry per available CPU; no thread is pinned off Linux.
    pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
        Ok((0..std::thread::available_parallelism().map_or(1, usize::from)).collect())
    }

    pub(super) fn pin_current_thread(_cpu: usize) {}
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Barrier};

    use super::*;

    #[test]
    fn each_worker_runs_on_its_own_cpu_and_blocking_threads_on_all() {
        let cpus = affinity::allowed_cpus().unwrap();
        let runtime = core_pinned().unwrap();
        assert_eq!(runtime.metrics().num_workers(), cpus.len());

        // One task per worker, each blocking its worker until all have started: they can only all
        // start if every worker runs one.
        let barrier = Arc::new(Barrier::new(cpus.len()));
        let tasks: Vec<_> = (0..cpus.len())
            .map(|_| {
                let barrier = barrier.clone();
                runtime.spawn(async move {
                    barrier.wait();
                    affinity::allowed_cpus().unwrap()
                })
            })
            .collect();
        let pinned: Vec<Vec<usize>> = runtime.block_on(async {
            let mut pinned = Vec::new();
            for task in tasks {
                pinned.push(task.await.unwrap());
            }
            pinned
        });
        let distinct: BTreeSet<usize> = pinned.iter().flatten().copied().collect();
        assert!(pinned.iter().all(|set| set.len() == 1), "a worker is not pinned to one CPU: {pinned:?}");
        assert_eq!(distinct, cpus.iter().copied().collect(), "workers share a CPU or miss one: {pinned:?}");

        let blocking = runtime
            .block_on(async { tokio::task::spawn_blocking(|| affinity::allowed_cpus().unwrap()).await.unwrap() });
        assert_eq!(blocking, cpus, "a blocking thread was pinned");
    }
}
