//! Unit tests of the writer through its public API (`write_pair`, `check_pair`).

use std::fs;
use std::path::Path;

use super::*;
use crate::files::FileEntry;

fn set(files: &[(&str, &str)]) -> FileSet {
    files
        .iter()
        .map(|(p, c)| (p.to_string(), FileEntry::text(*c)))
        .collect()
}

fn trees(dir: &Path) -> Trees {
    Trees::resolve(&dir.join("out"), &dir.join("secrets")).unwrap()
}

fn write_public(dir: &Path, files: &FileSet) -> anyhow::Result<Report> {
    write_pair(&trees(dir), files, &FileSet::new()).map(|(p, _)| p)
}

#[test]
fn writes_updates_and_removes_only_owned_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    write_public(dir.path(), &set(&[("a.txt", "1"), ("d/b.txt", "2")])).unwrap();
    fs::write(root.join("mine.txt"), "user file").unwrap();
    let r = write_public(dir.path(), &set(&[("a.txt", "1"), ("c.txt", "3")])).unwrap();
    assert_eq!(r.written, vec!["c.txt"]);
    assert_eq!(r.removed, vec!["d/b.txt"]);
    assert!(!root.join("d").exists());
    assert!(!root.join(STAGING).exists() && !root.join(JOURNAL).exists());
    assert_eq!(
        fs::read_to_string(root.join("mine.txt")).unwrap(),
        "user file"
    );
    let err = write_public(dir.path(), &set(&[("mine.txt", "ours")])).unwrap_err();
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(
        fs::read_to_string(root.join("mine.txt")).unwrap(),
        "user file"
    );
}

#[test]
fn check_reports_drift_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let t = trees(dir.path());
    let root = dir.path().join("out");
    write_public(dir.path(), &set(&[("a.txt", "1\n")])).unwrap();
    assert!(check_pair(&t, &set(&[("a.txt", "1\n")]), &FileSet::new())
        .unwrap()
        .is_empty());
    let d = check_pair(&t, &set(&[("a.txt", "2\n")]), &FileSet::new()).unwrap();
    assert!(d.iter().any(|d| d.diff.contains("-1\n+2")), "{d:?}");
    assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "1\n");
}

#[test]
fn a_committed_journal_rolls_forward_in_both_trees() {
    let dir = tempfile::tempdir().unwrap();
    let t = trees(dir.path());
    write_pair(&t, &set(&[("a.txt", "old")]), &set(&[("k", "old key")])).unwrap();
    // What a run killed right after its commit point leaves.
    let (out, sec) = (dir.path().join("out"), dir.path().join("secrets"));
    for (root, content) in [(&out, "new"), (&sec, "new key")] {
        fs::create_dir_all(root.join(STAGING)).unwrap();
        fs::write(root.join(STAGING).join("0"), content).unwrap();
    }
    let journal = |commit: bool, peer: &Path, rel: &str| {
        format!(
            r#"{{"version":2,"commit":{commit},"peer":{:?},"peer_prepared":true,"renames":[["0","{rel}"]],"deletes":[]}}"#,
            peer.canonicalize().unwrap()
        )
    };
    fs::write(sec.join(JOURNAL), journal(false, &out, "k")).unwrap();
    fs::write(out.join(JOURNAL), journal(true, &sec, "a.txt")).unwrap();
    let d = check_pair(&t, &set(&[("a.txt", "old")]), &set(&[("k", "old key")])).unwrap();
    assert!(d.iter().any(|d| d.path == JOURNAL), "{d:?}");
    let err = write_pair(&t, &set(&[("a.txt", "new")]), &set(&[("k", "new key")]));
    // The manifests still name the old hashes, but the files are ours: rewritten.
    err.unwrap();
    assert_eq!(fs::read_to_string(out.join("a.txt")).unwrap(), "new");
    assert_eq!(fs::read_to_string(sec.join("k")).unwrap(), "new key");
    assert!(!out.join(JOURNAL).exists() && !sec.join(JOURNAL).exists());
    assert!(!out.join(STAGING).exists() && !sec.join(STAGING).exists());
}

#[test]
fn a_prepared_but_uncommitted_secrets_journal_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let t = trees(dir.path());
    write_pair(&t, &set(&[("a.txt", "old")]), &set(&[("k", "old key")])).unwrap();
    let (out, sec) = (dir.path().join("out"), dir.path().join("secrets"));
    fs::create_dir_all(sec.join(STAGING)).unwrap();
    fs::write(sec.join(STAGING).join("0"), "new key").unwrap();
    fs::write(
        sec.join(JOURNAL),
        format!(
            r#"{{"version":2,"commit":false,"peer":{:?},"renames":[["0","k"]],"deletes":[]}}"#,
            out.canonicalize().unwrap()
        ),
    )
    .unwrap();
    let (p, s) = write_pair(&t, &set(&[("a.txt", "old")]), &set(&[("k", "old key")])).unwrap();
    assert!(p.written.is_empty() && s.written.is_empty(), "{p:?} {s:?}");
    assert_eq!(fs::read_to_string(sec.join("k")).unwrap(), "old key");
    assert!(!sec.join(JOURNAL).exists() && !sec.join(STAGING).exists());
}

#[test]
fn secrets_are_private_and_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    write_pair(
        &trees(dir.path()),
        &FileSet::new(),
        &set(&[("n/key.json", "k")]),
    )
    .unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root.join("n/key.json")), 0o600);
    assert_eq!(mode(&root.join("n")), 0o700);
    assert_eq!(mode(&root), 0o700);
    assert_eq!(
        fs::read_to_string(root.join(".gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
}

#[test]
fn a_manifest_cannot_delete_outside_its_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    fs::create_dir_all(&root).unwrap();
    fs::write(dir.path().join("victim.txt"), "keep").unwrap();
    fs::write(
        root.join(MANIFEST),
        r#"{"version":1,"files":{"../victim.txt":"00"}}"#,
    )
    .unwrap();
    let err = write_public(dir.path(), &set(&[("a.txt", "1")])).unwrap_err();
    assert!(err.to_string().contains("outside its folder"), "{err}");
    assert!(check_pair(&trees(dir.path()), &set(&[("a.txt", "1")]), &FileSet::new()).is_err());
    assert_eq!(
        fs::read_to_string(dir.path().join("victim.txt")).unwrap(),
        "keep"
    );
    assert!(!root.join("a.txt").exists());
}

#[test]
fn nested_or_equal_trees_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (out, sec) in [
        (d.join("x"), d.join("x")),
        (d.join("x"), d.join("x/keys")),
        (d.join("x/pub"), d.join("x")),
        (d.join("x"), d.join("y/../x/./k")),
    ] {
        let err = Trees::resolve(&out, &sec).unwrap_err().to_string();
        assert!(err.contains("overlap"), "{err}");
    }
    // Through a link in a parent.
    fs::create_dir_all(d.join("real")).unwrap();
    std::os::unix::fs::symlink(d.join("real"), d.join("alias")).unwrap();
    let err = Trees::resolve(&d.join("real/out"), &d.join("alias/out/keys"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("overlap"), "{err}");
    Trees::resolve(&d.join("real/out"), &d.join("alias/keys")).unwrap();
}

#[test]
fn relative_paths() {
    assert_eq!(
        relative_path(
            Path::new("generated/devnet"),
            Path::new(".chainfleet/secrets/devnet")
        ),
        "../../.chainfleet/secrets/devnet"
    );
    assert_eq!(relative_path(Path::new("a/b"), Path::new("a/b/c")), "c");
}
