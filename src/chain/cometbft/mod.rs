//! Bare CometBFT networks (e.g. the built-in kvstore app): node keys, validator keys, the
//! genesis validator list and per-node `config.toml`. Shared CometBFT pieces live here too
//! (key files, consensus params, canonical JSON, `config.toml` rendering, the start command),
//! because Cosmos SDK nodes embed CometBFT and use all of them.
//!
//! File placement: `node_key.json` and `priv_validator_key.json` are secrets
//! (`nodes/<n>/config/…` in the secrets tree). `priv_validator_state.json` is public and sits
//! in the public tree at `nodes/<n>/data/priv_validator_state.json`: it holds no secret, only
//! the initial "nothing signed yet" state, and the node must be able to write it (double-sign
//! protection), so targets copy it into the node's writable data directory on first start
//! and never overwrite it afterwards.

pub mod tomledit;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use base64::Engine;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::family::{ChainFamily, Healthy, Launch, Metrics, Probe};
use super::runtime::{Peers, Runtime};
use super::text::Text;
use super::{Artifacts, NodeArtifacts, SecretFile};
use crate::diag::{Diagnostic, Diagnostics};
use crate::files::FileEntry;
use crate::keys::{Ed25519, Seed};
use crate::model::{Family, Network, Node};

/// `config.toml` as CometBFT v0.38 `init` writes it (captured from `simd init`, whose
/// CometBFT writes the same template).
const CONFIG_TOML: &str = include_str!("../../../templates/cosmos/cometbft-0.38/config.toml");
/// Consensus params as `simd init` (SDK v0.50, CometBFT v0.38) writes them.
const CONSENSUS_PARAMS: &str =
    include_str!("../../../templates/cosmos/sdk-0.50/consensus_params.json");

static CONFIG: LazyLock<tomledit::Template> =
    LazyLock::new(|| tomledit::Template::parse(CONFIG_TOML));

/// Text of `priv_validator_state.json` before the first block (cometbft's own test fixture).
pub const PRIV_VALIDATOR_STATE: &str =
    "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}\n";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The p2p identity key of `node`.
pub fn node_key(net: &Network, seed: &Seed, node: &Node) -> Ed25519 {
    Ed25519::from_seed(seed.derive(&net.name, "cometbft/node_key", &node.name))
}

/// The consensus (block-signing) key of validator `node`.
pub fn validator_key(net: &Network, seed: &Seed, node: &Node) -> Ed25519 {
    Ed25519::from_seed(seed.derive(&net.name, "cometbft/priv_validator", &node.name))
}

/// `node_key.json` as CometBFT writes it.
pub fn node_key_json(key: &Ed25519) -> String {
    let b64 = b64(&key.keypair_bytes());
    format!("{{\"priv_key\":{{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"{b64}\"}}}}\n")
}

/// Amino JSON of an Ed25519 public key.
pub fn amino_pubkey(key: &Ed25519) -> Value {
    json!({"type": "tendermint/PubKeyEd25519", "value": b64(&key.public())})
}

/// `priv_validator_key.json` as CometBFT writes it (uppercase hex address).
pub fn priv_validator_key_json(key: &Ed25519) -> String {
    let v = json!({
        "address": key.validator_address(),
        "pub_key": amino_pubkey(key),
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": b64(&key.keypair_bytes())},
    });
    canonical_json(&v)
}

/// Canonical JSON: sorted keys, 2-space indent, trailing newline (byte-stable output).
pub fn canonical_json(v: &Value) -> String {
    // serde_json's map is a BTreeMap here (no `preserve_order`), so keys come out sorted.
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}

/// The consensus params (int64 values as strings, as cmtjson requires).
pub fn consensus_params() -> Value {
    serde_json::from_str(CONSENSUS_PARAMS).expect("built-in consensus params are JSON")
}

/// Keys of one node.
pub struct NodeKeys {
    /// p2p key.
    pub node: Ed25519,
    /// Consensus key (validators only).
    pub validator: Option<Ed25519>,
}

/// Node and validator keys of every node, in node order (derived in parallel).
pub fn node_keys(net: &Network, seed: &Seed) -> Vec<NodeKeys> {
    net.nodes
        .par_iter()
        .map(|n| NodeKeys {
            node: node_key(net, seed, n),
            validator: n.is_validator().then(|| validator_key(net, seed, n)),
        })
        .collect()
}

/// Key files and per-node facts shared by both CometBFT families.
pub fn key_artifacts(net: &Network, keys: &[NodeKeys]) -> Artifacts {
    let mut a = Artifacts::default();
    for (node, k) in net.nodes.iter().zip(keys) {
        let dir = format!("nodes/{}", node.name);
        let source = format!("{dir}/config/node_key.json");
        a.secrets
            .insert(source.clone(), FileEntry::text(node_key_json(&k.node)));
        let mut na = NodeArtifacts {
            node_id: Some(k.node.node_id()),
            secret_files: vec![SecretFile {
                key: "node_key".into(),
                home_path: "config/node_key.json".into(),
                source,
            }],
            ..NodeArtifacts::default()
        };
        if let Some(v) = &k.validator {
            let source = format!("{dir}/config/priv_validator_key.json");
            a.secrets
                .insert(source.clone(), FileEntry::text(priv_validator_key_json(v)));
            na.secret_files.push(SecretFile {
                key: "priv_validator_key".into(),
                home_path: "config/priv_validator_key.json".into(),
                source,
            });
            a.public.insert(
                format!("{dir}/data/priv_validator_state.json"),
                FileEntry::text(PRIV_VALIDATOR_STATE.to_string()),
            );
            na.addresses
                .insert("consensus_pubkey".into(), b64(&v.public()));
            na.addresses
                .insert("validator_address".into(), v.validator_address());
        }
        a.nodes.insert(node.name.clone(), na);
    }
    a
}

/// The CometBFT genesis document frame (no app state).
pub fn genesis_frame(net: &Network, validators: Vec<Value>) -> serde_json::Map<String, Value> {
    let mut g = serde_json::Map::new();
    g.insert("genesis_time".into(), json!(net.chain.genesis_time));
    g.insert("chain_id".into(), json!(net.chain.chain_id));
    g.insert(
        "initial_height".into(),
        json!(net.chain.initial_height.to_string()),
    );
    g.insert("consensus_params".into(), consensus_params());
    g.insert("validators".into(), Value::Array(validators));
    g.insert("app_hash".into(), json!(""));
    g
}

fn port(node: &Node, name: &str) -> Option<u16> {
    node.port(name).map(|p| p.container)
}

fn ids(net: &Network, a: &Artifacts, names: &[String]) -> String {
    names
        .iter()
        .filter(|n| net.node(n).is_some())
        .filter_map(|n| a.nodes.get(n.as_str()).and_then(|x| x.node_id.clone()))
        .collect::<Vec<_>>()
        .join(",")
}

fn lit(v: Value) -> String {
    tomledit::literal(&v).expect("built-in values are TOML")
}

/// Turn `overrides` into TOML literals, or diagnostics naming the group and key.
pub fn override_values(
    what: &str,
    group: &str,
    overrides: &BTreeMap<String, Value>,
    values: &mut BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (k, v) in overrides {
        match tomledit::literal(v) {
            Ok(l) => {
                values.insert(k.clone(), l);
            }
            Err(e) => diags.push(
                Diagnostic::error(&format!("groups.{group}.{what}.{k}"), None, e)
                    .with_value(v.to_string())
                    .with_hint("give a string, number, boolean, array or table"),
            ),
        }
    }
    diags
}

/// `config.toml` of `node`: listeners on 0.0.0.0 at its container ports, peer-ID lists
/// (peer addresses differ per target and are passed at start), instrumentation, then the
/// group's `config` overrides. `a` must already hold every node ID.
pub fn config_toml(net: &Network, a: &Artifacts, node: &Node) -> Result<String, Vec<Diagnostic>> {
    let mut v = BTreeMap::new();
    v.insert("moniker".into(), lit(json!(node.name)));
    if net.chain.family == Family::Cometbft {
        v.insert("proxy_app".into(), lit(json!("kvstore")));
    }
    if let Some(p) = port(node, "rpc") {
        v.insert("rpc.laddr".into(), lit(json!(format!("tcp://0.0.0.0:{p}"))));
    }
    // pprof stays on loopback: it exposes process internals.
    v.insert(
        "rpc.pprof_laddr".into(),
        lit(json!(
            port(node, "pprof").map_or(String::new(), |p| format!("localhost:{p}"))
        )),
    );
    if let Some(p) = port(node, "p2p") {
        v.insert("p2p.laddr".into(), lit(json!(format!("tcp://0.0.0.0:{p}"))));
    }
    v.insert("p2p.persistent_peers".into(), lit(json!("")));
    v.insert("p2p.seeds".into(), lit(json!("")));
    v.insert("p2p.pex".into(), lit(json!(node.peers.pex)));
    v.insert("p2p.seed_mode".into(), lit(json!(node.peers.seed_mode)));
    v.insert(
        "p2p.private_peer_ids".into(),
        lit(json!(ids(net, a, &node.peers.private))),
    );
    v.insert(
        "p2p.unconditional_peer_ids".into(),
        lit(json!(ids(net, a, &node.peers.unconditional))),
    );
    v.insert("p2p.addr_book_strict".into(), lit(json!(false)));
    v.insert("p2p.allow_duplicate_ip".into(), lit(json!(true)));
    v.insert("consensus.timeout_commit".into(), lit(json!("1s")));
    v.insert("instrumentation.prometheus".into(), lit(json!(true)));
    if let Some(p) = port(node, "metrics") {
        v.insert(
            "instrumentation.prometheus_listen_addr".into(),
            lit(json!(format!(":{p}"))),
        );
    }
    if let Some(g) = net.group(&node.group) {
        let d = override_values("config", &g.name, &g.config, &mut v);
        if !d.is_empty() {
            return Err(d);
        }
    }
    Ok(CONFIG.render(&v))
}

/// Files of one node (path, text), or the problems found making them.
pub type NodeFiles = Result<Vec<(String, String)>, Vec<Diagnostic>>;

/// Render `config.toml` for every node (in parallel) into `a.public`.
pub fn add_configs(
    net: &Network,
    a: &mut Artifacts,
    extra: &(dyn Fn(&Node) -> NodeFiles + Sync),
) -> Result<(), Diagnostics> {
    let results: Vec<NodeFiles> = net
        .nodes
        .par_iter()
        .map(|n| {
            let mut files = vec![(
                format!("nodes/{}/config/config.toml", n.name),
                config_toml(net, a, n)?,
            )];
            files.extend(extra(n)?);
            Ok(files)
        })
        .collect();
    let mut diags = Diagnostics::default();
    for r in results {
        match r {
            Ok(files) => {
                for (p, text) in files {
                    a.public.insert(p, FileEntry::text(text));
                }
            }
            Err(d) => d.into_iter().for_each(|d| diags.push(d)),
        }
    }
    // One report per group and key, not one per node.
    diags.0.dedup();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}

/// Node keys, validator keys, genesis with the validator list, and `config.toml` per node.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let keys = node_keys(net, seed);
    let mut a = key_artifacts(net, &keys);
    let validators: Vec<Value> = net
        .nodes
        .iter()
        .zip(&keys)
        .filter_map(|(n, k)| {
            let v = k.validator.as_ref()?;
            Some(json!({
                "address": v.validator_address(),
                "pub_key": amino_pubkey(v),
                "power": n.power.unwrap_or(1).to_string(),
                "name": n.name,
            }))
        })
        .collect();
    let genesis = Value::Object(genesis_frame(net, validators));
    let genesis = super::cosmos::apply_patches(net, genesis)?;
    a.public.insert(
        "genesis.json".into(),
        FileEntry::text(canonical_json(&genesis)),
    );
    add_configs(net, &mut a, &|_| Ok(vec![]))?;
    Ok(a)
}

/// The environment prefix CometBFT-based binaries read overrides from: `CMT` for cometbft
/// itself, the upper-cased binary name for Cosmos SDK apps (the SDK's `SetEnvPrefix`).
pub fn env_prefix(net: &Network) -> String {
    if net.chain.family == crate::model::Family::Cometbft {
        "CMT".into()
    } else {
        net.chain.binary.to_uppercase().replace(['-', '.'], "_")
    }
}

/// The family of bare CometBFT networks (an ABCI app built into the binary, e.g. kvstore).
pub struct Cometbft;

impl ChainFamily for Cometbft {
    fn build(&self, net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
        build(net, seed)
    }
    fn launch(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
        launch(net, node, rt)
    }
    fn peer_address(&self, id: Option<&str>, host: &Text, port: &Text) -> Text {
        peer_address(id, host, port)
    }
    fn probe(&self, _net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
        probe(node, rt)
    }
    fn data_dir(&self, net: &Network) -> String {
        data_dir(net)
    }
    fn genesis_home_path(&self) -> &'static str {
        GENESIS_HOME_PATH
    }
    fn home_dirs(&self) -> &'static [&'static str] {
        &["config"]
    }
    fn metrics(&self) -> Option<Metrics> {
        Some(METRICS)
    }
    fn http_health_path(&self, port: &str) -> Option<&'static str> {
        (port == "rpc").then_some("/health")
    }
    fn failure_log_terms(&self) -> &'static [&'static str] {
        FAILURE_LOG_TERMS
    }
    /// The upstream image sets `CMTHOME=/cometbft`, which CometBFT reads before `--home`.
    fn home_env(&self, _net: &Network) -> Vec<String> {
        vec!["CMTHOME".into()]
    }
    fn external_address_env(&self, net: &Network) -> Option<String> {
        Some(format!("{}_P2P_EXTERNAL_ADDRESS", env_prefix(net)))
    }
}

/// Where CometBFT reads the genesis file, relative to its home.
pub const GENESIS_HOME_PATH: &str = "config/genesis.json";

/// CometBFT's own Prometheus metrics (namespace `cometbft`).
pub const METRICS: Metrics = Metrics {
    dialect: "cometbft",
    height: "cometbft_consensus_height",
    peers: "cometbft_p2p_peers",
    missing_validators: Some("cometbft_consensus_missing_validators"),
    memory: Some("process_resident_memory_bytes"),
    cpu_seconds: Some("process_cpu_seconds_total"),
    last_signed_height: Some("cometbft_consensus_validator_last_signed_height"),
    slots_won_and_produced: None,
};

/// Log lines of CometBFT (and the Cosmos SDK on it) that mean trouble: a halted consensus
/// (`CONSENSUS FAILURE!!!`, consensus/state.go), a signature that did not verify, a panic.
pub const FAILURE_LOG_TERMS: &[&str] = &[
    "CONSENSUS FAILURE",
    "consensus failure",
    "failed to verify",
    "panic:",
];

/// `id@host:port`.
pub fn peer_address(id: Option<&str>, host: &Text, port: &Text) -> Text {
    let head = id.map(|id| format!("{id}@")).unwrap_or_default();
    Text::lit(head)
        .then(host.clone())
        .then(":")
        .then(port.clone())
}

/// RPC `/health`, healthy when it answers and the node is not catching up.
pub fn probe(node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
    rt.port(node, "rpc").map(|port| Probe {
        port,
        http_path: Some("/health"),
        healthy: Healthy::CometbftSynced,
        rpc: None,
    })
}

/// Chain state lives in `<home>/data`, the volume every target mounts.
pub fn data_dir(net: &Network) -> String {
    format!("{}/data", net.chain.home.trim_end_matches('/'))
}

/// `start` with every listener, peers and external address for this target, so several
/// nodes can share one host. Flags carry what CometBFT v0.38 and the SDK honour as flags
/// (`--p2p.laddr`, `--rpc.laddr`, `--rpc.pprof_laddr`, `--grpc.address`, `--api.address`);
/// the Prometheus listener has no flag and the external address flag is ignored by v0.38
/// (cometbft#3460), so both go through `<PREFIX>_…` environment variables, which viper
/// applies to keys present in `config.toml`. Shared by Cosmos SDK apps.
pub fn launch(net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
    let port = |name: &str| rt.port(node, name);
    let cosmos = net.chain.family == Family::Cosmos;
    let host = rt.bind_host;
    let mut args: Vec<Text> = vec!["start".into(), "--home".into(), rt.home.clone()];
    if !cosmos {
        args.extend(["--proxy_app".into(), "kvstore".into()]);
    }
    let mut flag = |name: &str, value: String| {
        args.extend([Text::lit(name), Text::lit(value)]);
    };
    if let Some(p) = port("p2p") {
        flag("--p2p.laddr", format!("tcp://{host}:{p}"));
    }
    if let Some(p) = port("rpc") {
        flag("--rpc.laddr", format!("tcp://{host}:{p}"));
    }
    if let Some(p) = port("pprof") {
        flag("--rpc.pprof_laddr", format!("localhost:{p}"));
    }
    if cosmos {
        if let Some(p) = port("grpc") {
            flag("--grpc.address", format!("{host}:{p}"));
        }
        if let Some(p) = port("api") {
            flag("--api.address", format!("tcp://{host}:{p}"));
        }
    }
    args.extend([
        "--p2p.persistent_peers".into(),
        Text::join(Peers::addresses(&rt.peers.persistent), ","),
    ]);
    args.extend([
        "--p2p.seeds".into(),
        Text::join(Peers::addresses(&rt.peers.seeds), ","),
    ]);
    let prefix = env_prefix(net);
    let mut env = BTreeMap::new();
    let mut set = |key: &str, value: Text| {
        env.insert(format!("{prefix}_{key}"), value);
    };
    if let Some(p) = port("metrics") {
        set(
            "INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR",
            format!("{host}:{p}").into(),
        );
        if net.monitoring.prometheus {
            set("INSTRUMENTATION_PROMETHEUS", "true".into());
        }
    }
    if let Some(ext) = &rt.external_address {
        set("P2P_EXTERNAL_ADDRESS", ext.clone());
    }
    if rt.target.shares_one_address() {
        // Every peer is on 127.0.0.1: CometBFT rejects such peers as duplicates and the
        // strict address book refuses loopback addresses.
        set("P2P_ALLOW_DUPLICATE_IP", "true".into());
        set("P2P_ADDR_BOOK_STRICT", "false".into());
    }
    Launch {
        program: rt.binary.clone(),
        args,
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::runtime::{process, TargetRuntime, TestRuntime};

    fn network(example: &str) -> Network {
        let path = format!("{}/examples/{example}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        crate::validate(&path, &bytes, std::path::Path::new("."))
            .unwrap()
            .network
    }

    #[test]
    fn launch_sets_every_listener_for_one_host_runs() {
        let net = network("cosmos-devnet.yaml");
        let node = &net.nodes[0];
        let a = crate::chain::Artifacts::default();
        let rt = TestRuntime::local(40000);
        let p = process(&net, &a, node, &rt);
        let show = |t: &Text| t.literal().unwrap();
        let args: Vec<String> = p.args.iter().map(show).collect();
        let args = args.join(" ");
        let port = |name: &str| rt.port(node, node.port(name).unwrap());
        for want in [
            format!("--p2p.laddr tcp://127.0.0.1:{}", port("p2p")),
            format!("--rpc.laddr tcp://127.0.0.1:{}", port("rpc")),
            format!("--api.address tcp://127.0.0.1:{}", port("api")),
            format!("--grpc.address 127.0.0.1:{}", port("grpc")),
            format!("--rpc.pprof_laddr localhost:{}", port("pprof")),
        ] {
            assert!(args.contains(&want), "{want} missing from {args}");
        }
        assert!(!args.contains("proxy_app"));
        assert_eq!(
            show(&p.env["SIMD_INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR"]),
            format!("127.0.0.1:{}", port("metrics"))
        );
        assert_eq!(
            show(&p.env["SIMD_P2P_EXTERNAL_ADDRESS"]),
            format!("127.0.0.1:{}", port("p2p"))
        );
        assert_eq!(show(&p.env["SIMD_P2P_ALLOW_DUPLICATE_IP"]), "true");

        let net = network("cometbft-kvstore.yaml");
        let p = process(&net, &a, &net.nodes[0], &rt);
        let args: Vec<String> = p.args.iter().map(show).collect();
        let args = args.join(" ");
        assert!(args.contains("--proxy_app kvstore"));
        assert!(!args.contains("--grpc.address") && !args.contains("--api.address"));
        assert!(p
            .env
            .contains_key("CMT_INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR"));
    }

    #[test]
    fn power_uses_sdk_reduction() {
        use crate::model::voting_power;
        assert_eq!(voting_power(100_000_000), 100);
        assert_eq!(voting_power(5), 1);
    }

    #[test]
    fn genesis_power_is_the_stated_power_or_the_default_100() {
        let yaml = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\ngroups:\n  - { name: a, role: validator, count: 2, power: 7, nodes: { a-1: { power: 9 } } }\n  - { name: b, role: validator }\n  - { name: c, role: validator, stake: 3000000stake }\ntargets:\n  local: {}\n";
        let net = crate::test_network(yaml);
        let a = build(&net, &crate::keys::Seed::from_bytes([7; 32])).unwrap();
        let g: Value = serde_json::from_slice(&a.public["genesis.json"].bytes).unwrap();
        let powers: Vec<&str> = g["validators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["power"].as_str().unwrap())
            .collect();
        assert_eq!(powers, ["7", "9", "100", "3"]);
    }

    #[test]
    fn config_template_has_the_keys_we_set() {
        for k in [
            "moniker",
            "proxy_app",
            "rpc.laddr",
            "rpc.pprof_laddr",
            "p2p.laddr",
            "p2p.persistent_peers",
            "p2p.private_peer_ids",
            "p2p.unconditional_peer_ids",
            "p2p.addr_book_strict",
            "p2p.allow_duplicate_ip",
            "p2p.seed_mode",
            "p2p.pex",
            "consensus.timeout_commit",
            "instrumentation.prometheus_listen_addr",
        ] {
            let mut v = BTreeMap::new();
            v.insert(k.to_string(), "\"MARK\"".to_string());
            let out = CONFIG.render(&v);
            assert_eq!(out.matches("MARK").count(), 1, "{k}");
            assert_eq!(
                out.lines().count(),
                CONFIG_TOML.lines().count(),
                "{k} replaced in place"
            );
        }
    }
}
