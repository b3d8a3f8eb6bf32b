//! `quorumnet keygen`, `quorumnet transports`, and every way a `quorumnet node` config can be wrong:
//! each bad value makes the node exit non-zero, before it runs, with a message naming the field.

mod operator_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use operator_support::{config_text, keygen, node_fields, quorumnet, run_bounded, set_entry, toml_string, Key};
use quorumnet::identity::key_file;

/// Long enough for a debug build to start and refuse a config; a node that does not refuse runs
/// forever, and is killed at this bound with the test failed.
const REFUSAL_WITHIN: Duration = Duration::from_secs(30);

#[test]
fn keygen_writes_an_owner_only_key_file_and_prints_its_id_and_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "validator.key");
    let mode = std::fs::metadata(&key.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");
    let loaded = key_file::load(&key.path).unwrap();
    assert_eq!(loaded.validator_id().to_string(), key.id);
    assert_eq!(hex::encode(loaded.public_key().encoded()), key.public_key);
}

#[test]
fn keygen_refuses_to_replace_an_existing_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "validator.key");
    let before = std::fs::read(&key.path).unwrap();
    let mut command = quorumnet();
    command.arg("keygen").arg("--out").arg(&key.path);
    let (status, _, stderr) = run_bounded(command, REFUSAL_WITHIN);
    assert!(!status.success(), "keygen replaced a key without --force");
    assert!(stderr.contains("--force") && stderr.contains("--out"), "stderr: {stderr}");
    assert_eq!(std::fs::read(&key.path).unwrap(), before, "the old key is untouched");
}

#[test]
fn keygen_with_force_replaces_the_key_and_keeps_the_file_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let old = keygen(dir.path(), "validator.key");
    let mut command = quorumnet();
    command.arg("keygen").arg("--force").arg("--out").arg(&old.path);
    let (status, stdout, stderr) = run_bounded(command, REFUSAL_WITHIN);
    assert!(status.success(), "stderr: {stderr}");
    let loaded = key_file::load(&old.path).unwrap();
    assert_ne!(loaded.validator_id().to_string(), old.id);
    assert!(stdout.contains(&format!("validator-id: {}", loaded.validator_id())), "stdout: {stdout}");
    assert_eq!(std::fs::metadata(&old.path).unwrap().permissions().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no staged copy left behind: {leftovers:?}");
}

#[test]
fn transports_lists_every_plugin_in_the_registry_with_its_description() {
    let mut command = quorumnet();
    command.arg("transports");
    let (status, stdout, stderr) = run_bounded(command, REFUSAL_WITHIN);
    assert!(status.success(), "stderr: {stderr}");
    // The test links the same transport crates as the binary (the default features).
    let plugins = quorumnet::transport::plugins();
    assert!(plugins.iter().any(|p| p.scheme == "tcp-noise"));
    for plugin in &plugins {
        let line = stdout.lines().find(|l| l.starts_with(&format!("{}://", plugin.scheme)));
        let line = line.unwrap_or_else(|| panic!("no line for {}: {stdout}", plugin.scheme));
        assert!(line.ends_with(plugin.description), "{line}");
    }
    assert_eq!(stdout.lines().count(), plugins.len(), "one line per plugin: {stdout}");
}

/// A directory holding one validator's key, a valid set file listing it, and a config naming both.
struct Setup {
    dir: tempfile::TempDir,
    key: Key,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path(), "validator.key");
        let setup = Setup { dir, key };
        setup.write_set(&set_entry(&setup.key, 1, &["tcp-noise://127.0.0.1:7000".to_owned()]));
        setup
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_set(&self, text: &str) {
        std::fs::write(self.path("validators.toml"), text).unwrap();
    }

    /// The valid config's fields, `(name, value)`; port 0 so that a config that is wrongly accepted
    /// cannot collide with anything.
    fn fields(&self) -> Vec<(&'static str, String)> {
        node_fields("validator.key", "tcp-noise://127.0.0.1:0")
    }

    /// The valid config (its files may not be).
    fn config(&self) -> PathBuf {
        self.write_config(&self.fields())
    }

    /// The valid config with `field` set to `value` (added if absent), or removed for `None`.
    fn config_with(&self, field: &'static str, value: Option<&str>) -> PathBuf {
        let mut fields = self.fields();
        fields.retain(|(name, _)| *name != field);
        if let Some(value) = value {
            fields.push((field, value.to_owned()));
        }
        self.write_config(&fields)
    }

    fn write_config(&self, fields: &[(&str, String)]) -> PathBuf {
        let path = self.path("node.toml");
        std::fs::write(&path, config_text(fields)).unwrap();
        path
    }
}

/// Runs `quorumnet node --config config`; asserts it exits non-zero with stderr naming `field`, and
/// returns stderr.
fn assert_refused(config: &Path, field: &str) -> String {
    let mut command = quorumnet();
    command.arg("node").arg("--config").arg(config);
    let (status, stdout, stderr) = run_bounded(command, REFUSAL_WITHIN);
    assert!(!status.success(), "the node accepted the config\nstdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains(field), "stderr does not name `{field}`: {stderr}");
    assert!(!stdout.contains("started"), "it started before refusing: {stdout}");
    stderr
}

#[test]
fn node_with_a_missing_key_file_names_key_file_and_says_to_run_keygen() {
    let setup = Setup::new();
    let config = setup.config_with("key_file", Some(&toml_string("absent.key")));
    let stderr = assert_refused(&config, "`key_file`");
    assert!(stderr.contains("quorumnet keygen --out"), "the fix: {stderr}");
}

#[test]
fn node_with_a_group_readable_key_file_names_key_file_and_says_chmod_600() {
    let setup = Setup::new();
    std::fs::set_permissions(&setup.key.path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let stderr = assert_refused(&setup.config(), "`key_file`");
    assert!(stderr.contains("chmod 600"), "the fix: {stderr}");
}

#[test]
fn node_with_a_key_the_set_does_not_list_names_key_file() {
    let setup = Setup::new();
    let other = keygen(setup.dir.path(), "other.key");
    setup.write_set(&set_entry(&other, 1, &[]));
    let stderr = assert_refused(&setup.config(), "`key_file`");
    assert!(stderr.contains("not in the validator set"), "{stderr}");
}

#[test]
fn node_with_an_unknown_transport_scheme_names_listen_and_the_linked_schemes() {
    let setup = Setup::new();
    let config = setup.config_with("listen", Some(r#"["carrier-pigeon://127.0.0.1:0"]"#));
    let stderr = assert_refused(&config, "`listen`");
    assert!(stderr.contains("tcp-noise") && stderr.contains("quorumnet transports"), "{stderr}");
}

#[test]
fn node_with_a_malformed_listen_address_names_listen() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("listen", Some(r#"["127.0.0.1:7000"]"#)), "`listen`");
}

#[test]
fn node_with_no_listen_address_names_listen() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("listen", Some("[]")), "`listen`");
}

#[test]
fn node_on_an_address_already_in_use_names_listen_and_the_address() {
    let setup = Setup::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp-noise://{}", taken.local_addr().unwrap());
    let config = setup.config_with("listen", Some(&format!("[{}]", toml_string(&address))));
    let stderr = assert_refused(&config, "`listen`");
    assert!(stderr.contains("already in use") && stderr.contains(&address), "{stderr}");
}

#[test]
fn node_with_a_validator_set_listing_one_id_twice_names_validator_set_and_both_entries() {
    let setup = Setup::new();
    let entry = set_entry(&setup.key, 1, &[]);
    setup.write_set(&format!("{entry}{entry}"));
    let stderr = assert_refused(&setup.config(), "`validator_set`");
    assert!(stderr.contains("#1 and #2") && stderr.contains(&setup.key.id), "{stderr}");
}

#[test]
fn node_with_a_validator_set_of_zero_total_power_names_validator_set() {
    let setup = Setup::new();
    let other = keygen(setup.dir.path(), "other.key");
    setup.write_set(&format!("{}{}", set_entry(&setup.key, 0, &[]), set_entry(&other, 0, &[])));
    let stderr = assert_refused(&setup.config(), "`validator_set`");
    assert!(stderr.contains("total voting power is 0"), "{stderr}");
}

#[test]
fn node_with_a_set_entry_whose_id_is_not_its_public_keys_names_validator_set_and_id() {
    let setup = Setup::new();
    let other = keygen(setup.dir.path(), "other.key");
    let mismatched = Key { id: other.id.clone(), ..setup.key.clone() };
    setup.write_set(&set_entry(&mismatched, 1, &[]));
    let stderr = assert_refused(&setup.config(), "`validator_set`");
    assert!(stderr.contains("field `id`"), "{stderr}");
}

#[test]
fn node_with_a_missing_validator_set_file_names_validator_set() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("validator_set", Some(&toml_string("absent.toml"))), "`validator_set`");
}

#[test]
fn node_with_neither_network_nor_chain_id_names_network() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("network", None), "`network`");
}

#[test]
fn node_with_a_chain_id_that_is_not_32_bytes_of_hex_names_chain_id() {
    let setup = Setup::new();
    let mut fields = setup.fields();
    fields.retain(|(name, _)| *name != "network");
    fields.push(("chain_id", toml_string("abc")));
    assert_refused(&setup.write_config(&fields), "`chain_id`");
}

#[test]
fn node_with_a_bad_log_filter_names_log() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("log", Some(&toml_string("quorumnet=loud"))), "`log`");
}

#[test]
fn node_with_an_unknown_preset_names_preset() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("preset", Some(&toml_string("fast"))), "preset");
}

#[test]
fn node_with_a_relay_on_an_unknown_scheme_names_relays() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("relays", Some(r#"["carrier-pigeon://relay:443"]"#)), "`relays`");
}

#[test]
fn node_with_a_metrics_address_that_is_not_ip_and_port_names_metrics() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("metrics", Some(&toml_string("localhost"))), "`metrics`");
}

#[test]
fn node_with_a_journal_path_it_cannot_create_names_journal() {
    let setup = Setup::new();
    // Under a regular file: refused even to root.
    let stderr =
        assert_refused(&setup.config_with("journal", Some(&toml_string("validators.toml/v.journal"))), "`journal`");
    assert!(stderr.contains("existing directory"), "no fix given: {stderr}");
}

#[test]
fn node_with_a_default_journal_that_is_not_a_journal_names_journal_and_leaves_the_file() {
    let setup = Setup::new();
    // The default journal of node.toml is node.journal beside it.
    std::fs::write(setup.path("node.journal"), "not a journal").unwrap();
    let stderr = assert_refused(&setup.config(), "`journal`");
    assert!(stderr.contains("not a quorumnet journal"), "{stderr}");
    assert_eq!(std::fs::read_to_string(setup.path("node.journal")).unwrap(), "not a journal");
}

#[test]
fn node_with_a_misspelt_field_names_it() {
    let setup = Setup::new();
    assert_refused(&setup.config_with("listne", Some(r#"["tcp-noise://127.0.0.1:0"]"#)), "listne");
}

#[test]
fn node_with_a_missing_config_file_names_the_path() {
    let setup = Setup::new();
    assert_refused(&setup.path("absent.toml"), "absent.toml");
}
