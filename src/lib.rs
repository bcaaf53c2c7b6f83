//! chainfleet compiles one network spec into deployable infrastructure. The pipeline:
//!
//! 1. `spec::load`    YAML bytes → JSON value + span index (JSON pointer → line:column).
//! 2. `spec::schema`  JSON Schema validation; every violation is a positioned diagnostic.
//! 3. `spec::check`   rules on what the user wrote (names, references, coins, regions, ...).
//! 4. `model::resolve` Spec → Network: nodes expanded, placed, given ports and peers; then
//!    `model::check` checks what only the resolved network shows (a family's roles and
//!    ports, host port allocation, subnet capacity, EC2 sizes, names the targets derive).
//! 5. `keys` + `chain` the seed → every key; genesis, gentxs, per-node configs (Artifacts).
//! 6. `emit`          Network + Artifacts → in-memory file sets, one emitter per target.
//! 7. `write`         the only code that touches the output: atomic, owned files only,
//!    public tree and secrets tree apart; `--check` diffs instead of writing.
//!
//! Stages 1–6 are pure: the same spec and seed give byte-identical output. `generate` runs
//! them all; the binary only parses arguments, prints and calls the writer.
#![deny(missing_docs)]

pub mod chain;
pub mod cli;
pub mod diag;
pub mod emit;
pub mod files;
pub mod guide;
pub mod init;
pub mod keys;
pub mod model;
pub mod spec;
pub mod templates;
pub mod write;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use diag::{Diagnostic, Diagnostics};
use emit::Target;
use model::Network;
use spec::Spec;

/// What can go wrong in `generate` and `keys`, by who must act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec (or its seed) is wrong: positioned diagnostics for the user (exit 1).
    #[error("the spec has {} problem(s)", .0.error_count())]
    Invalid(Diagnostics),
    /// The command line asks for something the spec cannot give (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Plumbing failed: I/O, or an internal error (exit 2).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A spec file as read: its name for diagnostics, bytes, and the folder its relative paths
/// start from.
#[derive(Debug, Clone)]
pub struct SpecInput {
    /// The name diagnostics show.
    pub display: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// The spec's folder.
    pub dir: PathBuf,
}

impl SpecInput {
    /// Read the spec at `path`.
    pub fn read(path: &Path) -> anyhow::Result<SpecInput> {
        let bytes = spec::read::read_spec_bytes(path)?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(SpecInput {
            display: path.display().to_string(),
            bytes,
            dir,
        })
    }

    /// The text diagnostics quote, without a byte-order mark (the loader skips it too, so
    /// columns on line 1 agree).
    pub fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.bytes);
        t.strip_prefix('\u{feff}').unwrap_or(&t).to_string()
    }

    /// `rel` in the spec's folder, as reached from the current directory (no `./` prefix).
    pub fn beside(&self, rel: &str) -> PathBuf {
        if self.dir == Path::new(".") {
            PathBuf::from(rel)
        } else {
            self.dir.join(rel)
        }
    }

    /// Stages 1–4 on this spec.
    pub fn validate(&self) -> Result<Validated, Diagnostics> {
        validate(&self.display, &self.bytes, &self.dir)
    }
}

/// What `generate` is asked for.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Targets to emit; empty means every target the spec configures.
    pub targets: Vec<Target>,
    /// The public tree (default `generated/<network>` in the spec's folder).
    pub out_dir: Option<PathBuf>,
    /// The secrets tree (default `.chainfleet/secrets/<network>` in the spec's folder).
    pub secrets_dir: Option<PathBuf>,
}

/// Everything `generate` computed, ready for the writer.
#[derive(Debug)]
pub struct Generated {
    /// The validated spec and its network (with warnings).
    pub validated: Validated,
    /// Targets emitted.
    pub targets: Vec<Target>,
    /// Where the public tree goes.
    pub out_dir: PathBuf,
    /// Where the secrets tree goes.
    pub secrets_dir: PathBuf,
    /// The files of both trees.
    pub output: emit::Output,
    /// What to tell the user: per target, files, next commands, endpoints.
    pub guide: guide::Guide,
}

/// The targets to emit for `asked` (empty: every configured one), or a usage error naming
/// targets the spec does not configure.
fn choose_targets(net: &Network, asked: &[Target]) -> Result<Vec<Target>, Error> {
    if asked.is_empty() {
        return Ok(Target::ALL
            .into_iter()
            .filter(|t| t.configured(net))
            .collect());
    }
    let missing: Vec<&str> = asked
        .iter()
        .filter(|t| !t.configured(net))
        .map(|t| t.name())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "the spec does not configure target(s) {}; add them under `targets:`",
            missing.join(", ")
        )));
    }
    let mut t = asked.to_vec();
    t.sort();
    t.dedup();
    Ok(t)
}

/// The warning for a seed that is the public example seed although the spec reads it from
/// the environment or a file (`insecure_phrase` has its own warning from the spec checks).
fn public_seed_warning(input: &SpecInput, v: &Validated, seed: &keys::Seed) -> Option<Diagnostic> {
    let source = v.spec.keys.as_ref().map(|k| &k.seed);
    let (what, name) = match source {
        Some(spec::SeedSource::InsecurePhrase(_)) => return None,
        Some(spec::SeedSource::Env(var)) => ("variable", var.as_str()),
        Some(spec::SeedSource::File(path)) => ("file", path.as_str()),
        None => ("file", keys::DEFAULT_SEED_FILE),
    };
    seed.is_public_example().then(|| {
        Diagnostic::warning(
            &input.display,
            v.seed_at,
            format!("the seed in the {what} `{name}` is the public example seed: anyone can recompute every key of this network"),
        )
        .with_hint("fine for trying the examples; for anything else make a seed of your own (`chainfleet seed`)")
    })
}

/// Stage 5: the seed, then every key and chain artifact of a validated spec. A warning about
/// a public seed joins `v.warnings`.
fn artifacts(input: &SpecInput, v: &mut Validated) -> Result<chain::Artifacts, Error> {
    let seed = keys::load_seed(
        v.spec.keys.as_ref().map(|k| &k.seed),
        &input.dir,
        &input.display,
    )
    .map_err(|mut d| {
        d.pos = d.pos.or(v.seed_at);
        Error::Invalid(Diagnostics(vec![d]))
    })?;
    if let Some(w) = public_seed_warning(input, v, &seed) {
        v.warnings.push(w);
    }
    let seed = operator_secrets(input, v, seed)?;
    chain::build(&v.network, &seed).map_err(Error::Invalid)
}

/// The seed with the secrets the spec says the operator supplies (a Komodo notary's own
/// wallet passphrase, `notary.passphrase_env`), read from the environment.
fn operator_secrets(
    input: &SpecInput,
    v: &Validated,
    mut seed: keys::Seed,
) -> Result<keys::Seed, Error> {
    let mut missing = Vec::new();
    for node in &v.network.nodes {
        let Some(group) = v.network.group(&node.group) else {
            continue;
        };
        let Some(var) = &group.notary_passphrase_env else {
            continue;
        };
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => {
                seed = seed.with_operator_secret(chain::komodo::operator_passphrase_name(&node.name), value);
            }
            _ => missing.push(
                Diagnostic::error(
                    &input.display,
                    None,
                    format!("the passphrase variable `{var}` of notary `{}` is not set", node.name),
                )
                .with_hint(format!("export {var}='<the notary's wallet passphrase>' (it is written only to the secrets tree)")),
            ),
        }
    }
    if missing.is_empty() {
        Ok(seed)
    } else {
        Err(Error::Invalid(Diagnostics(missing)))
    }
}

/// For `validate`: what would make `generate` fail or leak keys, as warnings (`validate`
/// itself needs no seed): a seed that cannot be read, the public example seed, an all-zero
/// seed, a seed file other users may read.
pub fn seed_warnings(input: &SpecInput, v: &Validated) -> Vec<Diagnostic> {
    let source = v.spec.keys.as_ref().map(|k| &k.seed);
    let seed = match keys::load_seed(source, &input.dir, &input.display) {
        Ok(seed) => seed,
        Err(e) => {
            let mut w = Diagnostic::warning(
                &input.display,
                e.pos.or(v.seed_at),
                format!("`generate` will fail: {}", e.message),
            );
            if let Some(value) = e.value {
                w = w.with_value(value);
            }
            if let Some(h) = e.hint {
                w = w.with_hint(h);
            }
            return vec![w];
        }
    };
    let mut out: Vec<Diagnostic> = public_seed_warning(input, v, &seed).into_iter().collect();
    if seed.is_all_zero() {
        out.push(
            Diagnostic::warning(&input.display, v.seed_at, "the seed is all zero bytes: every key of this network is guessable")
                .with_hint("make a random seed (`chainfleet seed`, or `od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'`)"),
        );
    }
    let file = match source {
        Some(spec::SeedSource::File(path)) => Some(path.as_str()),
        None => Some(keys::DEFAULT_SEED_FILE),
        _ => None,
    };
    #[cfg(unix)]
    if let Some(path) = file {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(input.dir.join(path)) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(
                    Diagnostic::warning(
                        &input.display,
                        v.seed_at,
                        format!(
                            "the seed file `{path}` can be read by other users (mode {mode:o})"
                        ),
                    )
                    .with_hint(format!("chmod 600 {path}")),
                );
            }
        }
    }
    out
}

/// The resolved network of a spec that must be valid (unit tests); panics with the
/// diagnostics otherwise.
#[cfg(test)]
pub(crate) fn test_network(yaml: &str) -> Network {
    validate("test.yaml", yaml.as_bytes(), Path::new("."))
        .unwrap_or_else(|d| panic!("invalid test spec: {d:?}"))
        .network
}

/// Stages 1–5: validate, derive keys and chain artifacts.
pub fn keys(input: &SpecInput) -> Result<(Validated, chain::Artifacts), Error> {
    keys_with_progress(input, &|_| {})
}

/// `keys`, naming each long phase to `progress` as it starts (for an indicator).
pub fn keys_with_progress(
    input: &SpecInput,
    progress: &dyn Fn(&str),
) -> Result<(Validated, chain::Artifacts), Error> {
    progress("validating");
    let mut v = input.validate().map_err(Error::Invalid)?;
    progress(&derive_message(&v.network));
    let a = artifacts(input, &mut v)?;
    Ok((v, a))
}

fn derive_message(net: &Network) -> String {
    format!(
        "deriving keys, genesis and configs for {} node{}",
        net.nodes.len(),
        if net.nodes.len() == 1 { "" } else { "s" }
    )
}

/// Stages 1–6: every file of both trees, nothing written.
pub fn generate(input: &SpecInput, options: &GenerateOptions) -> Result<Generated, Error> {
    generate_with_progress(input, options, &|_| {})
}

/// `generate`, naming each long phase to `progress` as it starts (for an indicator).
pub fn generate_with_progress(
    input: &SpecInput,
    options: &GenerateOptions,
    progress: &dyn Fn(&str),
) -> Result<Generated, Error> {
    progress("validating");
    let mut validated = input.validate().map_err(Error::Invalid)?;
    let targets = choose_targets(&validated.network, &options.targets)?;
    progress(&derive_message(&validated.network));
    let artifacts = artifacts(input, &mut validated)?;
    let net = &validated.network;
    // One rule: every default path is relative to the spec's folder, where `init` put the
    // seed, so `init mynet` + `generate mynet/network.yaml` keep one `mynet/.chainfleet`.
    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| input.beside(&format!("generated/{}", net.name)));
    let secrets_dir = options
        .secrets_dir
        .clone()
        .unwrap_or_else(|| input.beside(&format!(".chainfleet/secrets/{}", net.name)));
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let secrets_rel = write::relative_path(&cwd.join(&out_dir), &cwd.join(&secrets_dir));
    let cx = emit::Context {
        net,
        artifacts: &artifacts,
        targets: &targets,
        secrets_rel: &secrets_rel,
    };
    progress(&format!(
        "rendering {}",
        targets
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let output = emit::emit_all(&cx)?;
    let image = if targets.iter().any(|t| t.uses_image()) {
        emit::docker::image_ref(&cx)?
    } else {
        String::new()
    };
    let guide = guide::guide(net, &targets, &out_dir, &secrets_dir, &image, &output);
    Ok(Generated {
        validated,
        targets,
        out_dir,
        secrets_dir,
        output,
        guide,
    })
}

/// A spec that passed every check, with its resolved network.
#[derive(Debug, Clone)]
pub struct Validated {
    /// What the user wrote.
    pub spec: Spec,
    /// The resolved network.
    pub network: Network,
    /// Warnings found on the way (no errors).
    pub warnings: Diagnostics,
    /// Where the spec names its seed source (`keys.seed.<kind>`), for problems with the
    /// seed; `None` when the spec relies on the default seed file.
    pub seed_at: Option<diag::Pos>,
}

/// Stages 1–4: load, validate and resolve a spec, reporting every problem at once. `file`
/// is the name shown in diagnostics and `spec_dir` anchors files the spec refers to (app
/// state templates).
pub fn validate(file: &str, bytes: &[u8], spec_dir: &Path) -> Result<Validated, Diagnostics> {
    let doc = spec::load::load(file, bytes)?;
    let mut diags = spec::schema::validate(file, &doc);
    if diags.has_errors() {
        // A typo'd key should not hide the spec's other problems.
        if let Some((stripped, spec)) = spec::check::without_unknown_fields(file, &doc) {
            diags.extend(spec::check::check(file, &stripped, &spec));
            let network = model::resolve::resolve(&spec, None);
            diags.extend(model::check::check(file, &stripped, &network));
        }
        diags.sort();
        return Err(diags);
    }
    let spec: Spec = match serde_json::from_value(doc.value.clone()) {
        Ok(s) => s,
        Err(e) => {
            // The schema mirrors the types, so this means the two disagree: still a
            // diagnostic for the user, never a panic.
            diags.push(Diagnostic::error(
                file,
                None,
                format!("the spec does not fit chainfleet's types: {e}"),
            ));
            return Err(diags);
        }
    };
    diags.extend(spec::check::check(file, &doc, &spec));
    let template = match &spec.chain.app_state_template {
        Some(rel) => match read_template(&spec_dir.join(rel)) {
            Ok(v) => Some(v),
            Err(msg) => {
                let pos = doc.spans.value("/chain/app_state_template");
                diags.push(
                    Diagnostic::error(file, pos, format!("cannot use app state template `{rel}`: {msg}"))
                        .with_value(rel.clone())
                        .with_hint("name a JSON file, relative to the spec, holding the `app_state` your chain's `init` writes"),
                );
                None
            }
        },
        None => None,
    };
    // Resolution is total, so the resolved checks run even when the checks above found
    // errors: every problem is reported in one run.
    let network = model::resolve::resolve(&spec, template);
    diags.extend(model::check::check(file, &doc, &network));
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    let seed_at = spec.keys.as_ref().and_then(|k| {
        let kind = match &k.seed {
            spec::SeedSource::Env(_) => "env",
            spec::SeedSource::File(_) => "file",
            spec::SeedSource::InsecurePhrase(_) => "insecure_phrase",
        };
        doc.spans.value(&format!("/keys/seed/{kind}"))
    });
    Ok(Validated {
        spec,
        network,
        warnings: diags,
        seed_at,
    })
}

fn read_template(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    if !v.is_object() {
        return Err("it is not a JSON object".into());
    }
    Ok(v)
}
