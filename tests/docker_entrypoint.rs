//! The image's entrypoint, run for real outside a container: with the real `cometbft`
//! binary, each node's entrypoint installs the baked public files and the node's private keys
//! (from mounted secret files, and for one node from `CHAINFLEET_SECRET_*` variables), waits
//! for its peer host to resolve, execs the node, and the network makes blocks (the
//! environment node with its keys outside its home, symlinked, as on ECS). Also: chain
//! state under `data/` survives a restart, and misconfigurations fail loudly.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chainfleet::chain::{self, PeerHost, TargetRuntime, Text};
use chainfleet::model::{Network, Node, Port};
use common::{assert_ok, chainfleet, example_seed, root, run, tool};

const SPEC: &str = "tests/fixtures/compose/cometbft-entrypoint.yaml";

/// Every node on 127.0.0.1 with its local ports, its home a folder of the test.
struct OneHost {
    home: String,
}

impl TargetRuntime for OneHost {
    fn home(&self, _net: &Network) -> Text {
        Text::lit(self.home.clone())
    }
    fn bind_host(&self) -> &'static str {
        "127.0.0.1"
    }
    fn port(&self, _node: &Node, port: &Port) -> u16 {
        port.local
    }
    fn peer_host(&self, _net: &Network, _from: &Node, _peer: &Node) -> PeerHost {
        PeerHost::At(Text::lit("127.0.0.1"))
    }
    fn external_address(&self, _net: &Network, node: &Node) -> Option<Text> {
        Some(Text::lit(format!("127.0.0.1:{}", node.port("p2p")?.local)))
    }
    fn shares_one_address(&self) -> bool {
        true
    }
    fn in_image(&self) -> bool {
        false
    }
}

/// Kills the node processes when the test ends, pass or fail.
struct Nodes(Vec<(String, Child)>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn rpc_height(port: u16) -> Option<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let json = body.split("\r\n\r\n").nth(1)?;
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v["result"]["sync_info"]["latest_block_height"]
        .as_str()?
        .parse()
        .ok()
}

fn generate(dir: &Path) -> (PathBuf, PathBuf) {
    let out = dir.join("out");
    let secrets = dir.join("secrets");
    let o = run(chainfleet()
        .arg("generate")
        .arg(root().join(SPEC))
        .arg("--out")
        .arg(&out)
        .arg("--secrets")
        .arg(&secrets));
    assert_ok(&o, "chainfleet generate");
    (out, secrets)
}

fn network() -> (chainfleet::model::Network, chain::Artifacts) {
    let bytes = std::fs::read(root().join(SPEC)).unwrap();
    let v = chainfleet::validate(SPEC, &bytes, &root()).expect("fixture is valid");
    let seed = chainfleet::keys::Seed::from_hex(&example_seed()).unwrap();
    let artifacts = chain::build(&v.network, &seed).expect("artifacts");
    (v.network, artifacts)
}

/// The entrypoint command for `node`: `sh entrypoint.sh <cometbft> <launch args>`, with the
/// image paths pointed at the generated folder and a home of its own.
fn entrypoint(out: &Path, home: &Path, node: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg(out.join("docker/entrypoint.sh"))
        .env("CHAINFLEET_ROOT", out)
        .env("CHAINFLEET_HOME", home)
        .env("CHAINFLEET_NODE", node)
        .env("CHAINFLEET_WAIT_HOSTS", "localhost")
        .env("CHAINFLEET_WAIT_SECONDS", "10");
    c
}

#[test]
fn entrypoint_installs_keys_and_the_network_makes_blocks() {
    let Some(cometbft) = tool("COMETBFT") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, secrets) = generate(dir.path());
    let (net, artifacts) = network();

    let local = |n: &Node, port: &str| n.port(port).unwrap().local;
    let mut nodes = Nodes(Vec::new());
    let mut homes = BTreeMap::new();
    let env_node = net.nodes.last().unwrap().name.clone();
    for n in &net.nodes {
        let home = dir.path().join("homes").join(&n.name);
        let rt = OneHost {
            home: home.display().to_string(),
        };
        let proc = chain::process(&net, &artifacts, n, &rt);
        let lit = |t: &Text| t.literal().expect("all literal on one host");
        let mut cmd = entrypoint(&out, &home, &n.name);
        cmd.arg(&cometbft)
            .args(proc.args.iter().map(lit))
            .envs(proc.env.iter().map(|(k, v)| (k.clone(), lit(v))));
        // One node takes its keys from the environment (as ECS injects them), the others
        // from mounted files (compose secrets, Kubernetes Secret volumes).
        let mounted = dir.path().join("mounted").join(&n.name);
        std::fs::create_dir_all(&mounted).unwrap();
        cmd.env("CHAINFLEET_SECRETS_DIR", &mounted);
        if n.name == env_node {
            // As on ECS: keys in a folder of their own, symlinked from the home.
            cmd.env("CHAINFLEET_KEYS_DIR", dir.path().join("keys").join(&n.name));
        }
        for s in &artifacts.nodes[&n.name].secret_files {
            let text = std::fs::read_to_string(secrets.join(&s.source)).unwrap();
            if n.name == env_node {
                cmd.env(format!("CHAINFLEET_SECRET_{}", s.key.to_uppercase()), text);
            } else {
                std::fs::write(mounted.join(&s.key), text).unwrap();
            }
        }
        let log = std::fs::File::create(dir.path().join(format!("{}.log", n.name))).unwrap();
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        let child = cmd.spawn().expect("start entrypoint");
        nodes.0.push((n.name.clone(), child));
        homes.insert(n.name.clone(), home);
    }

    let logs = |dir: &Path| -> String {
        net.nodes
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(dir.join(format!("{}.log", n.name)))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {}\n{}",
                    n.name,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut heights = BTreeMap::new();
    loop {
        for n in &net.nodes {
            heights.insert(n.name.clone(), rpc_height(local(n, "rpc")).unwrap_or(0));
        }
        if heights.values().all(|h| *h >= 3) {
            break;
        }
        for (name, c) in &mut nodes.0 {
            if let Some(status) = c.try_wait().unwrap() {
                panic!("{name} exited ({status}):\n{}", logs(dir.path()));
            }
        }
        assert!(
            Instant::now() < deadline,
            "no blocks in time: {heights:?}\n{}",
            logs(dir.path())
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The keys the nodes run with are the generated ones, private to the owner.
    for n in &net.nodes {
        let home = &homes[&n.name];
        for s in &artifacts.nodes[&n.name].secret_files {
            let installed = home.join(&s.home_path);
            assert_eq!(
                std::fs::read(&installed).unwrap(),
                std::fs::read(secrets.join(&s.source)).unwrap(),
                "{}: {} differs from the secrets tree",
                n.name,
                s.home_path
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&installed).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}: {}", n.name, s.home_path);
            }
        }
        assert_eq!(
            std::fs::read(home.join("config/genesis.json")).unwrap(),
            std::fs::read(out.join("genesis.json")).unwrap()
        );
        let log = std::fs::read_to_string(dir.path().join(format!("{}.log", n.name))).unwrap();
        assert!(
            log.contains(&format!("node {}: installed", n.name)),
            "{log}"
        );
    }
    // The image's health probe against a live node: HTTP /health (curl or wget), the
    // shell-only listening-socket check, and a port nothing listens on.
    let probe = |args: &[&str]| {
        run(Command::new("sh")
            .arg(out.join("docker/healthcheck.sh"))
            .args(args))
        .status
        .success()
    };
    let rpc = local(&net.nodes[0], "rpc").to_string();
    assert!(probe(&[&rpc, "/health"]), "health probe over HTTP");
    assert!(probe(&[&rpc]), "health probe by listening socket");
    assert!(!probe(&["1"]), "nothing listens on port 1");
    drop(nodes);

    // A restart re-installs config and keys but keeps chain state: the validator's signing
    // state has moved past the generated height-0 file and must stay there.
    let v0 = &net.validators().next().unwrap().name;
    let state = homes[v0].join("data/priv_validator_state.json");
    let before = std::fs::read_to_string(&state).unwrap();
    let signed: serde_json::Value = serde_json::from_str(&before).unwrap();
    let height: u64 = signed["height"].as_str().unwrap().parse().unwrap();
    assert!(height >= 1, "{v0} never signed: {before}");
    let mut again = entrypoint(&out, &homes[v0], v0);
    again.env(
        "CHAINFLEET_SECRETS_DIR",
        dir.path().join("mounted").join(v0),
    );
    again.args(["sh", "-c", "true"]);
    assert_ok(&run(&mut again), "entrypoint restart");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), before);
}

#[test]
fn entrypoint_fails_loudly_on_misconfiguration() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _secrets) = generate(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let home = dir.path().join("home");

    let o = run(entrypoint(&out, &home, "nobody-0").args(["true"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown node 'nobody-0'"));

    let o = run(entrypoint(&out, &home, "validator-0")
        .env("CHAINFLEET_SECRETS_DIR", &empty)
        .env_remove("CHAINFLEET_SECRET_NODE_KEY")
        .args(["true"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("secret 'node_key' of node validator-0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Keys present, but a peer name never resolves: give up after the timeout.
    let o = run(entrypoint(&out, &home, "full-0")
        .env("CHAINFLEET_SECRETS_DIR", &empty)
        .env("CHAINFLEET_SECRET_NODE_KEY", "{}")
        .env("CHAINFLEET_WAIT_HOSTS", "localhost peer.chainfleet.invalid")
        .env("CHAINFLEET_WAIT_SECONDS", "1")
        .args(["true"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("host peer.chainfleet.invalid did not resolve within 1s"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A target that learns the external address at run time passes it through.
    let o = run(entrypoint(&out, &home, "full-0")
        .env("CHAINFLEET_SECRETS_DIR", &empty)
        .env("CHAINFLEET_SECRET_NODE_KEY", "{}")
        .env("CHAINFLEET_EXTERNAL_ADDRESS", "203.0.113.7:26656")
        .args(["sh", "-c", "printf '%s' \"$CMT_P2P_EXTERNAL_ADDRESS\""]));
    assert_ok(&o, "entrypoint with CHAINFLEET_EXTERNAL_ADDRESS");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "203.0.113.7:26656");

    // The node is taken from the host name when CHAINFLEET_NODE is unset (a pod name).
    let o = run(entrypoint(&out, &home, "")
        .env_remove("CHAINFLEET_NODE")
        .env("HOSTNAME", "full-0.entry-net.svc.cluster.local")
        .env("CHAINFLEET_SECRETS_DIR", &empty)
        .env("CHAINFLEET_SECRET_NODE_KEY", "{\"k\":1}")
        .args([
            "sh",
            "-c",
            "printf '%s' \"${CHAINFLEET_SECRET_NODE_KEY-unset}\"",
        ]));
    assert_ok(&o, "entrypoint with HOSTNAME");
    // The key reached the file, and not the node's environment.
    assert_eq!(String::from_utf8_lossy(&o.stdout), "unset");
    assert_eq!(
        std::fs::read_to_string(home.join("config/node_key.json")).unwrap(),
        "{\"k\":1}"
    );

    // ECS: the home is on a shared volume, so with CHAINFLEET_KEYS_DIR the key's bytes go to
    // that folder (mode 0700, file 0600) and the home keeps only a symlink, replacing the key
    // file an earlier start left there.
    let keys = dir.path().join("shm/chainfleet-keys");
    let o = run(entrypoint(&out, &home, "full-0")
        .env("CHAINFLEET_SECRETS_DIR", &empty)
        .env("CHAINFLEET_SECRET_NODE_KEY", "{\"k\":2}")
        .env("CHAINFLEET_KEYS_DIR", &keys)
        .args(["sh", "-c", "cat \"$CHAINFLEET_HOME/config/node_key.json\""]));
    assert_ok(&o, "entrypoint with CHAINFLEET_KEYS_DIR");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "{\"k\":2}");
    let link = home.join("config/node_key.json");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the key file is still in the home"
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), keys.join("node_key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys), 0o700);
        assert_eq!(mode(&keys.join("node_key")), 0o600);
    }
    // No file under the home holds the key.
    for f in common::files_under(&home) {
        let p = home.join(&f);
        if !std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink()
        {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("{\"k\":2}"),
                "{} holds the key",
                f.display()
            );
        }
    }
}
