use std::io::Write as _;

use super::*;
use crate::message::BlockHash;
use crate::operator::{ConfigFormat as _, NodeFileConfig};

fn commit(height: u64, block: u8) -> Committed {
    let (at, latency) = (Duration::from_secs(3), Duration::from_millis(20));
    Committed {
        height: Height(height),
        round: Round(1),
        block: BlockHash([block; 32]),
        at,
        latency,
        path: CommitPath::Decided,
    }
}

/// A journal holding commits of heights 1 and 2, then a lock and a signed round at height 3.
fn written(path: &Path) {
    let (file, _) = JournalFile::open(path).unwrap();
    file.signed(Height(1), Round(0)).unwrap();
    file.committed(&commit(1, 1)).unwrap();
    file.committed(&commit(2, 2)).unwrap();
    file.locked(Height(3), Locked { round: Round(2), block: BlockHash([3; 32]) }).unwrap();
    file.signed(Height(3), Round(2)).unwrap();
    file.close().unwrap();
}

fn assert_resumes_at_height_3(state: &JournalState) {
    let blocks: Vec<_> = state.chain.iter().map(|c| (c.height, c.round, c.block, c.path)).collect();
    let decided = |h, b| (Height(h), Round(1), BlockHash([b; 32]), CommitPath::Decided);
    assert_eq!(blocks, [decided(1, 1), decided(2, 2)]);
    assert_eq!(state.last_signed, Some((Height(3), Round(2))));
    assert_eq!(state.lock, Some((Height(3), Locked { round: Round(2), block: BlockHash([3; 32]) })));
}

/// `journal` pointed at `path` in an otherwise valid config.
fn config_with_journal(path: &Path) -> NodeFileConfig {
    let text = format!(
        "key_file = \"v.key\"\nnetwork = \"n\"\nvalidator_set = \"set.toml\"\nlisten = [\"tcp-noise://127.0.0.1:0\"]\njournal = {:?}\n",
        path.display().to_string()
    );
    NodeFileConfig::parse(&text, "/etc/quorumnet/node.toml".as_ref()).unwrap()
}

fn assert_names_journal(error: &crate::operator::ConfigError, words: &str) {
    assert_eq!(error.field(), Some("journal"), "{error}");
    let message = error.to_string();
    assert!(message.contains("`journal`") && message.contains(words), "{message}");
}

#[test]
fn what_was_written_is_read_back_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.journal");
    written(&path);
    let (_, state) = JournalFile::open(&path).unwrap();
    assert_resumes_at_height_3(&state);
    assert_resumes_at_height_3(&JournalFile::read(&path).unwrap());
}

#[test]
fn a_torn_last_record_is_dropped_and_appending_goes_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.journal");
    written(&path);
    let good = std::fs::metadata(&path).unwrap().len();
    let torn = record::encode(&Record::Signed { height: Height(3), round: Round(3) });
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&torn[..torn.len() - 2]).unwrap();

    let (file, state) = JournalFile::open(&path).unwrap();
    assert_resumes_at_height_3(&state);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good, "the torn record is cut off");
    file.signed(Height(3), Round(4)).unwrap();
    drop(file);
    assert_eq!(JournalFile::read(&path).unwrap().last_signed, Some((Height(3), Round(4))));
}

#[test]
fn a_damaged_record_before_the_last_is_an_error_naming_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.journal");
    written(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    // The last byte of the first record's body (the header, then the 12-byte frame).
    let first = record::HEADER.len() + record::encode(&Record::Signed { height: Height(1), round: Round(0) }).len();
    bytes[first - 1] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let error = config_with_journal(&path).open_journal().unwrap_err();
    assert_names_journal(&error, &format!("damaged at byte {}", record::HEADER.len()));
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "a damaged journal is left as it was");
}

#[test]
fn a_gap_in_the_chain_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.journal");
    let (file, _) = JournalFile::open(&path).unwrap();
    file.committed(&commit(1, 1)).unwrap();
    file.committed(&commit(3, 3)).unwrap();
    drop(file);
    let error = JournalFile::open(&path).unwrap_err();
    assert!(error.to_string().contains("height 3 where height 2 was due"), "{error}");
}

#[test]
fn an_unwritable_path_is_a_config_error_naming_journal() {
    let dir = tempfile::tempdir().unwrap();
    // A path under a regular file cannot be created, even by root.
    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, b"").unwrap();
    let error = config_with_journal(&not_a_dir.join("v.journal")).open_journal().unwrap_err();
    assert_names_journal(&error, "cannot use the journal file");
}

#[test]
fn a_journal_held_by_another_node_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.journal");
    let (_held, _) = JournalFile::open(&path).unwrap();
    let error = config_with_journal(&path).open_journal().unwrap_err();
    assert_names_journal(&error, "in use by another process");
}

#[test]
fn a_closed_journal_refuses_records() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = JournalFile::open(&dir.path().join("v.journal")).unwrap();
    file.close().unwrap();
    assert!(file.signed(Height(1), Round(0)).is_err());
}

#[test]
fn a_round_signed_again_costs_no_record_and_a_closed_journal_still_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.journal");
    let (file, _) = JournalFile::open(&path).unwrap();
    file.signed(Height(1), Round(0)).unwrap();
    let once = std::fs::metadata(&path).unwrap().len();
    // The proposal and both votes of a round each record it.
    file.signed(Height(1), Round(0)).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), once, "the same round appended twice");
    file.signed(Height(1), Round(1)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > once, "the next round not appended");
    file.close().unwrap();
    assert!(file.signed(Height(1), Round(1)).is_err(), "a closed journal confirmed a round");
}
