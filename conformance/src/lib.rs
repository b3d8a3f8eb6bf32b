//! # quorumnet-conformance
//!
//! The suite every quorumnet transport must pass (DESIGN.md §4): ours, and yours. Add it as a
//! dev-dependency, write a [`TransportFactory`] for your transport, and one line generates one named
//! `#[test]` per case:
//!
//! ```ignore
//! // tests/conformance.rs
//! quorumnet_conformance::conformance_tests!(my_transport::testing::Factory::new());
//! ```
//!
//! `cargo test` then lists `conformance::round_trip`, `conformance::unadmitted_peer_is_refused`, and so
//! on; a failure names the case and what it waited for or found, e.g. ``conformance case
//! `clean_close_is_seen_as_none` failed: timed out after 5s waiting for recv of Ok(None) after the
//! peer's close``.
//!
//! ## What it checks
//! The [`Transport`](quorumnet_core::transport::Transport) contract, on a fault-free link (loss and
//! latency are the simulator's business, not the contract's):
//!
//! | area | cases |
//! | --- | --- |
//! | identity | `mutual_authentication` (both `remote()`s), `wrong_expected_identity_is_refused`, `unadmitted_peer_is_refused`, `peer_banned_while_listening_is_refused` (a ban through the live handle after `listen`), `impostor_claiming_a_key_gets_no_connection`, `impostor_replaying_a_proof_gets_no_connection` |
//! | frames | `round_trip`, `ten_thousand_mixed_frames_in_order_exactly_once` (1 byte to the limit, seeded sizes, every byte checked), `frame_at_limit_passes`, `oversize_and_empty_frames_fail_cleanly`, `simultaneous_bidirectional_sends`, `try_send_keeps_order_with_send` (the fast path, where a transport has one, keeps order with `send`) |
//! | lifecycle | `concurrent_connections`, `clean_close_is_seen_as_none`, `recv_works_after_local_close`, `dropped_connection_delivers_what_it_accepted`, `dropped_listener_ends_unaccepted_connections`, `dial_to_dead_address_fails_within_bound`, `reconnect_after_drop`, `listen_port_zero_reports_real_address` |
//! | robustness | `garbage_does_not_take_listener_down`, `half_finished_handshake_does_not_take_listener_down` |
//! | backpressure | `backpressure_declared_bound_and_blocks_before_16_mib`, `frame_larger_than_k_is_accepted_alone` |
//! | figures | `throughput_and_latency_figures` (printed, never asserted) |
//!
//! Decisions the cases encode, where the contract leaves room:
//! - **Refused means no connection for either side.** An unadmitted or banned dialer's `dial` fails, or
//!   — for transports where the dialer cannot learn of its refusal during the handshake — yields a
//!   connection that ends without delivering a frame. The listener must yield nothing: an admitted
//!   sentinel dials next, and the listener's next connection must be the sentinel's.
//! - **Impostors are judged at the listener.** The factory's impostor may see `Ok` or `Err` from its own
//!   `dial`; the listener must not yield its connection. The listener admits both the victim and the
//!   impostor's own key, so only the identity proof can tell them apart.
//! - **A refused `send` leaves the connection usable.** Empty and oversize frames fail with
//!   `EmptyFrame` / `FrameTooLarge`, and the next frame sent is the next the peer receives.
//! - **Stalled handshakes delay nobody**: with three dialers stalled mid-handshake, an honest peer must
//!   connect within one `handshake_timeout`.
//! - **Backpressure** is observed, not measured: a `send` still pending after 100 ms is "pending"; it
//!   must happen before 16 MiB were accepted, and once the peer reads, that send completes and every
//!   frame arrives in order.
//! - **A dropped connection ends for the peer** (`Ok(None)` or an error), within the patience; if it
//!   was dropped without `close`, the peer first receives every frame it accepted, then `Ok(None)`
//!   (`dropped_connection_delivers_what_it_accepted`).
//! - **A frame larger than K is accepted alone**: against a peer that never reads, the first such
//!   `send` completes; the next one stays pending (`frame_larger_than_k_is_accepted_alone`).
//! - **`close` ends the sending direction only**: `recv` keeps returning the peer's frames, then
//!   `Ok(None)` after the peer's close (`recv_works_after_local_close`).
//! - **Dropping a listener closes it**: its unaccepted connections end for their dialers, a new dial
//!   fails within the dial + handshake timeouts, and accepted connections carry on
//!   (`dropped_listener_ends_unaccepted_connections`).
//!
//! Every network wait is bounded by [`TransportFactory::patience`] (or a tighter bound the case states)
//! and fails naming the case and what it waited for; nothing sleeps to synchronise.
//!
//! ## Writing a factory
//! A [`TransportFactory`] builds the transport under test for each participant from a
//! [`TransportContext`](quorumnet_core::transport::TransportContext), names addresses to listen on and
//! where nothing listens, and plays two attackers that only the transport's author can write, because
//! they speak its wire protocol:
//! - [`TransportFactory::impostor`]: a dialer that holds key A and claims another identity, either by
//!   presenting the victim's public key with a proof signed by A, or by replaying a proof the victim made
//!   for another link (the factory may use the victim's key only to make that proof).
//! - [`TransportFactory::misbehave`]: a raw link that sends garbage, or starts a handshake and stalls.
//!
//! `examples/custom-transport` in the quorumnet repository is a complete third-party transport with its
//! factory (`tests/factory/mod.rs`) and a README that walks through it.
//!
//! ## Runtimes
//! [`conformance_tests!`] runs each case on a fresh multi-thread tokio runtime with 2 workers, right
//! for socket transports. A deterministic simulator can ask for a current-thread runtime with a paused
//! clock: `conformance_tests!(factory, runtime = CurrentThreadPaused)`.
//!
//! ## Teeth
//! This crate's own tests (`tests/teeth.rs`) break a working transport in sixteen ways — drops a frame,
//! duplicates one, reorders, corrupts a byte, skips authentication, ignores the admission handle, ignores
//! the expected id, accepts oversize frames, buffers without bound, never reports close, hangs dialing a
//! dead address, dies on garbage, waits for room for a frame larger than K, ends `recv` at a local
//! close, discards unflushed frames on drop, keeps a dropped listener's connections open — and assert that each is caught by the case named for it, while the
//! unbroken transport passes that same case.

pub mod cases;
mod cases_list;
mod factory;
mod harness;
pub mod noise;
mod pattern;
pub mod sockets;

use std::future::Future;
use std::pin::Pin;

pub use factory::{ImpostorAttack, Misbehaviour, TransportFactory};
pub use harness::{CaseFailure, Outcome};

/// The future a case returns.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// One case: its name (the generated test's name) and how to run it.
#[derive(Clone, Copy)]
pub struct Case {
    /// The case's name, e.g. `"round_trip"`.
    pub name: &'static str,
    /// Runs the case against a factory.
    pub run: for<'a> fn(&'a dyn TransportFactory) -> CaseFuture<'a>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

pub use cases_list::CASES;

/// The case named `name`.
pub fn case(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|case| case.name == name)
}

/// The tokio runtime a generated test runs its case on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Multi-thread, 2 workers: for socket transports.
    MultiThread,
    /// Current-thread with the clock paused (it advances when every task waits): for deterministic
    /// simulators. Never for real sockets, whose I/O the paused clock would race.
    CurrentThreadPaused,
}

impl Runtime {
    fn build(self) -> tokio::runtime::Runtime {
        let mut builder = match self {
            Runtime::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            Runtime::CurrentThreadPaused => {
                let mut builder = tokio::runtime::Builder::new_current_thread();
                builder.start_paused(true);
                builder
            }
        };
        builder.enable_all().build().expect("building the tokio runtime for a conformance case")
    }
}

/// Runs the case named `name` against the factory `make` builds, on a fresh runtime of the given kind.
///
/// # Panics
/// With the [`CaseFailure`] when the case fails, or if no case has that name. [`conformance_tests!`]
/// calls this from each generated test.
pub fn run_test<F: TransportFactory>(name: &str, runtime: Runtime, make: impl FnOnce() -> F) {
    let case = case(name).unwrap_or_else(|| panic!("no conformance case is named {name:?}"));
    let result = runtime.build().block_on(async move {
        let factory = make();
        (case.run)(&factory).await
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Generates a module `conformance` with one `#[test]` per case, each running that case against the
/// factory the expression builds (evaluated afresh for every test).
///
/// ```ignore
/// quorumnet_conformance::conformance_tests!(MyFactory::default());
/// // A deterministic simulator can run on a paused current-thread runtime:
/// quorumnet_conformance::conformance_tests!(SimFactory::with_seed(7), runtime = CurrentThreadPaused);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::conformance_tests!($factory, runtime = MultiThread);
    };
    ($factory:expr, runtime = $runtime:ident $(,)?) => {
        $crate::__with_case_names! { __conformance_test_fns ($factory, $runtime) }
    };
}

/// The single list of cases, handed to `$callback` as `module::name` paths after `$args`.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_case_names {
    ($callback:ident $args:tt) => {
        $crate::$callback! { $args
            identity::mutual_authentication
            identity::wrong_expected_identity_is_refused
            identity::unadmitted_peer_is_refused
            identity::peer_banned_while_listening_is_refused
            frames::round_trip
            frames::ten_thousand_mixed_frames_in_order_exactly_once
            frames::frame_at_limit_passes
            frames::oversize_and_empty_frames_fail_cleanly
            lifecycle::concurrent_connections
            frames::simultaneous_bidirectional_sends
            frames::try_send_keeps_order_with_send
            lifecycle::clean_close_is_seen_as_none
            lifecycle::dial_to_dead_address_fails_within_bound
            robustness::garbage_does_not_take_listener_down
            robustness::half_finished_handshake_does_not_take_listener_down
            identity::impostor_claiming_a_key_gets_no_connection
            identity::impostor_replaying_a_proof_gets_no_connection
            backpressure::backpressure_declared_bound_and_blocks_before_16_mib
            backpressure::frame_larger_than_k_is_accepted_alone
            lifecycle::recv_works_after_local_close
            lifecycle::dropped_connection_delivers_what_it_accepted
            lifecycle::dropped_listener_ends_unaccepted_connections
            lifecycle::reconnect_after_drop
            lifecycle::listen_port_zero_reports_real_address
            figures::throughput_and_latency_figures
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (($factory:expr, $runtime:ident) $($module:ident :: $name:ident)*) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::run_test(stringify!($name), $crate::Runtime::$runtime, || $factory);
                }
            )*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_table {
    (() $($module:ident :: $name:ident)*) => {
        /// Every case, in the order of DESIGN.md §4.
        pub static CASES: &[$crate::Case] = &[$(
            $crate::Case { name: stringify!($name), run: |factory| Box::pin($crate::cases::$module::$name(factory)) }
        ),*];
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use async_trait::async_trait;
    use quorumnet_core::identity::ValidatorId;
    use quorumnet_core::transport::{Connection, Listener, PeerAddress, Transport, TransportContext, TransportError};

    use super::*;

    /// A transport that can neither listen nor dial: every case that needs a link fails at once.
    struct Nothing;

    #[async_trait]
    impl Transport for Nothing {
        fn scheme(&self) -> &'static str {
            "nothing"
        }

        async fn listen(&self, addr: &PeerAddress) -> Result<Box<dyn Listener>, TransportError> {
            Err(TransportError::InvalidAddress { addr: addr.to_string(), reason: "nothing listens".into() })
        }

        async fn dial(
            &self,
            addr: &PeerAddress,
            _: Option<ValidatorId>,
        ) -> Result<Box<dyn Connection>, TransportError> {
            Err(TransportError::Unreachable { addr: addr.to_string(), reason: "nothing dials".into() })
        }
    }

    struct NothingFactory;

    #[async_trait]
    impl TransportFactory for NothingFactory {
        fn build(&self, _: TransportContext) -> Arc<dyn Transport> {
            Arc::new(Nothing)
        }

        fn listen_address(&self) -> PeerAddress {
            "nothing://here".parse().unwrap()
        }

        fn dead_address(&self) -> PeerAddress {
            "nothing://there".parse().unwrap()
        }

        fn impostor(&self, _: TransportContext, _: ImpostorAttack) -> Arc<dyn Transport> {
            Arc::new(Nothing)
        }

        async fn misbehave(&self, _: &PeerAddress, _: Misbehaviour) {}
    }

    #[test]
    fn cases_have_unique_names_covering_design_section_4() {
        let names: BTreeSet<_> = CASES.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CASES.len(), "duplicate case names");
        assert_eq!(CASES.len(), 25);
    }

    #[tokio::test]
    async fn every_case_reports_failures_under_its_own_name() {
        for case in CASES {
            // Only the dead-address case can pass against a transport that reaches nothing.
            if let Err(failure) = (case.run)(&NothingFactory).await {
                assert_eq!(failure.case, case.name, "{failure}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "conformance case `round_trip` failed: listen on nothing://here failed")]
    fn a_generated_test_panics_with_the_failure_on_a_paused_runtime_too() {
        run_test("round_trip", Runtime::CurrentThreadPaused, || NothingFactory);
    }
}
