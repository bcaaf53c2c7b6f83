//! The resolved network that emitters read: every node expanded and named, placed in a
//! region, given ports, host ports, addresses and its peers. No `Option` defaults are
//! left to interpret downstream, and every collection is in a deterministic order.

pub mod check;
pub mod ec2;
pub mod ports;
pub mod resolve;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;

pub use crate::spec::parse::Coin;
pub use crate::spec::{Exposure, Family, LaunchType, Role, SdkVersion, ServiceType, WorkSelection};
pub use ports::{Protocol, Reach};

/// Port names served over HTTP (behind a load balancer when public on AWS).
pub const HTTP_PORT_NAMES: &[&str] = &["rpc", "api", "graphql"];

/// A whole network, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    /// DNS-safe network name.
    pub name: String,
    /// The chain every node runs.
    pub chain: Chain,
    /// Regions in declaration order (at least one).
    pub regions: Vec<String>,
    /// Groups in spec order.
    pub groups: Vec<Group>,
    /// Nodes in spec order: groups in order, ordinals ascending.
    pub nodes: Vec<Node>,
    /// Monitoring, with defaults filled in.
    pub monitoring: Monitoring,
    /// Targets to generate, with defaults filled in.
    pub targets: Targets,
}

/// The chain, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    /// Chain family.
    pub family: Family,
    /// Chain ID.
    pub chain_id: String,
    /// Node binary name.
    pub binary: String,
    /// Pinned base image.
    pub image: String,
    /// Node home directory inside the image.
    pub home: String,
    /// Cosmos SDK line (Cosmos family only).
    pub sdk: Option<SdkVersion>,
    /// A custom default app state read from the spec's `app_state_template`.
    pub app_state_template: Option<serde_json::Value>,
    /// Staking/fee denomination.
    pub denom: String,
    /// Bech32 account prefix.
    pub bech32_prefix: String,
    /// Genesis time, RFC 3339 as written.
    pub genesis_time: String,
    /// Genesis edits, in order.
    pub genesis_patches: Vec<(String, serde_json::Value)>,
    /// Extra genesis accounts.
    pub accounts: Vec<Account>,
    /// Minimum gas prices (Cosmos).
    pub minimum_gas_prices: String,
    /// Komodo assetchains.
    pub assetchains: Vec<Assetchain>,
    /// Mina: the archive process's image.
    pub archive_image: Option<String>,
    /// Height of the first block (genesis `initial_height`), 1 unless the spec says.
    pub initial_height: u64,
    /// Staking-denom balance each Cosmos validator account holds beyond its stake.
    pub validator_fee_balance: u128,
    /// Display unit of the staking denom (bank denom metadata), when the spec gives one.
    pub display_denom: Option<DisplayDenom>,
}

/// The staking denom's display unit.
#[derive(Debug, Clone, Serialize)]
pub struct DisplayDenom {
    /// Display denom, e.g. `atom`.
    pub name: String,
    /// One display unit is 10^exponent base units.
    pub exponent: u32,
    /// Ticker symbol.
    pub symbol: String,
}

/// A Cosmos SDK validator's gentx settings, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatorSettings {
    /// Commission rate, max rate and max daily change, as 10^18-scaled integers.
    pub commission: [u128; 3],
    /// Moniker (default: the node name).
    pub moniker: String,
    /// Keybase identity.
    pub identity: String,
    /// Website.
    pub website: String,
    /// Security contact.
    pub security_contact: String,
    /// Details.
    pub details: String,
    /// Minimum self-delegation in base units.
    pub min_self_delegation: u128,
}

/// A non-validator genesis account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Name; its key derives from the seed and this name.
    pub name: String,
    /// Balance.
    pub coins: Vec<Coin>,
    /// Mina: balance in MINA as written (checked).
    pub balance: Option<String>,
    /// Mina: the block producer node it delegates to.
    pub delegate: Option<String>,
}

/// A Komodo assetchain.
#[derive(Debug, Clone, Serialize)]
pub struct Assetchain {
    /// `-ac_name`.
    pub name: String,
    /// `-ac_supply`.
    pub supply: u64,
    /// P2P port.
    pub p2p_port: u16,
    /// RPC port.
    pub rpc_port: u16,
    /// Extra `-ac_*` parameters.
    pub params: BTreeMap<String, String>,
}

/// Resources per node, in units every target understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// CPU in thousandths of a vCPU.
    pub cpu_millis: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Data volume in GiB.
    pub storage_gib: u64,
}

/// A node group, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Role of its nodes.
    pub role: Role,
    /// Number of nodes.
    pub count: u32,
    /// Names of its nodes, by ordinal.
    pub nodes: Vec<String>,
    /// Validator stake per node.
    pub stake: Option<Coin>,
    /// Regions its nodes are spread over.
    pub regions: Vec<String>,
    /// Resources per node.
    pub resources: Resources,
    /// Sentry group shielding this validator group.
    pub behind: Option<String>,
    /// With `behind`: validator `i` peers only with sentry `i` of that group.
    pub dedicated_sentries: bool,
    /// Coordinator group of this SNARK worker pool.
    pub coordinator: Option<String>,
    /// SNARK coordinators: fee per job in MINA (checked).
    pub snark_fee: Option<String>,
    /// SNARK coordinators: work selection method.
    pub work_selection: Option<WorkSelection>,
    /// Mina: genesis balance of each node in MINA as written (checked).
    pub balance: Option<String>,
    /// Mina: the block producer node each node delegates to.
    pub delegate: Option<String>,
    /// Komodo assetchains this group runs.
    pub assetchains: Vec<String>,
    /// Komodo notaries: the name in the notary set (`notary.name`).
    pub notary_name: Option<String>,
    /// Komodo notaries: the variable holding the operator's own wallet passphrase.
    pub notary_passphrase_env: Option<String>,
    /// Komodo notaries: the elected pubkey that passphrase must give.
    pub notary_pubkey: Option<String>,
    /// `config.toml` overrides by dotted key.
    pub config: BTreeMap<String, serde_json::Value>,
    /// `app.toml` overrides by dotted key.
    pub app_config: BTreeMap<String, serde_json::Value>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Custom command.
    pub command: Vec<String>,
    /// Test services: their own image (no keys, ports or peers).
    pub image: Option<String>,
    /// Test services: the group they test.
    pub tests: Option<String>,
    /// Where the spec defines it (`/groups/<i>`), so checks on the resolved network point
    /// at what the user wrote. Not part of any output.
    #[serde(skip)]
    pub source: String,
}

/// One node port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    /// Port name (`p2p`, `rpc`, ...).
    pub name: String,
    /// Port inside the container / the node's own listen port.
    pub container: u16,
    /// Transport.
    pub protocol: Protocol,
    /// Public or internal.
    pub exposure: Exposure,
    /// Which other nodes connect to it (what firewalls between nodes open).
    pub reach: Reach,
    /// Port on 127.0.0.1 for the local target (every port gets one).
    pub local: u16,
    /// Published host port for the compose target (public ports only).
    pub compose_host: Option<u16>,
    /// The user pinned its host port in the group's `host_ports` (used as written by the
    /// local and compose targets, not allocated from `base_port`).
    #[serde(skip)]
    pub pinned: bool,
}

/// Who a node talks to, by node name. Emitters turn names into addresses per target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeerPlan {
    /// Always-connected peers.
    pub persistent: Vec<String>,
    /// Seed nodes to bootstrap from.
    pub seeds: Vec<String>,
    /// Peers whose IDs must not be gossiped (validators behind this sentry).
    pub private: Vec<String>,
    /// Peers exempt from peer limits.
    pub unconditional: Vec<String>,
    /// Peer exchange on.
    pub pex: bool,
    /// Runs as a seed (crawls and hands out addresses).
    pub seed_mode: bool,
}

/// One node, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Unique node name `<group>-<ordinal>`.
    pub name: String,
    /// Its group's name.
    pub group: String,
    /// Its role.
    pub role: Role,
    /// Position in `Network::nodes`.
    pub index: usize,
    /// Position in its group.
    pub ordinal: u32,
    /// Region it runs in.
    pub region: String,
    /// Its ports, in the family's order.
    pub ports: Vec<Port>,
    /// Its peers.
    pub peers: PeerPlan,
    /// Static address on the compose network.
    pub compose_ip: Ipv4Addr,
    /// Validator stake (validators only).
    pub stake: Option<Coin>,
    /// Voting power (validators of the CometBFT families): the spec's `power`, else
    /// stake / 10^6.
    pub power: Option<u64>,
    /// Gentx settings (Cosmos SDK validators).
    pub validator: Option<ValidatorSettings>,
    /// Where the spec defines its group (`/groups/<i>`), for positioned diagnostics. Not
    /// part of any output.
    #[serde(skip)]
    pub source: String,
}

impl Node {
    /// Public ports that are not served over HTTP: on AWS they sit behind the node's own
    /// Elastic IP (HTTP ports go behind the region's load balancer; loopback ports stay local).
    pub fn public_stream_ports(&self) -> impl Iterator<Item = &Port> {
        self.served_ports().filter(|p| {
            p.exposure == Exposure::Public && !HTTP_PORT_NAMES.contains(&p.name.as_str())
        })
    }

    /// The port named `name`, if the node has it.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Ports its peers dial (p2p), both ways between peers.
    pub fn peer_ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.reach == Reach::Peers)
    }

    /// Ports every node of `role` dials on this node, peer or not.
    pub fn ports_dialled_by(&self, role: Role) -> impl Iterator<Item = &Port> {
        self.ports
            .iter()
            .filter(move |p| p.reach == Reach::FromRole(role))
    }

    /// Ports reachable from outside the node (all but loopback-only ones): what Services,
    /// security groups and load balancers may point at.
    pub fn served_ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.reach != Reach::Loopback)
    }

    /// Its container ports by name (what a node listens on inside its container).
    pub fn container_ports(&self) -> BTreeMap<String, u16> {
        self.ports
            .iter()
            .map(|p| (p.name.clone(), p.container))
            .collect()
    }

    /// True when it signs blocks (has a consensus key in genesis).
    pub fn is_validator(&self) -> bool {
        matches!(self.role, Role::Validator | Role::BlockProducer)
    }
}

/// The Cosmos SDK's default power reduction: voting power is stake / 10^6.
pub const POWER_REDUCTION: u128 = 1_000_000;

/// CometBFT voting power of a validator with `stake` base units: stake / 10^6 (the SDK's
/// power reduction), at least 1. Every validator of the CometBFT families has a stake after
/// resolution (default `100000000<denom>`, power 100) unless it states `power` directly.
pub fn voting_power(stake: u128) -> u64 {
    u64::try_from((stake / POWER_REDUCTION).max(1)).unwrap_or(u64::MAX)
}

impl Network {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Nodes placed in `region`.
    pub fn nodes_in<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes.iter().filter(move |n| n.region == region)
    }

    /// Validators (and block producers), in node order.
    pub fn validators(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.is_validator())
    }

    /// Which of `zones` availability zones `node` runs in: nodes of one role in one region
    /// take turns across the network (not per group), so single-node validator groups do not
    /// all land in the first zone and one zone outage cannot take most of the voting power.
    pub fn zone_slot(&self, node: &Node, zones: usize) -> usize {
        let turn = self
            .nodes
            .iter()
            .filter(|n| n.region == node.region && n.role == node.role)
            .position(|n| n.name == node.name)
            .unwrap_or(node.ordinal as usize);
        turn % zones.max(1)
    }
}

/// Monitoring, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Monitoring {
    /// Prometheus on.
    pub prometheus: bool,
    /// Grafana on.
    pub grafana: bool,
    /// Log retention in days.
    pub log_retention_days: u32,
    /// Memory alarm threshold, percent.
    pub memory_percent: u8,
    /// CPU alarm threshold, percent.
    pub cpu_percent: u8,
    /// No-new-block alarm, minutes.
    pub no_block_minutes: u32,
    /// Peer-count alarm floor.
    pub min_peers: u32,
    /// Alert e-mail addresses.
    pub email: Vec<String>,
    /// Alert webhooks.
    pub webhooks: Vec<String>,
    /// SMTP server for e-mail alerts (Alertmanager).
    pub smtp: Option<crate::spec::SmtpSpec>,
    /// Slack channel.
    pub slack: Option<crate::spec::SlackSpec>,
    /// Telegram chat.
    pub telegram: Option<crate::spec::TelegramSpec>,
    /// PagerDuty on.
    pub pagerduty: bool,
    /// Seconds without metrics before NodeDown fires.
    pub node_down_seconds: u32,
    /// Blocks a validator's last signature may lag before it alerts.
    pub missed_blocks: u32,
    /// Prometheus scrape and evaluation interval, seconds.
    pub scrape_interval_seconds: u32,
    /// Existing SNS topics.
    pub sns_topics: Vec<String>,
    /// Alert routing labels.
    pub labels: BTreeMap<String, String>,
}

/// Targets, resolved; `None` means not generated.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    /// AWS CloudFormation.
    pub aws: Option<Aws>,
    /// Helm chart.
    pub kubernetes: Option<Kubernetes>,
    /// docker-compose.
    pub compose: Option<Compose>,
    /// Local processes.
    pub local: Option<Local>,
    /// Bare-metal machines (Ansible and systemd).
    pub hosts: Option<Hosts>,
}

/// Bare-metal settings, with every node placed on one machine.
#[derive(Debug, Clone, Serialize)]
pub struct Hosts {
    /// The machines, in spec order.
    pub machines: Vec<Machine>,
    /// Executables installed on every machine.
    pub binaries: Vec<Binary>,
    /// The system user nodes run as.
    pub service_user: String,
    /// Networks allowed to reach non-public node ports besides the machines themselves.
    pub allow_from: Vec<String>,
}

/// One machine and the nodes it runs.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Inventory name.
    pub name: String,
    /// IPv4 address or DNS name.
    pub address: String,
    /// SSH login.
    pub ssh_user: String,
    /// Its nodes: those the spec pins here, then those chainfleet placed here. A node's
    /// position is its slot: ports of slot `k` are the node's own ports plus
    /// `k * HOST_PORT_STRIDE`, so nodes sharing a machine never share a port.
    pub nodes: Vec<String>,
    /// Where the spec defines it (`/targets/hosts/machines/<i>`). Not part of any output.
    #[serde(skip)]
    pub source: String,
}

/// An executable every machine installs.
#[derive(Debug, Clone, Serialize)]
pub struct Binary {
    /// File name.
    pub name: String,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Download URL; `None`: copied from the control machine.
    pub url: Option<String>,
}

/// Port offset between nodes sharing a machine: the second node on a machine listens on
/// its ports + 1000 (26656 → 27656), keeping the well-known numbers recognisable.
pub const HOST_PORT_STRIDE: u16 = 1000;

impl Hosts {
    /// The machine `node` runs on and its slot there.
    pub fn placement(&self, node: &str) -> Option<(&Machine, usize)> {
        self.machines
            .iter()
            .find_map(|m| m.nodes.iter().position(|n| n == node).map(|k| (m, k)))
    }

    /// The number `port` of `node` has on its machine (unclamped: the model check refuses
    /// numbers above 65535).
    pub fn port(&self, node: &str, port: &Port) -> u32 {
        let slot = self.placement(node).map_or(0, |(_, k)| k);
        u32::from(port.container) + slot as u32 * u32::from(HOST_PORT_STRIDE)
    }
}

/// AWS settings.
#[derive(Debug, Clone, Serialize)]
pub struct Aws {
    /// ECS launch type.
    pub launch_type: LaunchType,
    /// CIDR of the VPC to create; `None` when an existing VPC is passed as parameters.
    pub vpc_cidr: Option<String>,
    /// Route 53 zone `(name, hosted zone id)`.
    pub dns_zone: Option<(String, String)>,
    /// ACM certificate for HTTPS.
    pub certificate_arn: Option<String>,
    /// Instance type of every container instance (EC2 launch type); `None`: sized per group.
    pub instance_type: Option<String>,
    /// Retain chain data and Elastic IPs when a stack is deleted or a resource replaced.
    pub retain_on_delete: bool,
}

/// Kubernetes settings.
#[derive(Debug, Clone, Serialize)]
pub struct Kubernetes {
    /// Namespace.
    pub namespace: String,
    /// Storage class (`None`: cluster default).
    pub storage_class: Option<String>,
    /// Service type of public ports.
    pub service_type: ServiceType,
    /// Cluster DNS domain.
    pub cluster_domain: String,
}

/// Compose settings.
#[derive(Debug, Clone, Serialize)]
pub struct Compose {
    /// Project subnet.
    pub subnet: String,
    /// Gateway address of the subnet.
    pub gateway: Ipv4Addr,
    /// Prometheus' static address.
    pub prometheus_ip: Ipv4Addr,
    /// Grafana's static address.
    pub grafana_ip: Ipv4Addr,
    /// Alertmanager's static address.
    pub alertmanager_ip: Ipv4Addr,
    /// Host address published node ports bind to (`None`: every interface).
    pub host_ip: Option<Ipv4Addr>,
    /// First published host port.
    pub base_port: u16,
}

/// Local settings.
#[derive(Debug, Clone, Serialize)]
pub struct Local {
    /// First port.
    pub base_port: u16,
}

/// Host ports each node reserves in the local target: its ports sit at
/// `base_port + index * LOCAL_PORT_STRIDE + slot`.
pub const LOCAL_PORT_STRIDE: u16 = 10;
