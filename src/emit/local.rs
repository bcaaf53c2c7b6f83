//! The `local` target: `local/run.sh` and `local/stop.sh`, which run every node as a plain
//! process on 127.0.0.1 (ports from `Port::local`), each with its own home, log and pid file
//! under a run folder, installing public files from the generated tree and private files from
//! the secrets tree at start. No Docker, only the chain binary.

use serde::Serialize;

use super::quote::sh_quote;
use super::{templates, Context, FileEntry, FileSet};
use crate::chain::{family, process, PeerHost, TargetRuntime, Text};
use crate::model::{Network, Node, Port};

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
    /// The program, as a shell word (`"$binary"` for the chain binary).
    program: String,
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

/// How the local launcher runs nodes: plain processes on 127.0.0.1, each with its own
/// ports (`Port::local`) and a home that `run.sh` creates.
pub struct LocalRuntime;

impl TargetRuntime for LocalRuntime {
    fn home(&self, _net: &Network) -> Text {
        Text::expr("\"$home\"")
    }
    fn binary(&self, _net: &Network) -> Text {
        Text::expr("\"$binary\"")
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
    /// Every node runs on this host and dials 127.0.0.1.
    fn source_cidr(&self, _net: &Network, _node: &Node) -> Option<Text> {
        Some(Text::lit("127.0.0.1/32"))
    }
    fn in_image(&self) -> bool {
        false
    }
}

/// One shell word: literal runs quoted, the launcher's variables (`"$home"`) as they are.
fn sh_word(t: &Text) -> String {
    if t.is_empty() {
        return sh_quote("");
    }
    t.render(&|s| sh_quote(s), &|e| e.to_string(), &|_, body| body)
}

fn node_view(cx: &Context<'_>, node: &Node) -> NodeView {
    let proc = process(cx.net, cx.artifacts, node, &LocalRuntime);
    NodeView {
        name: node.name.clone(),
        files: proc.home_files.clone(),
        secrets: proc
            .secret_files
            .iter()
            .map(|s| Secret {
                source: sh_quote(&s.source),
                home_path: sh_quote(&s.home_path),
            })
            .collect(),
        env: proc
            .env
            .iter()
            .map(|(k, v)| sh_word(&Text::lit(format!("{k}=")).then(v.clone())))
            .collect(),
        program: sh_word(&proc.program),
        args: proc.args.iter().map(sh_word).collect(),
        ports: {
            let mut ports: Vec<String> = node
                .ports
                .iter()
                .map(|p| format!("{}={}", p.name, p.local))
                .collect();
            ports.sort();
            ports.join(" ")
        },
    }
}

/// Render `local/run.sh`, `local/stop.sh` and `local/.gitignore`.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let genesis = cx
        .artifacts
        .public
        .contains_key("genesis.json")
        .then(|| family(net.chain.family).genesis_home_path());
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
        let home = Text::expr("\"$home\"");
        assert_eq!(sh_word(&home), "\"$home\"");
        assert_eq!(
            sh_word(&home.clone().then("/config x")),
            "\"$home\"'/config x'"
        );
        assert_eq!(
            sh_word(&Text::lit("--home=").then(home)),
            "--home=\"$home\""
        );
    }

    #[test]
    fn run_sh_carries_the_group_env_and_the_binary_variable() {
        let yaml = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\ngroups:\n  - { name: validator, role: validator, count: 2, env: { GOGC: \"50 percent\" } }\ntargets:\n  local: { base_port: 42000 }\n";
        let net = crate::test_network(yaml);
        let a = crate::chain::build(&net, &crate::keys::Seed::from_bytes([7; 32])).unwrap();
        let cx = Context {
            net: &net,
            artifacts: &a,
            targets: &[],
            secrets_rel: "../s",
        };
        let run = String::from_utf8(emit(&cx).unwrap()["local/run.sh"].bytes.clone()).unwrap();
        assert_eq!(run.matches("'GOGC=50 percent'").count(), 2, "{run}");
        assert!(run.contains("\"$binary\" start --home \"$home\""), "{run}");
        assert!(run.contains("CMT_P2P_ALLOW_DUPLICATE_IP=true"));
    }
}
