//! `chainfleet init`: a commented starter spec for a family and a fresh seed, git-ignored.

use std::path::Path;

use anyhow::{bail, Context as _};

use crate::keys::{Seed, DEFAULT_SEED_FILE};
use crate::spec::check::{family_name, is_dns_label};
use crate::spec::Family;
use crate::templates;

/// Write `network.yaml`, `.chainfleet/seed` and `.chainfleet/.gitignore` into `dir`.
/// Refuses to overwrite an existing spec or seed. Returns the exit code.
pub fn run(dir: &Path, family: Family, name: Option<&str>, quiet: bool) -> anyhow::Result<u8> {
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let abs = std::env::current_dir()?.join(dir);
            let base = abs
                .canonicalize()
                .unwrap_or(abs)
                .file_name()
                .map(|s| s.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let cleaned: String = base
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let cleaned = cleaned.trim_matches('-').to_string();
            if is_dns_label(&cleaned, 40) {
                cleaned
            } else {
                "my-network".into()
            }
        }
    };
    if !is_dns_label(&name, 40) {
        bail!("network name `{name}` is not DNS-safe: use lowercase letters, digits and `-`, starting with a letter");
    }
    let spec_path = dir.join("network.yaml");
    let seed_path = dir.join(DEFAULT_SEED_FILE);
    for p in [&spec_path, &seed_path] {
        if p.exists() {
            bail!(
                "{} already exists; chainfleet init never overwrites it",
                p.display()
            );
        }
    }
    let text = templates::render(
        &format!("init/{}.yaml.j2", family_name(family)),
        minijinja::context! { name => name },
    )?;
    // Check the starter before writing it: a starter that fails validation is a bug.
    if let Err(d) = crate::validate("network.yaml", text.as_bytes(), dir) {
        bail!(
            "internal error: the starter spec is invalid:\n{}",
            crate::diag::render(&d, Some(&text), crate::diag::Style::Plain)
        );
    }
    let seed = Seed::generate().context("reading randomness for the seed")?;
    let secret_dir = dir.join(".chainfleet");
    std::fs::create_dir_all(&secret_dir)
        .with_context(|| format!("creating {}", secret_dir.display()))?;
    // A `.gitignore` the user already keeps there is theirs: never overwritten.
    let ignore = secret_dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# chainfleet seed and secrets: never commit\n*\n")
            .with_context(|| format!("writing {}", ignore.display()))?;
    }
    write_private(&seed_path, format!("{}\n", seed.to_hex()).as_bytes())?;
    std::fs::write(&spec_path, text).with_context(|| format!("writing {}", spec_path.display()))?;
    if !quiet {
        eprintln!(
            "wrote {} and {} (back up the seed: every key derives from it)",
            spec_path.display(),
            seed_path.display()
        );
        eprintln!("next: chainfleet generate {}", spec_path.display());
    }
    Ok(0)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}
