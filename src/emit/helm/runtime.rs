//! How the chart runs nodes (`TargetRuntime`): homes on the data volume, peers dialled at
//! names and ports the chart's helpers choose at install time, and the Helm spelling of a
//! node's deploy-time values.

use std::collections::BTreeSet;

use super::{raw, POD_HOME, SECRETS_DIR};
use crate::chain::{PeerHost, TargetRuntime, Text};
use crate::model::{Exposure, Network, Node, Port};

/// True for validators behind sentries: never exposed, dialed only where the release runs them.
pub(super) fn is_hidden(net: &Network, node: &Node) -> bool {
    net.group(&node.group).is_some_and(|g| g.behind.is_some())
}

/// Nodes some node in another region dials: their p2p must be reachable from outside. Hidden
/// validators are not: they dial their remote sentries themselves (links are two-way).
fn dialed_across_regions(net: &Network) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for n in &net.nodes {
        for p in n.peers.persistent.iter().chain(&n.peers.seeds) {
            if net
                .node(p)
                .is_some_and(|peer| peer.region != n.region && !is_hidden(net, peer))
            {
                out.insert(p.clone());
            }
        }
    }
    out
}

/// The Helm condition under which this release runs `peer`.
fn runs_here(peer: &Node) -> String {
    format!("(index $.Values.nodes {}).enabled", raw(&peer.name))
}

/// How the chart runs nodes: one pod per node with its home on the data volume, peers dialled
/// at names the chart's helpers choose at install time.
pub struct HelmRuntime {
    /// Nodes some node in another region dials (their p2p must be public).
    across: BTreeSet<String>,
}

impl HelmRuntime {
    /// The runtime of `net`'s chart.
    pub fn new(net: &Network) -> HelmRuntime {
        HelmRuntime {
            across: dialed_across_regions(net),
        }
    }

    /// True when `node`'s p2p port is published on its public Service: it is public, or a
    /// node in another region dials it.
    pub(super) fn public_p2p(&self, node: &Node) -> bool {
        node.port("p2p")
            .is_some_and(|p| p.exposure == Exposure::Public || self.across.contains(&node.name))
    }
}

/// The NodePort a node's public p2p port is published on under `service.type: NodePort`: the
/// port peers in other clusters dial. Deterministic (network name and node index), inside
/// Kubernetes' default NodePort range 30000–32767; overridable per node in values.
pub(super) fn p2p_node_port(net: &Network, node: &Node) -> u16 {
    use sha2::Digest;
    const FIRST: u32 = 30000;
    const SPAN: u32 = 32768 - FIRST;
    let h = sha2::Sha256::digest(net.name.as_bytes());
    let base = u32::from(u16::from_be_bytes([h[0], h[1]])) % SPAN;
    (FIRST + (base + node.index as u32 % SPAN) % SPAN) as u16
}

impl TargetRuntime for HelmRuntime {
    fn home(&self, _net: &Network) -> Text {
        Text::lit(POD_HOME)
    }
    /// A peer running in this release is dialled at its pod name, another cluster's at its
    /// public host; another cluster's hidden validator only when this release runs it (it
    /// has no public address; CometBFT skips empty list entries).
    fn peer_host(&self, net: &Network, _from: &Node, peer: &Node) -> PeerHost {
        let host = Text::expr(format!(
            "{{{{ include {} (list $ {} {} {}) }}}}",
            raw("chainfleet.peerHost"),
            raw(&peer.name),
            raw(&peer.group),
            raw(&peer.region)
        ));
        if is_hidden(net, peer) {
            PeerHost::When {
                condition: runs_here(peer),
                host,
            }
        } else {
            PeerHost::At(host)
        }
    }
    /// A peer whose p2p is published (another cluster may run it) is dialled at the port
    /// the chart's helper picks at install time: its NodePort when another cluster runs it
    /// behind a NodePort Service, else the container port.
    fn peer_port(&self, _net: &Network, _from: &Node, peer: &Node, port: &Port) -> Text {
        if self.public_p2p(peer) {
            Text::expr(format!(
                "{{{{ include {} (list $ {} {}) }}}}",
                raw("chainfleet.peerPort"),
                raw(&peer.name),
                port.container
            ))
        } else {
            Text::lit(port.container.to_string())
        }
    }
    fn external_address(&self, _net: &Network, node: &Node) -> Option<Text> {
        let p = node.port("p2p")?;
        let public = self.public_p2p(node);
        let host = Text::expr(format!(
            "{{{{ include {} (list $ {} {} {} {}) }}}}",
            raw("chainfleet.externalHost"),
            raw(&node.name),
            raw(&node.group),
            raw(&node.region),
            if public { "true" } else { "false" },
        ));
        // A public node advertises the port other clusters reach it at (its NodePort under
        // service.type NodePort), the same one they dial.
        let port = if public {
            Text::expr(format!(
                "{{{{ include {} (list $ {} {} {}) }}}}",
                raw("chainfleet.externalPort"),
                raw(&node.name),
                raw(&node.region),
                p.container
            ))
        } else {
            Text::lit(p.container.to_string())
        };
        Some(host.then(":").then(port))
    }
    fn names_home(&self) -> bool {
        true
    }
    fn spans_regions(&self) -> bool {
        true
    }
    /// Pod addresses change with every restart: the cluster's pod ranges (`podCidrs` in
    /// values; the private ranges by default, as Mina's own charts trust `10.0.0.0/8`).
    fn source_cidr(&self, _net: &Network, _node: &Node) -> Option<Text> {
        Some(Text::expr(format!(
            "{{{{ join {} $.Values.podCidrs }}}}",
            raw(",")
        )))
    }
    fn dials_by_name(&self) -> bool {
        true
    }
    fn secrets_dir(&self) -> Option<&'static str> {
        Some(SECRETS_DIR)
    }
    /// Pods run as a user without a passwd entry on a read-only root; `/tmp` is the pod's
    /// writable scratch volume (simd panicked creating `/.simapp` on a real cluster).
    fn scratch_home(&self) -> Option<&'static str> {
        Some("/tmp")
    }
}

/// Literal text for a Helm template: `{` is spelled as an action where Go's template engine
/// could otherwise read `{{`, so spec values reach the pod verbatim.
pub(super) fn helm_literal(s: &str) -> String {
    if s.contains("{{") || s.ends_with('{') {
        s.replace('{', "{{`{`}}")
    } else {
        s.to_string()
    }
}

/// A process text as Helm template text (before YAML quoting).
pub(super) fn helm_text(t: &Text) -> String {
    t.render(&helm_literal, &|e| e.to_string(), &|c, body| {
        format!("{{{{ if {c} }}}}{body}{{{{ end }}}}")
    })
}
