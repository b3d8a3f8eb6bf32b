//! Every test vector in docs/wire.md, checked a second time by an independent decoder: Python's cbor2
//! (interop/cbor2_check.py) checks each field's CBOR type against WIRE.md and re-encodes it byte for byte.

mod common;

use std::process::Command;

use common::python::{interop_python, workspace_root};

#[test]
fn cbor2_decodes_and_re_encodes_every_vector_identically() {
    let Some(python) = interop_python() else { return };
    let root = workspace_root();
    let doc = root.join("docs/wire.md");
    let output = Command::new(&python)
        .arg(root.join("interop/cbor2_check.py"))
        .arg(&doc)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));

    let in_doc = std::fs::read_to_string(&doc).unwrap().matches("<!-- vector: ").count();
    assert!(in_doc > 0, "docs/wire.md holds no vectors");
    assert_eq!(stdout.trim(), format!("{in_doc} vectors checked"), "cbor2 must check every vector in the doc");
}
