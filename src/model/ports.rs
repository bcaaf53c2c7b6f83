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
}

const fn tcp(name: &'static str, default: u16, what: &'static str) -> PortDef {
    PortDef {
        name,
        default,
        protocol: Protocol::Tcp,
        what,
    }
}

const COSMOS: &[PortDef] = &[
    tcp("p2p", 26656, "CometBFT peer-to-peer"),
    tcp("rpc", 26657, "CometBFT RPC"),
    tcp("api", 1317, "Cosmos REST API"),
    tcp("grpc", 9090, "Cosmos gRPC"),
    tcp("metrics", 26660, "Prometheus metrics"),
    tcp("pprof", 6060, "Go pprof (loopback only)"),
];

const COMETBFT: &[PortDef] = &[
    tcp("p2p", 26656, "CometBFT peer-to-peer"),
    tcp("rpc", 26657, "CometBFT RPC"),
    tcp("metrics", 26660, "Prometheus metrics"),
    tcp("pprof", 6060, "Go pprof (loopback only)"),
];

const MINA: &[PortDef] = &[
    PortDef {
        name: "p2p",
        default: 8302,
        protocol: Protocol::TcpUdp,
        what: "libp2p external port",
    },
    tcp("client", 8301, "daemon client port"),
    tcp("graphql", 3085, "GraphQL API"),
    tcp("metrics", 6060, "Prometheus metrics"),
];

const KOMODO: &[PortDef] = &[
    tcp("p2p", 7770, "komodod peer-to-peer"),
    tcp("rpc", 7771, "komodod JSON-RPC"),
    tcp("iguana", 7776, "iguana RPC (notary nodes)"),
];

const GENERIC: &[PortDef] = &[
    tcp("p2p", 30303, "peer-to-peer"),
    tcp("rpc", 8545, "RPC"),
    tcp("metrics", 9100, "Prometheus metrics"),
];

/// The ports nodes of `family` have. SNARK workers listen on nothing but metrics.
pub fn family_ports(family: Family, role: Role) -> &'static [PortDef] {
    match (family, role) {
        (Family::Mina, Role::SnarkWorker) => &MINA[3..],
        (Family::Cosmos, _) => COSMOS,
        (Family::Cometbft, _) => COMETBFT,
        (Family::Mina, _) => MINA,
        (Family::Komodo, Role::Notary) => KOMODO,
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
