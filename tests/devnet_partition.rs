//! A partition scheduled by height (`DevnetConfig::partition`, `quorumnet devnet --partition`), in
//! virtual time: the side without 2/3 of the power stops while the other commits on, and after the heal
//! everyone catches up and agrees; a 4|3 cut with an equivocator linked to both sides never commits
//! conflicting blocks, proves the equivocator and resumes after the heal; the `partition-heal` preset
//! runs and its report shows the partition; bad values exit non-zero naming the option.

use std::process::{Command, Output};
use std::time::Duration;

use quorumnet::devnet::byzantine::ByzantineKind;
use quorumnet::devnet::partition::PartitionPlan;
use quorumnet::devnet::partition_driver::{PartitionMoment, PartitionRecord};
use quorumnet::devnet::{Devnet, DevnetConfig};
use quorumnet::message::Height;
use serde_json::Value;
use tokio::time::Instant;

/// How long (virtual) a test waits for anything before failing.
const WITHIN: Duration = Duration::from_secs(60);
/// How often a bounded wait looks again.
const POLL: Duration = Duration::from_millis(100);
/// Heights every validator commits after the heal, beyond the highest at the heal.
const AFTER_HEAL: u64 = 3;

fn plan(value: &str) -> PartitionPlan {
    value.parse().expect("a valid --partition value")
}

/// Waits until `holds` is true of the devnet, or fails after [`WITHIN`] saying `what` and `state`.
async fn eventually<T: std::fmt::Debug>(devnet: &Devnet, what: &str, mut holds: impl FnMut(&Devnet) -> (bool, T)) -> T {
    let deadline = Instant::now() + WITHIN;
    loop {
        let (done, state) = holds(devnet);
        if done {
            return state;
        }
        assert!(Instant::now() < deadline, "not {what} after {WITHIN:?}: {state:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// The partition's record once it healed, with its cut and heal moments.
async fn healed(devnet: &Devnet) -> (PartitionRecord, PartitionMoment, PartitionMoment) {
    let record = eventually(devnet, "healed", |devnet| {
        let record = devnet.partition().expect("a partition is scheduled");
        (record.healed.is_some(), record)
    })
    .await;
    let (cut, heal) = (record.cut.expect("cut before healing"), record.healed.expect("healed"));
    (record, cut, heal)
}

/// Every honest validator commits [`AFTER_HEAL`] heights past the highest at the heal, and they agree.
async fn resumes_after_heal(devnet: &mut Devnet, heal: &PartitionMoment) {
    let honest = devnet.honest();
    let target = Height(heal.highest + AFTER_HEAL);
    devnet.wait_for_height(target, &honest, WITHIN).await.expect("every honest validator commits after the heal");
    let common = devnet.check_agreement().expect("no conflicting blocks after the heal");
    assert!(common >= target.0, "every honest validator holds {target:?}: {common}");
}

#[tokio::test(start_paused = true)]
async fn a_five_two_split_stops_the_minority_while_the_majority_commits_and_all_agree_after_the_heal() {
    let config = DevnetConfig { partition: Some(plan("5|2@3").healing_at(8)), ..DevnetConfig::memory(7, 61) };
    let mut devnet = Devnet::start(config).await.unwrap();
    let (record, cut, heal) = healed(&devnet).await;
    assert_eq!(
        (&record.side_a[..], &record.side_b[..], &record.bridging[..]),
        (&[0, 1, 2, 3, 4][..], &[5, 6][..], &[][..])
    );
    assert!(cut.highest >= 3, "cut once height 3 is committed: {cut:?}");
    assert_eq!(record.healed_by, Some("height"), "5 of 7 reach --heal-at 8 before the 60 s fallback");
    assert!(heal.side_a_height >= 8, "the majority side committed on: {heal:?}");
    assert!(heal.side_b_height <= cut.highest, "the minority (2 of 7) committed nothing while cut: {record:?}");
    assert!(heal.at_s > cut.at_s);
    devnet.check_agreement().expect("no conflicting blocks while cut");
    resumes_after_heal(&mut devnet, &heal).await;
    devnet.shutdown().await;
}

/// With 7 validators of power 1 a quorum is 5: a 4|3 cut leaves neither side one.
#[tokio::test(start_paused = true)]
async fn a_four_three_split_of_seven_honest_validators_stalls_both_sides_until_the_heal() {
    let after = Duration::from_secs(5);
    let config = DevnetConfig { partition: Some(plan("4|3@3").healing_after(after)), ..DevnetConfig::memory(7, 62) };
    let mut devnet = Devnet::start(config).await.unwrap();
    let (record, cut, heal) = healed(&devnet).await;
    assert_eq!(record.healed_by, Some("time"));
    let lasted = heal.at_s - cut.at_s;
    assert!((lasted - after.as_secs_f64()).abs() < 0.1, "healed {after:?} after the cut: {lasted} s");
    assert!(heal.highest <= cut.highest, "neither side has 5 of 7, so neither commits while cut: {record:?}");
    resumes_after_heal(&mut devnet, &heal).await;
    devnet.shutdown().await;
}

/// 4|3 with the equivocator (6) counted on the 3 side and linked to both: its votes would give side A
/// (4 honest) a quorum of 5, and it sends each validator one of two conflicting votes per round. No
/// conflicting block is ever committed, every honest node proves it, and heights resume after the
/// heal.
#[tokio::test(start_paused = true)]
async fn a_four_three_split_with_a_two_sided_equivocator_never_commits_conflicting_blocks_and_resumes_after_the_heal() {
    let config = DevnetConfig {
        byzantine: vec![ByzantineKind::Equivocator],
        partition: Some(plan("4|3@3")),
        ..DevnetConfig::memory(7, 63)
    };
    let mut devnet = Devnet::start(config).await.unwrap();
    let (record, cut, heal) = healed(&devnet).await;
    assert_eq!(
        (&record.side_a[..], &record.side_b[..], &record.bridging[..]),
        (&[0, 1, 2, 3][..], &[4, 5][..], &[6][..])
    );
    assert!(cut.highest >= 3, "{cut:?}");
    devnet.check_agreement().expect("no conflicting blocks while cut");
    assert!(heal.highest <= cut.highest, "no side reached a quorum of 5 while cut: {record:?}");
    resumes_after_heal(&mut devnet, &heal).await;
    let equivocator = devnet.keys()[6].validator_id();
    let honest = devnet.honest();
    let without = eventually(&devnet, "holding evidence against the equivocator everywhere", |devnet| {
        let without: Vec<usize> = honest
            .iter()
            .copied()
            .filter(|&i| !devnet.journal(i).unwrap().evidence.iter().any(|e| e.accused() == equivocator))
            .collect();
        (without.is_empty(), without)
    })
    .await;
    assert!(without.is_empty());
    devnet.check_agreement().expect("no conflicting blocks at the end");
    devnet.shutdown().await;
}

/// `quorumnet devnet args --report <temp>/report.json`; its output and report (if written).
fn devnet(args: &[&str]) -> (Output, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_quorumnet"))
        .arg("devnet")
        .args(args)
        .arg("--report")
        .arg(&path)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&path).ok().map(|json| serde_json::from_str(&json).unwrap());
    (output, report)
}

fn f64_of(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn the_partition_heal_preset_runs_and_its_report_shows_the_cut_and_the_heal() {
    let (output, report) = devnet(&["--preset", "partition-heal", "--heights", "8", "--seed", "1"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("partition 4|3@3"), "the table shows the partition: {stdout}");
    let report = report.expect("report.json written");
    assert_eq!((report["validators"].as_u64(), report["byzantine_validators"].as_u64()), (Some(7), Some(1)));
    assert_eq!(report["agreement"], true);
    assert!(report["heights_committed"].as_u64().unwrap() >= 8, "{}", report["heights_committed"]);
    let partition = &report["partition"];
    assert_eq!(partition["plan"], "4|3@3");
    assert_eq!(partition["side_a"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(partition["side_b"], serde_json::json!([4, 5]));
    assert_eq!(partition["bridging"], serde_json::json!([6]), "the equivocator reaches both sides");
    assert_eq!(partition["healed_by"], "time");
    let (cut, healed) = (&partition["cut"], &partition["healed"]);
    assert!(cut["highest"].as_u64().unwrap() >= 3, "{partition}");
    let lasted = f64_of(&healed["at_s"]) - f64_of(&cut["at_s"]);
    assert!((lasted - 10.0).abs() < 0.1, "healed 10 s after the cut: {partition}");
    let evidence = report["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!((evidence[0]["accused"].as_u64(), evidence[0]["kind"].as_str()), (Some(6), Some("equivocate")));
    assert!(!evidence[0]["held_by"].as_array().unwrap().is_empty(), "the equivocator was proven: {evidence:?}");
}

#[test]
fn bad_partition_values_exit_non_zero_naming_the_option() {
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--partition", "4-3"], &["--partition", "`|`"]),
        (&["--partition", "4|x@2"], &["--partition", "neither a count"]),
        (&["--partition", "5|5"], &["--partition 5|5@1", "the devnet has 4"]),
        (&["--partition", "2|2", "--transport", "tcp-noise"], &["--partition", "--transport memory"]),
        (&["--heal-at", "5"], &["--heal-at", "give --partition"]),
        (&["--partition", "2|2@5", "--heal-at", "5"], &["--heal-at 5 is not above"]),
    ];
    for (args, wanted) in cases {
        let (output, report) = devnet(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted: {stderr}");
        assert!(report.is_none(), "{args:?} wrote a report");
        for want in wanted {
            assert!(stderr.contains(want), "{args:?}: {stderr:?} does not say {want:?}");
        }
    }
}
