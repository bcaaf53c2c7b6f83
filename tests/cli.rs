//! The command line: help and exit codes, completions, NO_COLOR, usage errors, `init`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{assert_ok, chainfleet, root, run};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_documents_commands_examples_and_exit_codes() {
    let o = run(chainfleet().arg("--help"));
    assert_ok(&o, "--help");
    let help = stdout(&o);
    for needle in [
        "Exit codes: 0 ok, 1 invalid spec, 2 usage or I/O error, 3 --check found drift",
        "NO_COLOR",
        "chainfleet generate network.yaml --check",
        "init",
        "validate",
        "generate",
        "schema",
        "completions",
    ] {
        assert!(help.contains(needle), "--help lacks `{needle}`:\n{help}");
    }
    let o = run(chainfleet().args(["generate", "--help"]));
    assert_ok(&o, "generate --help");
    assert!(stdout(&o).contains("--check") && stdout(&o).contains("--target"));
    let o = run(chainfleet().arg("--version"));
    assert_ok(&o, "--version");
    assert!(stdout(&o).starts_with("chainfleet "));
}

#[test]
fn completions_are_shell_scripts() {
    let o = run(chainfleet().args(["completions", "bash"]));
    assert_ok(&o, "completions bash");
    let bash = stdout(&o);
    assert!(
        bash.contains("_chainfleet()") && bash.contains("complete -F _chainfleet"),
        "{bash}"
    );
    for sub in ["validate", "generate", "init", "schema"] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    for shell in ["zsh", "fish"] {
        let o = run(chainfleet().args(["completions", shell]));
        assert_ok(&o, shell);
        assert!(stdout(&o).contains("chainfleet"), "{shell}");
    }
    if let Some(bash_bin) = which("bash") {
        // The script parses in a real bash.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bash");
        fs::write(&path, &bash).unwrap();
        let o = run(std::process::Command::new(bash_bin).arg("-n").arg(&path));
        assert_ok(&o, "bash -n on the completion script");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let spec = root().join("examples/cometbft-kvstore.yaml");
    let spec = spec.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "Usage"),
        (vec!["frobnicate"], "unrecognized subcommand"),
        (vec!["validate"], "<SPEC>"),
        (
            vec!["validate", spec, "--format", "xml"],
            "invalid value 'xml'",
        ),
        (
            vec!["generate", spec, "--target", "nomad"],
            "invalid value 'nomad'",
        ),
        (
            vec!["generate", spec, "--target", "aws"],
            "does not configure target(s) aws",
        ),
        (
            vec!["generate", "/no/such/spec.yaml"],
            "cannot read /no/such/spec.yaml",
        ),
        (
            vec!["validate", dir.path().to_str().unwrap()],
            "cannot read",
        ),
        (vec!["completions", "tcsh"], "invalid value 'tcsh'"),
    ];
    for (args, needle) in cases {
        let o = run(chainfleet().current_dir(dir.path()).args(&args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{args:?}: want `{needle}` in\n{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"));
    }
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "usage errors write nothing"
    );
}

#[cfg(unix)]
#[test]
fn unreadable_spec_exits_2() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    fs::copy(root().join("examples/cometbft-kvstore.yaml"), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&path).is_ok() {
        // Running as root: permissions do not stop reads; a dangling symlink does.
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone.yaml"), &path).unwrap();
    }
    let o = run(chainfleet().arg("validate").arg(&path));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("error: cannot read {}", path.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invalid_spec_exits_1_and_missing_seed_too() {
    let o = run(chainfleet()
        .current_dir(root())
        .args(["validate", "tests/invalid/multi-error.yaml"]));
    assert_eq!(o.status.code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    let o = run(chainfleet()
        .env_remove("CHAINFLEET_SEED")
        .arg("generate")
        .arg(root().join("examples/cometbft-kvstore.yaml"))
        .arg("--out")
        .arg(dir.path().join("out")));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("CHAINFLEET_SEED") && stderr(&o).contains("nothing was written"));
    assert!(!dir.path().join("out").exists());
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Run chainfleet under a pseudo-terminal (util-linux `script`), so colour would be on.
fn under_tty(args: &str, no_color: bool) -> Option<Vec<u8>> {
    let Some(script) = which("script") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "`script` (util-linux) is needed under CI"
        );
        eprintln!(
            "NOT RUN: `script` (util-linux) is not installed; colour under a terminal untested"
        );
        return None;
    };
    let bin = env!("CARGO_BIN_EXE_chainfleet");
    let mut c = std::process::Command::new(script);
    c.current_dir(root())
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env_remove("NO_COLOR");
    if no_color {
        c.env("NO_COLOR", "1");
    }
    Some(run(&mut c).stdout)
}

#[test]
fn no_color_is_honoured() {
    // Not a terminal: never colour, whatever NO_COLOR says.
    let o = run(chainfleet()
        .env_remove("NO_COLOR")
        .current_dir(root())
        .args(["validate", "tests/invalid/multi-error.yaml"]));
    assert!(!o.stderr.contains(&0x1b), "colour on a pipe");
    // A terminal: colour, unless NO_COLOR is set.
    let args = "validate tests/invalid/multi-error.yaml";
    if let (Some(color), Some(plain)) = (under_tty(args, false), under_tty(args, true)) {
        assert!(
            color.contains(&0x1b),
            "no colour on a terminal:\n{}",
            String::from_utf8_lossy(&color)
        );
        assert!(
            !plain.contains(&0x1b),
            "NO_COLOR ignored:\n{}",
            String::from_utf8_lossy(&plain)
        );
        assert!(
            String::from_utf8_lossy(&plain).contains("multi-error.yaml:2:7: error: network name")
        );
    }
}

#[test]
fn a_spec_cannot_inject_terminal_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    let valid = fs::read_to_string(root().join("examples/cometbft-kvstore.yaml")).unwrap();
    // An escape written as a YAML escape (the value holds ESC) and as a raw byte.
    for name in ["\"evil\\e[2J\\e]0;pwned\\a\"", "evil\u{1b}[2J"] {
        let spec = valid.replacen("name: kvstore-net", &format!("name: {name}"), 1);
        fs::write(&path, spec).unwrap();
        let o = run(chainfleet()
            .current_dir(dir.path())
            .args(["validate", "spec.yaml"]));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            !o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07),
            "{}",
            stderr(&o)
        );
        assert!(
            stderr(&o).starts_with("spec.yaml:5:7: error: "),
            "{}",
            stderr(&o)
        );
    }
}

#[cfg(unix)]
#[test]
fn init_writes_a_valid_spec_and_a_private_ignored_seed_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    for family in ["cosmos", "cometbft", "mina", "komodo", "generic"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my-net");
        let o = run(chainfleet()
            .env_remove("CHAINFLEET_SEED")
            .arg("init")
            .arg(&dir)
            .args(["--family", family]));
        assert_ok(&o, &format!("init --family {family}"));
        let spec = dir.join("network.yaml");
        let seed = dir.join(".chainfleet/seed");
        let text = fs::read_to_string(&spec).unwrap();
        assert!(
            text.contains("name: my-net"),
            "{family}: the folder names the network\n{text}"
        );
        assert!(text.contains(&format!("family: {family}")), "{family}");
        assert!(
            text.lines().any(|l| l.trim_start().starts_with('#')),
            "{family}: a commented starter"
        );
        let hex = fs::read_to_string(&seed).unwrap();
        assert!(
            hex.trim().len() == 64 && hex.trim().bytes().all(|b| b.is_ascii_hexdigit()),
            "{hex}"
        );
        assert_eq!(
            fs::metadata(&seed).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let ignore = fs::read_to_string(dir.join(".chainfleet/.gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l.trim() == "*"));
        // It validates and generates with its own seed, no environment needed.
        let o = run(chainfleet()
            .env_remove("CHAINFLEET_SEED")
            .arg("validate")
            .arg(&spec));
        assert_ok(&o, &format!("validate the {family} starter"));
        let o = run(chainfleet()
            .env_remove("CHAINFLEET_SEED")
            .current_dir(&dir)
            .args(["generate", "network.yaml", "--out", "out"]));
        assert_ok(&o, &format!("generate the {family} starter"));
        // A second init refuses and changes nothing.
        let o = run(chainfleet()
            .arg("init")
            .arg(&dir)
            .args(["--family", family]));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("already exists") && stderr(&o).contains("never overwrites"),
            "{}",
            stderr(&o)
        );
        assert_eq!(fs::read_to_string(&spec).unwrap(), text);
        assert_eq!(fs::read_to_string(&seed).unwrap(), hex);
        // Two inits make two different seeds.
        let other = tmp.path().join("other");
        assert_ok(&run(chainfleet().arg("init").arg(&other)), "init other");
        assert_ne!(
            fs::read_to_string(other.join(".chainfleet/seed")).unwrap(),
            hex
        );
    }
}

#[test]
fn init_refuses_a_name_that_is_not_dns_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(chainfleet()
        .arg("init")
        .arg(tmp.path())
        .args(["--name", "Bad_Name"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not DNS-safe"));
    assert!(!Path::new(&tmp.path().join("network.yaml")).exists());
}

#[test]
fn closed_stdout_does_not_panic() {
    // `chainfleet schema | head -c 10`: the reader goes away early.
    let mut child = chainfleet()
        .arg("schema")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn init_keeps_an_existing_gitignore() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    fs::create_dir_all(dir.join(".chainfleet")).unwrap();
    fs::write(dir.join(".chainfleet/.gitignore"), "# mine\n*\n!README\n").unwrap();
    assert_ok(&run(chainfleet().arg("init").arg(&dir)), "init");
    assert_eq!(
        fs::read_to_string(dir.join(".chainfleet/.gitignore")).unwrap(),
        "# mine\n*\n!README\n"
    );
    assert!(dir.join(".chainfleet/seed").exists());
}

/// Generate cosmos-devnet (public phrase: no environment needed) with paths relative to a
/// fresh working folder, as a user types them.
fn generate_devnet(extra: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("examples/cosmos-devnet.yaml"),
        dir.path().join("devnet.yaml"),
    )
    .unwrap();
    let o = run(chainfleet()
        .env_remove("CHAINFLEET_SEED")
        .current_dir(dir.path())
        .args([
            "generate",
            "devnet.yaml",
            "--out",
            "out/devnet",
            "--secrets",
            "keys",
        ])
        .args(extra));
    (dir, o)
}

#[test]
fn generate_summarises_each_target_with_next_commands_and_real_endpoints() {
    let (dir, o) = generate_devnet(&[]);
    assert_ok(&o, "generate");
    let err = stderr(&o);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    for needle in [
        "out/devnet: ",
        "secrets in keys (",
        "compose: out/devnet/compose/ (",
        "    docker compose -f out/devnet/compose/docker-compose.yaml up -d --build\n",
        "local: out/devnet/local/ (3 files)",
        "    CHAINFLEET_BINARY=$(command -v simd) out/devnet/local/run.sh\n",
        "    out/devnet/local/stop.sh\n",
        "topology, node IDs and every endpoint: out/devnet/README.md",
    ] {
        assert!(err.contains(needle), "no `{needle}` in\n{err}");
    }
    // The endpoints are the ones the generated files really use.
    let compose =
        fs::read_to_string(dir.path().join("out/devnet/compose/docker-compose.yaml")).unwrap();
    let run_sh = fs::read_to_string(dir.path().join("out/devnet/local/run.sh")).unwrap();
    let readme = fs::read_to_string(dir.path().join("out/devnet/README.md")).unwrap();
    let compose_rpc = "rpc-0         rpc http://127.0.0.1:26641, api http://127.0.0.1:26642, grpc 127.0.0.1:26643";
    assert!(err.contains(compose_rpc), "{err}");
    assert!(compose.contains("\"26641:26657/tcp\"") && compose.contains("\"26643:9090/tcp\""));
    for ui in [
        ("prometheus", "9090"),
        ("grafana", "3000"),
        ("alertmanager", "9093"),
    ] {
        assert!(
            err.contains(&format!("{:<12}  http://127.0.0.1:{}", ui.0, ui.1)),
            "{ui:?}: {err}"
        );
        assert!(
            compose.contains(&format!("\"127.0.0.1:{}:", ui.1)),
            "{ui:?}"
        );
        assert!(readme.contains(&format!("| {} | http://127.0.0.1:{} |", ui.0, ui.1)));
    }
    let local_v0 = "validator-0  rpc http://127.0.0.1:36601, api http://127.0.0.1:36602, grpc 127.0.0.1:36603, metrics http://127.0.0.1:36604";
    assert!(err.contains(local_v0), "{err}");
    assert!(run_sh.contains("--rpc.laddr tcp://127.0.0.1:36601"));
    assert!(run_sh.contains("--grpc.address 127.0.0.1:36603"));
    // The README's endpoint tables carry the same addresses, per target.
    assert!(readme.contains("### compose") && readme.contains("### local"));
    assert!(readme.contains(
        "| rpc-0 | rpc http://127.0.0.1:26641, api http://127.0.0.1:26642, grpc 127.0.0.1:26643 |"
    ));
    assert!(readme.contains(
        "| validator-0 | rpc http://127.0.0.1:36601, api http://127.0.0.1:36602, grpc 127.0.0.1:36603, metrics http://127.0.0.1:36604 |"
    ));
}

#[test]
fn generate_says_how_to_reach_kubernetes_and_aws_and_caps_long_lists() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(chainfleet()
        .current_dir(dir.path())
        .arg("generate")
        .arg(root().join("examples/cosmos-testnet-aws.yaml"))
        .args(["--out", "aws", "--secrets", "aws-keys"]));
    assert_ok(&o, "generate aws");
    let err = stderr(&o);
    for needle in [
        "aws: aws/cloudformation/ (",
        "    aws/cloudformation/deploy.sh\n",
        "export CHAINFLEET_IMAGE=<registry>/chainfleet/duality-testnet:",
        "--stack-name duality-testnet-<region> --query 'Stacks[0].Outputs'",
        "rpc-0        rpc-0.duality-testnet.internal: grpc 9090, metrics 26660; rpc via load balancer of stack duality-testnet-us-east-1, port 26657",
        "… and 1 more node: see aws/README.md",
    ] {
        assert!(err.contains(needle), "no `{needle}` in\n{err}");
    }
    let o = run(chainfleet()
        .current_dir(dir.path())
        .arg("generate")
        .arg(root().join("examples/k8s-integration.yaml"))
        .args(["--out", "k8s", "--secrets", "k8s-keys"]));
    assert_ok(&o, "generate kubernetes");
    let err = stderr(&o);
    for needle in [
        "kubernetes: k8s/helm/ics-integration/ (",
        "Secrets in k8s-keys/kubernetes/",
        "    kubectl apply -n ics-integration -f k8s-keys/kubernetes/\n",
        "    helm install ics-integration k8s/helm/ics-integration -n ics-integration --set image.repository=<registry>/chainfleet/ics-integration\n",
        "kubectl -n ics-integration port-forward svc/<node> <port>",
        "validator-0  validator-0.ics-integration.svc.cluster.local: rpc 26657, api 1317, grpc 9090, metrics 26660",
    ] {
        assert!(err.contains(needle), "no `{needle}` in\n{err}");
    }
    assert!(dir.path().join("k8s-keys/kubernetes").is_dir());
}

#[test]
fn generate_json_carries_files_next_commands_and_endpoints() {
    let (dir, o) = generate_devnet(&["--format", "json"]);
    assert_ok(&o, "generate --format json");
    // stderr holds only the public-phrase warning (which the document carries too).
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "devnet.yaml:24:28: warning: every key of this network derives from a public phrase"
        ) && !err.contains("error"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["network"], "cosmos-devnet");
    assert_eq!(doc["out_dir"], "out/devnet");
    assert_eq!(doc["secrets_dir"], "keys");
    assert!(doc["public"]["written"].as_u64().unwrap() > 10);
    assert_eq!(
        doc["warnings"][0]["severity"], "warning",
        "the public-phrase warning travels in the document: {doc}"
    );
    let targets = doc["targets"].as_array().unwrap();
    let names: Vec<&str> = targets
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["compose", "local", "hosts"]);
    let compose = &targets[0];
    assert_eq!(compose["path"], "out/devnet/compose/");
    assert_eq!(
        compose["next"][0],
        "docker compose -f out/devnet/compose/docker-compose.yaml up -d --build"
    );
    let eps = compose["endpoints"]["endpoints"].as_array().unwrap();
    assert!(eps.contains(&serde_json::json!({
        "node": "rpc-0", "service": "rpc", "address": "http://127.0.0.1:26641", "via": null
    })));
    // Every local endpoint (the text summary caps the list; JSON never does).
    let local = targets[1]["endpoints"]["endpoints"].as_array().unwrap();
    assert_eq!(local.len(), 5 * 4, "5 nodes × rpc, api, grpc, metrics");
    assert!(dir.path().join("out/devnet/README.md").is_file());
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let (dir, o) = generate_devnet(&["--quiet"]);
    assert_ok(&o, "generate --quiet");
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stderr(&o));
    assert!(dir.path().join("out/devnet/README.md").is_file());
    // --check, up to date: silent; keys, validate: only the table / nothing.
    let o = run(chainfleet().current_dir(dir.path()).args([
        "-q",
        "generate",
        "devnet.yaml",
        "--out",
        "out/devnet",
        "--secrets",
        "keys",
        "--check",
    ]));
    assert_ok(&o, "generate --check -q");
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stderr(&o));
    let o = run(chainfleet()
        .current_dir(dir.path())
        .args(["validate", "devnet.yaml", "--quiet"]));
    assert_ok(&o, "validate -q");
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    // An error still prints.
    let o = run(chainfleet().current_dir(root()).args([
        "generate",
        "tests/invalid/multi-error.yaml",
        "--quiet",
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error:"), "{}", stderr(&o));
}

#[test]
fn keys_prints_short_lines_and_json() {
    let spec = root().join("examples/cosmos-devnet.yaml");
    let o = run(chainfleet().arg("keys").arg(&spec));
    assert_ok(&o, "keys");
    let table = stdout(&o);
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "a {widest}-character line:\n{table}");
    assert!(table
        .lines()
        .any(|l| l.starts_with("    valoper=cosmosvaloper1")));
    let o = run(chainfleet().args(["keys", "--format", "json"]).arg(&spec));
    assert_ok(&o, "keys --format json");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    assert_eq!(nodes[0]["node"], "validator-0");
    // The node ID is the one the README publishes.
    let readme = fs::read_to_string(root().join("generated/cosmos-devnet/README.md")).unwrap();
    let id = nodes[0]["node_id"].as_str().unwrap();
    assert!(readme.contains(&format!(
        "| validator-0 | validator | validator | local | `{id}` |"
    )));
    assert!(nodes[0]["addresses"]["valoper"]
        .as_str()
        .unwrap()
        .starts_with("cosmosvaloper1"));
}

#[test]
fn the_public_seed_is_warned_about_wherever_it_is_used_and_never_printed() {
    let seed = common::example_seed();
    let kv = root().join("examples/cometbft-kvstore.yaml");
    let dir = tempfile::tempdir().unwrap();
    let want = "warning: the seed in the variable `CHAINFLEET_SEED` is the public example seed";
    let runs: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("validate", vec!["validate".into(), kv.clone().into()]),
        ("keys", vec!["keys".into(), kv.clone().into()]),
        (
            "keys json",
            vec![
                "keys".into(),
                kv.clone().into(),
                "--format".into(),
                "json".into(),
            ],
        ),
        (
            "generate",
            vec![
                "generate".into(),
                kv.clone().into(),
                "--out".into(),
                dir.path().join("o").into(),
                "--secrets".into(),
                dir.path().join("s").into(),
            ],
        ),
        (
            "generate json",
            vec![
                "generate".into(),
                kv.clone().into(),
                "--format".into(),
                "json".into(),
                "--out".into(),
                dir.path().join("o").into(),
                "--secrets".into(),
                dir.path().join("s").into(),
            ],
        ),
    ];
    for (what, args) in &runs {
        let o = run(chainfleet().args(args));
        assert_ok(&o, what);
        assert!(stderr(&o).contains(want), "{what}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains(&seed) && !stdout(&o).contains(&seed),
            "{what} printed the seed"
        );
        // --quiet drops warnings.
        let o = run(chainfleet().arg("-q").args(args));
        assert_ok(&o, what);
        assert!(o.stderr.is_empty(), "{what} -q: {}", stderr(&o));
    }
    // The public phrase in the spec: the spec check's warning, from keys too.
    let o = run(chainfleet()
        .arg("keys")
        .arg(root().join("examples/cosmos-devnet.yaml")));
    assert!(stderr(&o).contains("warning: every key of this network derives from a public phrase"));
    // A seed of one's own: no warning.
    let o = run(chainfleet()
        .env("CHAINFLEET_SEED", "11".repeat(32))
        .arg("keys")
        .arg(&kv));
    assert_ok(&o, "keys, own seed");
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn a_lost_seed_has_a_working_recovery_path() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let c = || {
        let mut c = chainfleet();
        c.env_remove("CHAINFLEET_SEED").current_dir(tmp.path());
        c
    };
    assert_ok(&run(c().args(["init", "mynet"])), "init");
    let seed = tmp.path().join("mynet/.chainfleet/seed");
    fs::remove_file(&seed).unwrap();
    // The diagnostic names the command that works...
    let o = run(c().args(["generate", "mynet/network.yaml"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`chainfleet seed mynet/network.yaml` writes a fresh one"),
        "{}",
        stderr(&o)
    );
    // ... `init` still refuses (the spec exists) ...
    let o = run(c().args(["init", "mynet"]));
    assert_eq!(o.status.code(), Some(2));
    // ... and `seed` writes a private seed, after which generate works.
    let o = run(c().args(["seed", "mynet/network.yaml"]));
    assert_ok(&o, "seed");
    assert!(stderr(&o).contains("wrote a new seed to mynet/.chainfleet/seed"));
    assert_eq!(
        fs::metadata(&seed).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let hex = fs::read_to_string(&seed).unwrap();
    assert!(!stderr(&o).contains(hex.trim()) && o.stdout.is_empty());
    assert_ok(
        &run(c().args(["generate", "mynet/network.yaml", "-q"])),
        "generate",
    );
    // Never over an existing seed.
    let o = run(c().args(["seed", "mynet/network.yaml"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("never overwrites a seed"));
    assert_eq!(fs::read_to_string(&seed).unwrap(), hex);
    // A custom seed file in a new folder: created, git-ignored.
    let spec = fs::read_to_string(tmp.path().join("mynet/network.yaml")).unwrap();
    assert!(
        !spec.contains("\nkeys:"),
        "the starter uses the default seed file"
    );
    let custom = format!("{spec}\nkeys:\n  seed: {{ file: vault/net.seed }}\n");
    fs::write(tmp.path().join("custom.yaml"), custom).unwrap();
    assert_ok(&run(c().args(["seed", "custom.yaml"])), "seed, custom file");
    assert!(tmp.path().join("vault/net.seed").is_file());
    assert!(fs::read_to_string(tmp.path().join("vault/.gitignore"))
        .unwrap()
        .contains('*'));
    // Seeds from the environment or a phrase: what to do instead, nothing written.
    let o = run(c()
        .arg("seed")
        .arg(root().join("examples/cometbft-kvstore.yaml")));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("export CHAINFLEET_SEED=$(od -An -tx1 -N32 /dev/urandom"));
    let o = run(c()
        .arg("seed")
        .arg(root().join("examples/cosmos-devnet.yaml")));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("insecure_phrase"));
}

#[test]
fn init_then_generate_keeps_one_chainfleet_folder_beside_the_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let c = || {
        let mut c = chainfleet();
        c.env_remove("CHAINFLEET_SEED").current_dir(tmp.path());
        c
    };
    assert_ok(&run(c().args(["init", "mynet"])), "init");
    let o = run(c().args(["generate", "mynet/network.yaml"]));
    assert_ok(&o, "generate");
    assert!(
        stderr(&o).starts_with("mynet/generated/mynet: ")
            && stderr(&o).contains(" unchanged; secrets in mynet/.chainfleet/secrets/mynet ("),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(
        "docker compose -f mynet/generated/mynet/compose/docker-compose.yaml up -d --build"
    ));
    let chainfleet_dirs: Vec<_> = walk(tmp.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == ".chainfleet"))
        .collect();
    assert_eq!(
        chainfleet_dirs,
        [tmp.path().join("mynet/.chainfleet")],
        "one .chainfleet, beside the spec"
    );
    assert!(tmp.path().join("mynet/.chainfleet/seed").is_file());
    assert!(tmp.path().join("mynet/.chainfleet/secrets/mynet").is_dir());
    assert!(tmp.path().join("mynet/generated/mynet/README.md").is_file());
    // --check from elsewhere finds the same trees.
    let o = run(chainfleet()
        .env_remove("CHAINFLEET_SEED")
        .current_dir(tmp.path().join("mynet"))
        .args(["generate", "network.yaml", "--check"]));
    assert_ok(&o, "generate --check from the spec's folder");
    assert!(
        stderr(&o).starts_with("generated/mynet: up to date"),
        "{}",
        stderr(&o)
    );
    // --out and --secrets still choose other places.
    let o = run(c().args([
        "generate",
        "mynet/network.yaml",
        "--out",
        "elsewhere",
        "--secrets",
        "sec",
        "-q",
    ]));
    assert_ok(&o, "generate --out --secrets");
    assert!(tmp.path().join("elsewhere/README.md").is_file() && tmp.path().join("sec").is_dir());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all.push(p.clone());
            all.extend(walk(&p));
        }
    }
    all
}

#[test]
fn the_readmes_first_command_gives_the_examples_their_seed() {
    // A fresh clone has no CHAINFLEET_SEED; the README's first command sets it, and each
    // example that reads it repeats that command in a comment.
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let first = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|block| block.lines().next())
        .unwrap();
    assert!(first.starts_with("export CHAINFLEET_SEED="), "{first}");
    let o = run(std::process::Command::new("sh")
        .env_remove("CHAINFLEET_SEED")
        .args(["-c", &format!("{first}; printf %s \"$CHAINFLEET_SEED\"")]));
    assert_ok(&o, "the README's first command");
    assert_eq!(stdout(&o), common::example_seed());
    for example in common::examples() {
        let text = fs::read_to_string(root().join("examples").join(&example)).unwrap();
        if text.contains("seed: { env: CHAINFLEET_SEED }") {
            assert!(
                text.contains(&format!("#   {first}\n")),
                "{example} does not say how to set its seed"
            );
        }
        // With that seed (and nothing else), every example generates.
        let dir = tempfile::tempdir().unwrap();
        let o = run(chainfleet()
            .env(
                "CHAINFLEET_SEED",
                stdout(&run(std::process::Command::new("sh").args([
                    "-c",
                    &format!("{first}; printf %s \"$CHAINFLEET_SEED\""),
                ]))),
            )
            .current_dir(dir.path())
            .arg("generate")
            .arg(root().join("examples").join(&example))
            .args(["--out", "o", "--secrets", "s", "-q"]));
        assert_ok(&o, &example);
    }
}

#[test]
fn init_references_a_schema_beside_the_spec_that_a_json_schema_validator_applies() {
    for family in ["cosmos", "cometbft", "mina", "komodo", "generic"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        assert_ok(
            &run(chainfleet()
                .arg("init")
                .arg(&dir)
                .args(["--family", family])),
            family,
        );
        let spec = fs::read_to_string(dir.join("network.yaml")).unwrap();
        let first = spec.lines().next().unwrap();
        let reference = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{family}: first line `{first}`"));
        assert!(
            !reference.contains("://"),
            "{family}: `{reference}` needs a network"
        );
        // Resolved as editors do: relative to the spec's folder.
        let schema_path = dir.join(reference);
        let schema: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&schema_path).unwrap()).unwrap();
        assert_eq!(
            fs::read_to_string(&schema_path).unwrap(),
            stdout(&run(chainfleet().arg("schema"))),
            "the written schema is `chainfleet schema`"
        );
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let doc = chainfleet::spec::load::load("network.yaml", spec.as_bytes())
            .unwrap()
            .value;
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{family}: {errors:?}");
        // The validator really applies it: a typo'd key and a wrong type fail.
        let mut bad = doc.clone();
        bad["groups"][0]["cuont"] = serde_json::json!(3);
        bad["name"] = serde_json::json!(7);
        assert!(validator.iter_errors(&bad).count() >= 2, "{family}");
    }
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let base = format!(
        "generate examples/cosmos-devnet.yaml --out {0}/o --secrets {0}/s",
        tmp.path().display()
    );
    let phase = "deriving keys, genesis and configs for 5 nodes";
    if let Some(tty) = under_tty(&base, true) {
        let tty = String::from_utf8_lossy(&tty).into_owned();
        assert!(tty.contains(phase), "{tty}");
        assert!(tty.contains("writing 73 files"), "{tty}");
        // Erased before the summary, which follows on a clean line.
        let erased = tty.rfind("\r\x1b[K").unwrap();
        assert!(tty[erased..].contains("written, 0 removed"), "{tty}");
        for quiet in [format!("{base} --quiet"), format!("{base} --format json")] {
            let out = String::from_utf8_lossy(&under_tty(&quiet, true).unwrap()).into_owned();
            assert!(!out.contains("deriving keys"), "{quiet}: {out}");
        }
        let keys = under_tty("keys examples/cosmos-devnet.yaml", true).unwrap();
        assert!(String::from_utf8_lossy(&keys).contains(phase));
    }
    // Not a terminal: no indicator.
    let o = run(chainfleet().current_dir(root()).args(base.split(' ')));
    assert_ok(&o, "generate");
    assert!(!stderr(&o).contains(phase) && !o.stderr.contains(&b'\r'));
}

#[test]
fn the_readme_tour_shows_generate_output_as_it_prints() {
    let tmp = tempfile::tempdir().unwrap();
    let c = || {
        let mut c = chainfleet();
        c.env_remove("CHAINFLEET_SEED").current_dir(tmp.path());
        c
    };
    assert_ok(
        &run(c().args(["init", "mynet", "--family", "cosmos"])),
        "init",
    );
    let o = run(c().args(["generate", "mynet/network.yaml"]));
    assert_ok(&o, "generate");
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let shown = readme
        .split("$ chainfleet generate mynet/network.yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README's tour shows a generate run");
    assert_eq!(shown, stderr(&o), "README tour vs the real output");
}

/// `validate` needs no seed, but says what `generate` would trip on or leak: a seed file that
/// is missing, all zero, or readable by other users.
#[test]
fn validate_warns_about_seeds_that_would_fail_or_leak() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("network.yaml");
    let text = std::fs::read_to_string(root().join("examples/cometbft-kvstore.yaml"))
        .unwrap()
        .replace("seed: { env: CHAINFLEET_SEED }", "seed: { file: seed.hex }");
    std::fs::write(&spec, text).unwrap();
    let validate = || run(chainfleet().arg("validate").arg(&spec));

    // Each warning points at the spec's `seed` field (line:col of `seed.hex`).
    let line = std::fs::read_to_string(&spec)
        .unwrap()
        .lines()
        .position(|l| l.contains("seed: { file: seed.hex }"))
        .unwrap()
        + 1;
    let col = std::fs::read_to_string(&spec)
        .unwrap()
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("seed.hex")
        .unwrap()
        + 1;
    let at = format!("{}:{line}:{col}: warning: ", spec.display());
    let o = validate();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{at}`generate` will fail: cannot read the seed file `seed.hex`"
        )),
        "{}",
        stderr(&o)
    );

    let seed = dir.path().join("seed.hex");
    std::fs::write(&seed, "00".repeat(32)).unwrap();
    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = validate();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{at}the seed is all zero bytes")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{at}the seed file `seed.hex` can be read by other users (mode 644)"
        )),
        "{err}"
    );

    std::fs::write(&seed, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = validate();
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

/// A Komodo notary with its operator's own passphrase (`notary.passphrase_env`): without the
/// variable `generate` names it and writes nothing; with it the passphrase reaches the secrets
/// tree only, and the public notary file carries the pubkey iguana derives from it.
#[test]
fn a_notary_runs_on_its_operators_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("kmd.yaml");
    let text = fs::read_to_string(root().join("examples/komodo-notary.yaml"))
        .unwrap()
        .replacen(
            "notary: { name: chainfleet_EU }",
            "notary: { name: chainfleet_EU, passphrase_env: CHAINFLEET_TEST_NOTARY_PASS }",
            1,
        );
    assert!(text.contains("passphrase_env"), "the example changed");
    fs::write(&spec, text).unwrap();
    let generate = || {
        let mut c = chainfleet();
        c.current_dir(dir.path()).args([
            "generate",
            "kmd.yaml",
            "--out",
            "out",
            "--secrets",
            "sec",
            "--target",
            "compose",
        ]);
        c
    };
    let o = run(generate().env_remove("CHAINFLEET_TEST_NOTARY_PASS"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("CHAINFLEET_TEST_NOTARY_PASS"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out").exists() && !dir.path().join("sec").exists());

    let pass = "correct horse battery staple notary";
    let o = run(generate().env("CHAINFLEET_TEST_NOTARY_PASS", pass));
    assert_ok(&o, "generate with the operator's passphrase");
    let secret =
        fs::read_to_string(dir.path().join("sec/notaries/notary-0/passphrase.txt")).unwrap();
    assert_eq!(secret, format!("passphrase={pass}\n"));
    let pubkey = fs::read_to_string(dir.path().join("sec/notaries/notary-0/pubkey.txt")).unwrap();
    let pubkey = pubkey.trim().strip_prefix("pubkey=").unwrap().to_string();
    let sk = chainfleet::chain::komodo::iguana_private_key(pass).unwrap();
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    assert_eq!(
        pubkey,
        hex::encode(sk.public_key().to_encoded_point(true).as_bytes())
    );
    let notaries =
        fs::read_to_string(dir.path().join("out/nodes/notary-0/iguana/notaries.json")).unwrap();
    assert!(notaries.contains(&pubkey), "{notaries}");
    for f in common::files_under(&dir.path().join("out")) {
        let bytes = fs::read(dir.path().join("out").join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(pass),
            "{} carries the passphrase",
            f.display()
        );
    }
    assert!(!stderr(&o).contains(pass) && !String::from_utf8_lossy(&o.stdout).contains(pass));
}
