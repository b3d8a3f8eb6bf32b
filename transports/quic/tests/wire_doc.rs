//! docs/wire.md §3 states what this crate does: the signing-bytes vector there is what
//! [`proof::signing_bytes`] produces, and the section names the crate's constants.

use quorumnet_core::identity::ChainId;
use quorumnet_quic::proof::{self, Role, EXPORTER_LABEL, MAX_PROOF_LEN};
use quorumnet_quic::ALPN;

fn section_3() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/wire.md");
    let doc = std::fs::read_to_string(path).expect("docs/wire.md");
    let start = doc.find("## 3. QUIC").expect("docs/wire.md has a §3 QUIC section");
    let end = doc[start..].find("\n## 4.").map_or(doc.len(), |e| start + e);
    doc[start..end].to_owned()
}

#[test]
fn the_signing_bytes_vector_is_what_the_code_signs() {
    let section = section_3();
    let marker = "<!-- quic-vector: signing_bytes_server -->\n```hex\n";
    let block = section.split(marker).nth(1).and_then(|b| b.split("```").next()).expect("the vector block");
    let documented: String = block.split_whitespace().collect();
    let bytes = proof::signing_bytes(&ChainId::from_network_name("devnet"), Role::Server, &[0x07; 32]);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(documented, hex, "docs/wire.md §3's vector; the code gives:\n{hex}");
}

#[test]
fn the_section_names_the_constants() {
    let section = section_3();
    for needle in [
        String::from_utf8(ALPN.to_vec()).unwrap(),
        String::from_utf8(EXPORTER_LABEL.to_vec()).unwrap(),
        MAX_PROOF_LEN.to_string(),
    ] {
        assert!(section.contains(&needle), "docs/wire.md §3 does not mention {needle}");
    }
}
