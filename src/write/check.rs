//! `generate --check`: compare both trees with what would be written, writing nothing.
//! Public files get a unified diff; secret files are named, never shown.

use std::ffi::OsStr;
use std::path::Path;

use super::fsx::{self, Dir};
use super::txn::{lock_all, read_journal, Root};
use super::{
    manifest_entry, note, parse_manifest, safe_rel, Drift, TreeKind, Trees, JOURNAL, MANIFEST,
};
use crate::files::FileSet;

/// Compare `public` and `secrets` (plus their manifests) with the two trees. An absent
/// secrets tree is not compared (a fresh clone checks its committed tree without keys),
/// which is said on stderr.
pub fn check_pair(
    trees: &Trees,
    public: &FileSet,
    secrets: &FileSet,
) -> anyhow::Result<Vec<Drift>> {
    let root = |path: &Path, kind, abs: &Path| -> anyhow::Result<Option<Root>> {
        Ok(Dir::open_root(path)?.map(|dir| Root {
            dir,
            kind,
            abs: abs.to_path_buf(),
            created: false,
        }))
    };
    let proot = root(&trees.public, TreeKind::Public, &trees.public_abs)?;
    let sroot = root(&trees.secrets, TreeKind::Secret, &trees.secrets_abs)?;
    // A shared lock: a running `generate` finishes before we look.
    let mut held: Vec<&Root> = proot.iter().chain(sroot.iter()).collect();
    lock_all(&mut held, false)?;

    let mut drifts = Vec::new();
    if let Some(p) = &proot {
        if read_journal(&p.dir)?.is_some() {
            drifts.push(Drift {
                path: JOURNAL.into(),
                diff: format!(
                    "an interrupted write of {} and {} is unfinished; `chainfleet generate` finishes it\n",
                    trees.public.display(),
                    trees.secrets.display()
                ),
            });
        }
    }
    compare(
        proot.as_ref().map(|r| &r.dir),
        public,
        &mut |rel, old, new| {
            drifts.push(Drift {
                path: rel.to_string(),
                diff: match (old, new) {
                    (Some(old), Some(new)) => unified(rel, old, new),
                    (None, Some(new)) => unified(rel, b"", new),
                    // What would be removed is named, not shown: it may be anything.
                    (_, None) => format!(
                        "Only in {}: {rel} (chainfleet would remove it)\n",
                        trees.public.display()
                    ),
                },
            });
        },
    )?;
    match &sroot {
        None => note(format_args!(
            "chainfleet: the secrets folder {} does not exist; only the public tree was compared",
            trees.secrets.display()
        )),
        Some(s) => {
            if read_journal(&s.dir)?.is_some() && drifts.iter().all(|d| d.path != JOURNAL) {
                note(format_args!(
                    "chainfleet: {} holds the journal of a write that never committed; the next `chainfleet generate` removes it",
                    trees.secrets.display()
                ));
            }
            compare(Some(&s.dir), secrets, &mut |rel, old, new| {
                let path = trees.secrets.join(rel);
                let what = match (old, new) {
                    (Some(_), Some(_)) => "differs from what the spec and seed make",
                    (None, Some(_)) => "is missing",
                    (_, None) => "is no longer made (chainfleet would remove it)",
                };
                drifts.push(Drift {
                    path: path.display().to_string(),
                    diff: format!(
                        "Secret file {} {what} (content not shown)\n",
                        path.display()
                    ),
                });
            })?;
        }
    }
    Ok(drifts)
}

/// Told (relative path, bytes on disk, bytes expected) of each difference.
type Found<'a> = dyn FnMut(&str, Option<&[u8]>, Option<&[u8]>) + 'a;

/// Call `found(rel, existing, expected)` for every file (the manifest included) whose bytes
/// differ, and for owned files the new output no longer has (`expected` = None).
fn compare(root: Option<&Dir>, files: &FileSet, found: &mut Found) -> anyhow::Result<()> {
    let read = |rel: &str| -> anyhow::Result<Option<Vec<u8>>> {
        let Some(root) = root else { return Ok(None) };
        let path = safe_rel(rel)?;
        let parent = path.parent().unwrap_or(Path::new(""));
        match fsx::walk(root, parent, None, &mut Vec::new())? {
            Some(dir) => dir.read(path.file_name().expect("a name")),
            None => Ok(None),
        }
    };
    let manifest = match root {
        Some(r) => parse_manifest(&r.join(OsStr::new(MANIFEST)), r.read(OsStr::new(MANIFEST))?)?,
        None => parse_manifest(Path::new(MANIFEST), None)?,
    };
    let mut expected = files.clone();
    expected.insert(MANIFEST.to_string(), manifest_entry(files));
    for (rel, entry) in &expected {
        match read(rel)? {
            Some(existing) if existing == entry.bytes => {}
            existing => found(rel, existing.as_deref(), Some(&entry.bytes)),
        }
    }
    for rel in manifest.files.keys() {
        if !expected.contains_key(rel) {
            if let Some(old) = read(rel)? {
                found(rel, Some(&old), None);
            }
        }
    }
    Ok(())
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
