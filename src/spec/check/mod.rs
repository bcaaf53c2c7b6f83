//! Semantic rules on what the user wrote that the schema cannot express: names, references
//! between groups, coins, sizes, regions, per-target settings, monitoring, and the rules a
//! chain family adds (`family/`). Every rule reports every violation, each pointing at the
//! value the user wrote.
//!
//! Rules that need resolved facts (a family's roles and ports, host port allocation, subnet
//! capacity, EC2 sizes, names the targets derive) run later on the resolved network, in
//! `model::check`, through the same [`Checker`].

mod chain;
mod family;
mod groups;
mod hosts;
mod mina;
mod monitoring;
mod names;
mod targets;
mod validators;

use super::load::Document;
use super::Spec;
use crate::diag::{Diagnostic, Diagnostics, Pos};

pub use mina::{daemon_flag_args, parse_mina, FlagError, NANOMINA_PER_MINA};
pub use names::{family_name, is_dns_label, is_rfc3339, role_name};

/// Longest network name (it prefixes stack, chart and resource names).
pub const MAX_NETWORK_NAME: usize = 40;
/// Longest group name (node names add `-<ordinal>`; Kubernetes names stop at 63).
pub const MAX_GROUP_NAME: usize = 40;
/// CometBFT's chain ID limit.
pub const MAX_CHAIN_ID: usize = 50;

/// Collects positioned diagnostics against one document: every rule reports through it.
pub struct Checker<'a> {
    file: &'a str,
    doc: &'a Document,
    diags: Diagnostics,
}

impl<'a> Checker<'a> {
    /// A checker for `doc`, shown as `file` in diagnostics.
    pub fn new(file: &'a str, doc: &'a Document) -> Self {
        Checker {
            file,
            doc,
            diags: Diagnostics::default(),
        }
    }

    /// The document being checked.
    pub fn doc(&self) -> &'a Document {
        self.doc
    }

    /// Where the value at JSON pointer `ptr` starts, or the nearest written ancestor.
    pub fn at(&self, ptr: &str) -> Option<Pos> {
        Some(
            self.doc
                .spans
                .value(ptr)
                .unwrap_or_else(|| self.doc.spans.nearest(ptr)),
        )
    }

    /// Report an error at `ptr`; an empty `value` is left out.
    pub fn error(
        &mut self,
        ptr: &str,
        message: impl Into<String>,
        value: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let value = value.into();
        let mut d = Diagnostic::error(self.file, self.at(ptr), message).with_hint(hint);
        if !value.is_empty() {
            d = d.with_value(value);
        }
        self.diags.push(d);
    }

    /// Report an error at the key of the map entry `ptr` (an unknown name the user wrote).
    pub fn key_error(
        &mut self,
        ptr: &str,
        message: impl Into<String>,
        value: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let pos = self.doc.spans.key(ptr).or(self.at(ptr));
        let d = Diagnostic::error(self.file, pos, message)
            .with_value(value)
            .with_hint(hint);
        self.diags.push(d);
    }

    /// Report a warning at `ptr`.
    pub fn warn(&mut self, ptr: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::warning(self.file, self.at(ptr), message).with_hint(hint);
        self.diags.push(d);
    }

    /// Report an error unless `name` is a DNS label of at most `max` characters.
    pub fn dns_name(&mut self, ptr: &str, what: &str, name: &str, max: usize) {
        if !is_dns_label(name, max) {
            self.error(
                ptr,
                format!("{what} `{name}` is not DNS-safe"),
                name,
                format!("use 1–{max} lowercase letters, digits and `-`, starting with a letter and not ending with `-`"),
            );
        }
    }

    /// The diagnostics reported so far.
    pub fn finish(self) -> Diagnostics {
        self.diags
    }
}

/// The document and typed spec of a spec whose schema problems are all unknown keys, with
/// those keys removed: it passes the schema, so its other problems can be reported in the
/// same run. `None` when the spec has other schema problems (the checks need typed data).
pub fn without_unknown_fields(file: &str, doc: &Document) -> Option<(Document, Spec)> {
    let stripped = Document {
        value: super::schema::strip_unknown_fields(&doc.value),
        spans: doc.spans.clone(),
    };
    if super::schema::validate(file, &stripped).has_errors() {
        return None;
    }
    let spec = serde_json::from_value::<Spec>(stripped.value.clone()).ok()?;
    Some((stripped, spec))
}

/// Check a spec that passed schema validation: the rules on what the user wrote. The
/// rules on the resolved network follow in `model::check`.
pub fn check(file: &str, doc: &Document, spec: &Spec) -> Diagnostics {
    let mut c = Checker::new(file, doc);
    c.dns_name("/name", "network name", &spec.name, MAX_NETWORK_NAME);
    chain::check(&mut c, spec);
    mina::check(&mut c, spec);
    names::regions(&mut c, spec);
    names::groups(&mut c, spec);
    groups::check(&mut c, spec);
    targets::check(&mut c, spec);
    monitoring::check(&mut c, spec);
    c.finish()
}
