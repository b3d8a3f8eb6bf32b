//! Finds the Python that runs the interop checks: `QUORUMNET_PYTHON` (set by `.ci/run`), else the
//! workspace's `.venv`. Under `CI=true` a missing interpreter fails the test instead of skipping it.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("core/ has a parent").to_owned()
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
