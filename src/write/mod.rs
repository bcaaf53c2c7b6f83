//! The only code that writes output: the public tree and the secrets tree of one network,
//! written together as one transaction.
//!
//! - **One unit.** Every new file of both trees is first staged in the tree's
//!   `.chainfleet-staging/` folder and made durable; then the secrets tree gets a prepared
//!   journal and the public tree a commit journal naming it. Renaming the public journal
//!   into place is the commit point. A run killed before it leaves both trees as they were
//!   (the next run sweeps the staging folders and says so); a run killed after it is rolled
//!   forward in both trees by the next run, which says so. `--check` reports an unfinished
//!   write and compares the secrets tree too (by name, never printing secret bytes).
//! - **No links.** Everything inside a tree is reached through directory handles without
//!   following a symbolic link (see `fsx`); a link is refused with its path.
//! - **One writer per tree.** Each tree's root folder is `flock`ed for the whole run
//!   (exclusive for `generate`, shared for `--check`); a second run waits and says so.
//! - **Ownership.** Files not listed in a tree's manifest are never overwritten or deleted.
//! - **Separate trees.** `--out` and `--secrets` may not be equal or nested, judged after
//!   resolving links in their parents.
//!
//! Empty folders are not tracked: a folder created while a committed write is rolled
//! forward stays if the run is killed right then (it holds the new files a moment later).

#[cfg(not(unix))]
compile_error!("the writer needs a Unix system (openat, renameat, flock)");

mod check;
mod fsx;
mod txn;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::{FileEntry, FileSet};

pub use check::check_pair;
pub use txn::write_pair;

/// The manifest of files chainfleet owns in a tree, with their SHA-256.
pub const MANIFEST: &str = "chainfleet.lock.json";
/// The journal of an interrupted write, at the root of each tree.
pub const JOURNAL: &str = ".chainfleet-journal";
/// Where new files wait (in each tree) until the write commits.
pub const STAGING: &str = ".chainfleet-staging";

/// Public trees are world-readable; secrets trees are private to the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// Committed output: files 0644, scripts 0755.
    Public,
    /// Private keys: folders 0700, files 0600; a `.gitignore` of `*` keeps it out of git.
    Secret,
}

impl TreeKind {
    fn file_mode(self, executable: bool) -> u32 {
        match (self, executable) {
            (TreeKind::Public, false) => 0o644,
            (TreeKind::Public, true) => 0o755,
            (TreeKind::Secret, false) => 0o600,
            (TreeKind::Secret, true) => 0o700,
        }
    }

    fn dir_mode(self) -> u32 {
        match self {
            TreeKind::Public => 0o755,
            TreeKind::Secret => 0o700,
        }
    }
}

/// What a write did to one tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files created or changed.
    pub written: Vec<String>,
    /// Owned files removed because the new output no longer has them.
    pub removed: Vec<String>,
    /// Files already up to date.
    pub unchanged: usize,
}

/// One difference found by `check_pair`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Relative path (secrets: the path of the secrets file).
    pub path: String,
    /// A unified diff, or a one-line note (binary, removed or secret files).
    pub diff: String,
}

/// The public and the secrets tree of one network: the paths as given (for messages) and
/// as resolved (parents' links followed) for comparisons and journals.
#[derive(Debug, Clone)]
pub struct Trees {
    /// `--out` as given.
    pub public: PathBuf,
    /// `--secrets` as given.
    pub secrets: PathBuf,
    public_abs: PathBuf,
    secrets_abs: PathBuf,
}

impl Trees {
    /// Resolve both roots and refuse equal or nested ones: secrets inside the public tree
    /// would be committed, a public tree inside the secrets tree would be overwritten by keys.
    pub fn resolve(public: &Path, secrets: &Path) -> anyhow::Result<Trees> {
        let public_abs = resolve(public)?;
        let secrets_abs = resolve(secrets)?;
        if public_abs.starts_with(&secrets_abs) || secrets_abs.starts_with(&public_abs) {
            bail!(
                "the output folder {} and the secrets folder {} overlap ({} and {} once links are resolved); \
                 secrets must live outside the public tree and the public tree outside the secrets: pass separate --out and --secrets folders",
                public.display(),
                secrets.display(),
                public_abs.display(),
                secrets_abs.display()
            );
        }
        Ok(Trees {
            public: public.to_path_buf(),
            secrets: secrets.to_path_buf(),
            public_abs,
            secrets_abs,
        })
    }
}

/// `path` made absolute with every link of its existing part resolved; the part that does
/// not exist yet is appended lexically (it holds no links).
fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current folder")?;
    let abs = cwd.join(path);
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut real) => {
                for c in rest.iter().rev() {
                    match c {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(n) => real.push(n),
                        _ => {}
                    }
                }
                return Ok(real);
            }
            Err(_) => match (existing.parent(), existing.components().next_back()) {
                (Some(parent), Some(last)) => {
                    rest.push(last);
                    existing = parent;
                }
                _ => bail!("cannot resolve {}", path.display()),
            },
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// Format version.
    version: u32,
    /// Owned files and their SHA-256, by relative path.
    files: BTreeMap<String, String>,
}

/// Refuse paths that could escape the tree.
fn safe_rel(rel: &str) -> anyhow::Result<&Path> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!("internal error: unsafe output path `{rel}`");
    }
    Ok(p)
}

fn parse_manifest(path: &Path, bytes: Option<Vec<u8>>) -> anyhow::Result<Manifest> {
    let Some(bytes) = bytes else {
        return Ok(Manifest {
            version: 1,
            files: BTreeMap::new(),
        });
    };
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

fn manifest_entry(files: &FileSet) -> FileEntry {
    let m = Manifest {
        version: 1,
        files: files
            .iter()
            .map(|(p, e)| (p.clone(), sha256(&e.bytes)))
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&m).expect("manifest serialises");
    s.push('\n');
    FileEntry {
        bytes: s.into_bytes(),
        executable: false,
    }
}

/// Print a note on stderr (never panics on a closed stderr).
fn note(msg: std::fmt::Arguments) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{msg}");
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
mod tests;
