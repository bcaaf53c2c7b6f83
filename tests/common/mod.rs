//! Shared test helpers: the chainfleet binary, the public example seed, and real tools.
//!
//! A test that needs a tool calls `tool("HELM")`. The path comes from the environment
//! (`scripts/test.sh` exports every tool from `.tools/env`). When it is missing, the test
//! fails under `CHAINFLEET_REQUIRE_TOOLS=1` or `CI=true`, and otherwise says loudly that it
//! did not run (never a silent pass).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The seed every example in `examples/` is generated with. It is public: the keys of the
/// examples are for demonstration only. Never use it for a network that holds value.
pub const EXAMPLE_SEED: &str = "c4a1f1ee7e5a0d1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899a";

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The chainfleet binary, with the example seed in `CHAINFLEET_SEED`.
pub fn chainfleet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chainfleet"));
    c.env("CHAINFLEET_SEED", EXAMPLE_SEED).env("NO_COLOR", "1");
    c
}

fn strict() -> bool {
    std::env::var_os("CHAINFLEET_REQUIRE_TOOLS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The path of tool `var` (e.g. `HELM`), or `None` (with a loud note) outside CI.
pub fn tool(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        other => {
            let msg = format!(
                "tool {var} is not available ({}); run scripts/test.sh, which installs it",
                other.map_or("unset".into(), |p| format!("{} missing", p.display()))
            );
            if strict() {
                panic!("{msg}");
            }
            eprintln!("NOT RUN: {msg}");
            None
        }
    }
}

/// Run a command, returning its output; panics with its output when it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Assert a command succeeded, showing its output when it did not.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generate `example` (a file name in `examples/`) into a fresh temporary folder and return
/// (tempdir guard, output dir, secrets dir).
pub fn generate_example(example: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let secrets = dir.path().join("secrets");
    let spec = root().join("examples").join(example);
    let o = run(chainfleet()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--secrets")
        .arg(&secrets));
    assert_ok(&o, &format!("chainfleet generate {example}"));
    (dir, out, secrets)
}

/// Every example spec, by file name.
pub fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    v.sort();
    v
}

/// Examples whose spec configures `target` (a line `  <target>:` under `targets:`).
pub fn examples_with_target(target: &str) -> Vec<String> {
    examples()
        .into_iter()
        .filter(|e| {
            let text = std::fs::read_to_string(root().join("examples").join(e)).unwrap();
            let after = text.split("\ntargets:").nth(1).unwrap_or("");
            after
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{target}:")))
        })
        .collect()
}

/// All files below `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}
