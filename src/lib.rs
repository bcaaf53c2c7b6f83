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
//! Stages 1–6 are pure: the same spec and seed give byte-identical output.

pub mod chain;
pub mod cli;
pub mod diag;
pub mod emit;
pub mod init;
pub mod keys;
pub mod model;
pub mod spec;
pub mod write;

use std::path::Path;

use diag::{Diagnostic, Diagnostics};
use model::Network;
use spec::Spec;

/// A spec that passed every check, with its resolved network.
#[derive(Debug, Clone)]
pub struct Validated {
    /// What the user wrote.
    pub spec: Spec,
    /// The resolved network.
    pub network: Network,
    /// Warnings found on the way (no errors).
    pub warnings: Diagnostics,
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
    Ok(Validated {
        spec,
        network,
        warnings: diags,
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
