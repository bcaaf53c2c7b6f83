//! Command-line interface: the commands, their flags and their help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::emit::Target;
use crate::spec::Family;

/// Compile one network spec into CloudFormation, a Helm chart, a docker-compose project, a
/// local launcher and one Dockerfile, with genesis and every key computed up front.
#[derive(Debug, Parser)]
#[command(name = "chainfleet", version, propagate_version = true)]
#[command(after_help = "\
Examples:
  chainfleet init my-testnet --family cosmos     write a starter spec and a seed
  chainfleet validate network.yaml               check a spec, print every problem
  chainfleet generate network.yaml               write generated/<name>/ beside the spec
  chainfleet generate network.yaml --check       fail (exit 3) if generated/ is stale
  chainfleet keys network.yaml                   print node IDs and addresses
  chainfleet seed network.yaml                   write a fresh seed for the spec (never overwrites)

Exit codes: 0 ok, 1 invalid spec, 2 usage or I/O error, 3 --check found drift.
Set NO_COLOR to turn colours off.")]
pub struct Cli {
    /// Print nothing but errors (no warnings, summary or progress).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `FILE:LINE:COL: error: message` with a source snippet; summaries as text.
    Human,
    /// JSON on stdout: a diagnostics array on failure; `generate` and `keys` print one
    /// object on success.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter spec (`network.yaml`) and a git-ignored seed into DIR.
    Init {
        /// Folder to create the spec in.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Chain family of the starter spec.
        #[arg(long, value_enum, default_value = "cosmos")]
        family: FamilyArg,
        /// Network name (defaults to the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Check a spec and print every problem.
    Validate {
        /// The network spec (YAML).
        spec: PathBuf,
        /// Diagnostic format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Print the spec's JSON Schema.
    Schema,
    /// Generate the output tree of every configured target (or those named).
    Generate {
        /// The network spec (YAML).
        spec: PathBuf,
        /// Output folder (default: generated/<network name> in the spec's folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Secrets folder (default: .chainfleet/secrets/<network name> in the spec's folder,
        /// beside its seed); git-ignored.
        #[arg(long)]
        secrets: Option<PathBuf>,
        /// Only these targets (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        target: Vec<Target>,
        /// Write nothing; print a diff and exit 3 if the output is stale.
        #[arg(long)]
        check: bool,
        /// Output format (JSON: files written, next commands and endpoints per target).
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Print each node's public identity (node ID, addresses) without writing anything.
    Keys {
        /// The network spec (YAML).
        spec: PathBuf,
        /// Output format (JSON: one object per node).
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Write a fresh seed where SPEC's `keys.seed` names a file (default `.chainfleet/seed`
    /// beside the spec), for a new network or a lost seed; never overwrites one.
    Seed {
        /// The network spec (YAML).
        spec: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Families on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// Cosmos SDK.
    Cosmos,
    /// Bare CometBFT.
    Cometbft,
    /// Mina.
    Mina,
    /// Komodo.
    Komodo,
    /// Generic.
    Generic,
}

impl From<FamilyArg> for Family {
    fn from(f: FamilyArg) -> Family {
        match f {
            FamilyArg::Cosmos => Family::Cosmos,
            FamilyArg::Cometbft => Family::Cometbft,
            FamilyArg::Mina => Family::Mina,
            FamilyArg::Komodo => Family::Komodo,
            FamilyArg::Generic => Family::Generic,
        }
    }
}
