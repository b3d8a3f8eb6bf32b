//! The `quorumnet` binary itself: `devnet` runs, prints the table and writes a report.json with the
//! documented fields; bad options fail with a message saying what to change.

use std::process::Command;

fn quorumnet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quorumnet"))
}

#[test]
fn devnet_writes_a_report_with_every_field() {
    let (stdout, json) = run_devnet(&["--validators", "4", "--heights", "5", "--seed", "3"]);
    assert!(stdout.contains("finality latency p50"), "table printed: {stdout}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["validators"], 4);
    assert_eq!(report["transport"], "memory");
    assert_eq!(report["virtual_time"], true);
    assert_eq!(report["agreement"], true);
    assert!(report["heights_committed"].as_u64().unwrap() >= 5);
    assert!(report["finality_latency"]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(
        report["finality_latency"]["p99_ms"].as_f64().unwrap()
            >= report["finality_latency"]["p50_ms"].as_f64().unwrap()
    );
    assert!(report["messages_per_height"].as_f64().unwrap() > 0.0);
    // A proposal and two votes per validator per height, give or take a timed-out round.
    assert!(report["signed_per_height"].as_f64().unwrap() >= 9.0);
    for field in ["messages_sent", "bytes_sent", "duplicates", "retransmissions", "timeouts"] {
        assert!(report["totals"][field].is_u64(), "totals.{field}");
    }
    let validators = report["per_validator"].as_array().unwrap();
    assert_eq!(validators.len(), 4);
    assert!(validators.iter().all(|v| v["messages_received"].as_u64().unwrap() > 0 && v["bytes_received"].is_u64()));
}

/// Runs `quorumnet devnet` with `args`; returns what it printed and its report.json.
fn run_devnet(args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let output = quorumnet().arg("devnet").args(args).arg("--report").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    (stdout, std::fs::read_to_string(&path).unwrap())
}

fn report_of(args: &[&str]) -> String {
    run_devnet(args).1
}

#[test]
fn devnet_on_the_simulator_reports_the_same_for_the_same_seed() {
    // Everything but the process's peak memory, which the OS measures.
    let run = |seed: &str| {
        let mut report: serde_json::Value =
            serde_json::from_str(&report_of(&["-n", "4", "--heights", "5", "--reset-every", "1", "--seed", seed]))
                .unwrap();
        let fields = report.as_object_mut().unwrap();
        assert!(fields.remove("peak_rss_mb").is_some() && fields.remove("peak_rss_mb_per_validator").is_some());
        report
    };
    let first = run("11");
    assert_eq!(first, run("11"), "virtual time: the whole report is a function of the seed");
    assert_ne!(first, run("12"));
}

/// On the simulator the report says the shared verification cache was on, and each envelope was
/// verified about once in the process rather than once per node; `--no-verification-cache` turns it off.
#[test]
fn the_report_says_when_the_shared_verification_cache_was_on() {
    let report = |extra: &[&str]| -> serde_json::Value {
        let args = [&["-n", "4", "--heights", "3", "--seed", "3"][..], extra].concat();
        serde_json::from_str(&report_of(&args)).unwrap()
    };
    let on = report(&[]);
    let cache = &on["verification_cache"];
    let (verified, reused) = (cache["verified"].as_u64().unwrap(), cache["reused"].as_u64().unwrap());
    assert!(reused >= 2 * verified, "three other nodes check each envelope: {cache}");
    assert!(report(&["--no-verification-cache"])["verification_cache"].is_null());
}

/// `--bandwidth-mbit` limits each validator's interface: a proposer sending a 256 KiB block to three
/// peers through 10 Mbit/s needs ≈ 630 ms for it alone, so finality slows by about that much.
#[test]
fn a_validator_bandwidth_limit_slows_finality_by_what_the_blocks_take_to_upload() {
    let p50 = |extra: &[&str]| {
        let args = [&["-n", "4", "--heights", "5", "--seed", "4", "--block-bytes", "262144"], extra].concat();
        let report: serde_json::Value = serde_json::from_str(&report_of(&args)).unwrap();
        assert_eq!(report["agreement"], true);
        report["finality_latency"]["p50_ms"].as_f64().unwrap()
    };
    let (unlimited, limited) = (p50(&[]), p50(&["--bandwidth-mbit", "10"]));
    let upload_ms = 3.0 * 262_144.0 * 8.0 / 10e6 * 1e3;
    assert!(limited >= unlimited + 0.8 * upload_ms, "p50 {limited:.0} ms at 10 Mbit/s, {unlimited:.0} ms unlimited");
}

/// `quorumnet devnet --transport NAME` on a socket transport: real time, and it commits. Returns the
/// report.
fn devnet_runs_over_loopback(transport: &str, validators: &str, heights: u64) -> serde_json::Value {
    let heights_arg = heights.to_string();
    let args = ["--transport", transport, "-n", validators, "--heights", &heights_arg];
    let report: serde_json::Value = serde_json::from_str(&report_of(&args)).unwrap();
    assert_eq!(report["transport"], transport);
    assert_eq!(report["virtual_time"], false);
    assert_eq!(report["agreement"], true);
    assert!(report["heights_committed"].as_u64().unwrap() >= heights);
    report
}

/// `--transport mixed`: the report lists each validator's transport, and they are not all one.
#[cfg(any(feature = "quic", feature = "websocket"))]
#[test]
fn devnet_on_mixed_reports_validators_on_more_than_one_transport() {
    let report = devnet_runs_over_loopback("mixed", "4", 5);
    let mut transports: Vec<&str> =
        report["per_validator"].as_array().unwrap().iter().map(|v| v["transport"].as_str().unwrap()).collect();
    assert_eq!(transports.len(), 4);
    assert!(!transports.contains(&"mixed") && !transports.contains(&"memory"), "{transports:?}");
    transports.sort_unstable();
    transports.dedup();
    assert!(transports.len() > 1, "every validator on {transports:?}");
}

/// In a build with tcp-noise as its only socket transport, `--transport mixed` fails naming the
/// features to build with.
#[cfg(not(any(feature = "quic", feature = "websocket")))]
#[test]
fn devnet_refuses_mixed_with_tcp_noise_alone_and_names_the_features() {
    let output =
        quorumnet().args(["devnet", "--transport", "mixed", "--report", "/nonexistent/r.json"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--transport mixed") && stderr.contains("--features quic"), "{stderr}");
}

#[test]
fn devnet_runs_over_tcp_noise_loopback() {
    devnet_runs_over_loopback("tcp-noise", "4", 3);
}

#[cfg(feature = "websocket")]
#[test]
fn devnet_runs_over_websocket_loopback() {
    devnet_runs_over_loopback("websocket", "4", 3);
}

#[cfg(feature = "quic")]
#[test]
fn devnet_runs_over_quic_loopback_with_4_and_7_validators() {
    devnet_runs_over_loopback("quic", "4", 20);
    devnet_runs_over_loopback("quic", "7", 20);
}

#[test]
fn devnet_refuses_zero_validators_and_says_which_option_to_change() {
    let output = quorumnet().args(["devnet", "--validators", "0", "--report", "/nonexistent/r.json"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--validators must be at least 1"), "{stderr}");
}

/// `--nat 2 --relays 2`: two of seven validators behind two relays, and the report says so.
#[test]
fn devnet_with_nat_bound_validators_commits_and_reports_them() {
    let args = ["-n", "7", "--nat", "2", "--relays", "2", "--heights", "5", "--seed", "5"];
    let report: serde_json::Value = serde_json::from_str(&report_of(&args)).unwrap();
    assert_eq!((report["nat"].as_u64(), report["relays"].as_u64()), (Some(2), Some(2)));
    assert_eq!(report["agreement"], true);
    assert!(report["heights_committed"].as_u64().unwrap() >= 5);
}

#[test]
fn devnet_refuses_nat_without_a_listening_validator_or_off_the_simulator() {
    let refused = |args: &[&str]| {
        let output = quorumnet().arg("devnet").args(args).args(["--report", "/nonexistent/r.json"]).output().unwrap();
        assert!(!output.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(refused(&["-n", "4", "--nat", "4"]).contains("use at most 3"));
    assert!(refused(&["-n", "4", "--nat", "1", "--transport", "tcp-noise"]).contains("--transport memory"));
    assert!(refused(&["-n", "4", "--nat", "1", "--relays", "3"]).contains("--relays"));
}
