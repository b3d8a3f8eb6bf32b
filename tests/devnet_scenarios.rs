//! `quorumnet devnet`'s scenarios, through the binary: byzantine validators by kind (`--byzantine`),
//! named presets (`--preset`), the report's findings (byzantine validators, evidence, bans) and the
//! SVG plot written beside report.json; bad values exit non-zero naming the option.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// A finished run: its report.json and report.svg.
struct Run {
    report: Value,
    svg: String,
}

/// `quorumnet devnet args --report report`.
fn devnet(args: &[&str], report: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quorumnet")).arg("devnet").args(args).arg("--report").arg(report).output().unwrap()
}

/// Runs `quorumnet devnet args` to success; returns its report and plot.
fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let output = devnet(args, &path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{args:?}: {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    let report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("report.svg")).expect("report.svg written beside report.json");
    Run { report, svg }
}

/// Runs `quorumnet devnet args`, which must fail; returns what it printed on stderr.
fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = devnet(args, &dir.path().join("report.json"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} was accepted: {stderr}");
    stderr
}

fn u64_of(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a count: {value}"))
}

/// The (banning, banned) pairs of a report.
fn bans(report: &Value) -> Vec<(u64, u64)> {
    report["bans"].as_array().unwrap().iter().map(|ban| (u64_of(&ban["by"]), u64_of(&ban["banned"]))).collect()
}

#[test]
fn seven_validators_with_an_equivocator_and_a_spammer_commit_and_report_evidence_and_bans() {
    let Run { report, svg } = run(&["-n", "7", "--byzantine", "equivocate=1,spam=1", "--heights", "10", "--seed", "1"]);
    assert_eq!(report["agreement"], true);
    assert!(
        u64_of(&report["heights_committed"]) >= 10,
        "the 5 honest validators commit: {}",
        report["heights_committed"]
    );
    assert_eq!(report["byzantine_validators"], 2);
    // The run stops once the honest validators are there, not at --time-limit (120 s) waiting for
    // byzantine validators that never commit.
    let duration = report["duration_s"].as_f64().unwrap();
    assert!(duration < 30.0, "stopped when the honest validators committed 10 heights: {duration} s");
    // The last two validators, in the order given.
    let byzantine: Vec<(u64, &str)> = report["byzantine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (u64_of(&b["index"]), b["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(byzantine, [(5, "equivocate"), (6, "spam")]);
    assert_eq!(report["per_validator"][5]["byzantine"], "equivocate");
    assert_eq!(report["per_validator"][0]["byzantine"], Value::Null);
    assert!(u64_of(&report["byzantine"][1]["frames_sent"]) > 1000, "the spammer flooded: {}", report["byzantine"][1]);

    let evidence = report["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 1, "only the equivocator is accused: {evidence:?}");
    assert_eq!((u64_of(&evidence[0]["accused"]), evidence[0]["kind"].as_str()), (5, Some("equivocate")));
    assert_eq!(evidence[0]["held_by"], serde_json::json!([0, 1, 2, 3, 4]), "every honest node holds the proof");

    let bans = bans(&report);
    assert!(bans.iter().all(|&(by, banned)| by < 5 && banned >= 5), "only byzantine validators banned: {bans:?}");
    for byzantine in [5, 6] {
        assert!(bans.iter().any(|&(_, banned)| banned == byzantine), "validator {byzantine} banned: {bans:?}");
    }
    assert!(report["partitions_seen"].as_array().unwrap().is_empty(), "a full mesh never splits");

    let heights = report["per_height"].as_array().unwrap().len();
    assert!(heights >= 10, "a latency per height: {}", report["per_height"]);
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "an SVG document: {svg:.200}");
    assert_eq!(svg.matches("<circle").count(), heights, "one circle per height");
}

#[test]
fn each_preset_runs_with_its_defaults_and_explicit_options_override_them() {
    let byzantine = run(&["--preset", "byzantine", "--heights", "3"]).report;
    assert_eq!((byzantine["validators"].as_u64(), byzantine["byzantine_validators"].as_u64()), (Some(7), Some(2)));
    let kinds: Vec<&str> =
        byzantine["byzantine"].as_array().unwrap().iter().map(|b| b["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["equivocate", "spam"], "two byzantine validators of different kinds");

    let nat = run(&["--preset", "nat", "--heights", "3"]).report;
    assert_eq!((nat["validators"].as_u64(), nat["nat"].as_u64(), nat["relays"].as_u64()), (Some(7), Some(2), Some(2)));

    let wan = run(&["--preset", "lossy-wan", "--heights", "3"]).report;
    // 150 ms one way, 50 ms jitter, 2 % loss: several WAN trips per height, where the default links
    // (50 ms) decide in under 200 ms.
    assert!(wan["finality_latency"]["p50_ms"].as_f64().unwrap() > 300.0, "WAN latency: {}", wan["finality_latency"]);

    let stress = run(&["--preset", "stress", "--heights", "1"]).report;
    assert_eq!(stress["validators"], 100);

    for report in [&byzantine, &nat, &wan, &stress] {
        assert_eq!(report["agreement"], true);
        assert!(u64_of(&report["heights_committed"]) >= 1);
    }

    let overridden = run(&["--preset", "byzantine", "-n", "10", "--byzantine", "silent=1", "--heights", "2"]).report;
    assert_eq!((overridden["validators"].as_u64(), overridden["byzantine_validators"].as_u64()), (Some(10), Some(1)));
    assert_eq!(overridden["byzantine"][0]["kind"], "silent");
}

#[test]
fn an_unknown_preset_is_refused_with_the_names_there_are() {
    let stderr = refused(&["--preset", "moon"]);
    assert!(
        stderr.contains("unknown preset") && stderr.contains("partition-heal") && stderr.contains("churn"),
        "{stderr}"
    );
}

#[test]
fn bad_byzantine_values_exit_non_zero_naming_the_option() {
    let cases: [(&[&str], &str); 7] = [
        (&["--byzantine", "eat=1"], "unknown byzantine kind `eat`"),
        (&["--byzantine", ""], "is not KIND=COUNT"),
        (&["--byzantine", "spam=1,spam=1"], "given twice"),
        (&["--byzantine", "spam=0"], "count of at least 1"),
        (&["--byzantine", "spam"], "is not KIND=COUNT"),
        (&["-n", "7", "--byzantine", "spam=2,forge=1"], "at most 2"),
        (&["-n", "4", "--byzantine", "spam=1", "--transport", "tcp-noise"], "--transport memory"),
    ];
    for (args, reason) in cases {
        let stderr = refused(args);
        assert!(stderr.contains("--byzantine") && stderr.contains(reason), "{args:?}: {stderr}");
    }
}

/// A 2|2 split of 4 validators, then its heal: each node's liveness monitor signals the partition and
/// the heal, the devnet records them ([`Devnet::signals`]) and the report lists them per validator.
#[tokio::test(start_paused = true)]
async fn the_report_lists_the_partition_and_heal_each_validator_signalled() {
    use std::time::Duration;

    use quorumnet::devnet::signals::PartitionSignal;
    use quorumnet::devnet::{Devnet, DevnetConfig, Report};
    use quorumnet::message::Height;

    let everyone = [0, 1, 2, 3];
    let mut devnet = Devnet::start(DevnetConfig::memory(4, 9)).await.unwrap();
    devnet.wait_for_height(Height(2), &everyone, Duration::from_secs(30)).await.unwrap();
    let ids: Vec<_> = devnet.keys().iter().map(|key| key.validator_id()).collect();
    devnet.network().partition([ids[..2].to_vec(), ids[2..].to_vec()]);
    let signalled = |devnet: &Devnet, wanted: fn(&PartitionSignal) -> bool| {
        everyone.iter().all(|&i| devnet.signals(i).unwrap().partitions.iter().any(|(_, signal)| wanted(signal)))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !signalled(&devnet, |s| matches!(s, PartitionSignal::Partitioned { reachable: 2, unreachable: 2 })) {
        assert!(tokio::time::Instant::now() < deadline, "not every node signalled the 2|2 partition within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    devnet.network().heal();
    let reached = devnet.check_agreement().unwrap();
    devnet.wait_for_height(Height(reached + 2), &everyone, Duration::from_secs(60)).await.unwrap();
    assert!(
        signalled(&devnet, |s| *s == PartitionSignal::Healed),
        "every node signalled the heal once committing again"
    );

    let report = Report::collect(&devnet).await;
    for validator in everyone {
        let seen: Vec<&str> =
            report.findings.partitions_seen.iter().filter(|p| p.validator == validator).map(|p| p.signal).collect();
        assert!(seen.contains(&"partitioned") && seen.contains(&"healed"), "validator {validator}: {seen:?}");
    }
    devnet.shutdown().await;
}

#[test]
fn the_churn_preset_changes_the_set_twice_and_the_last_set_commits_every_height() {
    let report = run(&["--preset", "churn", "--heights", "16"]).report;
    assert_eq!(report["agreement"], true);
    assert!(u64_of(&report["heights_committed"]) >= 16, "{}", report["heights_committed"]);
    let changes: Vec<(u64, Value, Value)> = report["churn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (u64_of(&c["height"]), c["left"].clone(), c["joined"].clone()))
        .collect();
    let json = |v: &[u64]| serde_json::json!(v);
    assert_eq!(changes, [(6, json(&[0, 1]), json(&[5, 6])), (12, json(&[2]), json(&[0]))]);
    let running: Vec<bool> =
        report["per_validator"].as_array().unwrap().iter().map(|v| v["running"].as_bool().unwrap()).collect();
    assert_eq!(running, [true, false, false, true, true, true, true], "leavers stopped, joiners running");
}

#[test]
fn bad_churn_values_exit_non_zero_naming_the_option() {
    let cases: [(&[&str], &str); 4] = [
        (&["--churn", "6:0"], "`-` (leaves) or `+` (joins)"),
        (&["--churn", "5:-9"], "raise --validators"),
        (&["--churn", "5:-0", "--transport", "tcp-noise"], "--transport memory"),
        (&["--churn", "5:-0", "--byzantine", "spam=1"], "without --byzantine, --nat and --partition"),
    ];
    for (args, says) in cases {
        let stderr = refused(args);
        assert!(stderr.contains("--churn") && stderr.contains(says), "{args:?}: {stderr}");
    }
}
