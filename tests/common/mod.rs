//! Shared test helpers: the chainfleet binary, the public example seed, and real tools.
//!
//! A test that needs a tool calls `tool("HELM")`. The path comes from the environment
//! (`scripts/test.sh` exports every tool from `.tools/env`). When it is missing, the test
//! fails under `CHAINFLEET_REQUIRE_TOOLS=1` or `CI=true`, and otherwise says loudly that it
//! did not run (never a silent pass).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The phrase whose SHA-256 is the seed of every example in `examples/`. It is public on
/// purpose, so anyone can regenerate `generated/` and CI can check it: the examples' keys are
/// demonstration keys. Never use this seed for a network that holds value.
pub const EXAMPLE_SEED_PHRASE: &str = "chainfleet public example seed: demonstration keys only";

/// The example seed as 64 hex characters (what `CHAINFLEET_SEED` takes).
pub fn example_seed() -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(EXAMPLE_SEED_PHRASE.as_bytes()))
}

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The chainfleet binary, with the example seed in `CHAINFLEET_SEED`.
pub fn chainfleet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chainfleet"));
    c.env("CHAINFLEET_SEED", example_seed())
        .env("NO_COLOR", "1");
    c
}

/// True when a missing tool or service must fail the test (`CHAINFLEET_REQUIRE_TOOLS=1` or
/// `CI=true`) instead of being reported as not run.
pub fn strict() -> bool {
    std::env::var_os("CHAINFLEET_REQUIRE_TOOLS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A test that cannot run: fails under [`strict`], else says so loudly and returns `None`.
pub fn not_run<T>(msg: &str) -> Option<T> {
    if strict() {
        panic!("{msg}");
    }
    eprintln!("NOT RUN: {msg}");
    None
}

/// The docker CLI, when an engine answers; fails under CI when it does not.
pub fn docker() -> Option<PathBuf> {
    let docker = tool("DOCKER")?;
    let o = Command::new(&docker).arg("version").output();
    if o.as_ref().is_ok_and(|o| o.status.success()) {
        return Some(docker);
    }
    not_run(&format!(
        "no Docker engine answers to {} (run scripts/engine.sh start)",
        docker.display()
    ))
}

/// Poll `f` every `every` until it returns `Some`, or panic with `what` after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
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
            not_run(&msg)
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
    generate_in(
        tempfile::tempdir().unwrap(),
        &root().join("examples").join(example),
    )
}

/// Generate the spec file `spec` into a fresh temporary folder: (guard, output, secrets).
pub fn generate_spec(spec: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    generate_in(tempfile::tempdir().unwrap(), spec)
}

/// Write `text` as `name` in a fresh temporary folder and generate it there: (guard, output,
/// secrets).
pub fn generate_text(name: &str, text: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join(name);
    std::fs::write(&spec, text).unwrap();
    generate_in(dir, &spec)
}

/// Run `generate` (a `chainfleet generate` command, perhaps with more options or
/// environment) on `spec` into a fresh temporary folder: (guard, output, secrets).
pub fn generate_with(generate: Command, spec: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    generate_into(tempfile::tempdir().unwrap(), generate, spec)
}

/// `chainfleet generate spec` into `dir/out` and `dir/secrets`.
fn generate_in(dir: tempfile::TempDir, spec: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let mut generate = chainfleet();
    generate.arg("generate");
    generate_into(dir, generate, spec)
}

/// Run `generate` on `spec` with `--out dir/out --secrets dir/secrets`; fails the test on
/// error.
fn generate_into(
    dir: tempfile::TempDir,
    mut generate: Command,
    spec: &Path,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let out = dir.path().join("out");
    let secrets = dir.path().join("secrets");
    let o = run(generate
        .arg(spec)
        .arg("--out")
        .arg(&out)
        .arg("--secrets")
        .arg(&secrets));
    assert_ok(&o, &format!("chainfleet generate {}", spec.display()));
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

/// A generated network's compose project (`compose/docker-compose.yaml` below `dir`), driven
/// with the engine's CLI; `down -v` on drop, also when the test failed.
pub struct ComposeProject {
    pub docker: PathBuf,
    pub dir: PathBuf,
}

impl ComposeProject {
    /// `docker compose -f compose/docker-compose.yaml`, in the network's folder.
    pub fn compose(&self) -> Command {
        let mut c = Command::new(&self.docker);
        c.current_dir(&self.dir)
            .args(["compose", "-f", "compose/docker-compose.yaml"]);
        c
    }

    /// `docker compose ARGS`, which must succeed; its stdout.
    pub fn compose_ok(&self, args: &[&str]) -> String {
        let o = run(self.compose().args(args));
        assert_ok(&o, &format!("docker compose {}", args.join(" ")));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `docker compose logs --no-color ARGS` (services, `--tail N`); stdout, whatever the status.
    pub fn logs(&self, args: &[&str]) -> String {
        let o = run(self.compose().args(["logs", "--no-color"]).args(args));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Docker's health status of `service`'s container (`none` without a health check).
    pub fn health(&self, service: &str) -> String {
        let id = self.compose_ok(&["ps", "-q", service]).trim().to_string();
        let o = run(Command::new(&self.docker).args([
            "inspect",
            "-f",
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
            &id,
        ]));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// `sh -c script` in `service`; stdout when it succeeded.
    pub fn exec(&self, service: &str, script: &str) -> Option<String> {
        let o = run(self
            .compose()
            .args(["exec", "-T", service, "sh", "-c", script]));
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let t = Instant::now();
        match self
            .compose()
            .args(["down", "-v", "--remove-orphans", "-t", "10"])
            .output()
        {
            Ok(o) if o.status.success() => {
                eprintln!("compose down -v: {:.1} s", t.elapsed().as_secs_f64())
            }
            Ok(o) => eprintln!(
                "compose down -v failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("compose down -v could not run: {e}"),
        }
    }
}
