//! Finds the Python that runs the interop checks: `QUORUMNET_PYTHON` (set by `.ci/run`), else the
//! workspace's `.venv`. Under `CI=true` a missing interpreter fails the test instead of skipping it.
//!
//! Also runs interop scripts with bounded waits: [`run_script`] for a one-shot check,
//! [`PythonPeer`] for a long-running peer whose stdout lines a test waits for. A script still running
//! when its wait ends is killed, and so is any peer whose handle is dropped (a failing test).
//!
//! Included by path from other crates' tests too (tcp-noise's interop test), so it finds the workspace
//! root by looking for `interop/` above the including crate.
#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// The workspace root: the nearest directory above the including crate that holds `interop/`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("interop").is_dir())
        .expect("the crate lies inside the quorumnet workspace, which has interop/")
        .to_owned()
}

/// The interop Python, or `None` (after saying why) when the check may be skipped.
///
/// # Panics
/// Under `CI=true` when no interpreter is found: CI must never skip an interop check.
pub fn interop_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("QUORUMNET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    if candidate.exists() {
        return Some(candidate);
    }
    let message = format!(
        "interop Python not found at {}: run `bash .ci/run` once, or set QUORUMNET_PYTHON to a Python \
         with the packages in interop/requirements.txt",
        candidate.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

/// What a finished script printed.
#[derive(Debug)]
pub struct ScriptOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ScriptOutput {
    /// Stdout, after asserting that the script exited 0.
    pub fn success(self, what: &str) -> String {
        assert!(self.status.success(), "{what} failed ({}):\n{}{}", self.status, self.stdout, self.stderr);
        self.stdout
    }
}

/// Runs `interop/<script>` with `args` to its end, killing it (and failing the test) after `limit`.
pub fn run_script(python: &Path, script: &str, args: &[&str], limit: Duration) -> ScriptOutput {
    let mut child = spawn(python, script, args);
    let lines = read_lines(child.stdout.take().expect("stdout is piped"));
    let stderr = collect(child.stderr.take().expect("stderr is piped"));
    let mut stdout = String::new();
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => stdout.push_str(&(line + "\n")),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{script} {args:?} did not finish within {limit:?} (killed); stdout so far:\n{stdout}");
            }
        }
    }
    // Stdout closed: the process is exiting.
    let status = child.wait().expect("waiting for the script's exit status");
    ScriptOutput { status, stdout, stderr: stderr.join().expect("the stderr reader") }
}

fn spawn(python: &Path, script: &str, args: &[&str]) -> Child {
    Command::new(python)
        .arg(workspace_root().join("interop").join(script))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} {script}: {e}", python.display()))
}

/// A thread forwarding `stdout`'s lines; the channel closes when the stream does.
fn read_lines(stdout: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    forward_lines(stdout, move |line| tx.send(line).is_ok());
    rx
}

/// A thread handing each line of `stream` to `send` until the stream ends or `send` returns false.
fn forward_lines(stream: impl std::io::Read + Send + 'static, send: impl Fn(String) -> bool + Send + 'static) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if !send(line) {
                break;
            }
        }
    });
}

fn collect(stderr: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut all);
        all
    })
}

/// A running interop peer whose stdout lines an async test awaits, each wait bounded. Dropping it kills
/// the process.
pub struct PythonPeer {
    name: String,
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    seen: Vec<String>,
}

impl PythonPeer {
    /// Starts `interop/<script>` with `args`; `name` labels failures.
    pub fn start(python: &Path, name: &str, script: &str, args: &[&str]) -> Self {
        let mut child = spawn(python, script, args);
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        forward_lines(stdout, move |line| tx.send(line).is_ok());
        let stderr = Some(collect(child.stderr.take().expect("stderr is piped")));
        PythonPeer { name: name.to_owned(), child, lines, stderr, seen: Vec::new() }
    }

    /// The next stdout line, within `limit`.
    ///
    /// # Panics
    /// When the peer prints nothing more within `limit` or exits first (with what it printed).
    pub async fn line(&mut self, limit: Duration) -> String {
        match tokio::time::timeout(limit, self.lines.recv()).await {
            Ok(Some(line)) => {
                self.seen.push(line.clone());
                line
            }
            Ok(None) => self.fail("exited without printing the next line".into()),
            Err(_) => self.fail(format!("printed nothing within {limit:?}")),
        }
    }

    /// The next line, which must start with `prefix`; returns the rest after it.
    pub async fn expect(&mut self, prefix: &str, limit: Duration) -> String {
        let line = self.line(limit).await;
        match line.strip_prefix(prefix) {
            Some(rest) => rest.trim().to_owned(),
            None => self.fail(format!("expected a line starting {prefix:?}, got {line:?}")),
        }
    }

    /// Waits (within `limit`) for the peer to exit successfully.
    pub async fn finished(mut self, limit: Duration) {
        match tokio::time::timeout(limit, self.lines.recv()).await {
            Ok(None) => {}
            Ok(Some(line)) => self.fail(format!("unexpected output {line:?}")),
            Err(_) => self.fail(format!("did not exit within {limit:?}")),
        }
        // Stdout closed, so the process is exiting: reaping it takes no longer than its exit.
        let status = self.child.wait().expect("waiting for the peer's exit status");
        if !status.success() {
            self.fail(format!("exited with {status}"));
        }
    }

    /// Fails the test with `what`, after killing the peer, with everything it printed.
    fn fail(&mut self, what: String) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        panic!("{}: {what}; stdout so far: {:?}; stderr: {stderr}", self.name, self.seen)
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Frames of the shapes the node sends, for the echo peers: a vote, a byte, a frame spanning two
/// Noise messages, a 1 MiB proposal part; each with its own pattern.
pub fn echo_frames() -> Vec<bytes::Bytes> {
    [200usize, 1, 70_000, 1 << 20]
        .iter()
        .enumerate()
        .map(|(n, &len)| (0..len).map(|i| (i * 7 + n * 31) as u8).collect::<Vec<_>>().into())
        .collect()
}

/// Against an echo peer (`noise_peer.py`, `ws_peer.py`): its greeting, then each of [`echo_frames`]
/// sent and echoed back unchanged, then a clean close the peer reports as `ECHOED <n>`; every wait
/// bounded by `limit`.
pub async fn echo_exchange(
    connection: &dyn quorumnet_core::transport::Connection,
    peer: &mut PythonPeer,
    limit: Duration,
) {
    async fn within<F: std::future::Future>(limit: Duration, what: &str, future: F) -> F::Output {
        tokio::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
    }
    let greeting =
        within(limit, "the Python peer's greeting", connection.recv()).await.expect("recv").expect("a frame");
    assert_eq!(&greeting[..], b"hello from python");
    let frames = echo_frames();
    for frame in &frames {
        within(limit, "send", connection.send(frame.clone())).await.expect("send");
        let echoed = within(limit, "the echo", connection.recv()).await.expect("recv").expect("the echoed frame");
        assert!(echoed == frame, "frame of {} bytes came back as {} different bytes", frame.len(), echoed.len());
    }
    within(limit, "close", connection.close()).await.expect("close");
    assert_eq!(peer.expect("ECHOED", limit).await, frames.len().to_string());
}
