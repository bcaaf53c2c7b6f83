//! Mina, Komodo and generic chain artifacts: stable libp2p peer IDs, seed peers in launch
//! arguments, Komodo credentials only in the secrets tree, and the emitted launch scripts
//! checked by shellcheck and run for real.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use chainfleet::chain::{self, Artifacts, PeerHost, TargetRuntime, Text};
use chainfleet::keys::Seed;
use chainfleet::model::ports::assetchain_port_names;
use chainfleet::model::{Network, Node, Port, Role};

fn load(example: &str) -> Network {
    let path = common::root().join("examples").join(example);
    let bytes = std::fs::read(&path).unwrap();
    chainfleet::validate(example, &bytes, path.parent().unwrap())
        .unwrap_or_else(|d| panic!("{example} does not validate: {d:?}"))
        .network
}

/// The seed `common::chainfleet()` generates the examples with, read from the command it
/// builds (so this file does not depend on how the helpers spell the example seed).
fn seed_hex() -> String {
    common::chainfleet()
        .get_envs()
        .find(|(k, _)| *k == "CHAINFLEET_SEED")
        .and_then(|(_, v)| v)
        .expect("common::chainfleet() sets CHAINFLEET_SEED")
        .to_string_lossy()
        .into_owned()
}

fn seed() -> Seed {
    Seed::from_hex(&seed_hex()).unwrap()
}

/// A node's process as the chain layer computes it, with everything literal.
struct Run {
    home: String,
    bind_host: &'static str,
    ports: BTreeMap<String, u16>,
    program: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

fn lit(t: &Text) -> String {
    t.literal()
        .expect("test runtimes use no target expressions")
}

/// A runtime like a container target's (DNS names, container ports), or like the local
/// launcher's (127.0.0.1, local ports, a home per node).
struct TestRuntime {
    local: bool,
}

impl TargetRuntime for TestRuntime {
    fn home(&self, net: &Network) -> Text {
        Text::lit(net.chain.home.clone())
    }
    fn bind_host(&self) -> &'static str {
        if self.local {
            "127.0.0.1"
        } else {
            "0.0.0.0"
        }
    }
    fn port(&self, _node: &Node, port: &Port) -> u16 {
        if self.local {
            port.local
        } else {
            port.container
        }
    }
    fn peer_host(&self, net: &Network, _from: &Node, peer: &Node) -> PeerHost {
        PeerHost::At(Text::lit(if self.local {
            "127.0.0.1".to_string()
        } else {
            format!("{}.{}.svc", peer.name, net.name)
        }))
    }
    fn external_address(&self, _net: &Network, _node: &Node) -> Option<Text> {
        None
    }
    fn in_image(&self) -> bool {
        false
    }
}

fn run_on(local: bool, net: &Network, a: &Artifacts, node: &Node) -> Run {
    let rt = TestRuntime { local };
    let p = chain::process(net, a, node, &rt);
    Run {
        home: lit(&rt.home(net)),
        bind_host: rt.bind_host(),
        ports: node
            .ports
            .iter()
            .map(|p| (p.name.clone(), rt.port(node, p)))
            .collect(),
        program: lit(&p.program),
        args: p.args.iter().map(lit).collect(),
        env: p.env.iter().map(|(k, v)| (k.clone(), lit(v))).collect(),
    }
}

/// As a container target runs it: DNS names, container ports.
fn container_settings(net: &Network, a: &Artifacts, node: &Node) -> Run {
    run_on(false, net, a, node)
}

/// As the local target runs it: 127.0.0.1 and local ports.
fn local_settings(net: &Network, a: &Artifacts, node: &Node) -> Run {
    run_on(true, net, a, node)
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(dir.join(&p)).unwrap();
            (p.to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// Fail if any needle occurs in any file of `public`.
fn assert_absent(public: &BTreeMap<String, Vec<u8>>, needles: &[String]) {
    assert!(!needles.is_empty());
    for (path, bytes) in public {
        let text = String::from_utf8_lossy(bytes);
        for n in needles {
            assert!(n.len() >= 8, "needle too short to mean anything: {n}");
            assert!(
                !text.contains(n.as_str()),
                "secret material `{}…` found in public file {path}",
                &n[..8]
            );
        }
    }
}

fn launch_line(node: &Node, l: &Run) -> String {
    let env: Vec<String> = l.env.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!(
        "{}: {}{} {}",
        node.name,
        if env.is_empty() {
            String::new()
        } else {
            format!("{} ", env.join(" "))
        },
        l.program,
        l.args.join(" ")
    )
}

// ---------------------------------------------------------------- Mina

#[test]
fn mina_peer_ids_are_libp2p_ed25519_and_stable() {
    let net = load("mina-testnet.yaml");
    let a = chain::build(&net, &seed()).unwrap();
    let b = chain::build(&net, &seed()).unwrap();
    let mut daemons = 0;
    for node in &net.nodes {
        let id = a.nodes[&node.name].node_id.clone();
        assert_eq!(id, b.nodes[&node.name].node_id, "{} changed", node.name);
        if node.role == Role::SnarkWorker || is_test_service(&net, node) {
            assert_eq!(
                id, None,
                "workers and test services do not join the gossip network"
            );
            continue;
        }
        let id = id.unwrap();
        assert!(id.starts_with("12D3KooW"), "{}: {id}", node.name);
        assert_eq!(id.len(), 52, "{id}");
        daemons += 1;
    }
    // 3 seeds, 3 producers, the archive node, 2 coordinators.
    assert_eq!(daemons, 9);
    // Secrets are byte-identical too (deterministic nonce and salt).
    assert_eq!(a.secrets, b.secrets);

    // And through the CLI: two runs, same README node IDs and same secret files.
    let (_d1, out1, sec1) = common::generate_example("mina-testnet.yaml");
    let (_d2, out2, sec2) = common::generate_example("mina-testnet.yaml");
    assert_eq!(read_tree(&out1), read_tree(&out2));
    assert_eq!(read_tree(&sec1), read_tree(&sec2));
    let readme = std::fs::read_to_string(out1.join("README.md")).unwrap();
    for na in a.nodes.values() {
        if let Some(id) = &na.node_id {
            assert!(readme.contains(id.as_str()), "README lacks {id}");
        }
    }
}

/// A test service (own image): no chain identity, tested in the unit tests of `chain::mina`.
fn is_test_service(net: &chainfleet::model::Network, node: &Node) -> bool {
    net.group(&node.group).is_some_and(|g| g.image.is_some())
}

#[test]
fn mina_key_files_open_to_the_peer_id_they_announce() {
    let net = load("mina-testnet.yaml");
    let a = chain::build(&net, &seed()).unwrap();
    for node in net
        .nodes
        .iter()
        .filter(|n| n.role != Role::SnarkWorker && !is_test_service(&net, n))
    {
        let na = &a.nodes[&node.name];
        let sf = na
            .secret_files
            .iter()
            .find(|f| f.key == "libp2p_key")
            .unwrap();
        assert_eq!(sf.home_path, "keys/libp2p-key");
        let file = String::from_utf8(a.secrets[&sf.source].bytes.clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&file).unwrap();
        assert_eq!(v["box_primitive"], "xsalsa20poly1305");
        assert_eq!(v["pw_primitive"], "argon2i");
        let plain = chainfleet::chain::mina::open_secret_box(&file, b"").unwrap();
        let plain = String::from_utf8(plain).unwrap();
        let parts: Vec<&str> = plain.split(',').collect();
        assert_eq!(parts.len(), 3, "Keypair.to_string has three fields");
        assert_eq!(Some(parts[2]), na.node_id.as_deref());
        let b64 = base64::engine::general_purpose::STANDARD;
        let private = b64.decode(parts[0]).unwrap();
        let public = b64.decode(parts[1]).unwrap();
        assert_eq!(&private[..4], &[0x08, 0x01, 0x12, 0x40]);
        assert_eq!(&public[..4], &[0x08, 0x01, 0x12, 0x20]);
        assert_eq!(
            &private[36..],
            &public[4..],
            "private key embeds its public key"
        );
    }
}

#[test]
fn mina_launch_args_carry_every_seed_and_role_flags() {
    let net = load("mina-testnet.yaml");
    let a = chain::build(&net, &seed()).unwrap();
    let seeds: Vec<&Node> = net.nodes.iter().filter(|n| n.role == Role::Seed).collect();
    assert_eq!(seeds.len(), 3);
    for settings in [container_settings, local_settings] {
        for node in net.nodes.iter().filter(|n| !is_test_service(&net, n)) {
            let s = settings(&net, &a, node);
            let l = &s;
            let args = l.args.join(" ");
            match node.role {
                Role::SnarkWorker => {
                    assert!(
                        args.starts_with("internal snark-worker --daemon-address "),
                        "{args}"
                    );
                    assert!(args.contains("--proof-level full"));
                    // Its own pool's coordinator.
                    let pool = net.group(&node.group).unwrap();
                    let coord = net
                        .node(&format!("{}-0", pool.coordinator.as_deref().unwrap()))
                        .unwrap();
                    let client = if s.bind_host == "127.0.0.1" {
                        coord.port("client").unwrap().local
                    } else {
                        coord.port("client").unwrap().container
                    };
                    assert!(args.contains(&format!(":{client} ")), "{args}");
                    continue;
                }
                _ => {
                    assert!(l.args.iter().any(|x| x == "daemon"), "{args}");
                    assert!(args.contains(&format!("--libp2p-keypair {}/keys/libp2p-key", s.home)));
                    assert_eq!(l.env.get("MINA_LIBP2P_PASS").map(String::as_str), Some(""));
                    for (flag, port) in [
                        ("--external-port", "p2p"),
                        ("--client-port", "client"),
                        ("--rest-port", "graphql"),
                        ("--metrics-port", "metrics"),
                    ] {
                        assert!(
                            args.contains(&format!("{flag} {}", s.ports[port])),
                            "{args}"
                        );
                    }
                }
            }
            let peer_args: Vec<&str> = l
                .args
                .windows(2)
                .filter(|w| w[0] == "--peer")
                .map(|w| w[1].as_str())
                .collect();
            for seed_node in &seeds {
                if seed_node.name == node.name {
                    continue;
                }
                let id = a.nodes[&seed_node.name].node_id.as_deref().unwrap();
                let host = if s.bind_host == "127.0.0.1" {
                    format!(
                        "/ip4/127.0.0.1/tcp/{}",
                        seed_node.port("p2p").unwrap().local
                    )
                } else {
                    format!("/dns4/{}.{}.svc/tcp/8302", seed_node.name, net.name)
                };
                let want = format!("{host}/p2p/{id}");
                assert!(
                    peer_args.contains(&want.as_str()),
                    "{}: no --peer {want} in {args}",
                    node.name
                );
            }
            assert_eq!(
                node.role == Role::Seed,
                l.args.iter().any(|x| x == "--seed")
            );
            assert_eq!(
                node.role == Role::BlockProducer,
                args.contains(&format!(
                    "--block-producer-key {}/keys/block-producer.key",
                    s.home
                ))
            );
            // Every daemon reads the generated runtime config (genesis ledger).
            assert!(
                args.contains(&format!("--config-file {}/genesis.json", s.home)),
                "{args}"
            );
            // No shell wrapper: the coordinator's fee key is in its daemon.json.
            assert_eq!(s.program, "mina");
            assert_eq!(l.args[0], "daemon");
            if node.role == Role::SnarkCoordinator {
                // Each pool its own fee and work selection.
                let g = net.group(&node.group).unwrap();
                let fee = g.snark_fee.as_deref().unwrap();
                assert!(
                    args.contains(&format!("--snark-worker-fee {fee}")),
                    "{args}"
                );
                let ws = g.work_selection.unwrap().as_str();
                assert!(args.contains(&format!("--work-selection {ws}")), "{args}");
            }
            assert_eq!(
                node.role == Role::Archive,
                args.contains("--archive-address 127.0.0.1:3086"),
                "{args}"
            );
        }
    }
}

/// Every generated Mina key of the example, from the secrets tree's `mina/keys.json`.
fn mina_keys(secrets: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(secrets.join("mina/keys.json")).unwrap();
    serde_json::from_str::<Vec<serde_json::Value>>(&text).unwrap()
}

#[test]
fn mina_staking_keys_daemon_files_and_ledger_agree() {
    use chainfleet::keys::mina_key::open_key_file;
    let net = load("mina-testnet.yaml");
    let a = chain::build(&net, &seed()).unwrap();
    let (_d, out, secrets) = common::generate_example("mina-testnet.yaml");
    let keys = mina_keys(&secrets);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("genesis.json")).unwrap()).unwrap();
    let ledger = config["ledger"]["accounts"].as_array().unwrap();
    assert_eq!(ledger.len(), keys.len());
    let producers: Vec<&Node> = net
        .nodes
        .iter()
        .filter(|n| n.role == Role::BlockProducer)
        .collect();
    assert_eq!(producers.len(), 3);
    for node in &producers {
        let na = &a.nodes[&node.name];
        let pk = &na.addresses["staking_pubkey"];
        let entry = keys
            .iter()
            .find(|k| k["name"] == node.name.as_str())
            .unwrap();
        assert_eq!(entry["public_key"], pk.as_str());
        // The key file the node receives opens with the password its daemon.json carries.
        let by_key = |k: &str| na.secret_files.iter().find(|f| f.key == k).unwrap();
        let key_file = by_key("block_producer_key");
        assert_eq!(key_file.home_path, "keys/block-producer.key");
        let daemon = by_key("mina_daemon_json");
        assert_eq!(daemon.home_path, "daemon.json");
        let daemon: serde_json::Value =
            serde_json::from_slice(&a.secrets[&daemon.source].bytes).unwrap();
        let password = daemon["daemon"]["block-producer-password"]
            .as_str()
            .unwrap();
        assert_eq!(entry["password"], password);
        let file = String::from_utf8(a.secrets[&key_file.source].bytes.clone()).unwrap();
        let key = open_key_file(&file, password).unwrap();
        assert_eq!(&key.public_key(), pk);
        assert_eq!(entry["private_key"], key.private_key_base58().as_str());
        // Staked at genesis: its balance from the spec, delegated to itself.
        let acc = ledger.iter().find(|x| x["pk"] == pk.as_str()).unwrap();
        assert_eq!(acc["balance"], "66000.000000000");
        assert_eq!(acc["delegate"], pk.as_str());
    }
    // The coordinator's public daemon.json names its fee key; the key is in the ledger.
    let coord = &a.nodes["snark-coordinator-0"];
    let fee_pk = &coord.addresses["snark_work_pubkey"];
    let daemon: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("nodes/snark-coordinator-0/daemon.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(daemon["daemon"]["run-snark-coordinator"], fee_pk.as_str());
    assert!(ledger.iter().any(|x| x["pk"] == fee_pk.as_str()));
    // The spec's extra account delegates to producer-0.
    let faucet = keys.iter().find(|k| k["name"] == "faucet").unwrap();
    let acc = ledger
        .iter()
        .find(|x| x["pk"] == faucet["public_key"])
        .unwrap();
    assert_eq!(acc["balance"], "1000000.000000000");
    assert_eq!(
        acc["delegate"],
        a.nodes["producer-0"].addresses["staking_pubkey"].as_str()
    );
    assert_eq!(
        config["genesis"]["genesis_state_timestamp"],
        net.chain.genesis_time.as_str()
    );
    // The operator step is gone.
    assert!(!out.join("mina/operator-keys.md").exists());
}

#[test]
fn mina_public_output_holds_no_key_material() {
    let (_d, out, secrets) = common::generate_example("mina-testnet.yaml");
    let public = read_tree(&out);
    let secret = read_tree(&secrets);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut needles = Vec::new();
    for (path, bytes) in &secret {
        if !path.ends_with("libp2p-key") {
            continue;
        }
        let file = String::from_utf8(bytes.clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&file).unwrap();
        needles.push(v["ciphertext"].as_str().unwrap().to_string());
        let plain = chainfleet::chain::mina::open_secret_box(&file, b"").unwrap();
        let plain = String::from_utf8(plain).unwrap();
        let private_b64 = plain.split(',').next().unwrap().to_string();
        let private = b64.decode(&private_b64).unwrap();
        let seed32 = &private[4..36];
        needles.extend([
            private_b64,
            hex::encode(&private),
            hex::encode(seed32),
            hex::encode_upper(seed32),
            b64.encode(seed32),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(seed32),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed32),
            bs58::encode(seed32).into_string(),
            bs58::encode(&private).into_string(),
        ]);
    }
    assert_eq!(needles.len(), 9 * 10);
    // Mina staking keys: private keys (EK…, raw scalar in hex/base58/base64), key file
    // passwords and ciphertexts.
    let mut scalars = Vec::new();
    for k in mina_keys(&secrets) {
        let key = chainfleet::keys::mina_key::MinaKey::from_private_key_base58(
            k["private_key"].as_str().unwrap(),
        )
        .unwrap();
        let raw = key.private_bytes();
        let file = &secret[k["key_file"].as_str().unwrap()];
        let box_json: serde_json::Value = serde_json::from_slice(file).unwrap();
        needles.extend([
            key.private_key_base58(),
            k["password"].as_str().unwrap().to_string(),
            box_json["ciphertext"].as_str().unwrap().to_string(),
            hex::encode(&raw[1..]),
            hex::encode_upper(&raw[1..]),
            b64.encode(&raw[1..]),
            bs58::encode(&raw[1..]).into_string(),
        ]);
        scalars.push(raw[1..].to_vec());
    }
    assert_eq!(scalars.len(), 6);
    // The archive node's PostgreSQL password.
    for (path, bytes) in secret
        .iter()
        .filter(|(p, _)| p.ends_with("postgres-password"))
    {
        needles.push(String::from_utf8(bytes.clone()).unwrap());
        assert!(path.starts_with("nodes/archive-0/"), "{path}");
    }
    assert_eq!(needles.len(), 9 * 10 + 6 * 7 + 1);
    // The public keys are public: the ledger and the coordinator's daemon.json name them.
    let config = String::from_utf8(public["genesis.json"].clone()).unwrap();
    assert!(config.contains("B62q"));
    assert!(!config.contains("\"sk\""));
    needles.push(seed_hex());
    assert_absent(&public, &needles);
    for (path, bytes) in &public {
        for raw in &scalars {
            assert!(
                !bytes.windows(32).any(|w| w == raw.as_slice()),
                "raw staking key in {path}"
            );
        }
    }
    // Raw bytes too, for binary-safe certainty.
    for (path, bytes) in &public {
        for (_, s) in secret.iter().filter(|(p, _)| p.ends_with("libp2p-key")) {
            let file = String::from_utf8(s.clone()).unwrap();
            let plain = chainfleet::chain::mina::open_secret_box(&file, b"").unwrap();
            let private = b64
                .decode(String::from_utf8(plain).unwrap().split(',').next().unwrap())
                .unwrap();
            assert!(
                !bytes.windows(32).any(|w| w == &private[4..36]),
                "raw key bytes in {path}"
            );
        }
    }
}

// ---------------------------------------------------------------- Komodo

fn conf_values(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once('=').unwrap();
        m.entry(k.into()).or_default().push(v.into());
    }
    m
}

#[test]
fn komodo_confs_are_secrets_with_the_right_ports_and_mode() {
    let net = load("komodo-notary.yaml");
    let (_d, _out, secrets) = common::generate_example("komodo-notary.yaml");
    assert_eq!(net.chain.assetchains.len(), 3);
    for ac in &net.chain.assetchains {
        let path = secrets.join(format!("assetchains/{0}/{0}.conf", ac.name));
        let text = std::fs::read_to_string(&path).unwrap();
        let c = conf_values(&text);
        assert_eq!(c["rpcport"], [ac.rpc_port.to_string()]);
        assert_eq!(c["server"], ["1"]);
        assert_eq!(c["txindex"], ["1"]);
        assert_eq!(c["rpcworkqueue"], ["64"]);
        // Loopback, the compose subnet, the AWS VPC and Kubernetes' private ranges.
        assert_eq!(
            c["rpcallowip"],
            [
                "127.0.0.1",
                "172.29.0.0/24",
                "10.70.0.0/16",
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16"
            ]
        );
        let user = &c["rpcuser"][0];
        assert!(user.starts_with("user") && user.len() == 12, "{user}");
        let pass = &c["rpcpassword"][0];
        assert_eq!(pass.len(), 64);
        assert!(pass.chars().all(|ch| ch.is_ascii_hexdigit()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    // Distinct credentials per assetchain.
    let a = chain::build(&net, &seed()).unwrap();
    let passwords: std::collections::BTreeSet<String> = a
        .secrets
        .iter()
        .filter(|(path, _)| path.ends_with(".conf"))
        .map(|(_, f)| conf_values(std::str::from_utf8(&f.bytes).unwrap())["rpcpassword"][0].clone())
        .collect();
    assert_eq!(passwords.len(), 3);
}

#[test]
fn komodo_nodes_receive_the_confs_they_need() {
    let net = load("komodo-notary.yaml");
    let a = chain::build(&net, &seed()).unwrap();
    for node in &net.nodes {
        let keys: Vec<(&str, &str)> = a.nodes[&node.name]
            .secret_files
            .iter()
            .map(|f| (f.key.as_str(), f.home_path.as_str()))
            .collect();
        // Every group runs every assetchain in this example; notaries get all of them anyway,
        // and their own passphrase and pubkey.
        let mut want = vec![
            ("ac_beer_conf", "BEER/BEER.conf"),
            ("ac_pizza_conf", "PIZZA/PIZZA.conf"),
            ("ac_revs_conf", "REVS/REVS.conf"),
        ];
        if node.role == Role::Notary {
            want.extend([
                ("notary_passphrase", "iguana/passphrase.txt"),
                ("notary_pubkey", "iguana/pubkey.txt"),
            ]);
        }
        assert_eq!(keys, want, "{}", node.name);
        for f in &a.nodes[&node.name].secret_files {
            assert!(
                a.secrets.contains_key(&f.source),
                "{} is not in the secrets tree",
                f.source
            );
        }
    }
}

#[test]
fn komodo_launch_runs_every_assetchain_with_its_peers() {
    let net = load("komodo-notary.yaml");
    let a = chain::build(&net, &seed()).unwrap();
    for settings in [container_settings, local_settings] {
        for node in &net.nodes {
            let s = settings(&net, &a, node);
            let l = &s;
            assert_eq!(s.program, "bash");
            if node.role == Role::Notary {
                assert_eq!(l.args[0], format!("{}/chainfleet/iguana-run.sh", s.home));
                // iguana reaches every assetchain on the seed, by URL.
                let seed = net.node("seed-0").unwrap();
                for ac in &net.chain.assetchains {
                    let (p2p, rpc) = assetchain_port_names(&ac.name);
                    let host = if s.bind_host == "127.0.0.1" {
                        "127.0.0.1".to_string()
                    } else {
                        format!("seed-0.{}.svc", net.name)
                    };
                    let port = |n: &str| {
                        let p = seed.port(n).unwrap();
                        if s.bind_host == "127.0.0.1" {
                            p.local
                        } else {
                            p.container
                        }
                    };
                    let want = format!(
                        "{}={host}:{}:{}:{}/{}.conf",
                        ac.name,
                        port(&rpc),
                        port(&p2p),
                        ac.name,
                        ac.name
                    );
                    assert!(l.args.contains(&want), "missing {want}: {:?}", l.args);
                }
                assert_eq!(l.args.iter().filter(|x| *x == "--assetchain").count(), 3);
                assert_eq!(l.args[l.args.len() - 2..], ["iguana", "notaries.json"]);
                continue;
            }
            assert_eq!(l.args[0], format!("{}/chainfleet/komodo-run.sh", s.home));
            assert!(a
                .public
                .contains_key(&format!("nodes/{}/chainfleet/komodo-run.sh", node.name)));
            for ac in &net.chain.assetchains {
                let (p2p, rpc) = assetchain_port_names(&ac.name);
                assert!(l.args.contains(&format!("-ac_name={}", ac.name)));
                assert!(l.args.contains(&format!("-ac_supply={}", ac.supply)));
                assert!(l.args.contains(&format!("-port={}", s.ports[&p2p])));
                assert!(l.args.contains(&format!("-rpcport={}", s.ports[&rpc])));
                assert!(l
                    .args
                    .contains(&format!("-conf={0}/{1}/{1}.conf", s.home, ac.name)));
                for peer in node.peers.seeds.iter().chain(&node.peers.persistent) {
                    let p = net.node(peer).unwrap();
                    let (host, port) = if s.bind_host == "127.0.0.1" {
                        ("127.0.0.1".to_string(), p.port(&p2p).unwrap().local)
                    } else {
                        (
                            format!("{}.{}.svc", p.name, net.name),
                            p.port(&p2p).unwrap().container,
                        )
                    };
                    let want = format!("-addnode={host}:{port}");
                    assert!(l.args.contains(&want), "{}: missing {want}", node.name);
                }
            }
            // Nothing of the KMD chain: no komodod listens on 7770/7771 here.
            assert!(!l
                .args
                .iter()
                .any(|x| x.ends_with("=7770") || x.ends_with("=7771")));
            assert!(l.args.contains(&"-ac_reward=10000".to_string()));
            assert_eq!(l.args.iter().filter(|x| *x == "--").count(), 2);
            assert_eq!(l.args.iter().filter(|x| *x == "komodod").count(), 3);
        }
    }
    // Local ports of different nodes never collide.
    let mut seen = std::collections::BTreeSet::new();
    for node in net.nodes.iter().filter(|n| n.role != Role::Notary) {
        let l = local_settings(&net, &a, node);
        for arg in &l.args {
            if let Some(p) = arg
                .strip_prefix("-port=")
                .or_else(|| arg.strip_prefix("-rpcport="))
            {
                assert!(seen.insert(p.to_string()), "port {p} used twice");
            }
        }
    }
}

#[test]
fn komodo_public_output_holds_no_rpc_password() {
    let (_d, out, secrets) = common::generate_example("komodo-notary.yaml");
    let public = read_tree(&out);
    let mut needles = vec![seed_hex()];
    for (path, bytes) in read_tree(&secrets) {
        if path.ends_with(".conf") {
            let c = conf_values(std::str::from_utf8(&bytes).unwrap());
            needles.push(c["rpcpassword"][0].clone());
            needles.push(c["rpcuser"][0].clone());
        }
        if path.ends_with("passphrase.txt") {
            let text = String::from_utf8(bytes.clone()).unwrap();
            needles.push(text.trim().trim_start_matches("passphrase=").to_string());
        }
    }
    assert_eq!(needles.len(), 8);
    assert_absent(&public, &needles);
}

#[test]
fn komodo_scripts_pass_shellcheck_and_work() {
    let (_d, out, _s) = common::generate_example("komodo-notary.yaml");
    let scripts: Vec<_> = common::files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sh") && p.starts_with("nodes"))
        .collect();
    assert_eq!(scripts.len(), 4, "{scripts:?}");
    if let Some(shellcheck) = common::tool("SHELLCHECK") {
        let o = common::run(
            std::process::Command::new(&shellcheck).args(scripts.iter().map(|p| out.join(p))),
        );
        common::assert_ok(&o, "shellcheck");
    }
    use std::os::unix::fs::PermissionsExt;
    for p in &scripts {
        let mode = std::fs::metadata(out.join(p)).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{} is not executable", p.display());
    }

    // komodo-run.sh: starts every command, exits with the first one's failure.
    let run = out.join("nodes/chain-0/chainfleet/komodo-run.sh");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let o = common::run(std::process::Command::new("bash").arg(&run).args([
        "sh",
        "-c",
        &format!("echo a >> {}; sleep 30", marker.display()),
        "--",
        "sh",
        "-c",
        &format!("echo b >> {}; sleep 1; exit 7", marker.display()),
    ]));
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    let started = std::fs::read_to_string(&marker).unwrap();
    assert!(started.contains('a') && started.contains('b'));

    // iguana-run.sh refuses to start without the notary's secrets or a coin's credentials
    // (the whole procedure runs in tests/komodo_real.rs).
    let run = out.join("nodes/notary-0/chainfleet/iguana-run.sh");
    let home = dir.path().join("home");
    let args = || {
        let mut c = std::process::Command::new("bash");
        c.arg(&run).arg(&home).args([
            "--rpc-port",
            "7776",
            "--dpow-port",
            "7775",
            "--assetchain",
            "BEER=10.0.0.5:8923:8922:BEER/BEER.conf",
            "--",
            "true",
        ]);
        c
    };
    let o = common::run(&mut args());
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("notary_passphrase secret was not installed"),
        "{o:?}"
    );
    std::fs::create_dir_all(home.join("iguana")).unwrap();
    std::fs::write(home.join("iguana/passphrase.txt"), "passphrase=x\n").unwrap();
    std::fs::write(
        home.join("iguana/pubkey.txt"),
        format!("pubkey=02{}\n", "ab".repeat(32)),
    )
    .unwrap();
    let o = common::run(&mut args());
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("BEER/BEER.conf is missing"),
        "{o:?}"
    );
}

// ---------------------------------------------------------------- snapshots

fn snapshot_text(example: &str) -> String {
    let net = load(example);
    let (_d, out, _s) = common::generate_example(example);
    let a = chain::build(&net, &seed()).unwrap();
    let mut s = String::new();
    for (path, bytes) in read_tree(&out) {
        // Only the chain layer's files: targets (and the README and lock file) belong to
        // other layers and have their own snapshots.
        if !a.public.contains_key(&path) {
            continue;
        }
        s.push_str(&format!(
            "==> {path}\n{}\n",
            String::from_utf8_lossy(&bytes)
        ));
    }
    s.push_str("==> secret files per node (key -> home path <- secrets tree)\n");
    for (name, na) in &a.nodes {
        for f in &na.secret_files {
            s.push_str(&format!(
                "{name}: {} -> {} <- {}\n",
                f.key, f.home_path, f.source
            ));
        }
    }
    s.push_str("==> launch (container target)\n");
    for node in &net.nodes {
        s.push_str(&launch_line(node, &container_settings(&net, &a, node)));
        s.push('\n');
    }
    s
}

#[test]
fn mina_public_files_snapshot() {
    insta::assert_snapshot!("mina_public", snapshot_text("mina-testnet.yaml"));
}

#[test]
fn komodo_public_files_snapshot() {
    insta::assert_snapshot!("komodo_public", snapshot_text("komodo-notary.yaml"));
}

#[test]
fn the_secret_scan_catches_a_planted_secret() {
    let mut public = BTreeMap::new();
    public.insert(
        "x.txt".to_string(),
        b"rpcpassword=0123456789abcdef".to_vec(),
    );
    let caught = std::panic::catch_unwind(|| assert_absent(&public, &["0123456789abcdef".into()]));
    assert!(
        caught.is_err(),
        "the scan must fail when a secret is present"
    );
}
