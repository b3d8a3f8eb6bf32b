//! `quorumnet relay` and NAT-bound `quorumnet node`s as processes over tcp-noise on loopback: one
//! relay, three nodes that listen and one with no listener at all, reached only as
//! `relay://<relay>/<id>`, commit the same five heights and every process exits 0 on SIGTERM; and
//! the relay's (and a node's `relays`) bad input exits non-zero naming the field.

mod operator_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use operator_support::{
    await_line, config_text, free_port, free_ports, http_get, keygen, metric_sum, node_fields, quorumnet, relay_fields,
    run_bounded, set_entry, stop_with_sigterm, toml_string, Children, Event, Key,
};
use quorumnet::message::{BlockHash, Height};
use quorumnet::operator::output::CommitLine;

const DIRECT: usize = 3;
const TARGET: Height = Height(5);
/// Debug builds of five processes sharing the machine's CPUs: the local preset commits a height in
/// well under a second, so this is a wide margin.
const COMMIT_WITHIN: Duration = Duration::from_secs(120);
/// A process listens (and a NAT-bound node reserves at its relay) within this.
const START_WITHIN: Duration = Duration::from_secs(30);
/// A stopping node closes its links (bounded by their close timeout) and ends its engine.
const EXIT_WITHIN: Duration = Duration::from_secs(20);
/// A refused config is refused before anything runs.
const REFUSAL_WITHIN: Duration = Duration::from_secs(30);

fn write_config(dir: &Path, name: &str, fields: &[(&str, String)]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, config_text(fields)).unwrap();
    path
}

fn command(subcommand: &str, config: &Path) -> std::process::Command {
    let mut command = quorumnet();
    command.arg(subcommand).arg("--config").arg(config);
    command
}

#[test]
fn a_nat_bound_node_without_a_listener_commits_five_heights_through_a_relay_process_with_three_direct_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let relay_key = keygen(dir.path(), "relay.key");
    let keys: Vec<Key> = (0..=DIRECT).map(|i| keygen(dir.path(), &format!("v{i}.key"))).collect();
    let nat = DIRECT;
    let ports = free_ports(DIRECT + 1);
    let relay_address = format!("tcp-noise://127.0.0.1:{}", ports[DIRECT]);
    let relayed = format!("relay://{relay_address}/{}", keys[nat].id);
    let direct: Vec<String> = ports[..DIRECT].iter().map(|port| format!("tcp-noise://127.0.0.1:{port}")).collect();
    // The set, listing the direct nodes at their addresses or (`direct_listed` false) at none.
    let set = |direct_listed: bool| -> String {
        let addresses = |i: usize| match i {
            _ if i == nat => vec![relayed.clone()],
            _ if direct_listed => vec![direct[i].clone()],
            _ => Vec::new(),
        };
        keys.iter().enumerate().map(|(i, key)| set_entry(key, 1, &addresses(i))).collect()
    };
    std::fs::write(dir.path().join("validators.toml"), set(true)).unwrap();
    // The NAT-bound node's copy of the set lists the others at no address, so it cannot dial out:
    // every link it has is one they dialed through the relay (which the relay's stats then show).
    std::fs::write(dir.path().join("nat-validators.toml"), set(false)).unwrap();

    let mut children = Children::default();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut fields = relay_fields("relay.key", &relay_address);
    fields.push(("metrics", toml_string(metrics.to_string())));
    let relay = children.spawn(command("relay", &write_config(dir.path(), "relay.toml", &fields)));
    let started = await_line(&children, relay, "started relay=", Instant::now() + START_WITHIN);
    assert_eq!(started, format!("{} listen={relay_address}", relay_key.id));

    // The NAT-bound node first, so its reservation is held before anyone dials it: no `listen`.
    let mut fields = node_fields(&format!("v{nat}.key"), "unused");
    fields.retain(|(name, _)| !["listen", "validator_set"].contains(name));
    fields.push(("validator_set", toml_string("nat-validators.toml")));
    fields.push(("relays", format!("[{}]", toml_string(&relay_address))));
    let nat_child = children.spawn(command("node", &write_config(dir.path(), "nat.toml", &fields)));
    let started = await_line(&children, nat_child, "started validator=", Instant::now() + START_WITHIN);
    assert_eq!(started, format!("{} listen={relayed}", keys[nat].id), "it is reachable only through the relay");

    let mut nodes = vec![nat_child];
    for (i, address) in direct.iter().enumerate() {
        let config = write_config(dir.path(), &format!("v{i}.toml"), &node_fields(&format!("v{i}.key"), address));
        nodes.push(children.spawn(command("node", &config)));
    }

    // Every node's commits, height → block, as printed; the NAT-bound one's first.
    let mut commits: BTreeMap<usize, BTreeMap<Height, BlockHash>> =
        nodes.iter().map(|n| (*n, BTreeMap::new())).collect();
    let behind = |commits: &BTreeMap<usize, BTreeMap<Height, BlockHash>>| {
        commits.values().any(|c| c.last_key_value().is_none_or(|(h, _)| *h < TARGET))
    };
    let deadline = Instant::now() + COMMIT_WITHIN;
    while behind(&commits) {
        let Some((index, event)) = children.next_event(deadline) else {
            let reached: Vec<_> = commits.values().map(|c| c.last_key_value().map_or(0, |(h, _)| h.0)).collect();
            panic!(
                "not every node committed height {TARGET} within {COMMIT_WITHIN:?}: heights reached (NAT-bound first) {reached:?}\n{}",
                children.all_stderr()
            );
        };
        match event {
            Event::Line(line) => {
                if let (Some(commit), Some(node)) = (CommitLine::parse(&line), commits.get_mut(&index)) {
                    let previous = node.insert(commit.height, commit.block);
                    assert!(previous.is_none(), "child {index} printed height {} twice", commit.height);
                }
            }
            Event::Closed => panic!("child {index} exited while the nodes committed\n{}", children.all_stderr()),
        }
    }
    for height in 1..=TARGET.0 {
        let blocks: Vec<_> = commits.values().map(|c| c.get(&Height(height))).collect();
        assert!(blocks.iter().all(|b| b.is_some() && *b == blocks[0]), "height {height}: {blocks:?}");
    }

    // The relay's metrics, while the nodes run: it holds the NAT-bound node's reservation and
    // carries the circuits of the direct nodes that dialed it there.
    let text = http_get(metrics, "/metrics").expect("the relay serves its metrics");
    let value = |name: &str| metric_sum(&text, name).unwrap_or_else(|| panic!("no `{name}` in:\n{text}"));
    assert_eq!(value("quorumnet_relay_reservations"), 1.0, "{text}");
    assert!(value("quorumnet_relay_circuits") >= 1.0, "no circuit open through the relay:\n{text}");
    assert!(value("quorumnet_relay_forwarded_bytes_total") > 0.0, "nothing crossed the relay:\n{text}");
    stop_with_sigterm(&mut children, &[relay], EXIT_WITHIN);
    stop_with_sigterm(&mut children, &nodes, EXIT_WITHIN);
}

/// A relay directory with a key and a one-validator set beside its config.
struct RelaySetup {
    dir: tempfile::TempDir,
}

impl RelaySetup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        keygen(dir.path(), "relay.key");
        let validator = keygen(dir.path(), "validator.key");
        std::fs::write(dir.path().join("validators.toml"), set_entry(&validator, 1, &[])).unwrap();
        RelaySetup { dir }
    }

    /// The valid relay config with `field` set to `value`, listening on a port the system picks.
    fn config_with(&self, field: &'static str, value: String) -> PathBuf {
        let mut fields = relay_fields("relay.key", "tcp-noise://127.0.0.1:0");
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value));
        write_config(self.dir.path(), "relay.toml", &fields)
    }
}

/// Runs `quorumnet subcommand --config config`; asserts it exits non-zero with stderr naming
/// `field`, having started nothing, and returns stderr.
fn assert_refused(subcommand: &str, config: &Path, field: &str) -> String {
    let (status, stdout, stderr) = run_bounded(command(subcommand, config), REFUSAL_WITHIN);
    assert!(!status.success(), "the config was accepted\nstdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains(field), "stderr does not name {field}: {stderr}");
    assert!(!stdout.contains("started"), "it started before refusing: {stdout}");
    stderr
}

#[test]
fn relay_with_a_missing_key_file_names_key_file_and_says_to_run_keygen() {
    let setup = RelaySetup::new();
    let stderr = assert_refused("relay", &setup.config_with("key_file", toml_string("absent.key")), "`key_file`");
    assert!(stderr.contains("quorumnet keygen --out"), "the fix: {stderr}");
}

#[test]
fn relay_on_an_unknown_transport_scheme_names_listen_and_the_linked_schemes() {
    let setup = RelaySetup::new();
    let config = setup.config_with("listen", r#"["carrier-pigeon://127.0.0.1:0"]"#.to_owned());
    let stderr = assert_refused("relay", &config, "`listen`");
    assert!(stderr.contains("tcp-noise") && stderr.contains("quorumnet transports"), "{stderr}");
}

#[test]
fn relay_on_an_address_already_in_use_names_listen_and_the_address() {
    let setup = RelaySetup::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp-noise://{}", taken.local_addr().unwrap());
    let stderr =
        assert_refused("relay", &setup.config_with("listen", format!("[{}]", toml_string(&address))), "`listen`");
    assert!(stderr.contains("already in use") && stderr.contains(&address), "{stderr}");
}

#[test]
fn relay_with_its_metrics_address_in_use_names_metrics() {
    let setup = RelaySetup::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let stderr = assert_refused("relay", &setup.config_with("metrics", toml_string(&address)), "`metrics`");
    assert!(stderr.contains("already in use") && stderr.contains(&address), "{stderr}");
}

#[test]
fn relay_with_a_zero_limit_names_it() {
    let setup = RelaySetup::new();
    let config = setup.config_with("limits", "{ max_circuits = 0 }".to_owned());
    assert_refused("relay", &config, "`limits.max_circuits`");
}

#[test]
fn node_whose_relay_is_not_running_names_relays_and_says_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "v.key");
    let relay = format!("tcp-noise://127.0.0.1:{}", free_port());
    std::fs::write(dir.path().join("validators.toml"), set_entry(&key, 1, &[format!("relay://{relay}/{}", key.id)]))
        .unwrap();
    let mut fields = node_fields("v.key", "unused");
    fields.retain(|(name, _)| *name != "listen");
    fields.push(("relays", format!("[{}]", toml_string(&relay))));
    let stderr = assert_refused("node", &write_config(dir.path(), "node.toml", &fields), "`relays`");
    assert!(stderr.contains(&relay) && stderr.contains("quorumnet relay"), "{stderr}");
}

#[test]
fn node_with_a_relayed_address_as_its_relay_names_relays() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "v.key");
    std::fs::write(dir.path().join("validators.toml"), set_entry(&key, 1, &[])).unwrap();
    let mut fields = node_fields("v.key", "tcp-noise://127.0.0.1:0");
    fields.push(("relays", format!("[{}]", toml_string(format!("relay://tcp-noise://127.0.0.1:7100/{}", key.id)))));
    let stderr = assert_refused("node", &write_config(dir.path(), "node.toml", &fields), "`relays`");
    assert!(stderr.contains("reached directly"), "{stderr}");
}
