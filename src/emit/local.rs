//! The `local` target: `local/run.sh` and `local/stop.sh`, which run every node as a plain
//! process on 127.0.0.1 (ports from `Port::local`), each with its own home, log and pid file
//! under a run folder, installing public files from the generated tree and private files from
//! the secrets tree at start. No Docker, only the chain binary.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{templates, Context, FileEntry, FileSet};
use crate::chain::{self, Endpoint, RuntimeSettings};
use crate::model::{Family, Network, Node};

/// Stands for the node's home in launch arguments; the script substitutes `"$home"`
/// because the run folder is only known when it runs.
const HOME: &str = "\u{1}CHAINFLEET_HOME\u{1}";

#[derive(Serialize)]
struct Secret {
    source: String,
    home_path: String,
}

#[derive(Serialize)]
struct NodeView {
    name: String,
    /// Public files relative to `nodes/<node>/` (and to its home).
    files: Vec<String>,
    secrets: Vec<Secret>,
    /// `NAME=value` words for `env`, shell-quoted.
    env: Vec<String>,
    /// Launch arguments, shell-quoted.
    args: Vec<String>,
    /// `name=port` pairs, for the start message.
    ports: String,
}

#[derive(Serialize)]
struct View {
    network: String,
    binary: String,
    secrets_rel: String,
    genesis: Option<&'static str>,
    nodes: Vec<NodeView>,
    all_nodes: String,
}

/// Quote `s` as one POSIX shell word.
pub fn sh_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Quote `s` as one shell word, with every `HOME` marker replaced by `"$home"`.
fn sh_word(s: &str) -> String {
    if !s.contains(HOME) {
        return sh_quote(s);
    }
    s.split(HOME)
        .enumerate()
        .map(|(i, part)| {
            let head = if i == 0 { "" } else { "\"$home\"" };
            let tail = if part.is_empty() {
                String::new()
            } else {
                sh_quote(part)
            };
            format!("{head}{tail}")
        })
        .collect()
}

/// Where the family's nodes read the shared genesis file, relative to their home.
fn genesis_home_path(family: Family) -> Option<&'static str> {
    match family {
        Family::Cosmos | Family::Cometbft => Some("config/genesis.json"),
        // Mina: the runtime config (genesis ledger) every daemon reads with `--config-file`.
        Family::Mina => Some(crate::chain::mina_ledger::RUNTIME_CONFIG),
        _ => None,
    }
}

fn local_endpoint(peer: &Node) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: peer.port("p2p").map_or(0, |p| p.local),
    }
}

/// Settings every local CometBFT-based node needs on top of its launch command, as
/// environment overrides (CometBFT and Cosmos SDK apps read `<PREFIX>_<SECTION>_<KEY>`):
/// all peers share 127.0.0.1, which CometBFT rejects as duplicates and the strict address
/// book refuses; and listeners that `launch` leaves to the config files (API, gRPC, metrics,
/// pprof) would collide between nodes on one host.
fn cometbft_local_env(net: &Network, node: &Node) -> BTreeMap<String, String> {
    let prefix = chain::cometbft::env_prefix(net);
    let mut env = BTreeMap::new();
    let mut set = |key: &str, value: String| {
        env.insert(format!("{prefix}_{key}"), value);
    };
    set("P2P_ALLOW_DUPLICATE_IP", "true".into());
    set("P2P_ADDR_BOOK_STRICT", "false".into());
    for p in &node.ports {
        let addr = format!("127.0.0.1:{}", p.local);
        match p.name.as_str() {
            "metrics" => set("INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR", addr),
            "pprof" => set("RPC_PPROF_LADDR", addr),
            "api" if net.chain.family == Family::Cosmos => {
                set("API_ADDRESS", format!("tcp://{addr}"))
            }
            "grpc" if net.chain.family == Family::Cosmos => set("GRPC_ADDRESS", addr),
            _ => {}
        }
    }
    env
}

/// The flag spelling of a `<PREFIX>_SECTION_KEY` override (`--api.address`), to skip
/// overrides `launch` already passes as flags.
fn flag_of(prefix: &str, key: &str) -> String {
    let rest = key
        .strip_prefix(prefix)
        .unwrap_or(key)
        .trim_start_matches('_');
    let lower = rest.to_lowercase();
    match lower.split_once('_') {
        Some((section, k)) => format!("--{section}.{k}"),
        None => format!("--{lower}"),
    }
}

fn node_view(cx: &Context<'_>, node: &Node) -> NodeView {
    let net = cx.net;
    let art = cx
        .artifacts
        .nodes
        .get(&node.name)
        .cloned()
        .unwrap_or_default();
    let ports: BTreeMap<String, u16> = node
        .ports
        .iter()
        .map(|p| (p.name.clone(), p.local))
        .collect();
    let settings = RuntimeSettings {
        home: HOME.into(),
        bind_host: "127.0.0.1".into(),
        ports: ports.clone(),
        peers: chain::peer_lists(net, cx.artifacts, node, &local_endpoint),
        external_address: node.port("p2p").map(|p| format!("127.0.0.1:{}", p.local)),
    };
    let launch = chain::launch(net, node, &settings);
    let mut env = launch.env.clone();
    if matches!(net.chain.family, Family::Cosmos | Family::Cometbft) {
        let prefix = chain::cometbft::env_prefix(net);
        for (k, v) in cometbft_local_env(net, node) {
            let flag = flag_of(&prefix, &k);
            let has_flag = launch
                .args
                .iter()
                .any(|a| a == &flag || a.starts_with(&format!("{flag}=")));
            if !has_flag {
                env.entry(k).or_insert(v);
            }
        }
    }
    NodeView {
        name: node.name.clone(),
        files: art.home_files.clone(),
        secrets: art
            .secret_files
            .iter()
            .map(|s| Secret {
                source: sh_quote(&s.source),
                home_path: sh_quote(&s.home_path),
            })
            .collect(),
        env: env
            .iter()
            .map(|(k, v)| sh_word(&format!("{k}={v}")))
            .collect(),
        args: launch.args.iter().map(|a| sh_word(a)).collect(),
        ports: ports
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Render `local/run.sh`, `local/stop.sh` and `local/.gitignore`.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let genesis = genesis_home_path(net.chain.family)
        .filter(|_| cx.artifacts.public.contains_key("genesis.json"));
    let view = View {
        network: net.name.clone(),
        binary: sh_quote(&net.chain.binary),
        secrets_rel: sh_quote(cx.secrets_rel),
        genesis,
        nodes: net.nodes.iter().map(|n| node_view(cx, n)).collect(),
        all_nodes: net
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut out = FileSet::new();
    out.insert(
        "local/run.sh".into(),
        FileEntry::script(templates::render("local/run.sh.j2", &view)?),
    );
    out.insert(
        "local/stop.sh".into(),
        FileEntry::script(templates::render("local/stop.sh.j2", &view)?),
    );
    // The run folder holds node state and keys: never commit it.
    out.insert("local/.gitignore".into(), FileEntry::text("/.run/\n"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("tcp://127.0.0.1:26656"), "tcp://127.0.0.1:26656");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(sh_word(HOME), "\"$home\"");
        assert_eq!(sh_word(&format!("{HOME}/config x")), "\"$home\"'/config x'");
        assert_eq!(sh_word(&format!("--home={HOME}")), "--home=\"$home\"");
    }

    #[test]
    fn flags_of_overrides() {
        assert_eq!(flag_of("SIMD", "SIMD_API_ADDRESS"), "--api.address");
        assert_eq!(flag_of("CMT", "CMT_RPC_PPROF_LADDR"), "--rpc.pprof_laddr");
    }
}
