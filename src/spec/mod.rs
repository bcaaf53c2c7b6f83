//! The network spec: what the user wrote, as typed, schema-bearing Rust types.
//!
//! Doc comments on these types are the user reference: `chainfleet schema` copies them into
//! `schema/network.schema.json`, which editors use for completion and hover help. Every
//! type denies unknown fields and no enum is untagged, so a typo gets a precise diagnostic.

pub mod check;
pub mod load;
pub mod parse;
pub mod read;
pub mod schema;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A blockchain network: its chain, its node groups, where they run and how they are watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "chainfleet network spec")]
pub struct Spec {
    /// Network name: DNS-safe (lowercase letters, digits, `-`; starts with a letter; at most
    /// 40 characters). It names the output folder, stacks, the Helm chart and services.
    #[schemars(example = &"duality-testnet")]
    pub name: String,
    /// The chain every node runs.
    pub chain: ChainSpec,
    /// Where the network seed comes from. Every key is derived from it, so it is the one
    /// thing to back up. Defaults to `{file: .chainfleet/seed}` beside the spec.
    #[serde(default)]
    pub keys: Option<KeysSpec>,
    /// Regions the network spans (for example AWS regions). Groups place their nodes in
    /// these; the AWS target deploys one stack per region and the Helm target writes one
    /// values file per region. Defaults to a single region named `local`.
    #[serde(default)]
    #[schemars(example = &["us-east-1", "eu-west-1", "ap-southeast-1"])]
    pub regions: Vec<String>,
    /// Node groups. Each expands to `count` nodes named `<group>-<ordinal>`.
    pub groups: Vec<GroupSpec>,
    /// Metrics, dashboards, logs and alerts.
    #[serde(default)]
    pub monitoring: Option<MonitoringSpec>,
    /// The deployment targets to generate and their settings. A target left out is not
    /// generated.
    pub targets: TargetsSpec,
}

/// Chain families chainfleet knows how to prepare.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A Cosmos SDK application chain on CometBFT: genesis with app state, signed gentxs.
    Cosmos,
    /// Bare CometBFT (for example with its built-in kvstore app): genesis validator list.
    Cometbft,
    /// Mina (formerly Coda): seeds, block producers, SNARK coordinators and workers.
    Mina,
    /// Komodo: komodod with assetchains, notary nodes running iguana.
    Komodo,
    /// Any other containerised chain: chainfleet places nodes, ports and peers only.
    Generic,
}

/// The chain: identity, binary, image and genesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Chain family: decides key types, genesis format, node config files and roles.
    pub family: Family,
    /// Chain ID (at most 50 characters, as CometBFT requires).
    #[schemars(example = &"duality-1")]
    pub chain_id: String,
    /// The node binary inside the image, e.g. `dualityd`, `simd`, `cometbft`, `mina`,
    /// `komodod`. For Cosmos SDK apps its upper-cased basename is the environment prefix.
    pub binary: String,
    /// The chain's container image, pinned by tag or digest (`:latest` is refused). The
    /// generated Dockerfile builds `FROM` it, adding the public genesis and node configs.
    #[schemars(example = &"ghcr.io/example/duality:v0.5.0")]
    pub image: String,
    /// The node's home directory inside the image.
    #[serde(default)]
    #[schemars(example = &"/root/.duality")]
    pub home: Option<String>,
    /// Cosmos SDK version whose genesis dialect and default app state to use.
    #[serde(default)]
    pub sdk: Option<SdkVersion>,
    /// For custom Cosmos chains: a JSON file (relative to the spec) holding the chain's
    /// default `app_state`, as its own `init` writes it. Replaces the built-in template.
    #[serde(default)]
    pub app_state_template: Option<String>,
    /// Staking and fee denomination.
    #[serde(default)]
    #[schemars(example = &"stake")]
    pub denom: Option<String>,
    /// Bech32 account prefix (Cosmos): `cosmos`, `osmo`, `dual`, ...
    #[serde(default)]
    pub bech32_prefix: Option<String>,
    /// Genesis time, RFC 3339, pinned so regenerated genesis files are byte-identical.
    #[serde(default)]
    #[schemars(example = &"2026-12-01T00:00:00Z")]
    pub genesis_time: Option<String>,
    /// Edits applied to the generated genesis, in order: a JSON pointer and a JSON value.
    #[serde(default)]
    pub genesis_patches: Vec<GenesisPatch>,
    /// Extra genesis accounts (faucets, relayers, test users) with their balances. Their
    /// keys are derived from the seed like validators' keys.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    /// Minimum gas prices every node accepts (Cosmos `app.toml`); defaults to `0<denom>`.
    #[serde(default)]
    pub minimum_gas_prices: Option<String>,
    /// Komodo assetchains run by every `full` and `seed` node of a Komodo network.
    #[serde(default)]
    pub assetchains: Vec<AssetchainSpec>,
    /// Mina: the image of the archive process (`mina-archive`), pinned, e.g.
    /// `minaprotocol/mina-archive:3.0.3-bullseye-devnet`. Needed when a group has
    /// `role: archive`: each archive node runs it beside its daemon, with a PostgreSQL.
    #[serde(default)]
    pub archive_image: Option<String>,
    /// Cosmos SDK and CometBFT: the height of the first block (genesis `initial_height`),
    /// e.g. to continue a chain's numbering after an upgrade by export. At least 1; default 1.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub initial_height: Option<u64>,
    /// Cosmos SDK: the amount of the staking denom each validator's account holds beyond
    /// its stake, to pay the fees of its own transactions (default `1000000000`, 10^9 base
    /// units). `0` leaves validators' accounts with their stake only.
    #[serde(default)]
    #[schemars(example = &1000000000)]
    pub validator_fee_balance: Option<u64>,
    /// Cosmos SDK: the staking denom's display unit, written to genesis as bank denom
    /// metadata (what wallets and explorers show), e.g. `{name: atom, exponent: 6}` for
    /// base denom `uatom`. Unset: no metadata.
    #[serde(default)]
    pub display_denom: Option<DisplayDenomSpec>,
}

/// The display unit of the staking denom (bank denom metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayDenomSpec {
    /// Display denom, e.g. `atom`: a letter then 2–127 letters, digits or `/:._-`, not the
    /// base denom itself.
    pub name: String,
    /// One display unit is 10^exponent base units (1–18), e.g. `6` for `uatom` -> `atom`.
    #[schemars(range(min = 1, max = 18))]
    pub exponent: u32,
    /// Ticker symbol shown by wallets, e.g. `ATOM` (default: the display name upper-cased).
    #[serde(default)]
    pub symbol: Option<String>,
}

/// Cosmos SDK release lines with a built-in genesis template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SdkVersion {
    /// Cosmos SDK v0.50 (CometBFT v0.38).
    #[serde(rename = "0.50")]
    V050,
}

/// One edit to the generated genesis document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenesisPatch {
    /// JSON pointer into genesis, e.g. `/app_state/gov/params/voting_period`.
    pub path: String,
    /// The value to set there (any JSON value).
    pub value: serde_json::Value,
}

/// A genesis account that is not a validator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Account name (DNS-safe); its key is derived from the seed and this name.
    pub name: String,
    /// Cosmos: initial balance, a list of coins such as `1000000stake`.
    #[serde(default)]
    pub coins: Vec<String>,
    /// Mina: genesis balance in MINA, a decimal with at most 9 fractional digits, e.g.
    /// `1000` or `0.5`. The account's Pallas key is derived from the seed.
    #[serde(default)]
    #[schemars(example = &"1000")]
    pub balance: Option<String>,
    /// Mina: the block producer node (e.g. `producer-0`) this account delegates its stake
    /// to at genesis. Unset: the account stakes for itself (and produces no blocks).
    #[serde(default)]
    pub delegate: Option<String>,
}

/// A Komodo assetchain: a chain launched by komodod with `-ac_*` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetchainSpec {
    /// Assetchain name (`-ac_name`), upper case by convention, e.g. `BEER`.
    pub name: String,
    /// Initial supply (`-ac_supply`).
    pub supply: u64,
    /// P2P port of this assetchain.
    pub p2p_port: u16,
    /// RPC port of this assetchain.
    pub rpc_port: u16,
    /// Extra `-ac_*` launch parameters, without the `-ac_` prefix, e.g. `{reward: "10000"}`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Where the network seed comes from: exactly one of `env`, `file` or `insecure_phrase`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysSpec {
    /// The seed source.
    pub seed: SeedSource,
}

/// A seed source. The seed is 32 bytes written as 64 hex characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SeedSource {
    /// Read the seed from this environment variable.
    Env(String),
    /// Read the seed from this file, relative to the spec (keep it git-ignored).
    File(String),
    /// Derive the seed from this PUBLIC phrase (its SHA-256). Anyone who reads the spec can
    /// recompute every key, like the well-known mnemonics of local devnets: for demos and
    /// throwaway devnets only. chainfleet warns whenever it is used.
    InsecurePhrase(String),
}

/// What a node does in the network. Which roles a family accepts is checked.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Signs blocks (Cosmos, CometBFT): has a consensus key and genesis stake.
    Validator,
    /// Public-facing full node shielding validators (sentry topology).
    Sentry,
    /// Peer-discovery node (seed mode / Mina seed).
    Seed,
    /// Full node serving RPC/API.
    Full,
    /// Full node keeping all history.
    Archive,
    /// Mina block producer (staking key from a secret manager).
    BlockProducer,
    /// Mina SNARK coordinator: hands SNARK jobs to a worker pool.
    SnarkCoordinator,
    /// Mina SNARK worker pool attached to one coordinator group.
    SnarkWorker,
    /// Komodo notary node (komodod plus iguana).
    Notary,
    /// Anything else: runs the chain image with the group's `command`.
    Custom,
}

/// How a Mina SNARK coordinator picks work for its pool (`mina daemon --work-selection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkSelection {
    /// Sequentially, oldest job first.
    Seq,
    /// At random (the daemon's default).
    Rand,
}

impl WorkSelection {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkSelection::Seq => "seq",
            WorkSelection::Rand => "rand",
        }
    }
}

/// A group of identical nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Group name (DNS-safe). Nodes are named `<group>-0`, `<group>-1`, ...
    pub name: String,
    /// The nodes' role.
    pub role: Role,
    /// How many nodes (at least 1).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1000))]
    pub count: u32,
    /// Self-delegated stake of each validator, one coin in the staking denom, e.g.
    /// `100000000stake` (the default). Its voting power is stake / 10^6 (the Cosmos SDK's
    /// power reduction), so the default gives power 100; a bare CometBFT stake must be a
    /// whole multiple of 10^6 (or set `power`).
    #[serde(default)]
    pub stake: Option<String>,
    /// Bare CometBFT validators: the voting power of each node, a whole number of votes
    /// (CometBFT's unit, no denom) from 1. Default 100 (from the default stake). Set `power`
    /// or `stake`, not both.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub power: Option<u64>,
    /// Cosmos SDK validators: the gentx's commission, description and minimum
    /// self-delegation of every node of the group (`nodes` can change them per node).
    #[serde(default)]
    pub validator: Option<ValidatorSpec>,
    /// Settings of single nodes that differ from the group's, by node name
    /// (`<group>-<ordinal>`), e.g. `{validator-0: {stake: 500000000stake}}`.
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeSpec>,
    /// Regions to spread the nodes over, round-robin in order. Each must be listed in the
    /// top-level `regions`. Defaults to the first region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// CPU, memory and storage per node.
    #[serde(default)]
    pub resources: Option<ResourcesSpec>,
    /// Container port overrides by port name (`p2p`, `rpc`, `api`, `grpc`, `metrics`, ...).
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    /// Which ports are reachable from outside, by port name: `public` or `internal`.
    /// Unlisted ports are internal.
    #[serde(default)]
    pub expose: BTreeMap<String, Exposure>,
    /// Fixed host ports (compose and local targets) by port name. Only for groups of one
    /// node; other host ports are allocated from the target's base port.
    #[serde(default)]
    pub host_ports: BTreeMap<String, u16>,
    /// Validators only: the sentry group that shields them. Validators then peer only
    /// with those sentries, with PEX off; sentries keep the validators' IDs private.
    #[serde(default)]
    pub behind: Option<String>,
    /// With `behind`: give each validator a dedicated sentry, validator `i` peering only
    /// with sentry `i` of the sentry group, which must have as many nodes (and should place
    /// them in the same regions). Default `false`: every validator peers with every sentry.
    #[serde(default)]
    pub dedicated_sentries: bool,
    /// SNARK workers only: the coordinator group whose jobs this pool works on.
    #[serde(default)]
    pub coordinator: Option<String>,
    /// SNARK coordinators: the fee in MINA the coordinator asks per SNARK job
    /// (`--snark-worker-fee`), e.g. `0.01`. Each coordinator group (each pool) may differ.
    #[serde(default)]
    pub snark_fee: Option<String>,
    /// SNARK coordinators: how the coordinator picks the next job for its pool
    /// (`--work-selection`): `seq` (in order) or `rand` (the daemon's default).
    #[serde(default)]
    pub work_selection: Option<WorkSelection>,
    /// Mina block producers and SNARK coordinators: genesis balance of each node's account
    /// in MINA, a decimal with at most 9 fractional digits. A block producer's balance is
    /// its stake; defaults: `1000000` for block producers, `0` for coordinators (whose
    /// account receives SNARK fees).
    #[serde(default)]
    #[schemars(example = &"1000000")]
    pub balance: Option<String>,
    /// Mina block producers: the block producer node (e.g. `producer-0`) each node of this
    /// group delegates its stake to at genesis. Defaults to the node itself.
    #[serde(default)]
    pub delegate: Option<String>,
    /// Komodo: the assetchains this group runs (defaults to all).
    #[serde(default)]
    pub assetchains: Option<Vec<String>>,
    /// Komodo notaries: the notary's identity in the notary set. Its key (iguana passphrase
    /// and pubkey) derives from the network seed, or is the operator's own passphrase
    /// (`passphrase_env`); it lives in the secrets tree.
    #[serde(default)]
    pub notary: Option<NotarySpec>,
    /// Node config overrides: TOML keys by dotted path into `config.toml`
    /// (e.g. `consensus.timeout_commit: 2s`).
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    /// App config overrides by dotted path into `app.toml` (Cosmos).
    #[serde(default)]
    pub app_config: BTreeMap<String, serde_json::Value>,
    /// Extra environment variables for the node process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Custom role: the arguments passed to the chain binary; with `image`, the container's
    /// whole command (its first word is the program).
    #[serde(default)]
    pub command: Vec<String>,
    /// Custom role: run this image (pinned) instead of the chain's, with `command`, as a test
    /// service beside the daemons: no keys, no ports, no peers.
    #[serde(default)]
    pub image: Option<String>,
    /// Test services (custom groups with `image`): the group whose nodes this service tests.
    /// Its nodes' GraphQL URLs reach the service as `CHAINFLEET_GRAPHQL_URL` (the first node)
    /// and `CHAINFLEET_GRAPHQL_URLS` (all, comma-separated).
    #[serde(default)]
    pub tests: Option<String>,
}

/// One node's settings that differ from its group's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// This validator's stake (instead of the group's `stake`).
    #[serde(default)]
    pub stake: Option<String>,
    /// This CometBFT validator's voting power (instead of the group's `power`).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub power: Option<u64>,
    /// This Cosmos validator's gentx settings; each one set replaces the group's.
    #[serde(default)]
    pub validator: Option<ValidatorSpec>,
}

/// A Cosmos SDK validator's `create-validator` settings (its gentx).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Commission rates, decimals from 0 to 1 (default rate `0.1`, max_rate `0.2`,
    /// max_change_rate `0.01`), with rate <= max_rate and max_change_rate <= max_rate.
    #[serde(default)]
    pub commission: Option<CommissionSpec>,
    /// The validator's public description (default: moniker = node name).
    #[serde(default)]
    pub description: Option<DescriptionSpec>,
    /// Minimum self-delegation in base units of the staking denom, a whole number from 1 up
    /// to the stake (default `1`).
    #[serde(default)]
    #[schemars(example = &"1000000")]
    pub min_self_delegation: Option<String>,
}

/// Commission rates, decimals such as `0.05`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionSpec {
    /// Commission charged to delegators (default `0.1`).
    #[serde(default)]
    pub rate: Option<String>,
    /// The most the rate may ever be (default `0.2`).
    #[serde(default)]
    pub max_rate: Option<String>,
    /// The most the rate may change in a day (default `0.01`).
    #[serde(default)]
    pub max_change_rate: Option<String>,
}

/// A validator's description (`MsgCreateValidator.description`); the SDK caps each field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescriptionSpec {
    /// Name shown by explorers (at most 70 characters; default: the node name).
    #[serde(default)]
    pub moniker: Option<String>,
    /// Keybase identity (at most 3000 characters).
    #[serde(default)]
    pub identity: Option<String>,
    /// Website URL (at most 140 characters).
    #[serde(default)]
    pub website: Option<String>,
    /// Security contact e-mail (at most 140 characters).
    #[serde(default)]
    pub security_contact: Option<String>,
    /// Free text (at most 280 characters).
    #[serde(default)]
    pub details: Option<String>,
}

/// A Komodo notary's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotarySpec {
    /// Its name in iguana's notary file (`notaries: [{<name>: <pubkey>}]`), e.g.
    /// `alice_EU`: letters, digits and `_`. Groups of several notaries append `_<ordinal>`.
    /// Defaults to the node name.
    pub name: String,
    /// The environment variable holding this notary's own wallet passphrase (an elected
    /// notary's key; the group must have one node). `generate` reads it, derives the pubkey
    /// as iguana does (a WIF is the private key itself, any other passphrase its SHA-256
    /// with curve25519 clamping: `conv_NXTpassword()` of KomodoPlatform/dPoW), and installs
    /// the passphrase like a generated one. Without it, the key derives from the seed.
    #[serde(default)]
    #[schemars(example = &"NOTARY_EU_PASSPHRASE")]
    pub passphrase_env: Option<String>,
    /// The notary's elected pubkey (66 hex characters): `generate` refuses a passphrase that
    /// does not give it.
    #[serde(default)]
    pub pubkey: Option<String>,
}

fn one() -> u32 {
    1
}

/// Reachability of a port.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Reachable from the internet: Elastic IP / load balancer / LoadBalancer service /
    /// published host port.
    Public,
    /// Reachable inside the network only.
    Internal,
}

/// Resources per node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesSpec {
    /// vCPUs, e.g. `1`, `0.5`, `2`.
    #[serde(default)]
    pub cpu: Option<f64>,
    /// Memory with a binary unit: `512Mi`, `4Gi`.
    #[serde(default)]
    #[schemars(example = &"4Gi")]
    pub memory: Option<String>,
    /// Chain data volume size: `100Gi`.
    #[serde(default)]
    pub storage: Option<String>,
}

/// Monitoring settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSpec {
    /// Run Prometheus and Alertmanager (compose) and create the PodMonitor and
    /// PrometheusRule (Helm). Nodes export their metrics either way: the alerts of every
    /// target read them (on AWS, the CloudWatch agent beside each node).
    #[serde(default)]
    pub prometheus: bool,
    /// Run Grafana with a provisioned chain dashboard.
    #[serde(default)]
    pub grafana: bool,
    /// Days to keep logs (CloudWatch log retention).
    #[serde(default)]
    pub log_retention_days: Option<u32>,
    /// Alert thresholds and where alerts go.
    #[serde(default)]
    pub alerts: Option<AlertsSpec>,
    /// Seconds between Prometheus scrapes and rule evaluations (default 15).
    #[serde(default)]
    #[schemars(range(min = 1, max = 3600))]
    pub scrape_interval_seconds: Option<u32>,
}

/// Alert thresholds and targets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsSpec {
    /// Alert when a node's memory use passes this percentage of its limit.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub memory_percent: Option<u8>,
    /// Alert when a node's CPU use passes this percentage.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub cpu_percent: Option<u8>,
    /// Alert when no new block was made for this many minutes.
    #[serde(default)]
    pub no_block_minutes: Option<u32>,
    /// Alert when a node has fewer peers than this.
    #[serde(default)]
    pub min_peers: Option<u32>,
    /// Alert when a node's metrics endpoint has not answered for this many seconds
    /// (default 120).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub node_down_seconds: Option<u32>,
    /// Alert when a validator's last signature is this many blocks behind the chain's height
    /// (CometBFT families; default 10). Reported per validator (`validator_address`).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub missed_blocks: Option<u32>,
    /// Email addresses to notify. Prometheus' Alertmanager (compose) sends through `smtp`;
    /// AWS subscribes them to the SNS topic.
    #[serde(default)]
    pub email: Vec<String>,
    /// SMTP server for the `email` targets (Alertmanager). With `username`, the password is
    /// read from the secrets tree, file `alerts/smtp-password`.
    #[serde(default)]
    pub smtp: Option<SmtpSpec>,
    /// Webhook URLs to notify (Alertmanager's webhook JSON; SNS HTTPS subscriptions on AWS).
    /// HTTPS, or plain HTTP to a private or loopback IP address (a receiver on the same
    /// host or network).
    #[serde(default)]
    pub webhooks: Vec<String>,
    /// Slack channel to notify through an incoming webhook (Alertmanager). The webhook URL is
    /// a credential: it is read from the secrets tree, file `alerts/slack-webhook-url`.
    #[serde(default)]
    pub slack: Option<SlackSpec>,
    /// Telegram chat to notify (Alertmanager 0.26 or newer). The bot token is read from the
    /// secrets tree, file `alerts/telegram-bot-token`.
    #[serde(default)]
    pub telegram: Option<TelegramSpec>,
    /// Notify PagerDuty (Events API v2, Alertmanager). The integration's routing key is read
    /// from the secrets tree, file `alerts/pagerduty-routing-key`.
    #[serde(default)]
    pub pagerduty: bool,
    /// Existing SNS topic ARNs to notify (AWS).
    #[serde(default)]
    pub sns_topics: Vec<String>,
    /// Extra labels on every alert (routing in Alertmanager), e.g. `{team: chain-ops}`.
    /// Names are Prometheus label names (not `severity`, which chainfleet sets); values may
    /// not hold `{{` or `}}`, which Prometheus would expand.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// SMTP server Alertmanager sends alert e-mails through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSpec {
    /// `host:port` of the SMTP server, e.g. `smtp.example.com:587`.
    #[schemars(example = &"smtp.example.com:587")]
    pub smarthost: String,
    /// Sender address.
    pub from: String,
    /// Login name; its password is the secrets tree's `alerts/smtp-password`.
    #[serde(default)]
    pub username: Option<String>,
    /// Require STARTTLS (default true).
    #[serde(default)]
    pub require_tls: Option<bool>,
}

/// A Slack channel reached through an incoming webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSpec {
    /// Channel name, e.g. `#chain-ops`.
    pub channel: String,
}

/// A Telegram chat notified by a bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramSpec {
    /// Numeric chat ID (negative for groups).
    pub chat_id: i64,
}

/// Deployment targets. Each present key is generated.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsSpec {
    /// AWS CloudFormation: one stack per region on ECS.
    #[serde(default)]
    pub aws: Option<AwsTarget>,
    /// A Helm chart for Kubernetes.
    #[serde(default)]
    pub kubernetes: Option<KubernetesTarget>,
    /// A docker-compose project for one host.
    #[serde(default)]
    pub compose: Option<ComposeTarget>,
    /// Plain processes on this machine (`run.sh` / `stop.sh`).
    #[serde(default)]
    pub local: Option<LocalTarget>,
    /// Bare-metal machines or VMs: an Ansible inventory and playbook that install every
    /// node as a systemd service on the machines listed here.
    #[serde(default)]
    pub hosts: Option<HostsTarget>,
}

/// Bare-metal target settings: the machines, how to reach them, and the binaries to install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostsTarget {
    /// The machines. Nodes a machine does not list are placed by chainfleet, in node order,
    /// on the machine with the fewest nodes. Adding a machine is adding a line; pin
    /// validators with `nodes` so that adding one never moves a validator.
    #[schemars(length(min = 1))]
    pub machines: Vec<MachineSpec>,
    /// Executables installed on every machine, each verified against its SHA-256. The
    /// chain binary must be one of them.
    #[schemars(length(min = 1))]
    pub binaries: Vec<BinarySpec>,
    /// SSH login of every machine without its own `ssh_user` (default `root`; another user
    /// needs passwordless sudo).
    #[serde(default = "root_user")]
    pub ssh_user: String,
    /// The system user every node runs as (created by the playbook).
    #[serde(default = "service_user")]
    pub service_user: String,
    /// Networks (CIDRs) allowed to reach the nodes' non-public ports (RPC, metrics,
    /// node exporter) besides the network's own machines, e.g. your Prometheus server.
    #[serde(default)]
    pub allow_from: Vec<String>,
}

fn root_user() -> String {
    "root".into()
}

fn service_user() -> String {
    "chainfleet".into()
}

/// One machine of the bare-metal target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MachineSpec {
    /// Inventory name (a DNS label).
    pub name: String,
    /// IPv4 address or DNS name where SSH and the other nodes reach it.
    pub address: String,
    /// SSH login (default: the target's `ssh_user`).
    #[serde(default)]
    pub ssh_user: Option<String>,
    /// Nodes pinned to this machine, e.g. `[validator-0, sentry-0]`.
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// An executable the playbook installs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BinarySpec {
    /// File name in the install folder, e.g. `simd` (the chain's `binary`).
    pub name: String,
    /// Its SHA-256, hex: the install fails unless the file has it.
    pub sha256: String,
    /// Where each machine downloads it (https). Without it, the playbook copies it from
    /// the control machine's `ansible/bin/<name>` (or `-e chainfleet_binary_dir=DIR`).
    #[serde(default)]
    pub url: Option<String>,
}

/// ECS launch types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LaunchType {
    /// Serverless tasks; public p2p through a Network Load Balancer on an Elastic IP.
    Fargate,
    /// One EC2 container instance per node (host networking); public p2p on an Elastic IP
    /// associated with the instance's network interface.
    Ec2,
}

/// AWS target settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsTarget {
    /// ECS launch type.
    #[serde(default = "fargate")]
    pub launch_type: LaunchType,
    /// The VPC: a new one with this CIDR, or an existing one.
    #[serde(default)]
    pub vpc: Option<VpcSpec>,
    /// Route 53 hosted zone for public node names (cross-region peers).
    #[serde(default)]
    pub dns_zone: Option<DnsZoneSpec>,
    /// ACM certificate ARN for an HTTPS listener on the RPC/API load balancer.
    #[serde(default)]
    pub certificate_arn: Option<String>,
    /// EC2 instance type of every node's container instance (`ec2` launch type only), e.g.
    /// `m6i.xlarge`. Default: per group, the smallest `m6i` size that holds the group's cpu
    /// and memory. A stack parameter per group can change it at deploy time.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Keep the chain data (EFS) and the public nodes' Elastic IPs, which other operators
    /// peer with, when a stack is deleted or a resource replaced (default `true`; set
    /// `false` for throwaway testnets).
    #[serde(default = "retain")]
    pub retain_on_delete: bool,
}

fn retain() -> bool {
    true
}

fn fargate() -> LaunchType {
    LaunchType::Fargate
}

/// A VPC: exactly one of `cidr` (create) or `existing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcSpec {
    /// CIDR of a new VPC per region, e.g. `10.20.0.0/16`.
    #[serde(default)]
    pub cidr: Option<String>,
    /// Use an existing VPC (its ID and subnets become stack parameters).
    #[serde(default)]
    pub existing: bool,
}

/// A Route 53 hosted zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsZoneSpec {
    /// Zone name, e.g. `testnet.example.com`.
    pub name: String,
    /// Hosted zone ID, e.g. `Z0123456789ABCDEFGHIJ`.
    pub hosted_zone_id: String,
}

/// Kubernetes Service types for public ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    /// A cloud load balancer per public node port.
    LoadBalancer,
    /// A port on every cluster node.
    NodePort,
}

/// Kubernetes target settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesTarget {
    /// Namespace to install into.
    pub namespace: String,
    /// Storage class of the chain data volumes (cluster default when absent): a DNS
    /// subdomain such as `standard` or `gp3`.
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Service type for public ports.
    #[serde(default = "load_balancer")]
    pub service_type: ServiceType,
    /// Cluster DNS domain.
    #[serde(default = "cluster_local")]
    pub cluster_domain: String,
}

fn load_balancer() -> ServiceType {
    ServiceType::LoadBalancer
}

fn cluster_local() -> String {
    "cluster.local".into()
}

/// docker-compose target settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeTarget {
    /// IPv4 subnet of the project network; every node gets a static address in it.
    #[serde(default = "compose_subnet")]
    #[schemars(example = &"172.28.0.0/24")]
    pub subnet: String,
    /// First host port for published ports.
    #[serde(default = "base_port")]
    pub base_port: u16,
    /// Host address that published node ports bind to (default: every interface);
    /// `127.0.0.1` keeps the whole network private to this host. Prometheus, Alertmanager
    /// and Grafana always bind 127.0.0.1.
    #[serde(default)]
    #[schemars(example = &"127.0.0.1")]
    pub host_ip: Option<String>,
}

fn compose_subnet() -> String {
    "172.28.0.0/24".into()
}

/// Local (plain process) target settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalTarget {
    /// First port; every node gets a block of consecutive ports from here on 127.0.0.1.
    #[serde(default = "base_port")]
    pub base_port: u16,
}

fn base_port() -> u16 {
    26600
}
