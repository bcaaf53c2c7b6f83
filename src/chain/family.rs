//! The one interface every chain family implements, and the one place that dispatches on
//! `Family`. Adding a family is a folder under `src/chain/` implementing `ChainFamily`, one
//! `Family` variant and one arm in `family()`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::runtime::Runtime;
use super::text::Text;
use super::Artifacts;
use crate::diag::Diagnostics;
use crate::keys::Seed;
use crate::model::{Family, Network, Node};

/// How to start a node: the family's part of its process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Launch {
    /// The executable (the chain binary, or a shell or launcher the family needs).
    pub program: Text,
    /// Arguments after the program.
    pub args: Vec<Text>,
    /// Environment variables the family sets.
    pub env: BTreeMap<String, Text>,
}

/// A container that runs beside a node in the node's network namespace (each reaches the
/// other at 127.0.0.1), from its own image: a Mina archive node's PostgreSQL and archive
/// process. Compose runs it as a service in the node's namespace, Helm as a container of the
/// node's pod, ECS as a container of the node's task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Companion {
    /// Short name (`postgres`): the compose service is `<node>-<name>`, the container `<name>`.
    pub name: &'static str,
    /// Its image, pinned.
    pub image: String,
    /// Entrypoint override (empty: the image's own).
    pub entrypoint: Vec<String>,
    /// Arguments (empty: the image's CMD).
    pub args: Vec<String>,
    /// Plain environment.
    pub env: BTreeMap<String, String>,
    /// Secrets as environment: (`VAR`, key of one of the node's secret files). A target sets
    /// `VAR` to the value (Kubernetes, ECS) or `VAR_FILE` to the mounted file (compose);
    /// the companion reads either, as the official PostgreSQL image does.
    pub secret_env: Vec<(String, String)>,
    /// Where it keeps persistent data (a volume of its own), if anywhere.
    pub data_dir: Option<String>,
    /// Directories it writes besides its data (scratch volumes under a read-only root).
    pub scratch_dirs: Vec<String>,
    /// The port that listens once it runs (health probe).
    pub probe_port: Option<u16>,
}

/// What "healthy" means for a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Healthy {
    /// CometBFT RPC: `/health` answers and the node is not catching up.
    CometbftSynced,
    /// The port accepts connections.
    Listening,
    /// A JSON-RPC call on the port answers without an error ([`RpcProbe`]).
    RpcAnswers,
}

/// A JSON-RPC health call: POST `body` to `http://127.0.0.1:<port>/`, with HTTP basic auth
/// from the `rpcuser=`/`rpcpassword=` lines of `credentials` when set. Healthy: HTTP 2xx and
/// no error in the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpcProbe {
    /// The request body, e.g. `{"method":"getinfo"}`.
    pub body: String,
    /// The credentials file, relative to the node's home (a bitcoind-style `.conf`).
    pub credentials: Option<String>,
}

/// A node's health probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// Port, in the target's numbering.
    pub port: u16,
    /// HTTP path to GET, when the port serves one (e.g. `/health`).
    pub http_path: Option<&'static str>,
    /// What passing means.
    pub healthy: Healthy,
    /// The JSON-RPC call to make (`Healthy::RpcAnswers`).
    pub rpc: Option<RpcProbe>,
}

impl Probe {
    /// The arguments of the image's health check script (`chainfleet-healthcheck`):
    /// `PORT [HTTP_PATH]`, or `PORT --rpc BODY [CREDENTIALS]` (the credentials path is
    /// relative to `$CHAINFLEET_HOME`). Every target runs the same command.
    pub fn check_args(&self) -> Vec<String> {
        let mut v = vec![self.port.to_string()];
        if let Some(rpc) = &self.rpc {
            v.push("--rpc".into());
            v.push(rpc.body.clone());
            v.extend(rpc.credentials.clone());
        } else if let Some(p) = self.http_path {
            v.push(p.to_string());
        }
        v
    }
}

/// The metrics a family's nodes export, by meaning (Prometheus names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Which exporter's vocabulary (`cometbft`, `mina`), for rules written per exporter.
    pub dialect: &'static str,
    /// Latest block height.
    pub height: &'static str,
    /// Connected peers.
    pub peers: &'static str,
    /// Validators missing from the last block (network-wide gauge), if exported.
    pub missing_validators: Option<&'static str>,
    /// Resident memory of the node process, if exported.
    pub memory: Option<&'static str>,
    /// CPU seconds the node process used (a counter), if exported.
    pub cpu_seconds: Option<&'static str>,
    /// The height a validator's own node last saw it sign (labelled by validator), if
    /// exported.
    pub last_signed_height: Option<&'static str>,
    /// Slots a block producer won and blocks it produced (counters), if exported.
    pub slots_won_and_produced: Option<(&'static str, &'static str)>,
}

/// One chain family: keys, genesis and configs, how its nodes start, how they are probed.
pub trait ChainFamily: Sync {
    /// Genesis, per-node configs and keys (public and secret files, node IDs, addresses).
    fn build(&self, net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics>;
    /// The program, arguments and environment of `node` under `rt`.
    fn launch(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch;
    /// A peer in the family's syntax (`id@host:port`, a multiaddr, `host:port`); `port` may
    /// be a target expression.
    fn peer_address(&self, id: Option<&str>, host: &Text, port: &Text) -> Text {
        let _ = id;
        host.clone().then(":").then(port.clone())
    }
    /// Containers that run beside `node` in its network namespace ([`Companion`]).
    fn companions(&self, net: &Network, node: &Node) -> Vec<Companion> {
        let _ = (net, node);
        Vec::new()
    }
    /// How to probe `node` (ports in `rt`'s numbering), if it listens on anything.
    fn probe(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe>;
    /// The HTTP path that answers 200 only when the node behind port `port` is healthy, for
    /// load balancer health checks (`None`: any answer means it is up).
    fn http_health_path(&self, port: &str) -> Option<&'static str> {
        let _ = port;
        None
    }
    /// Where a node keeps its chain data inside the image (the volume mount point).
    fn data_dir(&self, net: &Network) -> String {
        net.chain.home.clone()
    }
    /// Where a node reads the shared `genesis.json`, relative to its home.
    fn genesis_home_path(&self) -> &'static str {
        "genesis.json"
    }
    /// Directories under the home the image must create (besides the home and data dir).
    fn home_dirs(&self) -> &'static [&'static str] {
        &[]
    }
    /// The metrics its nodes export, when they speak a known vocabulary.
    fn metrics(&self) -> Option<Metrics> {
        None
    }
    /// Log lines that mean a consensus failure or a crash (CloudWatch Logs filter terms), if
    /// the family's logs are known.
    fn failure_log_terms(&self) -> &'static [&'static str] {
        &[]
    }
    /// Variables the binary reads its home from before `--home` (the upstream image may set
    /// them to another folder), which the entrypoint exports as the node's home.
    fn home_env(&self, net: &Network) -> Vec<String> {
        let _ = net;
        Vec::new()
    }
    /// The environment variable an entrypoint sets to a node's external address when a
    /// target learns it only at run time, if the family reads one.
    fn external_address_env(&self, net: &Network) -> Option<String> {
        let _ = net;
        None
    }
}

/// The implementation of `f`.
pub fn family(f: Family) -> &'static dyn ChainFamily {
    match f {
        Family::Cosmos => &super::cosmos::Cosmos,
        Family::Cometbft => &super::cometbft::Cometbft,
        Family::Mina => &super::mina::Mina,
        Family::Komodo => &super::komodo::Komodo,
        Family::Generic => &super::generic::Generic,
    }
}
