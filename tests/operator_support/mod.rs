//! Running the `quorumnet` binary from operator tests: key files made by `keygen`, set and config
//! files in the documented formats, and child processes that are killed if a test fails, read with
//! bounded waits (never a sleep).

#![allow(dead_code)] // Each test crate uses a different part.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn quorumnet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quorumnet"))
}

/// A key `quorumnet keygen` wrote, with what it printed.
#[derive(Clone, Debug)]
pub struct Key {
    /// The key file.
    pub path: PathBuf,
    /// The `validator-id:` line's value.
    pub id: String,
    /// The `public-key:` line's value.
    pub public_key: String,
}

/// Runs `quorumnet keygen --out dir/name`, asserting success, and reads what it printed.
pub fn keygen(dir: &Path, name: &str) -> Key {
    let path = dir.join(name);
    let output = quorumnet().arg("keygen").arg("--out").arg(&path).output().expect("quorumnet runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "keygen failed: {}", String::from_utf8_lossy(&output.stderr));
    let value = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("keygen printed no `{name}` line: {stdout}"))
            .trim()
            .to_owned()
    };
    Key { id: value("validator-id:"), public_key: value("public-key:"), path }
}

/// One `[[validator]]` table of a set file.
pub fn set_entry(key: &Key, power: u64, addresses: &[String]) -> String {
    let addresses: Vec<String> = addresses.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "[[validator]]\nid = \"{}\"\npublic_key = \"{}\"\npower = {power}\naddresses = [{}]\n\n",
        key.id,
        key.public_key,
        addresses.join(", ")
    )
}

/// A `node.toml`: `fields` are `(name, TOML value)` pairs written in order.
pub fn config_text(fields: &[(&str, String)]) -> String {
    fields.iter().map(|(name, value)| format!("{name} = {value}\n")).collect()
}

/// A valid `node.toml`'s fields for the key file `key_file` and the set file `validators.toml` beside
/// it, listening at `listen`, on the local preset with warnings-only logs (stderr stays readable in
/// a failure message).
pub fn node_fields(key_file: &str, listen: &str) -> Vec<(&'static str, String)> {
    vec![
        ("key_file", toml_string(key_file)),
        ("network", toml_string("operator-test")),
        ("validator_set", toml_string("validators.toml")),
        ("listen", format!("[{}]", toml_string(listen))),
        ("log", toml_string("warn")),
        ("preset", toml_string("local")),
    ]
}

/// A TOML string value.
pub fn toml_string(text: impl AsRef<str>) -> String {
    format!("{:?}", text.as_ref())
}

/// A free loopback TCP port: bound, read and released. Another process could take it in between;
/// on a test machine that is rare enough, and the failure would say which address was in use.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port").local_addr().expect("its address").port()
}

/// What one child process printed or did.
#[derive(Debug)]
pub enum Event {
    /// A line on stdout.
    Line(String),
    /// Stdout closed: the process exited (or closed it).
    Closed,
}

/// Child processes that are killed when dropped (a failed test leaves none behind), their stdout
/// lines delivered as [`Event`]s on one channel and their stderr kept for failure messages.
pub struct Children {
    children: Vec<Child>,
    stderr: Vec<Arc<Mutex<String>>>,
    stderr_readers: Vec<Option<std::thread::JoinHandle<()>>>,
    events: Receiver<(usize, Event)>,
    sender: mpsc::Sender<(usize, Event)>,
}

impl Default for Children {
    fn default() -> Self {
        let (sender, events) = mpsc::channel();
        Children { children: Vec::new(), stderr: Vec::new(), stderr_readers: Vec::new(), events, sender }
    }
}

impl Children {
    /// Spawns `command` with piped output; returns its index.
    pub fn spawn(&mut self, mut command: Command) -> usize {
        let index = self.children.len();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("quorumnet starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send((index, Event::Line(line))).is_err() {
                    return;
                }
            }
            let _ = sender.send((index, Event::Closed));
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let kept = Arc::new(Mutex::new(String::new()));
        let writer = kept.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                writer.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        self.children.push(child);
        self.stderr.push(kept);
        self.stderr_readers.push(Some(reader));
        index
    }

    /// The next event of any child, or `None` once `deadline` passed.
    pub fn next_event(&self, deadline: Instant) -> Option<(usize, Event)> {
        // A disconnected channel cannot happen while `self` holds a sender: both mean "nothing came".
        self.events.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok()
    }

    /// What child `index` wrote on stderr so far.
    pub fn stderr(&self, index: usize) -> String {
        self.stderr[index].lock().unwrap().clone()
    }

    /// Every child's stderr, labelled, for a failure message.
    pub fn all_stderr(&self) -> String {
        (0..self.children.len()).map(|i| format!("--- node {i} stderr ---\n{}\n", self.stderr(i))).collect()
    }

    /// The process id of child `index`.
    pub fn pid(&self, index: usize) -> u32 {
        self.children[index].id()
    }

    /// Sends `signal` (`libc::SIGTERM`, `libc::SIGINT`) to child `index`.
    pub fn signal(&self, index: usize, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid(index)).expect("a pid fits pid_t");
        // SAFETY: kill(2) with a pid this test spawned and has not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {signal} to child {index}");
    }

    /// Waits for child `index` to exit: call once its stdout closed ([`Event::Closed`]), which it
    /// does as it exits, so this does not block for long.
    pub fn wait(&mut self, index: usize) -> ExitStatus {
        self.children[index].wait().expect("wait for a child")
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.children {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Runs `command` to its exit, at most `within`; returns its status, stdout and stderr. Panics (the
/// child killed) if it is still running then.
pub fn run_bounded(command: Command, within: Duration) -> (ExitStatus, String, String) {
    let mut children = Children::default();
    let index = children.spawn(command);
    let mut stdout = String::new();
    let deadline = Instant::now() + within;
    let status = loop {
        match children.next_event(deadline) {
            Some((_, Event::Line(line))) => {
                stdout.push_str(&line);
                stdout.push('\n');
            }
            Some((_, Event::Closed)) => break children.wait(index),
            None => {
                panic!("quorumnet still running after {within:?}\nstdout: {stdout}\nstderr: {}", children.stderr(index))
            }
        }
    };
    // The stderr reader ends at EOF, which the exit brought: all of stderr is then in.
    let stderr = children.final_stderr(index);
    (status, stdout, stderr)
}

/// `GET path` over HTTP/1.1 from `address`, with connect, read and write timeouts; the whole
/// response (the server closes the connection after it), or the error that stopped it.
pub fn http_get(address: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    use std::io::Write as _;
    let timeout = Duration::from_secs(10);
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// The sum of every series of metric `name` (`name value` or `name{labels} value` lines) in an
/// OpenMetrics text; `None` if it has none.
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter_map(|line| line.strip_prefix(name))
        .filter(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        .filter_map(|rest| rest.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// What each child printed on stdout, by child index: its commits (height → block, each height at
/// most once), its `resumed` line, whether it printed `stopped signal=SIGTERM`, and whether its
/// stdout closed (it exited).
#[derive(Debug, Default)]
pub struct Printed {
    /// Each child's `committed` lines.
    pub commits: std::collections::BTreeMap<usize, std::collections::BTreeMap<Height, BlockHash>>,
    /// Each child's `resumed` line.
    pub resumed: std::collections::BTreeMap<usize, ResumedLine>,
    /// The children that printed `stopped signal=SIGTERM`.
    pub stopped: std::collections::BTreeSet<usize>,
    /// The children whose stdout closed.
    pub exited: std::collections::BTreeSet<usize>,
}

use quorumnet::message::{BlockHash, Height};
use quorumnet::operator::output::{CommitLine, ResumedLine};

impl Printed {
    /// The highest height child `index` printed (0 for none).
    pub fn tip(&self, index: usize) -> Height {
        self.commits.get(&index).and_then(|c| c.last_key_value()).map_or(Height(0), |(h, _)| *h)
    }

    /// Takes in one event; panics on a height a child printed twice.
    pub fn record(&mut self, index: usize, event: Event) {
        let line = match event {
            Event::Line(line) => line,
            Event::Closed => {
                self.exited.insert(index);
                return;
            }
        };
        if let Some(commit) = CommitLine::parse(&line) {
            let previous = self.commits.entry(index).or_default().insert(commit.height, commit.block);
            assert!(previous.is_none(), "child {index} printed height {} twice", commit.height);
        } else if let Some(resumed) = ResumedLine::parse(&line) {
            assert!(self.resumed.insert(index, resumed).is_none(), "child {index} printed `resumed` twice");
        } else if line == "stopped signal=SIGTERM" {
            self.stopped.insert(index);
        }
    }

    /// Reads events until `done` holds; panics, with what was printed and every child's stderr, if
    /// it does not within `within`.
    pub fn wait_for(&mut self, children: &Children, within: Duration, what: &str, done: impl Fn(&Printed) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            let Some((index, event)) = children.next_event(deadline) else {
                let tips: Vec<_> = self.commits.keys().map(|&i| (i, self.tip(i).0)).collect();
                panic!(
                    "not within {within:?}: {what}\nheights (child, tip): {tips:?}; resumed: {:?}; exited: {:?}\n{}",
                    self.resumed,
                    self.exited,
                    children.all_stderr()
                );
            };
            self.record(index, event);
        }
    }
}

/// `validators` validators of power 1 over tcp-noise on loopback, in `dir`, each at a free port: see
/// [`network`]. Returns the configs, in validator order.
pub fn loopback_network(dir: &Path, validators: usize) -> Vec<PathBuf> {
    let addresses: Vec<String> = (0..validators).map(|_| format!("tcp-noise://127.0.0.1:{}", free_port())).collect();
    network(dir, &addresses).1
}

/// One validator of power 1 per address, in `dir`: keys from `keygen` (`v<i>.key`), one set file
/// (`validators.toml`) listing each at its address, and a config each listening there (`v<i>.toml`,
/// from [`node_fields`]). Returns the keys and the configs, in validator order.
pub fn network(dir: &Path, addresses: &[String]) -> (Vec<Key>, Vec<PathBuf>) {
    let keys: Vec<_> = (0..addresses.len()).map(|i| keygen(dir, &format!("v{i}.key"))).collect();
    let set: String =
        keys.iter().zip(addresses).map(|(key, address)| set_entry(key, 1, std::slice::from_ref(address))).collect();
    std::fs::write(dir.join("validators.toml"), set).expect("write the set file");
    let configs: Vec<PathBuf> = (0..addresses.len()).map(|i| dir.join(format!("v{i}.toml"))).collect();
    for (i, (config, address)) in configs.iter().zip(addresses).enumerate() {
        std::fs::write(config, config_text(&node_fields(&format!("v{i}.key"), address))).expect("write a config");
    }
    (keys, configs)
}

/// `quorumnet node --config <config>`.
pub fn node_command(config: &Path) -> Command {
    let mut command = quorumnet();
    command.arg("node").arg("--config").arg(config);
    command
}

/// A valid `relay.toml`'s fields for the key file `key_file` and the set file `validators.toml`
/// beside it, listening at `listen`, on the local preset with warnings-only logs: a relay's required
/// fields are a node's.
pub fn relay_fields(key_file: &str, listen: &str) -> Vec<(&'static str, String)> {
    node_fields(key_file, listen)
}

/// Waits, until `deadline`, for child `index` to print a line starting with `prefix`, and returns
/// the rest of it. Other children's lines are dropped: call it while they print nothing that matters.
pub fn await_line(children: &Children, index: usize, prefix: &str, deadline: Instant) -> String {
    loop {
        match children.next_event(deadline) {
            Some((i, Event::Line(line))) if i == index => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.to_owned();
                }
            }
            Some((i, Event::Closed)) if i == index => {
                panic!("child {index} exited before printing `{prefix}…`\n{}", children.all_stderr())
            }
            Some(_) => {}
            None => panic!("child {index} printed no `{prefix}…` line in time\n{}", children.all_stderr()),
        }
    }
}

/// Sends SIGTERM to the children `indices`, reads each one's lines to its exit (at most `within`),
/// and asserts each printed `stopped signal=SIGTERM` and exited 0. The other children's lines are
/// dropped.
pub fn stop_with_sigterm(children: &mut Children, indices: &[usize], within: Duration) {
    for index in indices {
        children.signal(*index, libc::SIGTERM);
    }
    let deadline = Instant::now() + within;
    let (mut stopped, mut closed) = (vec![false; indices.len()], vec![false; indices.len()]);
    while closed.iter().any(|c| !c) {
        let Some((index, event)) = children.next_event(deadline) else {
            panic!("still running {within:?} after SIGTERM: {indices:?} closed {closed:?}\n{}", children.all_stderr());
        };
        let Some(slot) = indices.iter().position(|i| *i == index) else { continue };
        match event {
            Event::Line(line) => stopped[slot] |= line == "stopped signal=SIGTERM",
            Event::Closed => closed[slot] = true,
        }
    }
    for (index, stopped) in indices.iter().zip(stopped) {
        let status = children.wait(*index);
        assert!(status.success(), "child {index} exited with {status} on SIGTERM\n{}", children.all_stderr());
        assert!(stopped, "child {index} printed no `stopped signal=SIGTERM` line");
    }
}

impl Children {
    /// All child `index` wrote on stderr: call once it exited (its reader then ends at EOF).
    pub fn final_stderr(&mut self, index: usize) -> String {
        if let Some(reader) = self.stderr_readers[index].take() {
            let _ = reader.join();
        }
        self.stderr(index)
    }
}

/// `n` distinct free loopback TCP ports: all held until all are read, so none is handed out twice
/// (as [`free_port`] called `n` times may).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> =
        (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port")).collect();
    held.iter().map(|l| l.local_addr().expect("its address").port()).collect()
}
