//! Real runs of the bare-metal target: the CometBFT (kvstore) and the Cosmos SDK (simd)
//! examples are generated as they are, and their generated Ansible playbook runs against
//! machines this test creates: Debian containers with systemd as PID 1
//! (`chainfleet/systemd-host:bookworm` from `scripts/images.sh`, named as the example's
//! machine addresses, on a network of their own), reached with Ansible's
//! `community.docker.docker` connection instead of SSH. The chain binary is the one
//! `scripts/chain-binaries` builds, copied into `ansible/bin/`; the playbook checks it
//! against the SHA-256 the example gives.
//!
//! Checked: the playbook succeeds; every node runs as its systemd unit and logs to the
//! journal with timestamps; height 5 with exactly the spec's validators, every validator
//! signing; a public port answers from outside the machines and a validator's RPC port does
//! not (the firewall); for the kvstore network (once is enough: it is the playbook and
//! systemd being proven, not the chain) a second run reports `changed=0` on every machine
//! and `systemctl stop` of a validator is survived and after `systemctl start` it catches
//! up. The containers and their network are removed at the end, also when the test fails
//! (a Drop guard). Networks run two at a time (the test threads); each prints its slowest
//! playbook tasks.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

const TIMEOUT: Duration = Duration::from_secs(240);
const HOST_IMAGE: &str = "chainfleet/systemd-host:bookworm";

/// The machines of one network: containers named as the machines' addresses, removed with
/// their network on drop.
struct Machines {
    docker: PathBuf,
    network: String,
    names: Vec<String>,
}

impl Machines {
    fn start(docker: &Path, tag: &str, names: &[String]) -> Machines {
        let network = format!("chainfleet-hosts-{tag}");
        let m = Machines {
            docker: docker.to_path_buf(),
            network,
            names: names.to_vec(),
        };
        m.remove();
        let o = run(Command::new(docker).args(["network", "create", &m.network]));
        assert_ok(&o, "docker network create");
        for name in names {
            // The flags real-runs.md found for systemd as PID 1 on this kind of machine:
            // no --privileged (the bounding set lacks CAP_SYS_RESOURCE), only the systemd
            // and unified cgroup hierarchies bound.
            let o = run(Command::new(docker)
                .args(["run", "-d", "--name", name, "--hostname", name])
                .args([
                    "--network",
                    &m.network,
                    "--label",
                    "org.chainfleet.test=hosts",
                ])
                .args(["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"])
                .args(["--security-opt", "seccomp=unconfined"])
                .args(["--security-opt", "apparmor=unconfined", "--cgroupns=host"])
                .args(["-v", "/sys/fs/cgroup/systemd:/sys/fs/cgroup/systemd:rw"])
                .args(["-v", "/sys/fs/cgroup/unified:/sys/fs/cgroup/unified:rw"])
                .args(["--tmpfs", "/run", "--tmpfs", "/run/lock", HOST_IMAGE]));
            assert_ok(&o, &format!("docker run {name}"));
        }
        for name in names {
            wait_for(
                &format!("systemd on {name}"),
                Duration::from_secs(60),
                Duration::from_millis(500),
                || {
                    let state = m.exec(name, &["systemctl", "is-system-running"]);
                    matches!(state.trim(), "running" | "degraded").then_some(())
                },
            );
        }
        m
    }

    /// Run `args` on `machine`; its stdout (whatever the exit status).
    fn exec(&self, machine: &str, args: &[&str]) -> String {
        let o = run(Command::new(&self.docker)
            .args(["exec", machine])
            .args(args));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn ip(&self, machine: &str) -> String {
        let o = run(Command::new(&self.docker).args([
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            machine,
        ]));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn remove(&self) {
        let _ = Command::new(&self.docker)
            .args(["rm", "-f", "-v"])
            .args(&self.names)
            .output();
        let _ = Command::new(&self.docker)
            .args(["network", "rm", &self.network])
            .output();
    }
}

impl Drop for Machines {
    fn drop(&mut self) {
        let t = Instant::now();
        self.remove();
        eprintln!("machines removed in {:.1} s", t.elapsed().as_secs_f64());
    }
}

/// `ansible-playbook site.yml` in `ansible/`; the per-host recap `(changed, failed)`.
fn playbook(
    ansible: &Path,
    tool: &Path,
    docker: &Path,
    home: &Path,
) -> BTreeMap<String, (u32, u32)> {
    let path = format!(
        "{}:{}:{}",
        tool.parent().unwrap().display(),
        docker.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = run(Command::new(tool)
        .arg("site.yml")
        .current_dir(ansible)
        .env("PATH", path)
        .env("ANSIBLE_TRANSPORT", "community.docker.docker")
        .env("ANSIBLE_HOME", home)
        .env("ANSIBLE_NOCOLOR", "1")
        // Per-task times, printed after the recap: the run's slow parts.
        .env("ANSIBLE_CALLBACKS_ENABLED", "ansible.posix.profile_tasks"));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_ok(&o, "ansible-playbook site.yml");
    let slowest: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .filter(|l| l.trim_end().ends_with('s') && l.contains(" -- "))
        .take(6)
        .collect();
    eprintln!("slowest tasks:\n{}", slowest.join("\n"));
    let mut recap = BTreeMap::new();
    let mut in_recap = false;
    for line in stdout.lines() {
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            continue;
        }
        if !in_recap {
            continue;
        }
        // Recap lines are `host : ok=N changed=N ...`; a callback may print more after them.
        let Some((host, counts)) = line.split_once(':').filter(|(_, c)| c.contains("ok=")) else {
            continue;
        };
        let count = |key: &str| -> u32 {
            counts
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(u32::MAX)
        };
        recap.insert(
            host.trim().to_string(),
            (count("changed"), count("failed") + count("unreachable")),
        );
    }
    recap
}

/// A network under test: its resolved model, machines and secrets.
struct Net {
    model: chainfleet::model::Network,
    machines: Machines,
    secrets: PathBuf,
}

impl Net {
    fn hosts(&self) -> &chainfleet::model::Hosts {
        self.model.targets.hosts.as_ref().unwrap()
    }

    /// The machine `node` runs on and its port `name` there.
    fn at(&self, node: &str, name: &str) -> (String, u16) {
        let hosts = self.hosts();
        let (m, _) = hosts.placement(node).unwrap();
        let n = self.model.node(node).unwrap();
        let port = hosts.port(node, n.port(name).unwrap());
        (m.address.clone(), u16::try_from(port).unwrap())
    }

    /// CometBFT RPC `path` of `node`, from its own machine (loopback: the firewall keeps
    /// validators' RPC from everyone else); its `result`.
    fn rpc(&self, node: &str, path: &str) -> Option<Value> {
        let (machine, port) = self.at(node, "rpc");
        let body = self.machines.exec(
            &machine,
            &[
                "curl",
                "-sf",
                "--max-time",
                "5",
                &format!("http://127.0.0.1:{port}{path}"),
            ],
        );
        serde_json::from_str::<Value>(&body)
            .ok()?
            .get("result")
            .cloned()
    }

    fn height(&self, node: &str) -> Option<u64> {
        self.rpc(node, "/status")?["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    fn unit(&self, node: &str) -> String {
        format!("chainfleet-{}-{node}.service", self.model.name)
    }

    /// Consensus addresses (upper-case hex) of the validators, from the secrets tree.
    fn consensus_addresses(&self) -> BTreeMap<String, String> {
        self.model
            .validators()
            .map(|v| {
                let path = self
                    .secrets
                    .join(format!("nodes/{}/config/priv_validator_key.json", v.name));
                let key: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                (
                    key["address"].as_str().unwrap().to_uppercase(),
                    v.name.clone(),
                )
            })
            .collect()
    }
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn reachable(ip: &str, port: u16) -> bool {
    let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// Run `example`'s playbook and every check; `binary_var` names the chain binary's variable.
/// What a run proves beyond the first playbook run: idempotency and a validator's restart
/// depend on the playbook and on systemd, not on the chain, so one network proves them.
#[derive(PartialEq)]
enum Depth {
    /// Height 5, signers, journal and firewall.
    Blocks,
    /// Also a second run with `changed=0` and a validator stopped and started again.
    RerunAndRestart,
}

fn run_network(example: &str, binary_var: &str, tag: &str, depth: Depth) {
    let Some(docker) = docker() else { return };
    let Some(ansible) = tool("ANSIBLE_PLAYBOOK") else {
        return;
    };
    let Some(binary) = tool(binary_var) else {
        return;
    };
    let t_all = Instant::now();

    let (tmp, out, secrets) = generate_example(example);
    let spec = std::fs::read(root().join("examples").join(example)).unwrap();
    let model = chainfleet::validate(example, &spec, &out)
        .unwrap_or_else(|d| panic!("{example}: {d:?}"))
        .network;
    let hosts = model
        .targets
        .hosts
        .clone()
        .expect("the example has a hosts target");
    let chain_binary = model.chain.binary.clone();
    let bin = out.join("ansible/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(&binary, bin.join(&chain_binary)).unwrap();

    let t = Instant::now();
    let names: Vec<String> = hosts.machines.iter().map(|m| m.address.clone()).collect();
    let net = Net {
        machines: Machines::start(&docker, tag, &names),
        model,
        secrets,
    };
    let name = net.model.name.clone();
    eprintln!("{name}: {} machines up in {:.1} s", names.len(), secs(t));

    let ansible_home = tmp.path().join("ansible-home");
    let t = Instant::now();
    let recap = playbook(&out.join("ansible"), &ansible, &docker, &ansible_home);
    eprintln!("{name}: first playbook run in {:.1} s: {recap:?}", secs(t));
    assert_eq!(recap.len(), names.len(), "{recap:?}");
    assert!(recap.values().all(|&(_, failed)| failed == 0), "{recap:?}");

    // Every node is its own running unit.
    for m in &hosts.machines {
        let units = net.machines.exec(
            &m.address,
            &[
                "systemctl",
                "list-units",
                "--no-legend",
                "--plain",
                "--state=running",
                "chainfleet-*",
            ],
        );
        for node in &m.nodes {
            assert!(
                units.contains(&net.unit(node)),
                "{node} not running on {}:\n{units}",
                m.name
            );
        }
    }

    // Height 5, exactly the spec's validators, every one signing.
    let t = Instant::now();
    let nodes: Vec<String> = net.model.nodes.iter().map(|n| n.name.clone()).collect();
    wait_for(
        &format!("{name}: height 5 on every node"),
        TIMEOUT,
        Duration::from_secs(2),
        || {
            nodes
                .iter()
                .all(|n| net.height(n).is_some_and(|h| h >= 5))
                .then_some(())
        },
    );
    eprintln!(
        "{name}: height 5 on all {} nodes in {:.1} s",
        nodes.len(),
        secs(t)
    );
    let addresses = net.consensus_addresses();
    let first = &nodes[0];
    let validators = net.rpc(first, "/validators").unwrap();
    let set: BTreeSet<String> = validators["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["address"].as_str().unwrap().to_uppercase())
        .collect();
    assert_eq!(set, addresses.keys().cloned().collect(), "validator set");
    let mut signers = BTreeSet::new();
    for h in 2..=5 {
        let commit = net.rpc(first, &format!("/commit?height={h}")).unwrap();
        for s in commit["signed_header"]["commit"]["signatures"]
            .as_array()
            .unwrap()
        {
            if let Some(a) = s["validator_address"].as_str() {
                if !a.is_empty() {
                    signers.insert(a.to_uppercase());
                }
            }
        }
    }
    assert_eq!(signers, set, "every validator signs heights 2-5");

    // The journal has the node's lines with timestamps.
    let validator = net.model.validators().next().unwrap().name.clone();
    let (vm, vrpc) = net.at(&validator, "rpc");
    let journal = net.machines.exec(
        &vm,
        &[
            "journalctl",
            "-u",
            &net.unit(&validator),
            "-o",
            "short-iso",
            "--no-pager",
            "-n",
            "50",
        ],
    );
    assert!(
        journal
            .lines()
            .any(|l| l.starts_with("20") && l.contains("height=")),
        "journal of {validator}:\n{journal}"
    );

    // The firewall: a validator's RPC is closed to this host, a public port is open.
    let vip = net.machines.ip(&vm);
    assert!(
        !reachable(&vip, vrpc),
        "{validator}'s RPC {vip}:{vrpc} answers from outside"
    );
    let public = net
        .model
        .nodes
        .iter()
        .find_map(|n| {
            n.ports
                .iter()
                .find(|p| p.exposure == chainfleet::model::Exposure::Public && p.name == "rpc")
                .map(|_| n.name.clone())
        })
        .expect("the example exposes an RPC port");
    let (pm, pport) = net.at(&public, "rpc");
    let pip = net.machines.ip(&pm);
    assert!(
        reachable(&pip, pport),
        "{public}'s public RPC {pip}:{pport} is closed"
    );

    if depth == Depth::Blocks {
        eprintln!("{name}: bare-metal run in {:.1} s", secs(t_all));
        return;
    }

    // A second run changes nothing.
    let t = Instant::now();
    let again = playbook(&out.join("ansible"), &ansible, &docker, &ansible_home);
    eprintln!("{name}: second playbook run in {:.1} s: {again:?}", secs(t));
    assert!(
        again
            .values()
            .all(|&(changed, failed)| changed == 0 && failed == 0),
        "{again:?}"
    );

    // One validator stopped: the others go on; started again: it catches up.
    let t = Instant::now();
    net.machines
        .exec(&vm, &["systemctl", "stop", &net.unit(&validator)]);
    let other = nodes.iter().find(|n| **n != validator).unwrap().clone();
    let at_stop = net.height(&other).unwrap();
    wait_for(
        &format!("{name}: 3 blocks without {validator}"),
        TIMEOUT,
        Duration::from_secs(2),
        || {
            net.height(&other)
                .is_some_and(|h| h >= at_stop + 3)
                .then_some(())
        },
    );
    net.machines
        .exec(&vm, &["systemctl", "start", &net.unit(&validator)]);
    let target = net.height(&other).unwrap();
    wait_for(
        &format!("{name}: {validator} catches up"),
        TIMEOUT,
        Duration::from_secs(2),
        || {
            net.height(&validator)
                .is_some_and(|h| h >= target)
                .then_some(())
        },
    );
    eprintln!(
        "{name}: {validator} stopped, chain went on, restarted and caught up in {:.1} s",
        secs(t)
    );
    eprintln!("{name}: bare-metal run in {:.1} s", secs(t_all));
}

#[test]
fn cometbft_kvstore_runs_under_systemd_on_its_machines() {
    run_network(
        "cometbft-kvstore.yaml",
        "COMETBFT",
        "kvstore",
        Depth::RerunAndRestart,
    );
}

#[test]
fn cosmos_devnet_runs_under_systemd_on_its_machines() {
    run_network("cosmos-devnet.yaml", "SIMD", "devnet", Depth::Blocks);
}

/// The Docker CLI and ansible-playbook, or `None` (a failure under CI).
fn docker_and_ansible() -> Option<(PathBuf, PathBuf)> {
    let docker = docker()?;
    Some((docker, tool("ANSIBLE_PLAYBOOK")?))
}

/// Start machines `names` and run `out`'s playbook on them once, successfully.
fn deploy(
    docker: &Path,
    ansible: &Path,
    out: &Path,
    tag: &str,
    names: &[String],
    scratch: &Path,
) -> Machines {
    let machines = Machines::start(docker, tag, names);
    let recap = playbook(
        &out.join("ansible"),
        ansible,
        docker,
        &scratch.join("ansible-home"),
    );
    assert!(recap.values().all(|&(_, failed)| failed == 0), "{recap:?}");
    machines
}

/// Hostile strings (command substitution, quotes, newline, systemd specifiers and
/// variables, template braces, bidi and zero-width characters, a lone `;`, a leading `-`,
/// 300 characters, empty) as a generic node's `command` and `env`: the playbook installs
/// the node on a machine, systemd starts it, and a stub program records what it got.
/// Every value must arrive byte for byte and nothing may run.
#[test]
fn spec_strings_reach_a_systemd_node_literally() {
    let Some((docker, ansible)) = docker_and_ansible() else {
        return;
    };
    let t = Instant::now();
    let values: Vec<String> = vec![
        "$(touch /var/lib/chainfleet/pwned)".into(),
        "`touch /var/lib/chainfleet/pwned`".into(),
        "a'b\"c\\d".into(),
        "line1\nline2".into(),
        "%h %n %% ${HOME} $HOME $$".into(),
        "{{ lookup('pipe', 'touch /tmp/pwned') }} {% raw %}".into(),
        "\u{202e}evil\u{200b}".into(),
        ";".into(),
        "-x".into(),
        "x".repeat(300),
        String::new(),
    ];
    // The stub records its arguments and environment (NUL-separated) in its home.
    let stub = "#!/bin/sh\n{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; } >\"$HOME/argv\"\nenv -0 >\"$HOME/env\"\nexec sleep infinity\n";
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(stub.as_bytes()))
    };
    let quoted: Vec<String> = values
        .iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect();
    let env: Vec<String> = quoted
        .iter()
        .enumerate()
        .map(|(i, v)| format!("HOSTILE_{i}: {v}"))
        .collect();
    let spec = format!(
        "name: hostile-net\n\
         chain: {{ family: generic, chain_id: h-1, binary: app, image: \"example/app:1.0\" }}\n\
         keys: {{ seed: {{ env: CHAINFLEET_SEED }} }}\n\
         groups:\n  - name: tool\n    role: custom\n    command: [{}]\n    env: {{ {} }}\n\
         targets:\n  hosts:\n    machines: [{{ name: hostile-a, address: chainfleet-hostile-a }}]\n    \
         binaries: [{{ name: app, sha256: {sha} }}]\n",
        quoted.join(", "),
        env.join(", ")
    );
    let (tmp, out, _secrets) = generate_text("hostile.yaml", &spec);
    let bin = out.join("ansible/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("app"), stub).unwrap();
    let machine = "chainfleet-hostile-a".to_string();
    let _machines = deploy(
        &docker,
        &ansible,
        &out,
        "hostile",
        std::slice::from_ref(&machine),
        tmp.path(),
    );

    let home = "/var/lib/chainfleet/hostile-net/tool-0";
    let argv = wait_for(
        "the stub's record",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || {
            let o =
                run(Command::new(&docker).args(["exec", &machine, "cat", &format!("{home}/argv")]));
            o.status.success().then_some(o.stdout)
        },
    );
    let got: Vec<String> = argv
        .split(|b| *b == 0)
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    let mut want = values.clone();
    want.push(String::new()); // after the last NUL
    assert_eq!(got, want, "arguments as the program got them");
    let env =
        run(Command::new(&docker).args(["exec", &machine, "cat", &format!("{home}/env")])).stdout;
    let env: BTreeMap<String, String> = env
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8(kv.to_vec()).unwrap();
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(env.get(&format!("HOSTILE_{i}")), Some(v), "HOSTILE_{i}");
    }
    for canary in ["/var/lib/chainfleet/pwned", "/tmp/pwned"] {
        let o = run(Command::new(&docker).args(["exec", &machine, "test", "-e", canary]));
        assert!(!o.status.success(), "{canary} exists: something ran");
    }
    assert!(
        !Path::new("/tmp/pwned").exists(),
        "the control machine ran a lookup"
    );
    eprintln!(
        "hostile strings: {} values, literal under systemd, in {:.1} s",
        values.len(),
        secs(t)
    );
}

/// The Komodo example on two machines, with the recording stand-ins of komodod and iguana
/// (`scripts/standins/komodo/`, installed by the playbook against their SHA-256 like real
/// binaries; no komodod or iguana can be built here, see README, Komodo): every node runs
/// as its unit without restarting, the notary's iguana is driven through the notary
/// procedure with the secrets tree's passphrase and pubkey, reaching each assetchain daemon
/// on the seed's machine by name, and the passphrase stays out of the journal.
#[test]
fn komodo_notary_runs_under_systemd_on_stand_ins() {
    let Some((docker, ansible)) = docker_and_ansible() else {
        return;
    };
    let t = Instant::now();
    let standins = root().join("scripts/standins/komodo");
    let sha = |name: &str| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            std::fs::read(standins.join(name)).unwrap(),
        ))
    };
    let example = std::fs::read_to_string(root().join("examples/komodo-notary.yaml")).unwrap();
    let spec = format!(
        "{}\n  hosts:\n    machines:\n      - {{ name: komodo-a, address: chainfleet-komodo-a, nodes: [seed-0, chain-0] }}\n      \
         - {{ name: komodo-b, address: chainfleet-komodo-b, nodes: [notary-0, chain-1] }}\n    \
         binaries:\n      - {{ name: komodod, sha256: {} }}\n      - {{ name: iguana, sha256: {} }}\n",
        example.trim_end(),
        sha("komodod"),
        sha("iguana")
    );
    let (tmp, out, secrets) = generate_text("komodo-notary.yaml", &spec);
    let bin = out.join("ansible/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["komodod", "iguana"] {
        std::fs::copy(standins.join(name), bin.join(name)).unwrap();
    }
    let names = [
        "chainfleet-komodo-a".to_string(),
        "chainfleet-komodo-b".to_string(),
    ];
    let machines = deploy(&docker, &ansible, &out, "komodo", &names, tmp.path());
    eprintln!("komodo-notary: playbook ran in {:.1} s", secs(t));

    let secret = |rel: &str, key: &str| -> String {
        std::fs::read_to_string(secrets.join(rel))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
            .unwrap()
    };
    let passphrase = secret("notaries/notary-0/passphrase.txt", "passphrase");
    let pubkey = secret("notaries/notary-0/pubkey.txt", "pubkey");
    let work = "/var/lib/chainfleet/komodo-notary/notary-0/iguana/work/calls.jsonl";
    let calls = wait_for(
        "the notary's dpow calls",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let text = machines.exec("chainfleet-komodo-b", &["cat", work]);
            let calls: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (calls.iter().filter(|c| c["method"] == "dpow").count() == 3).then_some(calls)
        },
    );
    for c in &calls {
        assert!(c.get("error").is_none(), "{c}");
        match c["method"].as_str().unwrap() {
            "addcoin" => assert!(
                c["rpchost"]
                    .as_str()
                    .unwrap()
                    .starts_with("chainfleet-komodo-a:"),
                "{c}"
            ),
            "walletpassphrase" => assert_eq!(c["passphrase"], passphrase.as_str()),
            "dpow" => assert_eq!(c["pubkey"], pubkey.as_str()),
            _ => {}
        }
    }
    for (machine, nodes) in [
        (&names[0], ["seed-0", "chain-0"]),
        (&names[1], ["notary-0", "chain-1"]),
    ] {
        for node in nodes {
            let unit = format!("chainfleet-komodo-notary-{node}.service");
            let show = machines.exec(
                machine,
                &["systemctl", "show", "-p", "ActiveState,NRestarts", &unit],
            );
            assert!(
                show.contains("ActiveState=active") && show.contains("NRestarts=0"),
                "{unit}: {show}"
            );
        }
    }
    let journal = machines.exec(
        &names[1],
        &[
            "journalctl",
            "-u",
            "chainfleet-komodo-notary-notary-0.service",
            "--no-pager",
        ],
    );
    assert!(journal.contains("notary procedure done"), "{journal}");
    assert!(
        !journal.contains(&passphrase),
        "the passphrase reached the journal"
    );
    eprintln!(
        "komodo-notary: notarising on stand-ins under systemd in {:.1} s",
        secs(t)
    );
}
