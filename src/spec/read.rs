//! Reading a spec file with a size cap: a spec of `/dev/zero` or a runaway generator must
//! fail with a message, not grow memory without bound.

use std::io::Read as _;
use std::path::Path;

use anyhow::{bail, Context as _};

/// The largest spec chainfleet reads. Real specs are kilobytes; the loader's own limits
/// (depth, node count) are tested with 10 MB inputs, which stay below this.
pub const MAX_SPEC_BYTES: u64 = 16 << 20;

/// The bytes of the spec at `path`, refusing more than `MAX_SPEC_BYTES`.
pub fn read_spec_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    read_capped(path, MAX_SPEC_BYTES)
}

/// The bytes of `path`, refusing more than `cap`. Reads at most `cap + 1` bytes, so an
/// endless file (a device, a pipe) stops there.
pub fn read_capped(path: &Path, cap: u64) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > cap {
        bail!(
            "cannot read {}: a spec may have at most {} MiB ({cap} bytes); this one is larger",
            path.display(),
            cap >> 20
        );
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.yaml");
        std::fs::write(&p, vec![b'a'; 2 << 20]).unwrap();
        assert_eq!(read_capped(&p, 2 << 20).unwrap().len(), 2 << 20);
        let err = read_capped(&p, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("at most 1 MiB"), "{err}");
        #[cfg(unix)]
        {
            let err = read_spec_bytes(Path::new("/dev/zero"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("/dev/zero") && err.contains("16 MiB"), "{err}");
        }
    }
}
