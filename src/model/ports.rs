//! The ports each chain family's nodes listen on, their defaults and protocols.

use serde::Serialize;

use crate::spec::{Family, Role};

/// Transport of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP only.
    Tcp,
    /// TCP and UDP on the same number (Mina's libp2p).
    TcpUdp,
}

/// Who connects to a port besides the node itself (and public clients, when exposed): what
/// firewalls and network policies between nodes must open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Only the node itself, and its process listens on 127.0.0.1 only (Go pprof, iguana's
    /// RPC: `iguana_rpcloop()` binds 127.0.0.1): no Service, load balancer or probe from
    /// outside the node reaches it.
    Loopback,
    /// Only the node itself (and clients of a public port).
    Own,
    /// Every node that has this node as a peer, and this node's peers (p2p both ways).
    Peers,
    /// Every node of this role, peer or not: a Komodo notary's iguana calls the assetchain
    /// RPC of whichever node serves a coin, and `addnotary`s every other notary.
    FromRole(Role),
}

/// A family's named port with its default number.
#[derive(Debug, Clone, Copy)]
pub struct PortDef {
    /// Port name, as used in `ports:`, `expose:` and `host_ports:`.
    pub name: &'static str,
    /// Default number.
    pub default: u16,
    /// Transport.
    pub protocol: Protocol,
    /// What it serves, for docs and diagnostics.
    pub what: &'static str,
    /// Which other nodes connect to it.
    pub reach: Reach,
}

const fn tcp(name: &'static str, default: u16, what: &'static str) -> PortDef {
    PortDef {
        name,
        default,
        protocol: Protocol::Tcp,
        what,
        reach: if matches!(name.as_bytes(), b"p2p") {
            Reach::Peers
        } else {
            Reach::Own
        },
    }
}

const fn reached_by(def: PortDef, reach: Reach) -> PortDef {
    PortDef { reach, ..def }
}

const COSMOS: &[PortDef] = &[
    tcp("p2p", 26656, "CometBFT peer-to-peer"),
    tcp("rpc", 26657, "CometBFT RPC"),
    tcp("api", 1317, "Cosmos REST API"),
    tcp("grpc", 9090, "Cosmos gRPC"),
    tcp("metrics", 26660, "Prometheus metrics"),
    reached_by(
        tcp("pprof", 6060, "Go pprof (loopback only)"),
        Reach::Loopback,
    ),
];

const COMETBFT: &[PortDef] = &[
    tcp("p2p", 26656, "CometBFT peer-to-peer"),
    tcp("rpc", 26657, "CometBFT RPC"),
    tcp("metrics", 26660, "Prometheus metrics"),
    reached_by(
        tcp("pprof", 6060, "Go pprof (loopback only)"),
        Reach::Loopback,
    ),
];

const MINA: &[PortDef] = &[
    PortDef {
        name: "p2p",
        default: 8302,
        protocol: Protocol::TcpUdp,
        what: "libp2p external port",
        reach: Reach::Peers,
    },
    tcp("client", 8301, "daemon client port"),
    tcp("graphql", 3085, "GraphQL API"),
    tcp("metrics", 6060, "Prometheus metrics"),
];

/// Komodo: komodod of the KMD chain itself (nodes whose group runs no assetchain), and a
/// notary's iguana: its RPC (`IGUANA_NOTARYPORT`, includes/iguana_defines.h of
/// KomodoPlatform/dPoW) and the dPoW port notaries reach each other on (the notary file's
/// `port`, `DPOW_SOCKPORT` 7775 by default, iguana/dPoW.h). Nodes running assetchains listen
/// on each assetchain's ports instead ([`assetchain_ports`]).
const KOMODO: &[PortDef] = &[
    tcp("p2p", 7770, "komodod peer-to-peer"),
    reached_by(
        tcp("rpc", 7771, "komodod JSON-RPC"),
        Reach::FromRole(Role::Notary),
    ),
    reached_by(
        tcp("iguana", 7776, "iguana RPC (notary nodes, loopback only)"),
        Reach::Loopback,
    ),
    reached_by(
        tcp("dpow", 7775, "iguana dPoW notary-to-notary (notary nodes)"),
        Reach::FromRole(Role::Notary),
    ),
];

/// One port of a node, as resolution sees it: a family port or an assetchain's.
#[derive(Debug, Clone)]
pub struct NodePortDef {
    /// Port name.
    pub name: String,
    /// Number, unless the group overrides it in `ports:`.
    pub default: u16,
    /// The number is fixed by something else (an assetchain's spec): `ports:` does not apply.
    pub fixed: bool,
    /// Transport.
    pub protocol: Protocol,
    /// Which other nodes connect to it.
    pub reach: Reach,
    /// The `expose:` / `host_ports:` key that governs it (`p2p` for every p2p port).
    pub key: &'static str,
}

impl From<&PortDef> for NodePortDef {
    fn from(d: &PortDef) -> Self {
        NodePortDef {
            name: d.name.to_string(),
            default: d.default,
            fixed: false,
            protocol: d.protocol,
            reach: d.reach,
            key: d.name,
        }
    }
}

/// The port names of assetchain `name`: `<name>-p2p` and `<name>-rpc`, lower case.
pub fn assetchain_port_names(name: &str) -> (String, String) {
    let n = name.to_ascii_lowercase();
    (format!("{n}-p2p"), format!("{n}-rpc"))
}

/// The two ports komodod opens for an assetchain: p2p (peers dial it, exposed like `p2p`)
/// and RPC (notaries' iguana calls it, exposed like `rpc`).
pub fn assetchain_ports(ac: &super::Assetchain) -> [NodePortDef; 2] {
    let (p2p, rpc) = assetchain_port_names(&ac.name);
    [
        NodePortDef {
            name: p2p,
            default: ac.p2p_port,
            fixed: true,
            protocol: Protocol::Tcp,
            reach: Reach::Peers,
            key: "p2p",
        },
        NodePortDef {
            name: rpc,
            default: ac.rpc_port,
            fixed: true,
            protocol: Protocol::Tcp,
            reach: Reach::FromRole(Role::Notary),
            key: "rpc",
        },
    ]
}

/// The ports a node of `family`, `role` listens on when it runs `assetchains` (Komodo): what
/// its processes open, nothing else.
pub fn node_ports(
    family: Family,
    role: Role,
    assetchains: &[&super::Assetchain],
) -> Vec<NodePortDef> {
    match (family, role) {
        (Family::Komodo, Role::Seed | Role::Full) if !assetchains.is_empty() => assetchains
            .iter()
            .flat_map(|a| assetchain_ports(a))
            .collect(),
        _ => family_ports(family, role)
            .iter()
            .map(NodePortDef::from)
            .collect(),
    }
}

const GENERIC: &[PortDef] = &[
    tcp("p2p", 30303, "peer-to-peer"),
    tcp("rpc", 8545, "RPC"),
    tcp("metrics", 9100, "Prometheus metrics"),
];

/// The ports nodes of `family` have. SNARK workers listen on nothing: `mina internal
/// snark-worker` takes no port flags and opens no metrics port (scraping one would report the
/// worker down forever); they only dial their coordinator.
pub fn family_ports(family: Family, role: Role) -> &'static [PortDef] {
    match (family, role) {
        (Family::Mina, Role::SnarkWorker) => &[],
        (Family::Cosmos, _) => COSMOS,
        (Family::Cometbft, _) => COMETBFT,
        (Family::Mina, _) => MINA,
        (Family::Komodo, Role::Notary) => &KOMODO[2..],
        (Family::Komodo, _) => &KOMODO[..2],
        (Family::Generic, _) => GENERIC,
    }
}

/// Every port name `family` knows (for any role).
pub fn family_port_names(family: Family) -> Vec<&'static str> {
    let all = match family {
        Family::Cosmos => COSMOS,
        Family::Cometbft => COMETBFT,
        Family::Mina => MINA,
        Family::Komodo => KOMODO,
        Family::Generic => GENERIC,
    };
    all.iter().map(|p| p.name).collect()
}

/// Roles a family accepts.
pub fn family_roles(family: Family) -> &'static [Role] {
    use Role::*;
    match family {
        Family::Cosmos | Family::Cometbft => &[Validator, Sentry, Seed, Full, Archive, Custom],
        Family::Mina => &[
            Seed,
            BlockProducer,
            SnarkCoordinator,
            SnarkWorker,
            Archive,
            Full,
            Custom,
        ],
        Family::Komodo => &[Seed, Full, Notary, Custom],
        Family::Generic => &[Validator, Sentry, Seed, Full, Archive, Custom],
    }
}

/// The signing role a family needs at least one node of, if any.
pub fn required_signer(family: Family) -> Option<Role> {
    match family {
        Family::Cosmos | Family::Cometbft => Some(Role::Validator),
        Family::Mina => Some(Role::BlockProducer),
        Family::Komodo | Family::Generic => None,
    }
}
