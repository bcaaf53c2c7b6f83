//! The writer cannot be turned against its user (issue 11, "The writer"): each test is one
//! reproduction that failed before the hardening. Links inside a tree are refused, two
//! runs at once serialise on a lock, the public and secrets trees change together (also
//! under SIGKILL at random moments), overlapping trees are refused, `--check` never prints
//! a secret, I/O errors name their path and leave no staging files, and a spec is read with
//! a size cap.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_ok, chainfleet, root, run};

/// Every file below `dir` (not following links, without the writer's transient staging
/// folder and journal): relative path → bytes.
type Tree = BTreeMap<PathBuf, Vec<u8>>;

fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let name = e.file_name();
            if name == ".chainfleet-staging" || name == ".chainfleet-journal" {
                continue;
            }
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
                let bytes = if t.is_symlink() {
                    format!("-> {}", fs::read_link(e.path()).unwrap().display()).into_bytes()
                } else {
                    fs::read(e.path()).unwrap()
                };
                out.insert(rel, bytes);
            }
        }
    }
    out
}

/// Files the writer leaves only while it runs (or after a kill).
fn transient(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(".chainfleet-") {
                found.push(e.path());
            } else if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
        }
    }
    found
}

fn generate_cmd(spec: &Path, out: &Path, secrets: &Path) -> Command {
    let mut c = chainfleet();
    c.arg("generate")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--secrets")
        .arg(secrets);
    c
}

fn generate(spec: &Path, out: &Path, secrets: &Path) -> Output {
    run(&mut generate_cmd(spec, out, secrets))
}

fn check(spec: &Path, out: &Path, secrets: &Path) -> Output {
    run(generate_cmd(spec, out, secrets).arg("--check"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The CometBFT example with `validators` validators and the given genesis time.
fn kvstore_spec(dir: &Path, name: &str, validators: u32, genesis_time: &str) -> PathBuf {
    let text = fs::read_to_string(root().join("examples/cometbft-kvstore.yaml")).unwrap();
    // Three machines cannot hold a big network: the bare-metal target (the last block) goes.
    let text = text.split("\n  hosts:").next().unwrap().to_string() + "\n";
    let text = text
        .replacen(
            "{ name: validator, role: validator, count: 4,",
            &format!("{{ name: validator, role: validator, count: {validators},"),
            1,
        )
        .replacen("2026-01-01T00:00:00Z", genesis_time, 1)
        // Room on the compose network for every node of a big network.
        .replacen("subnet: 172.29.0.0/24", "subnet: 172.29.0.0/16", 1);
    assert!(
        text.contains(&format!("count: {validators},")) && text.contains("172.29.0.0/16"),
        "the example changed"
    );
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn assert_refused_naming(o: &Output, path: &Path, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    assert!(
        err.contains(&path.display().to_string()),
        "{what}: the message must name {}:\n{err}",
        path.display()
    );
}

#[test]
fn a_symlinked_folder_inside_the_tree_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    let four = kvstore_spec(t, "four.yaml", 4, "2026-01-01T00:00:00Z");
    let two = kvstore_spec(t, "two.yaml", 2, "2026-01-01T00:00:00Z");
    assert_ok(&generate(&four, &out, &secrets), "generate four");

    // The user's own node folders elsewhere; `out/nodes` becomes a link to them.
    let outside = t.join("elsewhere");
    fs::rename(out.join("nodes"), &outside).unwrap();
    let user_config = outside.join("validator-0/config/config.toml");
    fs::write(&user_config, "# my own config\n").unwrap();
    symlink(&outside, out.join("nodes")).unwrap();
    let before = tree(&outside);
    let o = generate(&four, &out, &secrets);
    assert_refused_naming(&o, &out.join("nodes"), "regenerate through a linked folder");
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert!(tree(&outside) == before, "nothing outside the tree changed");
    // Fewer validators: the outside folder's state files must not be removed.
    let o = generate(&two, &out, &secrets);
    assert_refused_naming(&o, &out.join("nodes"), "reduce the count through a link");
    assert!(outside
        .join("validator-3/data/priv_validator_state.json")
        .exists());
    assert!(tree(&outside) == before, "nothing outside the tree changed");
    // Reading through it is refused too.
    let o = check(&four, &out, &secrets);
    assert_refused_naming(&o, &out.join("nodes"), "--check through a linked folder");

    // The same for one linked file deep in the secrets tree.
    fs::remove_file(out.join("nodes")).unwrap();
    fs::rename(&outside, out.join("nodes")).unwrap();
    fs::write(out.join("nodes/validator-0/config/config.toml"), "x").unwrap();
    let secret = common::files_under(&secrets)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("validator-1"))
        .expect("a secret of validator-1");
    let victim = t.join("victim.json");
    fs::write(&victim, "the user's file\n").unwrap();
    fs::remove_file(secrets.join(&secret)).unwrap();
    symlink(&victim, secrets.join(&secret)).unwrap();
    let o = generate(&four, &out, &secrets);
    assert_refused_naming(&o, &secrets.join(&secret), "a linked secret file");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "the user's file\n");
    assert_eq!(
        fs::read_to_string(out.join("nodes/validator-0/config/config.toml")).unwrap(),
        "x",
        "a refused run writes nothing, in neither tree"
    );
    // A linked tree root is refused as well.
    let real = t.join("real-out");
    fs::rename(&out, &real).unwrap();
    symlink(&real, &out).unwrap();
    let o = generate(&four, &out, &t.join("secrets2"));
    assert_refused_naming(&o, &out, "a linked output root");
}

#[test]
fn a_dangling_link_at_the_secrets_gitignore_creates_nothing_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    fs::create_dir_all(&secrets).unwrap();
    let target = t.join("somewhere/else/.gitignore");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    symlink(&target, secrets.join(".gitignore")).unwrap();
    let spec = root().join("examples/cosmos-devnet.yaml");
    let o = generate(&spec, &out, &secrets);
    assert_refused_naming(&o, &secrets.join(".gitignore"), "dangling .gitignore link");
    assert!(!target.exists(), "a file was created outside the tree");
    assert_eq!(
        tree(&secrets).keys().collect::<Vec<_>>(),
        vec![Path::new(".gitignore")],
        "no secret was written while git would not ignore it"
    );
    assert!(
        !out.join("chainfleet.lock.json").exists(),
        "nothing public was written"
    );
}

#[test]
fn equal_or_nested_out_and_secrets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let spec = root().join("examples/cosmos-devnet.yaml");
    let out = t.join("out");
    fs::create_dir_all(t.join("real")).unwrap();
    symlink(t.join("real"), t.join("alias")).unwrap();
    for (o_dir, s_dir) in [
        (out.clone(), out.clone()),
        (out.clone(), out.join("keys")),
        (out.join("public"), out.clone()),
        (t.join("real/out"), t.join("alias/out/.secrets")),
    ] {
        let o = generate(&spec, &o_dir, &s_dir);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("overlap"), "{err}");
        let o = check(&spec, &o_dir, &s_dir);
        assert_eq!(o.status.code(), Some(2), "--check: {}", stderr(&o));
    }
    assert!(
        !out.exists() && tree(&t.join("real")).is_empty(),
        "nothing was written"
    );
}

#[test]
fn check_names_secret_files_but_never_prints_them() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let spec = root().join("examples/cosmos-devnet.yaml");
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    assert_ok(&generate(&spec, &out, &secrets), "generate");
    let secret_lines: Vec<String> = common::files_under(&secrets)
        .iter()
        .filter(|p| !p.ends_with(".gitignore") && !p.ends_with("chainfleet.lock.json"))
        .flat_map(|p| {
            fs::read_to_string(secrets.join(p))
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| l.len() >= 24)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    // Lines that are public anyway (addresses, public keys) are not secrets.
    let public: String = common::files_under(&out)
        .iter()
        .map(|p| String::from_utf8_lossy(&fs::read(out.join(p)).unwrap()).into_owned())
        .collect();
    let secret_lines: Vec<String> = secret_lines
        .into_iter()
        .filter(|l| !public.contains(l.as_str()))
        .collect();
    assert!(secret_lines.len() > 4, "{secret_lines:?}");
    let leaks = |o: &Output| -> Vec<String> {
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
        secret_lines
            .iter()
            .filter(|l| text.contains(l.as_str()))
            .cloned()
            .collect()
    };
    // A public tree that holds the keys, as an earlier `--secrets` equal to `--out` left it.
    let keyed = t.join("keyed");
    fs::create_dir_all(&keyed).unwrap();
    for p in common::files_under(&secrets) {
        fs::create_dir_all(keyed.join(&p).parent().unwrap()).unwrap();
        fs::copy(secrets.join(&p), keyed.join(&p)).unwrap();
    }
    let o = check(&spec, &keyed, &secrets);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        leaks(&o).is_empty(),
        "--check printed secrets: {:?}",
        leaks(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("chainfleet would remove it"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Edited secrets: named, not shown.
    let edited = common::files_under(&secrets)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".json") && !p.ends_with("chainfleet.lock.json"))
        .unwrap();
    let mut bytes = fs::read(secrets.join(&edited)).unwrap();
    bytes.extend_from_slice(b"\n");
    fs::write(secrets.join(&edited), bytes).unwrap();
    let o = check(&spec, &out, &secrets);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&secrets.join(&edited).display().to_string())
            && stdout.contains("content not shown"),
        "{stdout}"
    );
    assert!(
        leaks(&o).is_empty(),
        "--check printed secrets: {:?}",
        leaks(&o)
    );
}

/// The secrets tree cannot be written (a user's file where a node's folder goes): before,
/// the public tree was already new, the secrets old, and `--check` said "up to date".
#[test]
fn a_secrets_failure_changes_neither_tree_and_check_sees_the_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = kvstore_spec(t, "a.yaml", 4, "2026-01-01T00:00:00Z");
    let b = kvstore_spec(t, "b.yaml", 4, "2026-02-02T00:00:00Z");
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    let seed_b = OTHER_SEED;
    assert_ok(&generate(&a, &out, &secrets), "generate a");
    let (a_out, a_sec) = (tree(&out), tree(&secrets));
    let node = common::files_under(&secrets)
        .into_iter()
        .find(|p| p.components().count() >= 3)
        .expect("a node folder in the secrets tree");
    let blocked = secrets.join(node.components().take(2).collect::<PathBuf>());
    fs::rename(&blocked, t.join("moved")).unwrap();
    fs::write(&blocked, "a user's file where a folder goes\n").unwrap();
    let o = run(generate_cmd(&b, &out, &secrets).env("CHAINFLEET_SEED", seed_b));
    assert_refused_naming(&o, &blocked, "secrets tree blocked");
    assert_eq!(
        tree(&out),
        a_out,
        "the public tree is still the previous network"
    );
    assert!(transient(&out).is_empty() && transient(&secrets).is_empty());
    // --check with the new spec sees both trees stale; with the old one, the secrets.
    let o = run(generate_cmd(&b, &out, &secrets)
        .env("CHAINFLEET_SEED", seed_b)
        .arg("--check"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    fs::remove_file(&blocked).unwrap();
    let o = run(generate_cmd(&b, &out, &secrets)
        .env("CHAINFLEET_SEED", seed_b)
        .arg("--check"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = check(&a, &out, &secrets);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a missing secret is drift: {}",
        stderr(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("is missing"));
    // The next run repairs the pair.
    fs::rename(t.join("moved"), &blocked).unwrap();
    assert!(tree(&secrets) == a_sec);
    let o = check(&a, &out, &secrets);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Run `generate` under a file-size limit so a write fails midway (EFBIG, as ENOSPC would).
#[test]
fn an_io_error_names_its_path_and_leaves_no_staging_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = kvstore_spec(t, "a.yaml", 4, "2026-01-01T00:00:00Z");
    let big = kvstore_spec(t, "big.yaml", 120, "2026-02-02T00:00:00Z");
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    assert_ok(&generate(&a, &out, &secrets), "generate a");
    let (a_out, a_sec) = (tree(&out), tree(&secrets));
    let limited = |spec: &Path, out: &Path, secrets: &Path| {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"trap '' XFSZ; ulimit -f 16; exec "$@""#)
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_chainfleet"))
            .arg("generate")
            .arg(spec)
            .arg("--out")
            .arg(out)
            .arg("--secrets")
            .arg(secrets)
            .env("CHAINFLEET_SEED", common::example_seed())
            .env("NO_COLOR", "1");
        run(&mut c)
    };
    let o = limited(&big, &out, &secrets);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("File too large") || err.contains("No space"),
        "{err}"
    );
    assert!(
        transient(&out).is_empty() && transient(&secrets).is_empty(),
        "staging files left: {:?} {:?}",
        transient(&out),
        transient(&secrets)
    );
    assert!(
        err.contains(&out.join(".chainfleet-staging").display().to_string()),
        "the message names the file that failed: {err}"
    );
    assert!(
        tree(&out) == a_out && tree(&secrets) == a_sec,
        "both trees unchanged"
    );
    // Into fresh folders: nothing is left at all.
    let (o2, s2) = (t.join("fresh/out"), t.join("fresh/secrets"));
    let o = limited(&big, &o2, &s2);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        !o2.exists() && !s2.exists(),
        "{:?} {:?}",
        tree(&o2),
        tree(&s2)
    );
}

#[test]
fn a_spec_is_read_with_a_size_cap() {
    // Under a 2 GiB address-space limit, so a reader without a cap fails fast instead of
    // exhausting the machine.
    let start = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 2097152; exec "$@""#)
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_chainfleet"))
        .args(["validate", "/dev/zero"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = start + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("reading /dev/zero as a spec did not stop within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/zero") && err.contains("16 MiB"), "{err}");
    eprintln!("/dev/zero refused in {:?}", start.elapsed());
}

/// Two `generate` runs of different networks into one pair of trees at once, 10 times:
/// both succeed (one waits for the other's lock) and the pair is exactly one network.
#[test]
fn two_runs_at_once_serialise() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = kvstore_spec(t, "a.yaml", 150, "2026-01-01T00:00:00Z");
    let b = kvstore_spec(t, "b.yaml", 151, "2026-02-02T00:00:00Z");
    let reference = |spec: &Path, name: &str| {
        let (o, s) = (t.join(name).join("out"), t.join(name).join("secrets"));
        assert_ok(&generate(spec, &o, &s), name);
        (tree(&o), tree(&s))
    };
    let started = Instant::now();
    let ra = reference(&a, "ref-a");
    let one = started.elapsed();
    let rb = reference(&b, "ref-b");
    assert!(ra != rb);
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    let (mut waited, mut wins) = (0, BTreeMap::new());
    let started = Instant::now();
    for i in 0..10 {
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let c1 = generate_cmd(first, &out, &secrets)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let c2 = generate_cmd(second, &out, &secrets)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for o in [
            c1.wait_with_output().unwrap(),
            c2.wait_with_output().unwrap(),
        ] {
            assert_ok(&o, &format!("run {i}"));
            waited += usize::from(stderr(&o).contains("waiting for another chainfleet run"));
        }
        assert!(transient(&out).is_empty() && transient(&secrets).is_empty());
        let now = (tree(&out), tree(&secrets));
        let winner = if now == ra {
            &a
        } else {
            assert!(now == rb, "run {i}: the pair is neither network");
            &b
        };
        let o = check(winner, &out, &secrets);
        assert_eq!(o.status.code(), Some(0), "run {i}: {}", stderr(&o));
        *wins
            .entry(winner.file_name().unwrap().to_string_lossy().into_owned())
            .or_insert(0) += 1;
    }
    eprintln!(
        "concurrency test: 10 pairs of runs in {:?} (one run alone {one:?}); {waited} runs waited for the lock; final network {wins:?}",
        started.elapsed()
    );
}

/// A second seed, so network b has other keys.
const OTHER_SEED: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

/// SIGKILL a 1,000-validator `generate` at random moments, 20 times. After each kill the
/// pair is the complete previous network, the complete new one, or `--check` reports the
/// unfinished write and the next run completes it.
#[test]
fn killed_generate_leaves_a_consistent_pair_or_a_detected_one() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let n = std::env::var("CHAINFLEET_KILL_VALIDATORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // Network b has 7 validators fewer, another genesis time, another validator config
    // and another seed: every key, every validator's config and the genesis change, and
    // some files go away.
    let specs = [
        kvstore_spec(t, "a.yaml", n, "2026-01-01T00:00:00Z"),
        kvstore_spec(t, "b.yaml", n - 7, "2026-02-02T00:00:00Z"),
    ];
    let b = fs::read_to_string(&specs[1]).unwrap().replacen(
        "behind: sentry }",
        "behind: sentry, config: { consensus.timeout_commit: 3s } }",
        1,
    );
    assert!(b.contains("timeout_commit"), "the example changed");
    fs::write(&specs[1], b).unwrap();
    let generate_cmd = |i: usize, out: &Path, secrets: &Path| {
        let mut c = generate_cmd(&specs[i], out, secrets);
        if i == 1 {
            c.env("CHAINFLEET_SEED", OTHER_SEED);
        }
        c
    };
    let generate = |i: usize, out: &Path, secrets: &Path| run(&mut generate_cmd(i, out, secrets));
    let check =
        |i: usize, out: &Path, secrets: &Path| run(generate_cmd(i, out, secrets).arg("--check"));
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    // The two networks, undisturbed; the second run's write phase is timed from the
    // moment its staging folder appears.
    let started = Instant::now();
    let o = generate(0, &out, &secrets);
    assert_ok(&o, "generate a");
    let full = started.elapsed();
    let net_a = (tree(&out), tree(&secrets));
    let mut child = generate_cmd(1, &out, &secrets)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staging = out.join(".chainfleet-staging");
    while !staging.exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_micros(200));
    }
    let write_start = Instant::now();
    assert!(child.wait().unwrap().success());
    let write = write_start.elapsed();
    eprintln!("kill test: {n} validators, a generate takes {full:?}, its write phase {write:?}");
    let nets = [net_a, (tree(&out), tree(&secrets))];
    assert!(nets[0].1.len() > n as usize && nets[0] != nets[1]);
    let mut current = 1; // the pair on disk holds network b
    let (mut old, mut new, mut detected, mut running) = (0, 0, 0, 0);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id());
    let started = Instant::now();
    for i in 0..20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let frac = (state % 1000) as f64 / 1000.0;
        let target = 1 - current;
        let mut child = generate_cmd(target, &out, &secrets)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if i % 2 == 0 {
            // Any moment of the run.
            std::thread::sleep(full.mul_f64(frac));
        } else {
            // A moment of the write phase: staging, journals, renames, removals.
            let staging = out.join(".chainfleet-staging");
            while !staging.exists() && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(write.mul_f64(frac));
        }
        running += usize::from(child.try_wait().unwrap().is_none());
        child.kill().unwrap(); // SIGKILL: no cleanup runs.
        child.wait().unwrap();

        let now = (tree(&out), tree(&secrets));
        let journal = out.join(".chainfleet-journal").exists();
        if !journal && now == nets[current] {
            old += 1;
        } else if !journal && now == nets[target] {
            new += 1;
            current = target;
        } else {
            // Anything else must be an unfinished, committed write that --check reports
            // and the next run (of either network) completes.
            assert!(
                journal,
                "kill {i} at {frac:.2}: neither network and no journal"
            );
            let o = check(target, &out, &secrets);
            assert_eq!(o.status.code(), Some(3), "kill {i}: {}", stderr(&o));
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("is unfinished"),
                "kill {i}: --check must report the unfinished write"
            );
            let o = generate(target, &out, &secrets);
            assert_ok(&o, &format!("repair after kill {i}"));
            assert!(
                stderr(&o).contains("finished an interrupted write"),
                "{}",
                stderr(&o)
            );
            assert!(
                (tree(&out), tree(&secrets)) == nets[target],
                "kill {i}: the repaired pair is the new network"
            );
            detected += 1;
            current = target;
        }
    }
    // The pair on disk passes --check for the network it holds once the next run swept
    // what the last kill left.
    let o = generate(current, &out, &secrets);
    assert_ok(&o, "regenerate");
    assert!(transient(&out).is_empty() && transient(&secrets).is_empty());
    let o = check(current, &out, &secrets);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    eprintln!(
        "kill test: 20 kills ({running} while running) in {:?}: {old} old, {new} new, {detected} detected-and-repaired",
        started.elapsed()
    );
    assert!(
        running >= 10,
        "kills must land while generate runs ({running}/20)"
    );
}
