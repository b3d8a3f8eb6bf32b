//! Four `quorumnet node` processes over tcp-noise on loopback: keys from `keygen`, one shared set
//! file, one config each; they commit height 10 with the same blocks, and each exits 0 on SIGTERM.

mod operator_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use operator_support::{config_text, free_port, keygen, quorumnet, set_entry, toml_string, Children, Event};
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
    let keys: Vec<_> = (0..VALIDATORS).map(|i| keygen(dir.path(), &format!("v{i}.key"))).collect();
    let ports: Vec<u16> = (0..VALIDATORS).map(|_| free_port()).collect();
    let address = |i: usize| format!("tcp-noise://127.0.0.1:{}", ports[i]);
    let set: String = keys.iter().enumerate().map(|(i, key)| set_entry(key, 1, &[address(i)])).collect();
    std::fs::write(dir.path().join("validators.toml"), set).unwrap();

    let mut children = Children::default();
    for i in 0..VALIDATORS {
        let config = dir.path().join(format!("v{i}.toml"));
        let fields = [
            ("key_file", toml_string(format!("v{i}.key"))),
            ("network", toml_string("operator-node-test")),
            ("validator_set", toml_string("validators.toml")),
            ("listen", format!("[{}]", toml_string(address(i)))),
            ("log", toml_string("warn")),
            ("preset", toml_string("local")),
        ];
        std::fs::write(&config, config_text(&fields)).unwrap();
        let mut command = quorumnet();
        command.arg("node").arg("--config").arg(&config);
        children.spawn(command);
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

    for index in 0..VALIDATORS {
        children.terminate(index);
    }
    // Each node's stdout closes as it exits, after its last line: read every line up to then.
    let deadline = Instant::now() + EXIT_WITHIN;
    let mut stopped = [false; VALIDATORS];
    let mut closed = [false; VALIDATORS];
    while closed.iter().any(|c| !c) {
        let Some((index, event)) = children.next_event(deadline) else {
            panic!("nodes still running {EXIT_WITHIN:?} after SIGTERM: closed {closed:?}\n{}", children.all_stderr());
        };
        match event {
            Event::Line(line) => stopped[index] |= line == "stopped signal=SIGTERM",
            Event::Closed => closed[index] = true,
        }
    }
    for (index, stopped) in stopped.into_iter().enumerate() {
        let status = children.wait(index);
        assert!(status.success(), "node {index} exited with {status} on SIGTERM\n{}", children.all_stderr());
        assert!(stopped, "node {index} printed no `stopped signal=SIGTERM` line");
    }
}
