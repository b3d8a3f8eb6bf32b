//! A `quorumnet node` killed with SIGKILL and restarted resumes from its journal on disk: four
//! processes over tcp-noise on loopback; one is killed at height 3, the other three keep committing,
//! and the restarted one says where its journal left it, prints (catches up) the heights it missed
//! with the same blocks as the others, and signs on past the rounds it signed before the kill.

mod operator_support;

use std::time::Duration;

use operator_support::{loopback_network, node_command, Children, Printed};
use quorumnet::message::Height;
use quorumnet::operator::journal::JournalFile;

const VALIDATORS: usize = 4;
/// The validator killed, and the child index its restarted process gets.
const KILLED: usize = 3;
const RESTARTED: usize = VALIDATORS;
const KILL_AT: Height = Height(3);
/// Heights the three others commit while it is down: what it must catch up.
const WHILE_DOWN: u64 = 5;
/// As in `operator_node.rs`: debug builds of four processes sharing the CPUs, a wide margin.
const COMMIT_WITHIN: Duration = Duration::from_secs(120);
const EXIT_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn a_node_killed_with_sigkill_resumes_from_its_journal_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    // No `journal` field: each node's defaults to v<i>.journal beside its v<i>.toml.
    let configs = loopback_network(dir.path(), VALIDATORS);
    let mut children = Children::default();
    for config in &configs {
        children.spawn(node_command(config));
    }
    let mut printed = Printed::default();
    let others = [0, 1, 2];

    printed.wait_for(&children, COMMIT_WITHIN, "every node commits height 3", |p| {
        (0..VALIDATORS).all(|i| p.tip(i) >= KILL_AT)
    });
    for i in 0..VALIDATORS {
        let fresh = printed.resumed.get(&i).is_some_and(|r| r.height == Height(0) && r.last_signed.is_none());
        assert!(fresh, "node {i} started from an empty journal: {:?}", printed.resumed.get(&i));
    }

    children.signal(KILLED, libc::SIGKILL);
    printed.wait_for(&children, EXIT_WITHIN, "the killed node's stdout closes", |p| p.exited.contains(&KILLED));
    let status = children.wait(KILLED);
    assert!(!status.success(), "SIGKILL ended node {KILLED}: {status}");
    let printed_before_kill = printed.tip(KILLED);
    let down_at = others.iter().map(|&i| printed.tip(i)).max().unwrap();
    let caught_up_by = Height(down_at.0 + WHILE_DOWN);
    printed.wait_for(&children, COMMIT_WITHIN, "the three others commit 5 heights after the kill", |p| {
        others.iter().all(|&i| p.tip(i) >= caught_up_by)
    });
    assert!(others.iter().all(|&i| !printed.exited.contains(&i)), "a node exited: {:?}", printed.exited);

    let restarted = children.spawn(node_command(&configs[KILLED]));
    assert_eq!(restarted, RESTARTED);
    printed.wait_for(&children, COMMIT_WITHIN, "the restarted node prints where it resumed", |p| {
        p.resumed.contains_key(&RESTARTED)
    });
    let resumed = printed.resumed[&RESTARTED];
    // Each commit is in the journal before it is printed, and the kill may fall in between.
    assert!(
        resumed.height >= printed_before_kill,
        "resumed at {resumed:?}, printed {printed_before_kill} before the kill"
    );
    assert!(resumed.height.0 + WHILE_DOWN <= caught_up_by.0, "resumed at {resumed:?}: it missed nothing?");
    // Not necessarily at or above the tip: a validator can commit a height on the others'
    // pre-commits before it signed anything in it.
    let signed_before = resumed.last_signed.expect("it signed before the kill");

    let target = others.iter().map(|&i| printed.tip(i)).max().unwrap();
    printed.wait_for(&children, COMMIT_WITHIN, "the restarted node catches up with the others", |p| {
        p.tip(RESTARTED) >= target
    });
    let caught_up = printed.commits[&RESTARTED].clone();
    let heights: Vec<u64> = caught_up.keys().map(|h| h.0).collect();
    let expected: Vec<u64> = (resumed.height.0 + 1..=printed.tip(RESTARTED).0).collect();
    assert_eq!(heights, expected, "after a restart, the heights after the journal's tip, each once");
    let before_kill = printed.commits[&KILLED].clone();
    for (height, block) in before_kill.iter().chain(&caught_up) {
        for &i in &others {
            if let Some(theirs) = printed.commits[&i].get(height) {
                assert_eq!(theirs, block, "height {height}: node {i} and the killed validator disagree");
            }
        }
    }

    for index in [0, 1, 2, RESTARTED] {
        children.signal(index, libc::SIGTERM);
    }
    printed.wait_for(&children, EXIT_WITHIN, "every node exits on SIGTERM", |p| {
        [0, 1, 2, RESTARTED].iter().all(|i| p.exited.contains(i))
    });
    for index in [0, 1, 2, RESTARTED] {
        let status = children.wait(index);
        assert!(status.success(), "node {index} exited with {status} on SIGTERM\n{}", children.all_stderr());
        assert!(printed.stopped.contains(&index), "node {index} printed no `stopped signal=SIGTERM` line");
    }

    let journal = JournalFile::read(&dir.path().join(format!("v{KILLED}.journal"))).unwrap();
    let last_signed = journal.last_signed.expect("a signed round");
    assert!(last_signed > signed_before, "signed up to {last_signed:?} after the restart, {signed_before:?} before");
    assert!(journal.chain.len() as u64 >= printed.tip(RESTARTED).0, "the journal holds every printed height");
    for (height, block) in before_kill.iter().chain(&caught_up) {
        assert_eq!(journal.chain[height.0 as usize - 1].block, *block, "the journal's height {height}");
    }
}
