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

fn pid_of(run_dir: &Path, node: &str) -> Option<i32> {
    std::fs::read_to_string(run_dir.join(format!("{node}.pid")))
        .ok()
        .map(|s| s.lines().next().unwrap_or("").trim().parse().unwrap())
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

/// A stand-in binary that records `$0`, every argument (one per line) and its environment
/// in `$CHAINFLEET_TEST_RECORD/<pid>.{argv,env}`, then waits to be killed.
fn recording_binary(dir: &Path) -> PathBuf {
    let path = dir.join("recording-mina");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         printf '%s\\n' \"$0\" \"$@\" >\"$CHAINFLEET_TEST_RECORD/$$.argv\"\n\
         env >\"$CHAINFLEET_TEST_RECORD/$$.env\"\n\
         while :; do sleep 1; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The Mina launcher runs `$CHAINFLEET_BINARY daemon …` for the coordinator (once it ran
/// `"$binary" -c 'exec "$0" …' mina daemon …`, i.e. `mina -c …`, with `mina` hard-coded), and
/// `… internal snark-worker` for its worker: the exact argv each process received.
#[test]
fn mina_coordinator_and_worker_get_their_exact_command_lines() {
    let spec = "name: mina-local\n\
chain:\n  family: mina\n  chain_id: mina-local\n  binary: mina\n  image: minaprotocol/mina-daemon:3.0.3-bullseye-devnet\n  home: /root/.mina-config\n  genesis_time: \"2026-12-01T00:00:00Z\"\n\
keys:\n  seed: { insecure_phrase: \"chainfleet local launcher test\" }\n\
groups:\n  - { name: seed, role: seed }\n  - { name: producer, role: block_producer }\n  - { name: coordinator, role: snark_coordinator, snark_fee: \"0.01\", work_selection: seq }\n  - { name: worker, role: snark_worker, coordinator: coordinator }\n\
targets:\n  local: { base_port: 41000 }\n";
    let (dir, out, _secrets) = generate_text("mina-local.yaml", spec);
    let keys = run(chainfleet()
        .args(["keys", "--format", "json"])
        .arg(dir.path().join("mina-local.yaml")));
    assert_ok(&keys, "chainfleet keys");
    let keys: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
    let seed_id = keys["nodes"][0]["node_id"].as_str().unwrap().to_string();
    assert_eq!(keys["nodes"][0]["node"], "seed-0");

    let run_dir = dir.path().join("run");
    let record = dir.path().join("record");
    std::fs::create_dir(&record).unwrap();
    let fake = recording_binary(dir.path());
    let script = |name: &str| {
        let mut c = Command::new(out.join("local").join(name));
        c.env("CHAINFLEET_RUN_DIR", &run_dir)
            .env("CHAINFLEET_BINARY", &fake)
            .env("CHAINFLEET_TEST_RECORD", &record)
            .env("CHAINFLEET_STOP_TIMEOUT", "5");
        c
    };
    let _guard = Stop(script("stop.sh"));
    let nodes = ["coordinator-0", "worker-0"];
    let o = run(script("run.sh").args(nodes));
    assert_ok(&o, "run.sh coordinator-0 worker-0");

    let recorded = |node: &str, ext: &str| -> String {
        let pid = pid_of(&run_dir, node).unwrap();
        let path = record.join(format!("{pid}.{ext}"));
        wait_for(
            &format!("{node}'s {ext}"),
            std::time::Duration::from_secs(10),
            std::time::Duration::from_millis(50),
            || {
                std::fs::read_to_string(&path)
                    .ok()
                    .filter(|s| !s.is_empty())
            },
        )
    };
    let home = run_dir.join("coordinator-0");
    let home = home.display();
    let fake = fake.display();
    let want: Vec<String> = [
        format!("{fake}"),
        "daemon".into(),
        "--config-directory".into(),
        format!("{home}"),
        "--libp2p-keypair".into(),
        format!("{home}/keys/libp2p-key"),
        "--config-file".into(),
        format!("{home}/genesis.json"),
        "--external-port".into(),
        "41020".into(),
        "--client-port".into(),
        "41021".into(),
        "--rest-port".into(),
        "41022".into(),
        "--metrics-port".into(),
        "41023".into(),
        "--external-ip".into(),
        "127.0.0.1".into(),
        "--peer".into(),
        format!("/ip4/127.0.0.1/tcp/41000/p2p/{seed_id}"),
        "--snark-worker-fee".into(),
        "0.01".into(),
        "--work-selection".into(),
        "seq".into(),
    ]
    .to_vec();
    let got: Vec<String> = recorded("coordinator-0", "argv")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, want, "coordinator argv");
    let env = recorded("coordinator-0", "env");
    assert!(
        env.lines()
            .any(|l| l == "MINA_CLIENT_TRUSTLIST=127.0.0.1/32"),
        "{env}"
    );
    assert!(env.lines().any(|l| l == "MINA_LIBP2P_PASS="), "{env}");
    // Its files are installed where the flags point.
    assert!(run_dir.join("coordinator-0/keys/libp2p-key").is_file());
    assert!(run_dir.join("coordinator-0/genesis.json").is_file());
    assert!(run_dir.join("coordinator-0/daemon.json").is_file());

    let got: Vec<String> = recorded("worker-0", "argv")
        .lines()
        .map(str::to_string)
        .collect();
    let want: Vec<String> = [
        &format!("{fake}")[..],
        "internal",
        "snark-worker",
        "--daemon-address",
        "127.0.0.1:41021",
        "--proof-level",
        "full",
        "--shutdown-on-disconnect",
        "false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(got, want, "worker argv");

    let o = run(&mut script("stop.sh"));
    assert_ok(&o, "stop.sh");
    assert!(nodes.iter().all(|n| pid_of(&run_dir, n).is_none()));
}
