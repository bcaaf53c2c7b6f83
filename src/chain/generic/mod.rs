//! Generic chains: chainfleet places nodes, ports and peers; there is no key or genesis
//! format to prepare, so peers are plain `host:port` addresses.

use super::{Artifacts, NodeArtifacts};
use crate::diag::Diagnostics;
use crate::keys::Seed;
use crate::model::Network;

/// Artifacts of a generic network: an entry per node, no files.
pub fn build(net: &Network, _seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut a = Artifacts::default();
    for node in &net.nodes {
        a.nodes.insert(node.name.clone(), NodeArtifacts::default());
    }
    Ok(a)
}

/// Launch command: the group's `command` for custom nodes, else none beyond the binary.
pub fn launch(
    net: &Network,
    node: &crate::model::Node,
    _s: &super::RuntimeSettings,
) -> super::Launch {
    let args = net
        .group(&node.group)
        .map(|g| g.command.clone())
        .unwrap_or_default();
    super::Launch {
        args,
        env: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{PeerLists, RuntimeSettings};

    fn network() -> Network {
        let yaml = r#"
name: gen-net
chain: { family: generic, chain_id: gen-1, binary: gethd, image: "example/gethd:1.0" }
groups:
  - { name: node, role: full, count: 2 }
  - { name: tool, role: custom, command: [run, --fast] }
targets:
  local: { base_port: 40000 }
"#;
        crate::validate("gen.yaml", yaml.as_bytes(), std::path::Path::new("."))
            .expect("valid spec")
            .network
    }

    #[test]
    fn every_node_gets_an_entry_and_custom_nodes_their_command() {
        let net = network();
        let a = build(&net, &Seed::from_bytes([1; 32])).unwrap();
        assert_eq!(a.nodes.len(), net.nodes.len());
        assert!(a.public.is_empty() && a.secrets.is_empty());
        let s = RuntimeSettings {
            home: "/data".into(),
            bind_host: "0.0.0.0".into(),
            ports: Default::default(),
            peers: PeerLists::default(),
            external_address: None,
        };
        let tool = net.nodes.iter().find(|n| n.group == "tool").unwrap();
        assert_eq!(launch(&net, tool, &s).args, ["run", "--fast"]);
        let full = net.nodes.iter().find(|n| n.group == "node").unwrap();
        assert!(launch(&net, full, &s).args.is_empty());
    }
}
