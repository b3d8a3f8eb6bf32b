//! `quorumnet node` processes over tcp-noise on loopback: four, with keys from `keygen`, one shared
//! set file and one config each, commit height 10 with the same blocks and each exits 0 on SIGTERM;
//! one alone reports where it listens and exits 0 on ctrl-c.

mod operator_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use operator_support::{
    config_text, keygen, loopback_network, node_command, node_fields, set_entry, stop_with_sigterm, Children, Event,
};
use quorumnet::message::{BlockHash, Height};
use quorumnet::operator::output::CommitLine;

const VALIDATORS: usize = 4;
const TARGET: Height = Height(10);
/// Debug builds of four processes sharing the machine's CPUs with the test and perhaps other work:
/// the local preset commits a height in well under a second, so this is a wide margin.
const COMMIT_WITHIN: Duration = Duration::from_secs(120);
/// A stopping node closes its links (bounded by their close timeout) and ends its engine.
const EXIT_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn four_node_processes_commit_ten_heights_over_tcp_noise_and_exit_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut children = Children::default();
    for config in loopback_network(dir.path(), VALIDATORS) {
        children.spawn(node_command(&config));
    }

    // Every validator's commits, height → block, as printed.
    let mut commits: Vec<BTreeMap<Height, BlockHash>> = vec![BTreeMap::new(); VALIDATORS];
    let record = |index: usize, event: Event, commits: &mut Vec<BTreeMap<Height, BlockHash>>| match event {
        Event::Line(line) => {
            if let Some(commit) = CommitLine::parse(&line) {
                let previous = commits[index].insert(commit.height, commit.block);
                assert!(previous.is_none(), "node {index} printed height {} twice", commit.height);
            }
        }
        Event::Closed => panic!("node {index} exited while the others committed"),
    };
    let deadline = Instant::now() + COMMIT_WITHIN;
    while commits.iter().any(|c| c.last_key_value().is_none_or(|(h, _)| *h < TARGET)) {
        let Some((index, event)) = children.next_event(deadline) else {
            let reached: Vec<_> = commits.iter().map(|c| c.last_key_value().map_or(0, |(h, _)| h.0)).collect();
            panic!(
                "not every node committed height {TARGET} within {COMMIT_WITHIN:?}: heights reached {reached:?}\n{}",
                children.all_stderr()
            );
        };
        record(index, event, &mut commits);
    }
    for height in 1..=TARGET.0 {
        let blocks: Vec<_> = commits.iter().map(|c| c.get(&Height(height))).collect();
        assert!(blocks.iter().all(|b| b.is_some() && *b == blocks[0]), "height {height}: {blocks:?}");
    }

    stop_with_sigterm(&mut children, &(0..VALIDATORS).collect::<Vec<_>>(), EXIT_WITHIN);
}

#[test]
fn a_lone_node_prints_its_listen_address_and_commits_then_exits_0_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "v.key");
    // A set of one decides alone; it is dialled by nobody, so it needs no address in the set.
    std::fs::write(dir.path().join("validators.toml"), set_entry(&key, 1, &[])).unwrap();
    let config = dir.path().join("v.toml");
    std::fs::write(&config, config_text(&node_fields("v.key", "tcp-noise://127.0.0.1:0"))).unwrap();
    let mut children = Children::default();
    let node = children.spawn(node_command(&config));

    let deadline = Instant::now() + COMMIT_WITHIN;
    let mut lines = Vec::new();
    while !lines.iter().any(|line: &String| CommitLine::parse(line).is_some()) {
        match children.next_event(deadline) {
            Some((_, Event::Line(line))) => lines.push(line),
            other => panic!("no commit within {COMMIT_WITHIN:?} ({other:?}): {lines:?}\n{}", children.all_stderr()),
        }
    }
    let started = format!("started validator={} listen=tcp-noise://127.0.0.1:", key.id);
    let port = lines[0].strip_prefix(&started).unwrap_or_else(|| panic!("first line: {:?}", lines[0]));
    assert!(port.parse::<u16>().is_ok_and(|port| port != 0), "the port the system picked: {port}");

    children.signal(node, libc::SIGINT);
    let deadline = Instant::now() + EXIT_WITHIN;
    let mut last = None;
    loop {
        match children.next_event(deadline) {
            Some((_, Event::Line(line))) => last = Some(line),
            Some((_, Event::Closed)) => break,
            None => panic!("still running {EXIT_WITHIN:?} after ctrl-c\n{}", children.all_stderr()),
        }
    }
    assert_eq!(last.as_deref(), Some("stopped signal=ctrl-c"));
    let status = children.wait(node);
    assert!(status.success(), "exited with {status} on ctrl-c\n{}", children.all_stderr());
}
