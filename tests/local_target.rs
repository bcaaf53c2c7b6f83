//! The `local` target: shellcheck on every generated script, a group's `env` in `run.sh`, and the
//! start/stop life cycle (idempotent start, subsets, secret installation) with a stand-in
//! binary. Real chain binaries are exercised in `e2e_chain.rs`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

#[test]
fn scripts_pass_shellcheck() {
    let Some(shellcheck) = tool("SHELLCHECK") else {
        return;
    };
    let examples = examples_with_target("local");
    assert!(
        !examples.is_empty(),
        "no example configures the local target"
    );
    for example in examples {
        let (_dir, out, _secrets) = generate_example(&example);
        for script in ["local/run.sh", "local/stop.sh"] {
            let path = out.join(script);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{example}: {script} is not executable");
            let o = run(Command::new(&shellcheck)
                .args(["-s", "sh", "-S", "style"])
                .arg(&path));
            assert_ok(&o, &format!("shellcheck {example} {script}"));
        }
    }
}

/// A stand-in node binary: records its arguments and environment, then waits to be killed.
fn fake_binary(dir: &Path) -> PathBuf {
    let path = dir.join("fake-node");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         home=$3\n\
         printf '%s\\n' \"$@\" >\"$home/args\"\n\
         env >\"$home/env\"\n\
         while :; do sleep 1; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The pid recorded in `NODE.pid` (its first word; the second is the process's start time).
fn pid_of(run_dir: &Path, node: &str) -> Option<i32> {
    std::fs::read_to_string(run_dir.join(format!("{node}.pid")))
        .ok()
        .map(|s| s.split_whitespace().next().unwrap().parse().unwrap())
}

/// True when `pid` is a live process (a zombie waiting for init to reap it is not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|rest| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

struct Stop(Command);
impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.output();
    }
}

#[test]
fn start_stop_life_cycle() {
    let (dir, out, secrets) = generate_example("cometbft-kvstore.yaml");
    let run_dir = dir.path().join("run");
    let fake = fake_binary(dir.path());
    let script = |name: &str| {
        let mut c = Command::new(out.join("local").join(name));
        c.env("CHAINFLEET_RUN_DIR", &run_dir)
            .env("CHAINFLEET_BINARY", &fake)
            .env("CHAINFLEET_STOP_TIMEOUT", "5");
        c
    };
    let _guard = Stop(script("stop.sh"));
    let nodes = [
        "validator-0",
        "validator-1",
        "validator-2",
        "validator-3",
        "sentry-0",
        "sentry-1",
        "full-0",
    ];

    // The secrets tree is found through the path recorded at generation time.
    assert!(secrets.exists());
    let o = run(&mut script("run.sh"));
    assert_ok(&o, "run.sh");
    let pids: Vec<i32> = nodes.iter().map(|n| pid_of(&run_dir, n).unwrap()).collect();
    assert!(pids.iter().all(|p| alive(*p)), "every node runs: {pids:?}");

    // Each node got its home, its own ports, its node key (owner-only) and the genesis.
    let args = std::fs::read_to_string(run_dir.join("validator-1/args")).unwrap();
    let home = run_dir.join("validator-1");
    assert!(
        args.starts_with(&format!("start\n--home\n{}\n", home.display())),
        "{args}"
    );
    assert!(args.contains("tcp://127.0.0.1:46610"), "{args}");
    let env = std::fs::read_to_string(home.join("env")).unwrap();
    assert!(
        env.contains("CMT_P2P_EXTERNAL_ADDRESS=127.0.0.1:46610"),
        "{env}"
    );
    assert!(env.contains("CMT_P2P_ALLOW_DUPLICATE_IP=true"), "{env}");
    let key = home.join("config/node_key.json");
    assert_eq!(
        std::fs::read(&key).unwrap(),
        std::fs::read(secrets.join("nodes/validator-1/config/node_key.json")).unwrap()
    );
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    if out.join("genesis.json").exists() {
        assert_eq!(
            std::fs::read(home.join("config/genesis.json")).unwrap(),
            std::fs::read(out.join("genesis.json")).unwrap()
        );
    }

    // Node state is installed once: a restart keeps what the node wrote.
    let state = home.join("data/priv_validator_state.json");
    let has_state = out
        .join("nodes/validator-1/data/priv_validator_state.json")
        .exists();
    if has_state {
        std::fs::write(&state, "{\"height\":\"7\"}").unwrap();
    }

    // Idempotent: a second run leaves running nodes alone.
    let o = run(&mut script("run.sh"));
    assert_ok(&o, "second run.sh");
    assert!(String::from_utf8_lossy(&o.stdout).contains("validator-0: already running"));
    let again: Vec<i32> = nodes.iter().map(|n| pid_of(&run_dir, n).unwrap()).collect();
    assert_eq!(pids, again);

    // A subset stops and starts alone.
    let o = run(script("stop.sh").arg("validator-1"));
    assert_ok(&o, "stop.sh validator-1");
    assert!(!alive(pids[1]));
    assert!(
        pid_of(&run_dir, "validator-1").is_none(),
        "pid file removed"
    );
    assert!(pids.iter().enumerate().all(|(i, p)| i == 1 || alive(*p)));
    let o = run(script("run.sh").arg("validator-1"));
    assert_ok(&o, "run.sh validator-1");
    let restarted = pid_of(&run_dir, "validator-1").unwrap();
    assert!(alive(restarted) && restarted != pids[1]);
    if has_state {
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            "{\"height\":\"7\"}"
        );
    }

    // Unknown nodes are refused, by both scripts.
    assert!(!run(script("run.sh").arg("nope")).status.success());
    assert!(!run(script("stop.sh").arg("nope")).status.success());

    // Stop everything: no process, no pid file left.
    let o = run(&mut script("stop.sh"));
    assert_ok(&o, "stop.sh");
    assert!(!alive(restarted));
    assert!(pids.iter().all(|p| !alive(*p)));
    assert!(nodes.iter().all(|n| pid_of(&run_dir, n).is_none()));
}

#[test]
fn missing_binary_is_a_clear_error() {
    let (dir, out, _secrets) = generate_example("cometbft-kvstore.yaml");
    let o = run(Command::new(out.join("local/run.sh"))
        .env("CHAINFLEET_RUN_DIR", dir.path().join("run"))
        .env("CHAINFLEET_BINARY", "/nonexistent/cometbft"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("CHAINFLEET_BINARY"));
}

/// A generic node's arguments need not mention its home (issue 11: `run.sh` looked for the
/// home in the process's arguments, said "exited at start" and removed the pid file of a
/// running node, which `stop.sh` then could not stop). The launcher identifies its process
/// by pid and start time instead.
#[test]
fn a_node_whose_arguments_do_not_name_its_home_is_tracked() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("net.yaml");
    std::fs::write(
        &spec,
        "name: gen\nchain: { family: generic, chain_id: gen-1, binary: node, image: example/node:1.0.0 }\n\
         keys: { seed: { env: CHAINFLEET_SEED } }\n\
         groups:\n  - { name: node, role: full, count: 2, command: [serve, --fast] }\n\
         targets:\n  local: { base_port: 43100 }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(chainfleet()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--secrets")
        .arg(dir.path().join("secrets")));
    assert_ok(&o, "generate");
    let stub = dir.path().join("stub-node");
    std::fs::write(
        &stub,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" >\"$STUB_OUT/$$.args\"\nwhile :; do sleep 1; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run_dir = dir.path().join("run");
    let script = |name: &str| {
        let mut c = Command::new(out.join("local").join(name));
        c.env("CHAINFLEET_RUN_DIR", &run_dir)
            .env("CHAINFLEET_BINARY", &stub)
            .env("CHAINFLEET_STOP_TIMEOUT", "5")
            .env("STUB_OUT", dir.path());
        c
    };
    let _guard = Stop(script("stop.sh"));

    let o = run(&mut script("run.sh"));
    assert_ok(&o, "run.sh");
    let pids: Vec<i32> = ["node-0", "node-1"]
        .iter()
        .map(|n| pid_of(&run_dir, n).expect("pid file kept"))
        .collect();
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?}");
    let args = std::fs::read_to_string(dir.path().join(format!("{}.args", pids[0]))).unwrap();
    assert_eq!(
        args, "serve\n--fast\n",
        "the home is not among the arguments"
    );

    let o = run(&mut script("run.sh"));
    assert_ok(&o, "second run.sh");
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains(&format!("node-0: already running (pid {})", pids[0])),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A pid file whose pid now belongs to another process (same pid, other start time) is
    // not ours: run.sh starts the node again rather than trusting it.
    let pidfile = run_dir.join("node-1.pid");
    std::fs::write(&pidfile, format!("{} 1\n", pids[1])).unwrap();
    let o = run(script("run.sh").arg("node-1"));
    assert_ok(&o, "run.sh node-1 over a stale pid file");
    let again = pid_of(&run_dir, "node-1").unwrap();
    assert_ne!(again, pids[1]);
    // The replaced process is not ours any more: stop it by hand.
    kill_by_hand(pids[1]);

    let o = run(&mut script("stop.sh"));
    assert_ok(&o, "stop.sh");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("node-0: stopped") && stdout.contains("node-1: stopped"),
        "{stdout}"
    );
    assert!(!alive(pids[0]) && !alive(again));
    assert!(pid_of(&run_dir, "node-0").is_none() && pid_of(&run_dir, "node-1").is_none());
}

fn kill_by_hand(pid: i32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .status();
}
