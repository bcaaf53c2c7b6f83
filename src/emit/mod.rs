//! Emitters: pure functions from the resolved network and its chain artifacts to an
//! in-memory set of files. No I/O, no clock, no randomness: the same input gives the same
//! bytes. Only `write` puts a `FileSet` on disk.

pub mod cloudformation;
pub mod compose;
pub mod docker;
pub mod endpoints;
pub mod helm;
pub mod local;
pub mod monitoring;
pub mod quote;
pub mod readme;

use serde::Serialize;

use crate::chain::Artifacts;
pub use crate::files::{FileEntry, FileSet};
use crate::model::Network;
pub use crate::templates;

/// A deployment target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// AWS CloudFormation.
    Aws,
    /// Helm chart.
    Kubernetes,
    /// docker-compose project.
    Compose,
    /// Plain local processes.
    Local,
}

impl Target {
    /// Every target, in output order.
    pub const ALL: [Target; 4] = [
        Target::Aws,
        Target::Kubernetes,
        Target::Compose,
        Target::Local,
    ];

    /// The spelling in the spec and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Aws => "aws",
            Target::Kubernetes => "kubernetes",
            Target::Compose => "compose",
            Target::Local => "local",
        }
    }

    /// True when the spec configures this target.
    pub fn configured(self, net: &Network) -> bool {
        match self {
            Target::Aws => net.targets.aws.is_some(),
            Target::Kubernetes => net.targets.kubernetes.is_some(),
            Target::Compose => net.targets.compose.is_some(),
            Target::Local => net.targets.local.is_some(),
        }
    }

    /// True when the target runs the generated container image.
    pub fn uses_image(self) -> bool {
        !matches!(self, Target::Local)
    }
}

/// What every emitter reads.
pub struct Context<'a> {
    /// The resolved network.
    pub net: &'a Network,
    /// Its chain artifacts.
    pub artifacts: &'a Artifacts,
    /// Targets being generated.
    pub targets: &'a [Target],
    /// The secrets folder relative to the output folder (e.g.
    /// `../../.chainfleet/secrets/devnet`), for files that must point at secrets.
    pub secrets_rel: &'a str,
}

/// Output of all emitters.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Public files, relative to the output folder.
    pub public: FileSet,
    /// Private files, relative to the secrets folder.
    pub secrets: FileSet,
}

/// Run every emitter the targets need and merge their files with the chain artifacts.
pub fn emit_all(cx: &Context<'_>) -> anyhow::Result<Output> {
    let mut out = Output {
        public: cx.artifacts.public.clone(),
        secrets: cx.artifacts.secrets.clone(),
    };
    merge(&mut out.public, readme::emit(cx)?)?;
    if cx.targets.contains(&Target::Aws) {
        merge(&mut out.public, cloudformation::emit(cx)?)?;
    }
    if cx.targets.iter().any(|t| t.uses_image()) {
        merge(&mut out.public, docker::emit(cx)?)?;
    }
    if cx.targets.contains(&Target::Compose) {
        merge(&mut out.public, compose::emit(cx)?)?;
    }
    if cx.targets.contains(&Target::Kubernetes) {
        let chart = helm::emit(cx)?;
        merge(&mut out.public, chart.public)?;
        merge(&mut out.secrets, chart.secrets)?;
    }
    if cx.targets.contains(&Target::Local) {
        merge(&mut out.public, local::emit(cx)?)?;
    }
    Ok(out)
}

/// Add `more` into `into`; two emitters writing one path is a bug, so it is an error.
pub fn merge(into: &mut FileSet, more: FileSet) -> anyhow::Result<()> {
    for (path, entry) in more {
        if into.contains_key(&path) {
            anyhow::bail!("internal error: two emitters produced `{path}`");
        }
        into.insert(path, entry);
    }
    Ok(())
}
