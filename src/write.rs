//! The only code that writes output. A tree is written as a transaction: every new file is
//! first staged beside its destination, then a journal naming the renames is written, then
//! the renames happen, then the manifest of owned files. A run killed before the journal
//! leaves the previous tree as it was (stale staging files are swept next run); a run
//! killed after it is rolled forward by the next run. Files not listed in the manifest are
//! never overwritten or deleted. `check` compares instead of writing.
//!
//! The guarantee, proven by tests/writer.rs killing `generate` at random moments: once
//! `recover` ran (every `write_tree` starts with it), each tree holds exactly the previous
//! output or exactly the new one, never a mix. Before that, a tree killed after its journal
//! is a mix that `check` reports as drift. The public and secrets trees are two
//! transactions (public first), so a kill between them leaves new public files beside the
//! previous secrets until the next run; the secrets tree's `.gitignore` is written before
//! any secret. Empty folders are not tracked: one created a moment before a kill may stay.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::FileSet;

/// The manifest of files chainfleet owns in a tree, with their SHA-256.
pub const MANIFEST: &str = "chainfleet.lock.json";
const JOURNAL: &str = ".chainfleet-journal";
const STAGING_SUFFIX: &str = ".chainfleet-new";

/// Public trees are world-readable; secrets trees are private to the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// Committed output: files 0644, scripts 0755.
    Public,
    /// Private keys: folders 0700, files 0600; a `.gitignore` of `*` keeps it out of git.
    Secret,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// Format version.
    version: u32,
    /// Owned files and their SHA-256, by relative path.
    files: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    renames: Vec<String>,
    deletes: Vec<String>,
}

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files created or changed.
    pub written: Vec<String>,
    /// Owned files removed because the new output no longer has them.
    pub removed: Vec<String>,
    /// Files already up to date.
    pub unchanged: usize,
}

/// One difference found by `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Relative path.
    pub path: String,
    /// A unified diff (or a one-line note for binary or missing files).
    pub diff: String,
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Refuse paths that could escape the tree.
fn safe_rel(rel: &str) -> anyhow::Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!("internal error: unsafe output path `{rel}`");
    }
    Ok(p.to_path_buf())
}

fn read_manifest(root: &Path) -> anyhow::Result<Manifest> {
    let path = root.join(MANIFEST);
    match fs::read(&path) {
        Ok(bytes) => {
            let m: Manifest = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not a chainfleet manifest; move it away and generate again",
                    path.display()
                )
            })?;
            // Its paths name files to delete: none may point outside the tree.
            if let Some(bad) = m.files.keys().find(|k| safe_rel(k).is_err()) {
                bail!(
                    "{} lists `{bad}`, a path outside its folder; it is not a chainfleet manifest, move it away",
                    path.display()
                );
            }
            Ok(m)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest {
            version: 1,
            files: BTreeMap::new(),
        }),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn manifest_bytes(files: &FileSet) -> Vec<u8> {
    let m = Manifest {
        version: 1,
        files: files
            .iter()
            .map(|(p, e)| (p.clone(), sha256(&e.bytes)))
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&m).expect("manifest serialises");
    s.push('\n');
    s.into_bytes()
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

fn create_dirs(root: &Path, dir: &Path, kind: TreeKind) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if kind == TreeKind::Secret {
        let mut d = dir.to_path_buf();
        while d.starts_with(root) {
            set_mode(&d, 0o700)?;
            if !d.pop() {
                break;
            }
        }
    }
    Ok(())
}

/// Write `path` and fsync it. A new file is created with its final mode, so a secret is
/// never readable by others, not even empty.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    write_file_unsynced(path, bytes, mode)?.sync_all()?;
    Ok(())
}

/// Make every staged file durable before the journal commits to them. One `syncfs` of the
/// tree's filesystem instead of an fsync per file: per-file syncs made a 1000-validator
/// network spend 30 s in the writer. Elsewhere than Linux, fsync each file.
fn sync_staged(root: &Path, staged: &[PathBuf]) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = fs::File::open(root).with_context(|| format!("opening {}", root.display()))?;
        // SAFETY: syncfs takes a valid open descriptor, which `dir` holds for the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
            return Ok(());
        }
    }
    for p in staged {
        fs::File::open(p)?.sync_all()?;
    }
    let _ = root;
    Ok(())
}

/// Write `path` without syncing; the caller syncs (see `sync_staged`).
fn write_file_unsynced(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    set_mode(path, mode)?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(f)
}

/// Finish an interrupted write (roll the journal forward) and sweep stale staging files.
pub fn recover(root: &Path) -> anyhow::Result<()> {
    let journal = root.join(JOURNAL);
    if let Ok(bytes) = fs::read(&journal) {
        let j: Journal = serde_json::from_slice(&bytes).context("reading the write journal")?;
        for rel in &j.renames {
            let dest = root.join(safe_rel(rel)?);
            let staged = staged_path(&dest);
            if staged.exists() {
                fs::rename(&staged, &dest)
                    .with_context(|| format!("finishing {}", dest.display()))?;
            }
        }
        for rel in &j.deletes {
            let _ = fs::remove_file(root.join(safe_rel(rel)?));
        }
        prune_empty_dirs(root, &j.deletes);
        fs::remove_file(&journal)?;
    }
    sweep_staging(root)
}

fn staged_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(STAGING_SUFFIX);
    PathBuf::from(s)
}

fn sweep_staging(root: &Path) -> anyhow::Result<()> {
    if !root.is_dir() {
        return Ok(());
    }
    let mut todo = vec![root.to_path_buf()];
    let mut swept = Vec::new();
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                todo.push(path);
            } else if path.to_string_lossy().ends_with(STAGING_SUFFIX) {
                fs::remove_file(&path)?;
                if let Ok(rel) = path.strip_prefix(root) {
                    swept.push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    // Folders an interrupted run created only to stage files in go too.
    prune_empty_dirs(root, &swept);
    Ok(())
}

/// Write `files` as the whole owned content of `root`.
///
/// Errors, with nothing written, when a path to write exists but is not owned (not in the
/// manifest) and differs from what would be written.
pub fn write_tree(root: &Path, files: &FileSet, kind: TreeKind) -> anyhow::Result<Report> {
    create_dirs(root, root, kind)?;
    if kind == TreeKind::Secret {
        // Before any secret lands: even a run killed midway leaves nothing git would add.
        let ignore = root.join(".gitignore");
        if !ignore.exists() {
            write_file(&ignore, b"# chainfleet secrets: never commit\n*\n", 0o600)?;
        }
    }
    recover(root)?;
    let manifest = read_manifest(root)?;
    let mut report = Report::default();
    let mut to_write = Vec::new();
    let mut foreign = Vec::new();
    for (rel, entry) in files {
        let dest = root.join(safe_rel(rel)?);
        match fs::read(&dest) {
            Ok(existing) if existing == entry.bytes => {
                report.unchanged += 1;
                // Same bytes: adopt it, but still fix a wrong mode.
                set_mode(&dest, mode_for(kind, entry.executable))?;
            }
            Ok(_) if !manifest.files.contains_key(rel) => foreign.push(rel.clone()),
            _ => to_write.push((rel.clone(), dest, entry)),
        }
    }
    if !foreign.is_empty() {
        bail!(
            "refusing to overwrite files chainfleet did not write: {}\nmove them away, or pass another --out folder",
            foreign.iter().map(|f| root.join(f).display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let deletes: Vec<String> = manifest
        .files
        .keys()
        .filter(|p| !files.contains_key(*p) && p.as_str() != MANIFEST)
        .cloned()
        .collect();
    let manifest_new = manifest_bytes(files);
    if to_write.is_empty()
        && deletes.is_empty()
        && fs::read(root.join(MANIFEST)).ok().as_deref() == Some(&manifest_new[..])
    {
        return Ok(report);
    }
    // 1. Stage, then make the staged files durable in one go.
    let mut staged = Vec::with_capacity(to_write.len() + 1);
    for (_, dest, entry) in &to_write {
        if let Some(dir) = dest.parent() {
            create_dirs(root, dir, kind)?;
        }
        let path = staged_path(dest);
        write_file_unsynced(&path, &entry.bytes, mode_for(kind, entry.executable))?;
        staged.push(path);
    }
    let manifest_path = root.join(MANIFEST);
    let path = staged_path(&manifest_path);
    write_file_unsynced(&path, &manifest_new, mode_for(kind, false))?;
    staged.push(path);
    sync_staged(root, &staged)?;
    // 2. Journal: from here on the write completes, even across a crash.
    let mut renames: Vec<String> = to_write.iter().map(|(r, _, _)| r.clone()).collect();
    renames.push(MANIFEST.to_string());
    let journal = Journal {
        renames,
        deletes: deletes.clone(),
    };
    let jpath = root.join(JOURNAL);
    write_file(&staged_path(&jpath), &serde_json::to_vec(&journal)?, 0o600)?;
    fs::rename(staged_path(&jpath), &jpath)?;
    // 3. Apply.
    recover(root)?;
    report.written = to_write.into_iter().map(|(r, _, _)| r).collect();
    report.removed = deletes;
    Ok(report)
}

fn mode_for(kind: TreeKind, executable: bool) -> u32 {
    match (kind, executable) {
        (TreeKind::Public, false) => 0o644,
        (TreeKind::Public, true) => 0o755,
        (TreeKind::Secret, false) => 0o600,
        (TreeKind::Secret, true) => 0o700,
    }
}

fn prune_empty_dirs(root: &Path, removed: &[String]) {
    for rel in removed {
        let mut dir = root.join(rel);
        while dir.pop() && dir.starts_with(root) && dir != root {
            if fs::remove_dir(&dir).is_err() {
                break;
            }
        }
    }
}

/// Compare `files` (plus the manifest) with `root` without writing anything.
pub fn check_tree(root: &Path, files: &FileSet) -> anyhow::Result<Vec<Drift>> {
    let manifest = read_manifest(root)?;
    let mut drifts = Vec::new();
    if root.join(JOURNAL).exists() {
        drifts.push(Drift {
            path: JOURNAL.into(),
            diff: format!(
                "an interrupted write of {} is unfinished; `chainfleet generate` finishes it\n",
                root.display()
            ),
        });
    }
    let mut expected = files.clone();
    expected.insert(
        MANIFEST.to_string(),
        crate::files::FileEntry {
            bytes: manifest_bytes(files),
            executable: false,
        },
    );
    for (rel, entry) in &expected {
        let path = root.join(safe_rel(rel)?);
        match fs::read(&path) {
            Ok(existing) if existing == entry.bytes => {}
            Ok(existing) => drifts.push(Drift {
                path: rel.clone(),
                diff: unified(rel, &existing, &entry.bytes),
            }),
            Err(_) => drifts.push(Drift {
                path: rel.clone(),
                diff: unified(rel, b"", &entry.bytes),
            }),
        }
    }
    for rel in manifest.files.keys() {
        if !expected.contains_key(rel) && root.join(rel).exists() {
            let old = fs::read(root.join(rel)).unwrap_or_default();
            drifts.push(Drift {
                path: rel.clone(),
                diff: unified(rel, &old, b""),
            });
        }
    }
    Ok(drifts)
}

fn unified(rel: &str, old: &[u8], new: &[u8]) -> String {
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(o), Ok(n)) => similar::TextDiff::from_lines(o, n)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{rel}"), &format!("b/{rel}"))
            .to_string(),
        _ => format!("Binary files a/{rel} and b/{rel} differ\n"),
    }
}

/// The path of `to` relative to `from` (both relative to the same base or both absolute),
/// with `/` separators, e.g. `../../.chainfleet/secrets/devnet`.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let norm = |p: &Path| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other.as_os_str().to_string_lossy().into_owned()),
            }
        }
        out
    };
    let (f, t) = (norm(from), norm(to));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), f.len() - common).collect();
    parts.extend(t[common..].iter().cloned());
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::FileEntry;

    fn set(files: &[(&str, &str)]) -> FileSet {
        files
            .iter()
            .map(|(p, c)| (p.to_string(), FileEntry::text(*c)))
            .collect()
    }

    #[test]
    fn writes_updates_and_removes_only_owned_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        write_tree(
            &root,
            &set(&[("a.txt", "1"), ("d/b.txt", "2")]),
            TreeKind::Public,
        )
        .unwrap();
        fs::write(root.join("mine.txt"), "user file").unwrap();
        let r = write_tree(
            &root,
            &set(&[("a.txt", "1"), ("c.txt", "3")]),
            TreeKind::Public,
        )
        .unwrap();
        assert_eq!(r.written, vec!["c.txt"]);
        assert_eq!(r.removed, vec!["d/b.txt"]);
        assert!(!root.join("d").exists());
        assert_eq!(
            fs::read_to_string(root.join("mine.txt")).unwrap(),
            "user file"
        );
        let err = write_tree(&root, &set(&[("mine.txt", "ours")]), TreeKind::Public).unwrap_err();
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert_eq!(
            fs::read_to_string(root.join("mine.txt")).unwrap(),
            "user file"
        );
    }

    #[test]
    fn check_reports_drift_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        write_tree(&root, &set(&[("a.txt", "1\n")]), TreeKind::Public).unwrap();
        assert!(check_tree(&root, &set(&[("a.txt", "1\n")]))
            .unwrap()
            .is_empty());
        let d = check_tree(&root, &set(&[("a.txt", "2\n")])).unwrap();
        assert!(d.iter().any(|d| d.diff.contains("-1\n+2")), "{d:?}");
        assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "1\n");
    }

    #[test]
    fn journal_rolls_forward() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "old").unwrap();
        fs::write(root.join(format!("a.txt{STAGING_SUFFIX}")), "new").unwrap();
        fs::write(root.join(format!("b.txt{STAGING_SUFFIX}")), "orphan").unwrap();
        fs::write(root.join(JOURNAL), r#"{"renames":["a.txt"],"deletes":[]}"#).unwrap();
        recover(root).unwrap();
        assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "new");
        assert!(!root.join(format!("b.txt{STAGING_SUFFIX}")).exists());
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_private_and_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        write_tree(&root, &set(&[("n/key.json", "k")]), TreeKind::Secret).unwrap();
        let mode = fs::metadata(root.join("n/key.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
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
        let err = write_tree(&root, &set(&[("a.txt", "1")]), TreeKind::Public).unwrap_err();
        assert!(err.to_string().contains("outside its folder"), "{err}");
        assert!(check_tree(&root, &set(&[("a.txt", "1")])).is_err());
        assert_eq!(
            fs::read_to_string(dir.path().join("victim.txt")).unwrap(),
            "keep"
        );
        assert!(!root.join("a.txt").exists());
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
}
