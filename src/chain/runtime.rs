//! A node's complete process, computed once for every target: program, arguments, the whole
//! environment, structured peers, external address, secret files, health probe, metrics port,
//! data directory and genesis path. A target says only how it runs and reaches nodes
//! (`TargetRuntime`); emitters render the resulting `NodeProcess` and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::family::{family, Companion, Launch, Probe};
use super::text::Text;
use super::{Artifacts, SecretFile};
use crate::model::{Network, Node, Port};

/// How one target runs nodes and reaches them. Implemented once per target, in `emit`.
pub trait TargetRuntime {
    /// The node's home where its process runs (the image's home, a pod volume, a local
    /// folder only known when the launcher runs).
    fn home(&self, net: &Network) -> Text;
    /// The chain binary as the target invokes it.
    fn binary(&self, net: &Network) -> Text {
        Text::lit(net.chain.binary.clone())
    }
    /// The address every listener binds to.
    fn bind_host(&self) -> &'static str {
        "0.0.0.0"
    }
    /// The number `port` of `node` has under this target.
    fn port(&self, _node: &Node, port: &Port) -> u16 {
        port.container
    }
    /// How `from` reaches `peer` (its host), or that it cannot.
    fn peer_host(&self, net: &Network, from: &Node, peer: &Node) -> PeerHost;
    /// The port `from` dials `peer`'s `port` at: its number on this target, unless the
    /// target knows the published port only at deploy time (a Helm chart dials a peer that
    /// another cluster runs at that cluster's NodePort).
    fn peer_port(&self, _net: &Network, _from: &Node, peer: &Node, port: &Port) -> Text {
        Text::lit(self.port(peer, port).to_string())
    }
    /// The address (`host:port`) other nodes reach `node`'s p2p port at, when there is one.
    fn external_address(&self, net: &Network, node: &Node) -> Option<Text>;
    /// The address range (CIDR) `node`'s connections to other nodes come from on this
    /// target, for servers that admit clients by address (a Mina SNARK coordinator's client
    /// trustlist). `None`: the target cannot say (the server then admits localhost only).
    fn source_cidr(&self, net: &Network, node: &Node) -> Option<Text> {
        let _ = (net, node);
        None
    }
    /// True when each region runs apart (a cluster or a stack per region): a node reaches
    /// another region's nodes only at their public ports.
    fn spans_regions(&self) -> bool {
        false
    }
    /// True when every node shares one IP address (the local launcher).
    fn shares_one_address(&self) -> bool {
        false
    }
    /// True when the node runs in the generated image (which reads `CHAINFLEET_*`).
    fn in_image(&self) -> bool {
        true
    }
    /// True when the target names the node home for the entrypoint (`CHAINFLEET_HOME`).
    fn names_home(&self) -> bool {
        false
    }
    /// True when peers are dialled by DNS names that may resolve only after a while, so the
    /// entrypoint waits for them (`CHAINFLEET_WAIT_HOSTS`).
    fn dials_by_name(&self) -> bool {
        false
    }
    /// Where the target mounts the node's secret files, when not the image default.
    fn secrets_dir(&self) -> Option<&'static str> {
        None
    }
    /// A writable directory for `HOME`, when the target runs nodes as a user without a home
    /// on a read-only root filesystem (Helm's restricted pods: `HOME` would be `/`). Tools
    /// write there before they read `--home` (simd creates `$HOME/.simapp` at start).
    fn scratch_home(&self) -> Option<&'static str> {
        None
    }
}

/// How a node reaches one peer on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerHost {
    /// Always at this host.
    At(Text),
    /// At this host, when the target expression `condition` holds at deploy time (a peer
    /// another Helm release may or may not run).
    When {
        /// Target expression.
        condition: String,
        /// Host.
        host: Text,
    },
    /// Not reachable from this node on this target (left out of its peers).
    Unreachable,
}

/// One peer as a node dials it.
#[derive(Debug, Clone, Serialize)]
pub struct Dial {
    /// The peer's node name.
    pub node: String,
    /// Its host (unconditional form).
    pub host: Text,
    /// The peer's p2p port number on this target (what the address dials unless the target
    /// publishes it elsewhere, see `TargetRuntime::peer_port`).
    pub port: u16,
    /// Target expression that must hold for the peer to be present, if any.
    pub condition: Option<String>,
    /// The peer in the family's syntax (`id@host:port`, a multiaddr, `host:port`), wrapped in
    /// `condition` when there is one.
    pub address: Text,
}

/// A node's peers on one target, in plan order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Peers {
    /// Persistent peers.
    pub persistent: Vec<Dial>,
    /// Seeds.
    pub seeds: Vec<Dial>,
}

impl Peers {
    /// The rendered addresses of `dials`.
    pub fn addresses(dials: &[Dial]) -> Vec<Text> {
        dials.iter().map(|d| d.address.clone()).collect()
    }
}

/// What a family's `launch` sees of the target.
pub struct Runtime<'a> {
    /// The target.
    pub target: &'a dyn TargetRuntime,
    /// Node home.
    pub home: Text,
    /// The chain binary as invoked.
    pub binary: Text,
    /// Listen address.
    pub bind_host: &'static str,
    /// Peers, resolved.
    pub peers: Peers,
    /// External p2p address (`host:port`), when known.
    pub external_address: Option<Text>,
}

impl Runtime<'_> {
    /// The number of `node`'s port `name` on this target.
    pub fn port(&self, node: &Node, name: &str) -> Option<u16> {
        node.port(name).map(|p| self.target.port(node, p))
    }
}

/// Everything a target needs to run one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeProcess {
    /// Node name.
    pub node: String,
    /// The executable.
    pub program: Text,
    /// Its arguments.
    pub args: Vec<Text>,
    /// The complete environment: the group's `env`, the family's variables and every
    /// `CHAINFLEET_*` variable the target's entrypoint reads.
    pub env: BTreeMap<String, Text>,
    /// Peers as dialled.
    pub peers: Peers,
    /// Hosts the entrypoint waits for before starting (empty unless the target dials by name).
    pub wait_hosts: Vec<Text>,
    /// External p2p address, when there is one.
    pub external_address: Option<Text>,
    /// Private files the node receives at run time.
    pub secret_files: Vec<SecretFile>,
    /// Public files of the node, relative to its home.
    pub home_files: Vec<String>,
    /// Health probe, in this target's port numbers.
    pub probe: Option<Probe>,
    /// Prometheus metrics port, in this target's port numbers.
    pub metrics_port: Option<u16>,
    /// Where the node keeps chain data (the volume mount point), inside the image.
    pub data_dir: String,
    /// Where the node reads the shared genesis file, relative to its home.
    pub genesis_path: Option<&'static str>,
    /// Containers that run beside it in its network namespace.
    pub companions: Vec<Companion>,
    /// A test service's own image (`None`: the network's image).
    pub image: Option<String>,
}

/// The peers of `node` on `target`: unreachable ones left out, hosts from the target,
/// addresses in the family's syntax.
fn peers(net: &Network, artifacts: &Artifacts, node: &Node, target: &dyn TargetRuntime) -> Peers {
    let fam = family(net.chain.family);
    let dial = |names: &[String]| -> Vec<Dial> {
        names
            .iter()
            .filter_map(|n| net.node(n))
            .filter_map(|peer| {
                let (host, condition) = match target.peer_host(net, node, peer) {
                    PeerHost::At(h) => (h, None),
                    PeerHost::When { condition, host } => (host, Some(condition)),
                    PeerHost::Unreachable => return None,
                };
                let p2p = peer.port("p2p");
                let port = p2p.map_or(0, |p| target.port(peer, p));
                let dialled = p2p.map_or(Text::lit("0"), |p| target.peer_port(net, node, peer, p));
                let id = artifacts
                    .nodes
                    .get(&peer.name)
                    .and_then(|a| a.node_id.as_deref());
                let address = fam.peer_address(id, &host, &dialled);
                let address = match &condition {
                    Some(c) => Text::when(c.clone(), address),
                    None => address,
                };
                Some(Dial {
                    node: peer.name.clone(),
                    host,
                    port,
                    condition,
                    address,
                })
            })
            .collect()
    };
    Peers {
        persistent: dial(&node.peers.persistent),
        seeds: dial(&node.peers.seeds),
    }
}

/// The GraphQL URLs of `tested`'s nodes as `from` reaches them on `target` (those it can).
fn graphql_urls(net: &Network, from: &Node, tested: &str, target: &dyn TargetRuntime) -> Vec<Text> {
    let Some(g) = net.group(tested) else {
        return Vec::new();
    };
    g.nodes
        .iter()
        .filter_map(|n| net.node(n))
        .filter_map(|peer| {
            let port = peer.port("graphql")?;
            if target.spans_regions()
                && peer.region != from.region
                && port.exposure != crate::model::Exposure::Public
            {
                return None;
            }
            let host = match target.peer_host(net, from, peer) {
                PeerHost::At(h) => h,
                PeerHost::When { condition, host } => {
                    return Some(Text::when(condition, url(host, target.port(peer, port))))
                }
                PeerHost::Unreachable => return None,
            };
            Some(url(host, target.port(peer, port)))
        })
        .collect()
}

fn url(host: Text, port: u16) -> Text {
    Text::lit("http://")
        .then(host)
        .then(format!(":{port}/graphql"))
}

/// A test service: its group's own image and command (the first word is the program), its
/// group's env and the GraphQL URLs of the group it tests; nothing of the chain's.
fn test_service(
    net: &Network,
    node: &Node,
    group: &crate::model::Group,
    image: &str,
    target: &dyn TargetRuntime,
) -> NodeProcess {
    let mut env: BTreeMap<String, Text> = group
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Text::lit(v.clone())))
        .collect();
    if let Some(tested) = &group.tests {
        let urls = graphql_urls(net, node, tested, target);
        if let Some(first) = urls.first() {
            env.insert("CHAINFLEET_GRAPHQL_URL".into(), first.clone());
        }
        env.insert(
            "CHAINFLEET_GRAPHQL_URLS".into(),
            Text::join_skipping_absent(urls, ","),
        );
    }
    let mut words = group.command.iter().map(Text::from);
    NodeProcess {
        node: node.name.clone(),
        program: words.next().unwrap_or_default(),
        args: words.collect(),
        env,
        peers: Peers::default(),
        wait_hosts: Vec::new(),
        external_address: None,
        secret_files: Vec::new(),
        home_files: Vec::new(),
        probe: None,
        metrics_port: None,
        data_dir: family(net.chain.family).data_dir(net),
        genesis_path: None,
        companions: Vec::new(),
        image: Some(image.to_string()),
    }
}

/// Compute `node`'s process on `target`.
pub fn process(
    net: &Network,
    artifacts: &Artifacts,
    node: &Node,
    target: &dyn TargetRuntime,
) -> NodeProcess {
    if let Some(g) = net.group(&node.group) {
        if let Some(image) = &g.image {
            return test_service(net, node, g, image, target);
        }
    }
    let fam = family(net.chain.family);
    let rt = Runtime {
        target,
        home: target.home(net),
        binary: target.binary(net),
        bind_host: target.bind_host(),
        peers: peers(net, artifacts, node, target),
        external_address: node
            .port("p2p")
            .and_then(|_| target.external_address(net, node)),
    };
    let Launch { program, args, env } = fam.launch(net, node, &rt);

    let mut all: BTreeMap<String, Text> = net
        .group(&node.group)
        .map(|g| {
            g.env
                .iter()
                .map(|(k, v)| (k.clone(), Text::lit(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    all.extend(env);
    let mut wait_hosts = Vec::new();
    if target.in_image() {
        all.insert("CHAINFLEET_NODE".into(), Text::lit(node.name.clone()));
        if target.names_home() {
            all.insert("CHAINFLEET_HOME".into(), rt.home.clone());
        }
        if target.dials_by_name() {
            let mut seen = BTreeSet::new();
            for d in rt.peers.persistent.iter().chain(&rt.peers.seeds) {
                if seen.insert(d.node.clone()) {
                    wait_hosts.push(match &d.condition {
                        Some(c) => Text::when(c.clone(), d.host.clone()),
                        None => d.host.clone(),
                    });
                }
            }
            all.insert(
                "CHAINFLEET_WAIT_HOSTS".into(),
                Text::join_skipping_absent(wait_hosts.clone(), " "),
            );
        }
    }
    if let Some(dir) = target.scratch_home() {
        // The group's own HOME, if it sets one, stays.
        all.entry("HOME".into()).or_insert_with(|| Text::lit(dir));
    }
    let arts = artifacts.nodes.get(&node.name).cloned().unwrap_or_default();
    if let Some(dir) = target.secrets_dir() {
        if !arts.secret_files.is_empty() {
            all.insert("CHAINFLEET_SECRETS_DIR".into(), Text::lit(dir));
        }
    }
    NodeProcess {
        node: node.name.clone(),
        program,
        args,
        env: all,
        wait_hosts,
        external_address: rt.external_address.clone(),
        probe: fam.probe(net, node, &rt),
        metrics_port: rt.port(node, "metrics"),
        peers: rt.peers,
        secret_files: arts.secret_files,
        home_files: arts.home_files,
        data_dir: fam.data_dir(net),
        genesis_path: artifacts
            .public
            .contains_key("genesis.json")
            .then(|| fam.genesis_home_path()),
        companions: fam.companions(net, node),
        image: None,
    }
}

/// A plain runtime for unit tests: containers reaching peers by node name, or (`local`) one
/// host with ports from a base.
#[cfg(test)]
pub struct TestRuntime {
    /// `Some(base)`: all nodes on 127.0.0.1 with ports `base + 10 * index + k`.
    pub local_base: Option<u16>,
}

#[cfg(test)]
impl TestRuntime {
    /// Containers dialling each other by node name.
    pub fn containers() -> TestRuntime {
        TestRuntime { local_base: None }
    }
    /// One host.
    pub fn local(base: u16) -> TestRuntime {
        TestRuntime {
            local_base: Some(base),
        }
    }
}

#[cfg(test)]
impl TargetRuntime for TestRuntime {
    fn home(&self, net: &Network) -> Text {
        Text::lit(net.chain.home.clone())
    }
    fn bind_host(&self) -> &'static str {
        if self.local_base.is_some() {
            "127.0.0.1"
        } else {
            "0.0.0.0"
        }
    }
    fn port(&self, node: &Node, port: &Port) -> u16 {
        match self.local_base {
            Some(base) => {
                let k = node.ports.iter().position(|p| p == port).unwrap_or(0);
                base + 10 * node.index as u16 + k as u16
            }
            None => port.container,
        }
    }
    fn peer_host(&self, _net: &Network, _from: &Node, peer: &Node) -> PeerHost {
        match self.local_base {
            Some(_) => PeerHost::At(Text::lit("127.0.0.1")),
            None => PeerHost::At(Text::lit(peer.name.clone())),
        }
    }
    fn external_address(&self, _net: &Network, node: &Node) -> Option<Text> {
        let p2p = node.port("p2p")?;
        let host = match self.local_base {
            Some(_) => "127.0.0.1".to_string(),
            None => node.name.clone(),
        };
        Some(Text::lit(format!("{host}:{}", self.port(node, p2p))))
    }
    fn shares_one_address(&self) -> bool {
        self.local_base.is_some()
    }
    fn in_image(&self) -> bool {
        self.local_base.is_none()
    }
    fn source_cidr(&self, _net: &Network, node: &Node) -> Option<Text> {
        Some(Text::lit(match self.local_base {
            Some(_) => "127.0.0.1/32".to_string(),
            None => format!("10.0.{}.0/24", node.index),
        }))
    }
}
