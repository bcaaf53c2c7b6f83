//! The writer's guarantees, through the binary: byte-identical regeneration, atomicity when
//! `generate` is killed mid-write, ownership (never overwrite or delete a file chainfleet did
//! not write), private secrets, and `--check`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{assert_ok, chainfleet, examples, root, run};

/// Every file below `dir`: relative path → (bytes, permission bits).
type Tree = BTreeMap<PathBuf, (Vec<u8>, u32)>;

fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    if !dir.exists() {
        return out;
    }
    for rel in common::files_under(dir) {
        let p = dir.join(&rel);
        out.insert(rel, (fs::read(&p).unwrap(), mode(&p)));
    }
    out
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode(_p: &Path) -> u32 {
    0
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn generate(spec: &Path, out: &Path, secrets: &Path) -> std::process::Output {
    run(chainfleet()
        .arg("generate")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--secrets")
        .arg(secrets))
}

/// A second public seed, so the interrupted run rewrites every key.
const OTHER_SEED: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

fn generate_b(spec: &Path, out: &Path, secrets: &Path) -> std::process::Command {
    let mut c = chainfleet();
    c.env("CHAINFLEET_SEED", OTHER_SEED)
        .arg("generate")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--secrets")
        .arg(secrets);
    c
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The CometBFT example with `validators` validators and the given genesis time.
fn kvstore_spec(dir: &Path, name: &str, validators: u32, genesis_time: &str) -> PathBuf {
    let text = fs::read_to_string(root().join("examples/cometbft-kvstore.yaml")).unwrap();
    let text = text
        .replacen(
            "{ name: validator, role: validator, count: 4,",
            &format!("{{ name: validator, role: validator, count: {validators},"),
            1,
        )
        .replacen("2026-01-01T00:00:00Z", genesis_time, 1);
    assert!(
        text.contains(&format!("count: {validators}")),
        "the example changed"
    );
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn generating_twice_is_byte_identical() {
    for e in examples() {
        let (_a, out_a, sec_a) = common::generate_example(&e);
        let (_b, out_b, sec_b) = common::generate_example(&e);
        let (ta, tb) = (tree(&out_a), tree(&out_b));
        assert!(ta.len() >= 2, "{e}: {} files", ta.len());
        assert_eq!(
            ta.keys().collect::<Vec<_>>(),
            tb.keys().collect::<Vec<_>>(),
            "{e}"
        );
        for (k, v) in &ta {
            assert!(tb[k] == *v, "{e}: {} differs between two runs", k.display());
        }
        assert!(
            tree(&sec_a) == tree(&sec_b),
            "{e}: secrets differ between two runs"
        );
        // A second run over the first output changes nothing.
        let o = generate(&root().join("examples").join(&e), &out_a, &sec_a);
        assert_ok(&o, &e);
        assert!(
            stderr(&o).contains(": 0 written, 0 removed,"),
            "{e}: {}",
            stderr(&o)
        );
        assert!(tree(&out_a) == ta, "{e}: regenerating changed the tree");
    }
}

/// Kill `generate` at moments spread over a run that replaces a previous generation; after
/// recovery each tree is exactly the previous output or exactly the new one.
#[test]
fn killed_generate_leaves_previous_or_new_output() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // The new run has fewer nodes, another genesis time and another seed: every file
    // changes and some go away.
    let spec_a = kvstore_spec(t, "a.yaml", 300, "2026-01-01T00:00:00Z");
    let spec_b = kvstore_spec(t, "b.yaml", 290, "2026-02-02T00:00:00Z");
    // The previous and the new output, generated undisturbed.
    let pristine = t.join("pristine");
    assert_ok(
        &generate(&spec_a, &pristine.join("out"), &pristine.join("secrets")),
        "generate a",
    );
    let reference = t.join("reference");
    assert_ok(
        &run(&mut generate_b(
            &spec_b,
            &reference.join("out"),
            &reference.join("secrets"),
        )),
        "generate b",
    );
    let (a_out, a_sec) = (tree(&pristine.join("out")), tree(&pristine.join("secrets")));
    let (b_out, b_sec) = (
        tree(&reference.join("out")),
        tree(&reference.join("secrets")),
    );
    assert!(a_sec.len() > 300, "{} files", a_sec.len());
    assert!(a_out != b_out && a_sec != b_sec);

    // How long the run to interrupt takes, undisturbed.
    let work = t.join("work");
    copy_tree(&pristine, &work);
    let start = Instant::now();
    assert_ok(
        &run(&mut generate_b(
            &spec_b,
            &work.join("out"),
            &work.join("secrets"),
        )),
        "generate b over a",
    );
    let full = start.elapsed();
    assert!(tree(&work.join("out")) == b_out && tree(&work.join("secrets")) == b_sec);

    let (mut running, mut journals, mut outcomes) = (0, 0, BTreeMap::new());
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..10u32 {
        fs::remove_dir_all(&work).unwrap();
        copy_tree(&pristine, &work);
        let (out, secrets) = (work.join("out"), work.join("secrets"));
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let frac = (state % 1000) as f64 / 1000.0;
        let mut child = generate_b(&spec_b, &out, &secrets)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if i % 2 == 0 {
            // A random moment of the run (runs vary in speed, so some finish first).
            std::thread::sleep(full.mul_f64(frac * 0.8));
        } else {
            // The moment the secrets tree's journal is committed, plus up to 0.5 ms: the
            // renames are under way, and only the roll-forward can complete them.
            let journal = secrets.join(".chainfleet-journal");
            let deadline = Instant::now() + full * 20;
            while !journal.exists()
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            std::thread::sleep(std::time::Duration::from_micros(state % 500));
        }
        if child.try_wait().unwrap().is_none() {
            running += 1;
        }
        child.kill().unwrap(); // SIGKILL on Unix: no cleanup runs.
        child.wait().unwrap();

        for (dir, prev, new, what) in [
            (&out, &a_out, &b_out, "public"),
            (&secrets, &a_sec, &b_sec, "secrets"),
        ] {
            let journal = dir.join(".chainfleet-journal").exists();
            if !journal {
                // Killed before the journal: the previous files are untouched (only staging
                // files, which the next run sweeps, may lie beside them).
                let visible: Tree = tree(dir)
                    .into_iter()
                    .filter(|(p, _)| !p.to_string_lossy().ends_with(".chainfleet-new"))
                    .collect();
                assert!(
                    visible == *prev || visible == *new,
                    "kill {i} ({what}): neither previous nor new before recovery"
                );
            }
            journals += usize::from(journal);
            chainfleet::write::recover(dir).unwrap();
            let after = tree(dir);
            let outcome = if after == *new {
                "new"
            } else {
                assert!(after == *prev, "kill {i} ({what}) at {frac:.2}: after recovery the tree is neither the previous nor the new output");
                assert!(
                    !journal,
                    "kill {i} ({what}): a committed journal must roll forward"
                );
                "previous"
            };
            *outcomes.entry(format!("{what} {outcome}")).or_insert(0) += 1;
        }
    }
    eprintln!("run {full:?}; kills while running: {running}/10; journals found: {journals}; outcomes: {outcomes:?}");
    assert!(
        running >= 3,
        "kills must land while generate runs ({running}/10)"
    );
    assert!(
        journals >= 1,
        "at least one kill must land after a journal was committed"
    );
    // The next real run over an interrupted tree completes it.
    assert_ok(
        &run(&mut generate_b(
            &spec_b,
            &work.join("out"),
            &work.join("secrets"),
        )),
        "generate after kills",
    );
    assert!(tree(&work.join("out")) == b_out && tree(&work.join("secrets")) == b_sec);
}

#[test]
fn refuses_to_overwrite_files_it_does_not_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, secrets) = (tmp.path().join("out"), tmp.path().join("secrets"));
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("README.md"), "my own notes\n").unwrap();
    let before = tree(&out);
    let spec = root().join("examples/cometbft-kvstore.yaml");
    let o = generate(&spec, &out, &secrets);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("refusing to overwrite files chainfleet did not write")
            && err.contains(&out.join("README.md").display().to_string()),
        "{err}"
    );
    assert!(tree(&out) == before, "nothing in the output changed");
    assert!(!secrets.exists(), "no secrets were written");
}

#[test]
fn removes_only_files_it_owns() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    let four = kvstore_spec(t, "four.yaml", 4, "2026-01-01T00:00:00Z");
    let two = kvstore_spec(t, "two.yaml", 2, "2026-01-01T00:00:00Z");
    assert_ok(&generate(&four, &out, &secrets), "generate four");
    let reference = t.join("ref");
    assert_ok(
        &generate(&two, &reference.join("out"), &reference.join("secrets")),
        "reference",
    );
    for dir in [&out, &secrets] {
        // The user's files: one at the top, one beside a file of a node that goes away.
        let first = tree(dir);
        let gone: Vec<&PathBuf> = first
            .keys()
            .filter(|p| p.to_string_lossy().contains("validator-3"))
            .collect();
        let mut user = vec![dir.join("NOTES.md")];
        if let Some(p) = gone.first() {
            user.push(dir.join(p.parent().unwrap()).join("my-debug.log"));
        }
        for u in &user {
            fs::write(u, "mine\n").unwrap();
        }
    }
    let (out_before, sec_before) = (tree(&out), tree(&secrets));
    let owned_gone: usize = [&out_before, &sec_before]
        .iter()
        .map(|t| {
            t.keys()
                .filter(|p| {
                    p.to_string_lossy().contains("validator-3") && !p.ends_with("my-debug.log")
                })
                .count()
        })
        .sum();
    assert!(owned_gone > 0, "validator-3 has files to remove");
    let o = generate(&two, &out, &secrets);
    assert_ok(&o, "generate two");
    for (dir, ref_dir) in [
        (&out, reference.join("out")),
        (&secrets, reference.join("secrets")),
    ] {
        // Exactly: the two-validator output plus the user's files, untouched.
        let after = tree(dir);
        let mut expected = tree(&ref_dir);
        for (p, v) in &after {
            if p.ends_with("NOTES.md") || p.ends_with("my-debug.log") {
                assert_eq!(v.0, b"mine\n");
                expected.insert(p.clone(), v.clone());
            }
        }
        assert!(
            after.keys().any(|p| p.ends_with("NOTES.md")),
            "{}: the user's file was removed",
            dir.display()
        );
        assert!(
            after == expected,
            "{}: the new output plus the user's files",
            dir.display()
        );
    }
    assert!(
        tree(&secrets).keys().any(|p| p.ends_with("my-debug.log")),
        "a user file beside removed node files stays"
    );
}

#[cfg(unix)]
#[test]
fn secrets_are_private_and_git_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let (_g, out, secrets) = common::generate_example("cosmos-devnet.yaml");
    let files = common::files_under(&secrets);
    assert!(files.len() > 4, "{files:?}");
    for f in &files {
        assert_eq!(mode(&secrets.join(f)), 0o600, "{}", f.display());
    }
    let mut dirs = vec![secrets.clone()];
    while let Some(d) = dirs.pop() {
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700,
            "{}",
            d.display()
        );
        dirs.extend(
            fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_dir()),
        );
    }
    let ignore = fs::read_to_string(secrets.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "*"), "{ignore}");
    // Public files are readable by others (they are committed); none is a secret.
    for f in common::files_under(&out) {
        assert_ne!(mode(&out.join(&f)) & 0o044, 0, "{}", f.display());
    }
}

#[test]
fn check_exits_0_when_current_and_3_with_a_diff_on_drift_writing_nothing() {
    let (_g, out, secrets) = common::generate_example("cosmos-devnet.yaml");
    let spec = root().join("examples/cosmos-devnet.yaml");
    let check = || {
        run(chainfleet()
            .arg("generate")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--secrets")
            .arg(&secrets)
            .arg("--check"))
    };
    let o = check();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("up to date"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    // Drift: an edited file and a deleted one.
    let readme = out.join("README.md");
    let mut text = fs::read_to_string(&readme).unwrap();
    text.push_str("hand edit\n");
    fs::write(&readme, &text).unwrap();
    let public = common::files_under(&out);
    let victim = public
        .iter()
        .find(|p| !p.ends_with("README.md") && !p.ends_with("chainfleet.lock.json"))
        .or_else(|| public.iter().find(|p| p.ends_with("chainfleet.lock.json")))
        .expect("a file to delete")
        .clone();
    fs::remove_file(out.join(&victim)).unwrap();
    let (before_out, before_sec) = (tree(&out), tree(&secrets));
    let o = check();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let diff = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(
        diff.contains("--- a/README.md\n+++ b/README.md\n@@"),
        "{diff}"
    );
    assert!(diff.contains("\n-hand edit\n"), "{diff}");
    let v = victim.to_string_lossy();
    assert!(diff.contains(&format!("--- a/{v}\n+++ b/{v}\n")), "{diff}");
    assert!(
        stderr(&o).contains("2 file(s)") && stderr(&o).contains("are stale"),
        "{}",
        stderr(&o)
    );
    assert!(
        tree(&out) == before_out && tree(&secrets) == before_sec,
        "--check wrote something"
    );

    // A folder that does not exist: drift, and it is not created.
    let missing = out.parent().unwrap().join("never");
    let o = run(chainfleet()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&missing)
        .arg("--check"));
    assert_eq!(o.status.code(), Some(3));
    assert!(!missing.exists());
}
