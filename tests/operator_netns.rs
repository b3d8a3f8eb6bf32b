//! Four `quorumnet node` processes on four hosts: network namespaces this test creates, each joined
//! by a veth pair to a bridge in a fifth (the switch), over tcp-noise on their own addresses. An
//! nftables rule then cuts one host off: the other three report it timed out and keep committing;
//! once the rule is removed they hear it again and it catches up, with the same blocks, and the
//! heartbeats the stalled links deliver late are not taken for a skewed clock.
//!
//! It needs root (or CAP_NET_ADMIN) for `ip netns` and the `nft` tool. Where `ip netns` is refused the
//! test prints why and passes without running; under `CI=true` a machine that allows namespaces but
//! lacks `nft` fails it (`.ci/run` installs nftables).

mod operator_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use operator_support::{network, stop_with_sigterm, Children, Event};
use quorumnet::message::{BlockHash, Height};
use quorumnet::operator::output::CommitLine;

const HOSTS: usize = 4;
/// The host the rule cuts off.
const CUT: usize = 3;
/// Heights every host commits before the cut.
const BEFORE_CUT: u64 = 3;
/// Heights the other three commit while the host is cut off.
const WHILE_CUT: u64 = 3;
/// Debug builds of four processes sharing the machine's CPUs: the local preset commits a height in
/// well under a second, detects silence after 2.5 s and redials within 5 s, so this is a wide margin.
const WITHIN: Duration = Duration::from_secs(120);
/// A stopping node closes its links (bounded by their close timeout) and ends its engine.
const EXIT_WITHIN: Duration = Duration::from_secs(20);
/// The table the cut adds in the cut host's namespace, and the heal deletes.
const CUT_TABLE: &str = "quorumnet_cut";

#[test]
fn a_host_cut_off_by_nftables_is_reported_timed_out_and_catches_up_after_the_rule_is_removed() {
    let lab = match Lab::create() {
        Ok(lab) => lab,
        Err(Unavailable::Namespaces(reason)) => {
            eprintln!("skipped: this machine refuses network namespaces ({reason})");
            return;
        }
        Err(Unavailable::Nft(reason)) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: no usable `nft` ({reason}); install nftables to run it");
            return;
        }
        Err(Unavailable::Nft(reason)) => {
            panic!("CI=true allows network namespaces but `nft` fails ({reason}): install nftables")
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let addresses: Vec<String> = (0..HOSTS).map(|i| format!("tcp-noise://{}:7000", Lab::address(i))).collect();
    let (keys, configs) = network(dir.path(), &addresses);

    let mut children = Children::default();
    for (i, config) in configs.iter().enumerate() {
        children.spawn(lab.node_command(i, config));
    }
    let mut hosts = Progress::default();

    hosts.wait(&children, "every host commits before the cut", |p| p.lowest_of(0..HOSTS) >= BEFORE_CUT);
    lab.cut(CUT, dir.path());
    let cut_id = &keys[CUT].id;
    let others = || (0..HOSTS).filter(|&i| i != CUT);
    hosts.timed_out.iter_mut().chain(hosts.responsive.iter_mut()).for_each(|seen| seen.clear());
    hosts.wait(&children, "the others report the cut host timed out", |p| {
        others().all(|i| p.timed_out[i].iter().any(|id| id == cut_id))
    });
    // The silence took the liveness timeout (seconds): every line the cut host printed before the
    // rule took effect has been read by now.
    let frozen = hosts.height(CUT);
    let base = hosts.lowest_of(others());
    hosts.wait(&children, "the other three keep committing while it is cut off", |p| {
        p.lowest_of(others()) >= base + WHILE_CUT
    });
    assert_eq!(hosts.height(CUT), frozen, "the cut host committed alone: the rule cut nothing");

    lab.heal(CUT);
    let at_heal = hosts.highest();
    hosts.wait(&children, "the cut host catches up and is heard again after the rule is removed", |p| {
        p.height(CUT) >= at_heal && others().all(|i| p.responsive[i].iter().any(|id| id == cut_id))
    });
    hosts.assert_agreement();
    assert!(
        hosts.skewed.is_empty(),
        "the stall was taken for clock skew: {:?}\n{}",
        hosts.skewed,
        children.all_stderr()
    );

    stop_with_sigterm(&mut children, &(0..HOSTS).collect::<Vec<_>>(), EXIT_WITHIN);
}

/// What each host printed: its commits, and the validators it reported timed out.
#[derive(Default)]
struct Progress {
    commits: [BTreeMap<Height, BlockHash>; HOSTS],
    timed_out: [Vec<String>; HOSTS],
    responsive: [Vec<String>; HOSTS],
    /// `clock-skewed` lines: all four share this machine's clock, so any is a false report.
    skewed: Vec<String>,
}

impl Progress {
    /// Reads the hosts' lines until `done` holds, or fails naming `what` after [`WITHIN`].
    fn wait(&mut self, children: &Children, what: &str, done: impl Fn(&Progress) -> bool) {
        let deadline = Instant::now() + WITHIN;
        while !done(self) {
            match children.next_event(deadline) {
                Some((i, Event::Line(line))) => self.record(i, &line),
                Some((i, Event::Closed)) => {
                    panic!("node {i} exited while waiting until {what}\n{}", children.all_stderr())
                }
                None => panic!(
                    "not within {WITHIN:?}: {what}; heights {:?}, timed out seen {:?}\n{}",
                    (0..HOSTS).map(|i| self.height(i)).collect::<Vec<_>>(),
                    self.timed_out,
                    children.all_stderr()
                ),
            }
        }
    }

    fn record(&mut self, host: usize, line: &str) {
        if let Some(commit) = CommitLine::parse(line) {
            let previous = self.commits[host].insert(commit.height, commit.block);
            assert!(previous.is_none(), "node {host} printed height {} twice", commit.height);
        } else if let Some(rest) = line.strip_prefix("timed-out validator=") {
            self.timed_out[host].push(rest.split(' ').next().unwrap_or_default().to_owned());
        } else if let Some(rest) = line.strip_prefix("responsive validator=") {
            self.responsive[host].push(rest.trim().to_owned());
        } else if line.starts_with("clock-skewed ") {
            self.skewed.push(format!("node {host}: {line}"));
        }
    }

    fn height(&self, host: usize) -> u64 {
        self.commits[host].last_key_value().map_or(0, |(height, _)| height.0)
    }

    fn lowest_of(&self, hosts: impl Iterator<Item = usize>) -> u64 {
        hosts.map(|i| self.height(i)).min().unwrap_or(0)
    }

    fn highest(&self) -> u64 {
        (0..HOSTS).map(|i| self.height(i)).max().unwrap_or(0)
    }

    /// Every height any two hosts committed holds the same block at both.
    fn assert_agreement(&self) {
        for (host, commits) in self.commits.iter().enumerate() {
            for (height, block) in commits {
                let first = self.commits.iter().find_map(|c| c.get(height)).expect("the block itself");
                assert_eq!(block, first, "node {host} committed another block at height {height}");
            }
        }
    }
}

/// Why the lab cannot be built here.
enum Unavailable {
    /// `ip netns` is refused (no root, no CAP_NET_ADMIN, or a sandbox without namespaces).
    Namespaces(String),
    /// Namespaces work but `nft` is missing or refused.
    Nft(String),
}

/// Four host namespaces and a switch namespace holding a bridge, named after this process so
/// concurrent runs never meet; all deleted on drop (which removes their veths too).
struct Lab {
    prefix: String,
    created: Vec<String>,
}

impl Lab {
    fn create() -> Result<Lab, Unavailable> {
        let mut lab = Lab { prefix: format!("qn{}", std::process::id()), created: Vec::new() };
        lab.add_namespace(lab.switch()).map_err(Unavailable::Namespaces)?;
        let switch = lab.switch();
        let setup = |lab: &mut Lab| -> Result<(), String> {
            ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"])?;
            ip(&["-n", &switch, "link", "set", "br0", "up"])?;
            for i in 0..HOSTS {
                let host = lab.host(i);
                lab.add_namespace(host.clone())?;
                let port = format!("p{i}");
                ip(&["link", "add", "eth0", "netns", &host, "type", "veth", "peer", "name", &port, "netns", &switch])?;
                ip(&["-n", &switch, "link", "set", &port, "master", "br0"])?;
                ip(&["-n", &switch, "link", "set", &port, "up"])?;
                ip(&["-n", &host, "addr", "add", &format!("{}/24", Lab::address(i)), "dev", "eth0"])?;
                ip(&["-n", &host, "link", "set", "eth0", "up"])?;
                ip(&["-n", &host, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        setup(&mut lab).map_err(Unavailable::Namespaces)?;
        run(Command::new("ip").args(["netns", "exec", &lab.host(0), "nft", "list", "ruleset"]))
            .map_err(Unavailable::Nft)?;
        Ok(lab)
    }

    fn switch(&self) -> String {
        format!("{}-switch", self.prefix)
    }

    fn host(&self, index: usize) -> String {
        format!("{}-host{index}", self.prefix)
    }

    /// Host `index`'s address on the bridge.
    fn address(index: usize) -> String {
        format!("10.77.0.{}", index + 1)
    }

    fn add_namespace(&mut self, name: String) -> Result<(), String> {
        ip(&["netns", "add", &name])?;
        self.created.push(name);
        Ok(())
    }

    /// `quorumnet node --config config` inside host `index` (`ip netns exec` execs it: the child's
    /// pid is the node's, so signals reach the node).
    fn node_command(&self, index: usize, config: &Path) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.host(index), env!("CARGO_BIN_EXE_quorumnet"), "node", "--config"])
            .arg(config);
        command
    }

    /// Drops everything host `index` sends or receives on its link to the switch.
    fn cut(&self, index: usize, scratch: &Path) {
        let rules = format!(
            "table inet {CUT_TABLE} {{\n\
             \tchain input {{ type filter hook input priority 0; policy accept; iifname \"eth0\" drop; }}\n\
             \tchain output {{ type filter hook output priority 0; policy accept; oifname \"eth0\" drop; }}\n\
             }}\n"
        );
        let file = scratch.join("cut.nft");
        std::fs::write(&file, rules).unwrap();
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.host(index), "nft", "-f"]).arg(&file);
        run(&mut command).unwrap_or_else(|e| panic!("cutting host {index} off: {e}"));
    }

    /// Removes the cut's rules.
    fn heal(&self, index: usize) {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.host(index), "nft", "delete", "table", "inet", CUT_TABLE]);
        run(&mut command).unwrap_or_else(|e| panic!("healing host {index}: {e}"));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in self.created.iter().rev() {
            if let Err(e) = ip(&["netns", "del", name]) {
                eprintln!("could not delete network namespace {name}: {e}");
            }
        }
    }
}

/// Runs `ip args`.
fn ip(args: &[&str]) -> Result<(), String> {
    run(Command::new("ip").args(args))
}

/// Runs `command` to its end (these tools return at once), failing with what it printed.
fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?} did not start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
    }
}
