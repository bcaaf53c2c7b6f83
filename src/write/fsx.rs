//! Filesystem access relative to open directory handles, never through a symbolic link.
//!
//! Every path inside a tree is reached from the tree's root handle one component at a time
//! with `openat(O_NOFOLLOW | O_DIRECTORY)`, files are opened with `O_NOFOLLOW` (new ones
//! also with `O_EXCL`), and renames, unlinks and `mkdir` act on a (handle, name) pair. A
//! symbolic link met anywhere inside a tree is refused with its path, so a link planted in
//! `generated/` (by a user, a checkout or another process) can never redirect a write, a
//! read or a removal outside the tree. Every error names the path it concerns.

// `mode_t`, `dev_t` and the variadic mode argument differ in width between Unix systems.
#![allow(clippy::unnecessary_cast)]

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};

/// What a name in a folder is, without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// An open folder and the path it was reached by (for messages).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

fn cstr(name: &OsStr) -> anyhow::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| anyhow!("a file name holds a NUL byte: {name:?}"))
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// The refusal every symbolic link inside a tree gets.
pub fn symlink_refusal(path: &Path) -> anyhow::Error {
    anyhow!(
        "refusing to follow the symbolic link {}: chainfleet never reads, writes or removes \
         through a link inside its output or secrets tree; replace the link by a real folder \
         or file, or pass the real location with --out/--secrets",
        path.display()
    )
}

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

impl Dir {
    /// Open `path` as a tree root: its parents may be links (they are the user's), the
    /// root itself may not. `None` when it does not exist.
    pub fn open_root(path: &Path) -> anyhow::Result<Option<Dir>> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        match cvt(unsafe { libc::open(c.as_ptr(), DIR_FLAGS) }) {
            Ok(fd) => Ok(Some(Dir {
                // SAFETY: `open` returned a fresh descriptor that nothing else owns.
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                path: path.to_path_buf(),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(not_a_dir(path, e, fs_kind(path))),
        }
    }

    /// Open (creating it and its missing parents) the tree root `path`. Returns the
    /// handle and whether the root itself was created.
    pub fn create_root(path: &Path, mode: u32) -> anyhow::Result<(Dir, bool)> {
        if let Some(d) = Dir::open_root(path)? {
            return Ok((d, false));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let created = match std::fs::create_dir(path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        };
        let d = Dir::open_root(path)?
            .ok_or_else(|| anyhow!("{} vanished while it was being created", path.display()))?;
        if created {
            d.chmod(mode)?;
        }
        Ok((d, created))
    }

    /// The path this folder was reached by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this folder.
    pub fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// What `name` is, not following a link; `None` when absent.
    pub fn kind(&self, name: &OsStr) -> anyhow::Result<Option<Kind>> {
        let c = cstr(name)?;
        // SAFETY: a zeroed `stat` is a valid value for fstatat to overwrite.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name and a writable `stat`.
        let r = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        match cvt(r) {
            Ok(_) => Ok(Some(mode_kind(st.st_mode))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("inspecting {}", self.join(name).display())),
        }
    }

    /// Open the sub-folder `name`; `None` when absent; refuses a link or a non-folder.
    pub fn open_dir(&self, name: &OsStr) -> anyhow::Result<Option<Dir>> {
        let c = cstr(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        match cvt(unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), DIR_FLAGS) }) {
            Ok(fd) => Ok(Some(Dir {
                // SAFETY: `openat` returned a fresh descriptor that nothing else owns.
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                path: self.join(name),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(not_a_dir(
                &self.join(name),
                e,
                self.kind(name).ok().flatten(),
            )),
        }
    }

    /// Open the sub-folder `name`, creating it with `mode` when absent. Returns whether it
    /// was created.
    pub fn ensure_dir(&self, name: &OsStr, mode: u32) -> anyhow::Result<(Dir, bool)> {
        if let Some(d) = self.open_dir(name)? {
            return Ok((d, false));
        }
        let c = cstr(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let created = match cvt(unsafe {
            libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), mode as libc::mode_t)
        }) {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => {
                return Err(e).with_context(|| format!("creating {}", self.join(name).display()))
            }
        };
        let d = self.open_dir(name)?.ok_or_else(|| {
            anyhow!(
                "{} vanished after it was created",
                self.join(name).display()
            )
        })?;
        if created {
            // mkdirat's mode is filtered by the umask; a secrets folder must be exactly 0700.
            d.chmod(mode)?;
        }
        Ok((d, created))
    }

    /// Set this folder's permission bits.
    pub fn chmod(&self, mode: u32) -> anyhow::Result<()> {
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::fchmod(self.fd.as_raw_fd(), mode as libc::mode_t) })
            .with_context(|| format!("setting the mode of {}", self.path.display()))?;
        Ok(())
    }

    /// Open the regular file `name` for reading; `None` when absent; refuses a link or
    /// anything but a regular file (a FIFO would block, a device could be endless).
    pub fn open_file(&self, name: &OsStr) -> anyhow::Result<Option<File>> {
        let c = cstr(name)?;
        let flags =
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = match cvt(unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags) }) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                let path = self.join(name);
                if self.kind(name).ok().flatten() == Some(Kind::Symlink) {
                    return Err(symlink_refusal(&path));
                }
                return Err(e).with_context(|| format!("opening {}", path.display()));
            }
        };
        // SAFETY: `openat` returned a fresh descriptor that nothing else owns.
        let f = unsafe { File::from_raw_fd(fd) };
        let meta = f
            .metadata()
            .with_context(|| format!("inspecting {}", self.join(name).display()))?;
        if !meta.is_file() {
            bail!(
                "{} is not a regular file; chainfleet only reads and replaces regular files in its trees",
                self.join(name).display()
            );
        }
        Ok(Some(f))
    }

    /// The bytes of the regular file `name`, or `None` when absent.
    pub fn read(&self, name: &OsStr) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(mut f) = self.open_file(name)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        f.read_to_end(&mut out)
            .with_context(|| format!("reading {}", self.join(name).display()))?;
        Ok(Some(out))
    }

    /// Create the new file `name` with exactly `mode` (`O_EXCL`: never an existing file,
    /// never through a link).
    pub fn create_new(&self, name: &OsStr, mode: u32) -> anyhow::Result<File> {
        let c = cstr(name)?;
        let flags = libc::O_WRONLY
            | libc::O_CREAT
            | libc::O_EXCL
            | libc::O_NOFOLLOW
            | libc::O_NOCTTY
            | libc::O_CLOEXEC;
        let path = self.join(name);
        // SAFETY: valid descriptor and NUL-terminated name; the mode is passed as the
        // variadic argument openat expects with O_CREAT.
        let fd = cvt(unsafe {
            libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint)
        })
        .map_err(|e| {
            if self.kind(name).ok().flatten() == Some(Kind::Symlink) {
                symlink_refusal(&path)
            } else {
                anyhow::Error::new(e).context(format!("creating {}", path.display()))
            }
        })?;
        // SAFETY: `openat` returned a fresh descriptor that nothing else owns.
        let f = unsafe { File::from_raw_fd(fd) };
        // The umask may have removed bits (an executable script must stay executable).
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
        Ok(f)
    }

    /// Rename `from` in this folder to `to` in `dest` (replacing a file there, or the link
    /// itself if one was planted: rename never follows it).
    pub fn rename_to(&self, from: &OsStr, dest: &Dir, to: &OsStr) -> anyhow::Result<()> {
        let (a, b) = (cstr(from)?, cstr(to)?);
        // SAFETY: valid descriptors and NUL-terminated names.
        cvt(unsafe {
            libc::renameat(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                dest.fd.as_raw_fd(),
                b.as_ptr(),
            )
        })
        .with_context(|| {
            format!(
                "renaming {} to {}",
                self.join(from).display(),
                dest.join(to).display()
            )
        })?;
        Ok(())
    }

    /// Remove the file (or link: never its target) `name`; false when it was absent.
    pub fn unlink(&self, name: &OsStr) -> anyhow::Result<bool> {
        let c = cstr(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        match cvt(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.join(name).display())),
        }
    }

    /// Remove the empty folder `name`; false when it is absent or not empty.
    pub fn rmdir(&self, name: &OsStr) -> bool {
        let Ok(c) = cstr(name) else { return false };
        // SAFETY: valid descriptor and NUL-terminated name.
        unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) == 0 }
    }

    /// The names in this folder (without `.` and `..`).
    pub fn entries(&self) -> anyhow::Result<Vec<OsString>> {
        let ctx = || format!("listing {}", self.path.display());
        // fdopendir takes ownership of its descriptor: give it a duplicate.
        // SAFETY: valid descriptor.
        let dup = cvt(unsafe { libc::fcntl(self.fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })
            .with_context(ctx)?;
        // SAFETY: `dup` is a fresh descriptor of a folder; on failure we close it.
        let dirp = unsafe { libc::fdopendir(dup) };
        if dirp.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: `dup` is ours and was not taken by fdopendir.
            unsafe { libc::close(dup) };
            return Err(e).with_context(ctx);
        }
        // The duplicate shares the read position: start from the beginning.
        // SAFETY: `dirp` is a valid open directory stream.
        unsafe { libc::rewinddir(dirp) };
        let mut out = Vec::new();
        loop {
            // SAFETY: `dirp` is valid; readdir returns null at the end or on error.
            let ent = unsafe { libc::readdir(dirp) };
            if ent.is_null() {
                break;
            }
            // SAFETY: `d_name` is a NUL-terminated name inside the entry readdir returned.
            let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
            let bytes = name.to_bytes();
            if bytes != b"." && bytes != b".." {
                out.push(OsStr::from_bytes(bytes).to_os_string());
            }
        }
        // SAFETY: `dirp` is valid and closed once (this also closes `dup`).
        unsafe { libc::closedir(dirp) };
        Ok(out)
    }

    /// Make this folder's entries durable (after renames into it).
    pub fn sync(&self) -> anyhow::Result<()> {
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::fsync(self.fd.as_raw_fd()) })
            .with_context(|| format!("syncing {}", self.path.display()))?;
        Ok(())
    }

    /// Flush the whole filesystem holding this folder: one call makes every staged file
    /// durable (per-file fsync made a 1000-validator network spend 30 s in the writer).
    pub fn sync_fs(&self) -> anyhow::Result<()> {
        #[cfg(target_os = "linux")]
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::syncfs(self.fd.as_raw_fd()) })
            .with_context(|| format!("syncing the filesystem of {}", self.path.display()))?;
        #[cfg(not(target_os = "linux"))]
        // SAFETY: plain libc call without arguments.
        unsafe {
            libc::sync()
        };
        Ok(())
    }

    /// Whether `path` (not following a final link) is still this folder.
    pub fn is_at(&self, path: &Path) -> anyhow::Result<bool> {
        use std::os::unix::fs::MetadataExt as _;
        let here = std::fs::File::from(
            self.fd
                .try_clone()
                .with_context(|| format!("inspecting {}", self.path.display()))?,
        )
        .metadata()
        .with_context(|| format!("inspecting {}", self.path.display()))?;
        Ok(match std::fs::symlink_metadata(path) {
            Ok(m) => m.dev() == here.dev() && m.ino() == here.ino(),
            Err(_) => false,
        })
    }

    /// The device this folder lives on (two trees on one device need one `sync_fs`).
    pub fn device(&self) -> anyhow::Result<u64> {
        // SAFETY: a zeroed `stat` is a valid value for fstat to overwrite.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor and a writable `stat`.
        cvt(unsafe { libc::fstat(self.fd.as_raw_fd(), &mut st) })
            .with_context(|| format!("inspecting {}", self.path.display()))?;
        Ok(st.st_dev as u64)
    }

    /// Take an advisory `flock` on this folder: exclusive for a writer, shared for
    /// `--check`. Returns false (without waiting) when another process holds a conflicting
    /// lock and `wait` is false.
    pub fn lock(&self, exclusive: bool, wait: bool) -> anyhow::Result<bool> {
        let mut op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        if !wait {
            op |= libc::LOCK_NB;
        }
        loop {
            // SAFETY: valid descriptor.
            match cvt(unsafe { libc::flock(self.fd.as_raw_fd(), op) }) {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("locking {}", self.path.display()))
                }
            }
        }
    }
}

fn mode_kind(mode: libc::mode_t) -> Kind {
    match mode & libc::S_IFMT {
        libc::S_IFREG => Kind::File,
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

fn fs_kind(path: &Path) -> Option<Kind> {
    let m = std::fs::symlink_metadata(path).ok()?;
    let t = m.file_type();
    Some(if t.is_symlink() {
        Kind::Symlink
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_file() {
        Kind::File
    } else {
        Kind::Other
    })
}

fn not_a_dir(path: &Path, e: io::Error, kind: Option<Kind>) -> anyhow::Error {
    match kind {
        Some(Kind::Symlink) => symlink_refusal(path),
        Some(Kind::File | Kind::Other) => anyhow!(
            "{} is not a folder; chainfleet needs a folder there (move the file away)",
            path.display()
        ),
        _ => anyhow::Error::new(e).context(format!("opening {}", path.display())),
    }
}

/// Open (or, with `create`, make) the folder `rel` below `root`, one component at a time,
/// refusing links. Folders made are reported to `made` (relative paths) and get `mode`.
pub fn walk(
    root: &Dir,
    rel: &Path,
    create: Option<u32>,
    made: &mut Vec<PathBuf>,
) -> anyhow::Result<Option<Dir>> {
    let mut comps = rel.components();
    let Some(first) = comps.next() else {
        return Ok(Some(root.dup()?));
    };
    let mut cur = match step(root, first.as_os_str(), create, made, Path::new(""))? {
        Some(d) => d,
        None => return Ok(None),
    };
    let mut so_far = PathBuf::from(first.as_os_str());
    for c in comps {
        let next = match step(&cur, c.as_os_str(), create, made, &so_far)? {
            Some(d) => d,
            None => return Ok(None),
        };
        so_far.push(c.as_os_str());
        cur = next;
    }
    Ok(Some(cur))
}

fn step(
    dir: &Dir,
    name: &OsStr,
    create: Option<u32>,
    made: &mut Vec<PathBuf>,
    rel: &Path,
) -> anyhow::Result<Option<Dir>> {
    match create {
        None => dir.open_dir(name),
        Some(mode) => {
            let (d, created) = dir.ensure_dir(name, mode)?;
            if created {
                made.push(rel.join(name));
            }
            Ok(Some(d))
        }
    }
}

impl Dir {
    /// A second handle on the same folder.
    pub fn dup(&self) -> anyhow::Result<Dir> {
        Ok(Dir {
            fd: self
                .fd
                .try_clone()
                .with_context(|| format!("opening {}", self.path.display()))?,
            path: self.path.clone(),
        })
    }
}
