//! The in-memory file set every stage produces and the writer puts on disk.

use std::collections::BTreeMap;

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Contents.
    pub bytes: Vec<u8>,
    /// Mode 0755 instead of 0644 (0600 in the secrets tree).
    pub executable: bool,
}

impl FileEntry {
    /// A text file.
    pub fn text(s: impl Into<String>) -> FileEntry {
        FileEntry {
            bytes: s.into().into_bytes(),
            executable: false,
        }
    }

    /// An executable script.
    pub fn script(s: impl Into<String>) -> FileEntry {
        FileEntry {
            bytes: s.into().into_bytes(),
            executable: true,
        }
    }
}

/// Files by relative path (`/`-separated, no `..`), sorted.
pub type FileSet = BTreeMap<String, FileEntry>;
