//! `chainfleet init`: a commented starter spec for a family, the JSON Schema beside it (the
//! spec's `$schema` names it relatively, so editors complete offline) and a fresh seed,
//! git-ignored; `chainfleet seed`: a fresh seed for an existing spec.

use std::path::Path;

use anyhow::{bail, Context as _};

use crate::keys::{Seed, DEFAULT_SEED_FILE};
use crate::spec::check::{family_name, is_dns_label};
use crate::spec::Family;
use crate::templates;

/// The schema file `init` writes beside the spec; the starter's first line references it.
pub const SCHEMA_FILE: &str = "network.schema.json";

/// Write `network.yaml`, `network.schema.json`, `.chainfleet/seed` and
/// `.chainfleet/.gitignore` into `dir`. Refuses to overwrite an existing spec, schema or
/// seed. Returns the exit code.
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
    let schema_path = dir.join(SCHEMA_FILE);
    for p in [&spec_path, &seed_path, &schema_path] {
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
    write_seed(&seed_path)?;
    std::fs::write(&schema_path, crate::spec::schema::json_schema_text())
        .with_context(|| format!("writing {}", schema_path.display()))?;
    std::fs::write(&spec_path, text).with_context(|| format!("writing {}", spec_path.display()))?;
    if !quiet {
        eprintln!(
            "wrote {}, its schema {} and {} (back up the seed: every key derives from it)",
            spec_path.display(),
            schema_path.display(),
            seed_path.display()
        );
        eprintln!("next: chainfleet generate {}", spec_path.display());
    }
    Ok(0)
}

/// Write a fresh random seed to `path` (mode 0600, never over an existing file). Its folder
/// is created when missing; a `.chainfleet` folder, or one created here, gets a `.gitignore`
/// of `*` first (one the user already keeps there is theirs: never overwritten).
pub fn write_seed(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; chainfleet never overwrites a seed",
            path.display()
        );
    }
    let seed = Seed::generate().context("reading randomness for the seed")?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let created = !folder.exists();
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    if created || folder.file_name().is_some_and(|n| n == ".chainfleet") {
        let ignore = folder.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, "# chainfleet seed and secrets: never commit\n*\n")
                .with_context(|| format!("writing {}", ignore.display()))?;
        }
    }
    write_private(path, format!("{}\n", seed.to_hex()).as_bytes())
}

/// `chainfleet seed SPEC`: a fresh seed where the spec reads it, for a new network or one
/// whose seed is lost (every key changes; a lost seed's keys cannot be recovered).
pub fn new_seed(input: &crate::SpecInput, v: &crate::Validated, quiet: bool) -> anyhow::Result<u8> {
    use crate::spec::SeedSource;
    let path = match v.spec.keys.as_ref().map(|k| &k.seed) {
        None => DEFAULT_SEED_FILE,
        Some(SeedSource::File(p)) => p.as_str(),
        Some(SeedSource::Env(var)) => bail!(
            "{} reads its seed from the environment variable `{var}`; set it to 64 random hex characters, e.g. export {var}=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'), and keep a copy: every key derives from it",
            input.display
        ),
        Some(SeedSource::InsecurePhrase(_)) => bail!(
            "{} derives its seed from `keys.seed.insecure_phrase`: there is no seed to write (for a private network, use `file: .chainfleet/seed` and run this again)",
            input.display
        ),
    };
    let full = input.dir.join(path);
    write_seed(&full)?;
    if !quiet {
        eprintln!(
            "wrote a new seed to {} (back it up: every key derives from it)",
            crate::guide::show(&full)
        );
        eprintln!("next: chainfleet generate {}", input.display);
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
