//! The write transaction over a public and a secrets tree: lock, recover, plan, stage,
//! journal (prepare the secrets tree, commit in the public tree), apply.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use super::fsx::{self, Dir, Kind};
use super::{
    manifest_entry, note, parse_manifest, safe_rel, Report, TreeKind, Trees, JOURNAL, MANIFEST,
    STAGING,
};
use crate::files::{FileEntry, FileSet};

const JOURNAL_VERSION: u32 = 2;
const GITIGNORE: &[u8] = b"# chainfleet secrets: never commit\n*\n";

/// A tree's half of a write: which staged files go where, which owned files go away.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Journal {
    /// Absent (0) in journals of chainfleet before the pair transaction.
    #[serde(default)]
    version: u32,
    /// True in the public tree: this journal is the commit record of the pair.
    commit: bool,
    /// The resolved root of the other tree of the pair.
    peer: PathBuf,
    /// In the commit record: whether the secrets tree holds a prepared journal.
    #[serde(default)]
    peer_prepared: bool,
    /// (name in the staging folder, destination relative to the root).
    renames: Vec<(String, String)>,
    /// Owned files to remove, relative to the root.
    deletes: Vec<String>,
}

/// An open, locked tree root.
pub(super) struct Root {
    pub dir: Dir,
    pub kind: TreeKind,
    /// Resolved path, recorded in the peer's journal.
    pub abs: PathBuf,
    /// Whether this run created the root folder (removed again if the run fails early).
    pub created: bool,
}

/// Lock the existing roots in one global order (their resolved paths), so two runs over
/// crossed pairs cannot deadlock. Says on stderr when it has to wait.
pub(super) fn lock_all(roots: &mut [&Root], exclusive: bool) -> anyhow::Result<()> {
    roots.sort_by(|a, b| a.abs.cmp(&b.abs));
    for r in roots.iter() {
        if !r.dir.lock(exclusive, false)? {
            note(format_args!(
                "chainfleet: waiting for another chainfleet run that is using {} ...",
                r.dir.path().display()
            ));
            r.dir.lock(exclusive, true)?;
        }
    }
    Ok(())
}

/// Read a tree's journal, if any.
pub(super) fn read_journal(root: &Dir) -> anyhow::Result<Option<Journal>> {
    let path = root.join(OsStr::new(JOURNAL));
    let Some(bytes) = root.read(OsStr::new(JOURNAL))? else {
        return Ok(None);
    };
    let j: Journal = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a chainfleet journal; move it away",
            path.display()
        )
    })?;
    if j.version != JOURNAL_VERSION {
        bail!(
            "{} was left by an interrupted run of another chainfleet version (journal version {}); \
             finish it with that version, or remove the journal and generate again",
            path.display(),
            j.version
        );
    }
    for (stage, rel) in &j.renames {
        safe_rel(rel).with_context(|| format!("in {}", path.display()))?;
        if stage.is_empty() || !stage.bytes().all(|b| b.is_ascii_alphanumeric()) {
            bail!(
                "{} names a staged file `{stage}` outside the staging folder",
                path.display()
            );
        }
    }
    for rel in &j.deletes {
        safe_rel(rel).with_context(|| format!("in {}", path.display()))?;
    }
    Ok(Some(j))
}

/// Keeps the last folder opened below a root: files come sorted, so most lookups are hits.
struct DirCache<'a> {
    root: &'a Dir,
    create: Option<u32>,
    last: Option<(PathBuf, Dir)>,
    made: Vec<PathBuf>,
}

impl<'a> DirCache<'a> {
    fn new(root: &'a Dir, create: Option<u32>) -> Self {
        DirCache {
            root,
            create,
            last: None,
            made: Vec::new(),
        }
    }

    /// The folder holding `rel` (a file path), or `None` when it does not exist.
    fn parent_of(&mut self, rel: &Path) -> anyhow::Result<Option<&Dir>> {
        let dir = rel.parent().unwrap_or(Path::new(""));
        if self.last.as_ref().is_none_or(|(p, _)| p != dir) {
            self.last = None;
            match fsx::walk(self.root, dir, self.create, &mut self.made)? {
                Some(d) => self.last = Some((dir.to_path_buf(), d)),
                None => return Ok(None),
            }
        }
        Ok(self.last.as_ref().map(|(_, d)| d))
    }
}

fn leaf(rel: &Path) -> &OsStr {
    rel.file_name().expect("safe_rel paths end in a name")
}

/// Finish or discard an interrupted write of this pair. With `announce`, say what was
/// found (the run's own apply step is not news).
pub(super) fn recover(public: &Root, secrets: &Root, announce: bool) -> anyhow::Result<()> {
    let pj = read_journal(&public.dir)?;
    let sj = read_journal(&secrets.dir)?;
    if let Some(p) = &pj {
        if !p.commit {
            bail!(
                "{} holds a secrets-tree journal: it was used as a secrets folder before; pass another --out",
                public.dir.join(OsStr::new(JOURNAL)).display()
            );
        }
        if p.peer != secrets.abs {
            bail!(
                "an interrupted write of {} together with the secrets folder {} is unfinished; \
                 run `chainfleet generate` again with `--secrets {}` to finish it",
                public.dir.path().display(),
                p.peer.display(),
                p.peer.display()
            );
        }
    }
    if let Some(s) = &sj {
        if s.commit || s.peer != public.abs {
            bail!(
                "an interrupted write of the secrets folder {} together with the output folder {} is unfinished; \
                 run `chainfleet generate` again with `--out {}` to finish it",
                secrets.dir.path().display(),
                s.peer.display(),
                s.peer.display()
            );
        }
    }
    match (&pj, &sj) {
        (Some(p), s) => {
            // Committed: roll both trees forward.
            apply(public, p)?;
            if let Some(s) = s.as_ref().filter(|_| p.peer_prepared) {
                apply(secrets, s)?;
            }
            sync_pair(public, secrets)?;
            if s.is_some() {
                // Applied, or (not named by the commit record) stale: either way done.
                secrets.dir.unlink(OsStr::new(JOURNAL))?;
                secrets.dir.sync()?;
            }
            public.dir.unlink(OsStr::new(JOURNAL))?;
            public.dir.sync()?;
            if announce {
                note(format_args!(
                    "chainfleet: finished an interrupted write of {} and {} (a previous run stopped after committing it)",
                    public.dir.path().display(),
                    secrets.dir.path().display()
                ));
            }
        }
        (None, Some(_)) => {
            // Prepared but never committed: both trees still hold the previous network.
            secrets.dir.unlink(OsStr::new(JOURNAL))?;
            secrets.dir.sync()?;
            if announce {
                note(format_args!(
                    "chainfleet: discarded an interrupted write of {} and {} that had not committed; both held the previous network",
                    public.dir.path().display(),
                    secrets.dir.path().display()
                ));
            }
        }
        (None, None) => {
            let swept = sweep(public)? | sweep(secrets)?;
            if swept && announce {
                note(format_args!(
                    "chainfleet: removed the staging files of an interrupted write of {} and {} that had not committed; both held the previous network",
                    public.dir.path().display(),
                    secrets.dir.path().display()
                ));
            }
            return Ok(());
        }
    }
    sweep(public)?;
    sweep(secrets)?;
    Ok(())
}

/// Make both trees' changes durable, once per filesystem.
fn sync_pair(public: &Root, secrets: &Root) -> anyhow::Result<()> {
    public.dir.sync_fs()?;
    if secrets.dir.device()? != public.dir.device()? {
        secrets.dir.sync_fs()?;
    }
    Ok(())
}

/// Move a journal's staged files into place and remove its deleted files. Idempotent: a
/// staged file already moved is skipped, so a roll-forward can itself be interrupted.
fn apply(root: &Root, j: &Journal) -> anyhow::Result<()> {
    let staging = root.dir.open_dir(OsStr::new(STAGING))?;
    let mut dirs = DirCache::new(&root.dir, Some(root.kind.dir_mode()));
    for (stage, rel) in &j.renames {
        let Some(st) = &staging else { break };
        let stage = OsStr::new(stage);
        if st.kind(stage)? != Some(Kind::File) {
            continue;
        }
        let rel = Path::new(rel);
        let dir = dirs.parent_of(rel)?.expect("created");
        if dir.kind(leaf(rel))? == Some(Kind::Dir) {
            bail!(
                "{} is a folder where chainfleet writes a file; move it away and run `chainfleet generate` again to finish the write",
                dir.join(leaf(rel)).display()
            );
        }
        st.rename_to(stage, dir, leaf(rel))?;
    }
    let mut dirs = DirCache::new(&root.dir, None);
    for rel in &j.deletes {
        let rel = Path::new(rel);
        if let Some(dir) = dirs.parent_of(rel)? {
            if dir.kind(leaf(rel))? != Some(Kind::Dir) {
                dir.unlink(leaf(rel))?;
            }
        }
    }
    drop(dirs);
    prune_empty_dirs(&root.dir, j.deletes.iter().map(Path::new))?;
    Ok(())
}

/// Remove the folders that removing `removed` left empty (never the root).
fn prune_empty_dirs<'a>(root: &Dir, removed: impl Iterator<Item = &'a Path>) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for rel in removed {
        let mut dir = rel.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if !seen.insert(d.to_path_buf()) {
                break;
            }
            let parent = d.parent().unwrap_or(Path::new(""));
            let Some(p) = fsx::walk(root, parent, None, &mut Vec::new())? else {
                break;
            };
            if !p.rmdir(leaf(d)) {
                break;
            }
            dir = d.parent();
        }
    }
    Ok(())
}

/// Remove a tree's staging folder; true when there was one.
fn sweep(root: &Root) -> anyhow::Result<bool> {
    let Some(st) = root.dir.open_dir(OsStr::new(STAGING))? else {
        return Ok(false);
    };
    for name in st.entries()? {
        st.unlink(&name)?;
    }
    drop(st);
    if !root.dir.rmdir(OsStr::new(STAGING)) {
        bail!(
            "cannot remove {}",
            root.dir.join(OsStr::new(STAGING)).display()
        );
    }
    Ok(true)
}

/// What one tree needs.
struct Plan<'f> {
    /// Files to write; `None` is the manifest.
    writes: Vec<(String, Option<&'f FileEntry>)>,
    deletes: Vec<String>,
    unchanged: usize,
    foreign: Vec<PathBuf>,
    manifest: FileEntry,
}

impl Plan<'_> {
    fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }
}

fn plan<'f>(root: &Root, files: &'f FileSet) -> anyhow::Result<Plan<'f>> {
    let manifest_path = root.dir.join(OsStr::new(MANIFEST));
    let manifest = parse_manifest(&manifest_path, root.dir.read(OsStr::new(MANIFEST))?)?;
    let mut p = Plan {
        writes: Vec::new(),
        deletes: Vec::new(),
        unchanged: 0,
        foreign: Vec::new(),
        manifest: manifest_entry(files),
    };
    let mut dirs = DirCache::new(&root.dir, None);
    for (rel, entry) in files {
        let path = safe_rel(rel)?;
        let existing = match dirs.parent_of(path)? {
            Some(dir) => match dir.open_file(leaf(path))? {
                Some(mut f) => {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut bytes)
                        .with_context(|| format!("reading {}", dir.join(leaf(path)).display()))?;
                    Some((bytes, f, dir.join(leaf(path))))
                }
                None => None,
            },
            None => None,
        };
        match existing {
            Some((bytes, f, full)) if bytes == entry.bytes => {
                p.unchanged += 1;
                // Same bytes: adopt it, but still fix a wrong mode.
                use std::os::unix::fs::PermissionsExt as _;
                let mode = root.kind.file_mode(entry.executable);
                let meta = f
                    .metadata()
                    .with_context(|| format!("inspecting {}", full.display()))?;
                if meta.permissions().mode() & 0o7777 != mode {
                    f.set_permissions(std::fs::Permissions::from_mode(mode))
                        .with_context(|| format!("setting the mode of {}", full.display()))?;
                }
            }
            Some((_, _, full)) if !manifest.files.contains_key(rel) => p.foreign.push(full),
            _ => p.writes.push((rel.clone(), Some(entry))),
        }
    }
    for rel in manifest.files.keys() {
        if files.contains_key(rel) || rel == MANIFEST {
            continue;
        }
        let path = Path::new(rel);
        if let Some(dir) = dirs.parent_of(path)? {
            match dir.kind(leaf(path))? {
                None | Some(Kind::Dir) => {}
                Some(Kind::Symlink) => return Err(fsx::symlink_refusal(&dir.join(leaf(path)))),
                Some(_) => p.deletes.push(rel.clone()),
            }
        }
    }
    let current = root.dir.read(OsStr::new(MANIFEST))?;
    if !p.is_empty() || current.as_deref() != Some(&p.manifest.bytes[..]) {
        p.writes.push((MANIFEST.to_string(), None));
    }
    Ok(p)
}

/// Write every staged file of `plan` into `root`'s staging folder (not yet durable).
fn stage(root: &Root, plan: &Plan) -> anyhow::Result<Vec<(String, String)>> {
    let (st, _) = root.dir.ensure_dir(OsStr::new(STAGING), 0o700)?;
    let mut renames = Vec::with_capacity(plan.writes.len());
    for (i, (rel, entry)) in plan.writes.iter().enumerate() {
        let name = i.to_string();
        let entry: &FileEntry = entry.unwrap_or(&plan.manifest);
        let mut f = st.create_new(OsStr::new(&name), root.kind.file_mode(entry.executable))?;
        f.write_all(&entry.bytes).with_context(|| {
            format!(
                "writing {} (staged for {})",
                st.join(OsStr::new(&name)).display(),
                root.dir.join(OsStr::new(rel)).display()
            )
        })?;
        renames.push((name, rel.clone()));
    }
    Ok(renames)
}

/// Write `j` as `root`'s journal, durably: staged, fsynced, renamed, folder fsynced.
fn put_journal(root: &Root, j: &Journal) -> anyhow::Result<()> {
    let (st, _) = root.dir.ensure_dir(OsStr::new(STAGING), 0o700)?;
    let name = OsStr::new("journal");
    let mut f = st.create_new(name, 0o600)?;
    let bytes = serde_json::to_vec(j).expect("journal serialises");
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", st.join(name).display()))?;
    st.rename_to(name, &root.dir, OsStr::new(JOURNAL))?;
    root.dir.sync()
}

/// Undo what a run that failed before staging did: the secrets `.gitignore` and the roots
/// it created (only if they are empty again).
fn abandon(public: &Root, secrets: &Root, created_ignore: bool) {
    if created_ignore && secrets.created {
        let _ = secrets.dir.unlink(OsStr::new(".gitignore"));
    }
    for r in [public, secrets] {
        if r.created {
            if let Some(parent) = r.dir.path().parent() {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                if let Ok(Some(p)) = Dir::open_root(parent) {
                    if let Some(name) = r.dir.path().file_name() {
                        p.rmdir(name);
                    }
                }
            }
        }
    }
}

/// The secrets tree's `.gitignore`, before any secret: even a run killed midway leaves
/// nothing git would add. A link there is refused (it would put the file elsewhere and
/// leave the secrets unignored). Returns whether it was created.
fn ensure_gitignore(secrets: &Root) -> anyhow::Result<bool> {
    let name = OsStr::new(".gitignore");
    match secrets.dir.kind(name)? {
        Some(Kind::Symlink) => Err(fsx::symlink_refusal(&secrets.dir.join(name))),
        Some(Kind::File) => Ok(false),
        Some(_) => bail!(
            "{} is not a regular file; chainfleet writes a .gitignore there",
            secrets.dir.join(name).display()
        ),
        None => {
            let mut f = secrets.dir.create_new(name, 0o600)?;
            f.write_all(GITIGNORE)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", secrets.dir.join(name).display()))?;
            Ok(true)
        }
    }
}

/// Write `public` and `secrets` as the whole owned content of the two trees, as one
/// transaction (see the module documentation).
///
/// Errors, with nothing written, when a path to write exists but is not owned (not in the
/// manifest) and differs from what would be written, or when a link is met in a tree.
pub fn write_pair(
    trees: &Trees,
    public: &FileSet,
    secrets: &FileSet,
) -> anyhow::Result<(Report, Report)> {
    let (proot, sroot) = open_locked(trees)?;
    let mut progress = Progress::default();
    let result = (|| {
        progress.created_ignore = ensure_gitignore(&sroot)?;
        recover(&proot, &sroot, true)?;
        prepare_and_commit(&proot, &sroot, public, secrets, &mut progress)
    })();
    match result {
        Ok(Step::Committed(reports)) => {
            recover(&proot, &sroot, false).context(
                "the new output is committed but could not be put in place; \
                 fix the cause and run `chainfleet generate` again to finish it",
            )?;
            Ok(reports)
        }
        Ok(Step::NothingToDo(reports)) => {
            // A fresh secrets folder for a network without secrets keeps its .gitignore,
            // as before: the folder is where the operator puts keys later.
            Ok(reports)
        }
        Err(e) => {
            let committed =
                progress.staged && proot.dir.kind(OsStr::new(JOURNAL)).ok().flatten().is_some();
            if committed {
                // The commit record is durable: the next run rolls the write forward.
                return Err(e.context(
                    "the new output is committed but could not be put in place; \
                     fix the cause and run `chainfleet generate` again to finish it",
                ));
            }
            // Failed before the commit point: leave both trees as they were, without
            // touching what an earlier, unfinished run left (recovery refused it).
            if progress.prepared {
                let _ = sroot.dir.unlink(OsStr::new(JOURNAL));
            }
            if progress.staged {
                let _ = sweep(&proot);
                let _ = sweep(&sroot);
            }
            abandon(&proot, &sroot, progress.created_ignore);
            Err(e)
        }
    }
}

/// Open (creating them) and lock both roots. A run that waited for the lock checks that the
/// folders it locked are still the roots: the run before it may have removed a root it had
/// created and then failed; then it starts again.
fn open_locked(trees: &Trees) -> anyhow::Result<(Root, Root)> {
    for _ in 0..10 {
        let (pdir, pcreated) = Dir::create_root(&trees.public, TreeKind::Public.dir_mode())?;
        let proot = Root {
            dir: pdir,
            kind: TreeKind::Public,
            abs: trees.public_abs.clone(),
            created: pcreated,
        };
        let (sdir, screated) = match Dir::create_root(&trees.secrets, TreeKind::Secret.dir_mode()) {
            Ok(d) => d,
            Err(e) => {
                abandon(&proot, &proot, false);
                return Err(e);
            }
        };
        let sroot = Root {
            dir: sdir,
            kind: TreeKind::Secret,
            abs: trees.secrets_abs.clone(),
            created: screated,
        };
        lock_all(&mut [&proot, &sroot], true)?;
        if proot.dir.is_at(&trees.public)? && sroot.dir.is_at(&trees.secrets)? {
            return Ok((proot, sroot));
        }
    }
    bail!(
        "{} or {} keeps being replaced while chainfleet waits for it; is another program writing there?",
        trees.public.display(),
        trees.secrets.display()
    )
}

/// How far a run got before the commit point (what to undo when it fails).
#[derive(Default)]
struct Progress {
    created_ignore: bool,
    staged: bool,
    prepared: bool,
}

enum Step {
    Committed((Report, Report)),
    NothingToDo((Report, Report)),
}

fn prepare_and_commit(
    proot: &Root,
    sroot: &Root,
    public: &FileSet,
    secrets: &FileSet,
    progress: &mut Progress,
) -> anyhow::Result<Step> {
    let pplan = plan(proot, public)?;
    let splan = plan(sroot, secrets)?;
    let foreign: Vec<String> = pplan
        .foreign
        .iter()
        .chain(&splan.foreign)
        .map(|p| p.display().to_string())
        .collect();
    if !foreign.is_empty() {
        bail!(
            "refusing to overwrite files chainfleet did not write: {}\nmove them away, or pass another --out folder",
            foreign.join(", ")
        );
    }
    let report = |p: &Plan| Report {
        written: p
            .writes
            .iter()
            .filter(|(r, _)| r != MANIFEST)
            .map(|(r, _)| r.clone())
            .collect(),
        removed: p.deletes.clone(),
        unchanged: p.unchanged,
    };
    let reports = (report(&pplan), report(&splan));
    if pplan.writes.is_empty() && splan.writes.is_empty() {
        return Ok(Step::NothingToDo(reports));
    }
    progress.staged = true;
    // 1. Stage both trees, then make every staged file durable in one flush per filesystem.
    let prenames = stage(proot, &pplan)?;
    let srenames = if splan.writes.is_empty() {
        Vec::new()
    } else {
        stage(sroot, &splan)?
    };
    sync_pair(proot, sroot)?;
    // 2. Prepare the secrets half, then commit: from the public journal's rename on, the
    //    write completes, in both trees, even across a crash.
    let prepared = !srenames.is_empty();
    if prepared {
        progress.prepared = true;
        put_journal(
            sroot,
            &Journal {
                version: JOURNAL_VERSION,
                commit: false,
                peer: proot.abs.clone(),
                peer_prepared: false,
                renames: srenames,
                deletes: splan.deletes,
            },
        )?;
    }
    put_journal(
        proot,
        &Journal {
            version: JOURNAL_VERSION,
            commit: true,
            peer: sroot.abs.clone(),
            peer_prepared: prepared,
            renames: prenames,
            deletes: pplan.deletes,
        },
    )?;
    Ok(Step::Committed(reports))
}
