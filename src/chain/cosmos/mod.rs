//! Cosmos SDK networks: account keys, genesis with app state and signed gentxs, per-node
//! `config.toml` and `app.toml`.
//!
//! The genesis is written in the CometBFT layout (`initial_height` as a string), which SDK
//! v0.50 reads through its fallback path and which older SDKs and bare CometBFT also read.
//! Its `validators` list stays empty: the SDK returns the set from the gentxs at InitChain.
//!
//! Accounts: one per validator (named after the node) and one per `chain.accounts` entry,
//! numbered 0.. in that order as `genesis add-genesis-account` would. Validators hold their
//! stake plus `chain.validator_fee_balance` (default 10^9) for fees. Secrets tree: `accounts/<name>.json` with the
//! mnemonic (import with `<binary> keys add <name> --recover`); public tree: `accounts.json`
//! (name → address, kind). Bank supply is the exact per-denom sum of the balances.

pub mod gentx;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rayon::prelude::*;
use serde_json::{json, Value};

use super::cometbft::{self, tomledit};
use super::family::{ChainFamily, Launch, Metrics, Probe};
use super::runtime::Runtime;
use super::text::Text;
use super::Artifacts;
use crate::diag::{Diagnostic, Diagnostics};
use crate::files::FileEntry;
use crate::keys::cosmos::{bech32, Account, HD_PATH};
use crate::keys::Seed;
use crate::model::resolve::DEFAULT_STAKE;
use crate::model::{Network, Node};

/// `app_state` as `simd init` (SDK v0.50.15) writes it.
const APP_STATE_050: &str = include_str!("../../../templates/cosmos/sdk-0.50/app_state.json");
/// `app.toml` as `simd init` (SDK v0.50.15) writes it.
const APP_TOML_050: &str = include_str!("../../../templates/cosmos/sdk-0.50/app.toml");

static APP_TOML: LazyLock<tomledit::Template> =
    LazyLock::new(|| tomledit::Template::parse(APP_TOML_050));

/// The account key of validator `node`.
pub fn validator_account(net: &Network, seed: &Seed, node: &Node) -> Account {
    Account::from_entropy(seed.derive(&net.name, "cosmos/validator-account", &node.name))
}

/// The account key of genesis account `name` (`chain.accounts`).
pub fn genesis_account(net: &Network, seed: &Seed, name: &str) -> Account {
    Account::from_entropy(seed.derive(&net.name, "cosmos/account", name))
}

fn addr(prefix: &str, suffix: &str, bytes: &[u8]) -> String {
    // The prefix was validated by the spec checks; a failure here is a bug.
    bech32(&format!("{prefix}{suffix}"), bytes).expect("valid bech32 prefix")
}

/// Apply `chain.genesis_patches` in order. A patch whose parent does not exist is an error
/// naming the patch (never a panic).
pub fn apply_patches(net: &Network, mut genesis: Value) -> Result<Value, Diagnostics> {
    let mut diags = Diagnostics::default();
    for (i, (path, value)) in net.chain.genesis_patches.iter().enumerate() {
        if let Err(msg) = set_pointer(&mut genesis, path, value.clone()) {
            diags.push(
                Diagnostic::error(&format!("chain.genesis_patches[{i}]"), None, msg)
                    .with_value(path.clone())
                    .with_hint("patch a key whose parent exists in the generated genesis.json (see its app_state)"),
            );
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(genesis)
    }
}

/// Set the value at JSON pointer `path` (RFC 6901). The parent must exist; the last token
/// adds or replaces an object member, replaces an array element, or appends with `-`.
fn set_pointer(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!(
            "`{path}` is not a JSON pointer (it must start with `/`)"
        ));
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let (last, parents) = tokens.split_last().expect("split gives one token at least");
    let mut cur = doc;
    let mut walked = String::new();
    for t in parents {
        walked.push('/');
        walked.push_str(t);
        cur = match cur {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("genesis patch parent `{walked}` does not exist"))?;
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) if last == "-" => {
            a.push(value);
            Ok(())
        }
        Value::Array(a) => match last.parse::<usize>().ok().filter(|&i| i < a.len()) {
            Some(i) => {
                a[i] = value;
                Ok(())
            }
            None => Err(format!(
                "genesis patch index `{last}` is outside the array at `{}` ({} elements)",
                path.rsplit_once('/').map_or("", |p| p.0),
                a.len()
            )),
        },
        _ => Err(format!(
            "genesis patch parent `{}` is not an object or array",
            path.rsplit_once('/').map_or("", |p| p.0)
        )),
    }
}

/// Per-account facts for genesis.
struct GenesisAccount {
    address: String,
    coins: BTreeMap<String, u128>,
}

fn set_denom(v: &mut Value, ptr: &str, denom: &str) {
    if let Some(Value::Array(coins)) = v.pointer_mut(ptr) {
        for c in coins {
            if let Some(d) = c.get_mut("denom") {
                *d = json!(denom);
            }
        }
    } else if let Some(Value::Object(c)) = v.pointer_mut(ptr) {
        if c.contains_key("denom") {
            c.insert("denom".into(), json!(denom));
        }
    }
}

fn set_if_present(v: &mut Value, ptr: &str, value: Value) {
    if let Some(x) = v.pointer_mut(ptr) {
        *x = value;
    }
}

/// Members of the app state chainfleet fills; a custom template must have them.
const REQUIRED: [&str; 3] = ["/auth/accounts", "/bank/balances", "/genutil/gen_txs"];

/// The app state template in use (the spec's, or the built-in one for the SDK line).
fn template(net: &Network) -> Result<Value, Diagnostics> {
    let t =
        net.chain.app_state_template.clone().unwrap_or_else(|| {
            serde_json::from_str(APP_STATE_050).expect("built-in template is JSON")
        });
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|p| !t.pointer(p).is_some_and(Value::is_array))
        .collect();
    if missing.is_empty() {
        return Ok(t);
    }
    let mut d = Diagnostics::default();
    d.push(
        Diagnostic::error(
            "chain.app_state_template",
            None,
            format!(
                "the app state template has no array at {}",
                missing.join(", ")
            ),
        )
        .with_hint("use the `app_state` your chain's own `init` writes, unmodified"),
    );
    Err(d)
}

/// The app state: template, accounts, balances, supply, denoms, gentxs.
fn app_state(
    mut app: Value,
    net: &Network,
    accounts: &[GenesisAccount],
    gen_txs: Vec<Value>,
) -> Value {
    let denom = &net.chain.denom;
    let auth_accounts: Vec<Value> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({
                "@type": "/cosmos.auth.v1beta1.BaseAccount",
                "address": a.address,
                "pub_key": null,
                "account_number": i.to_string(),
                "sequence": "0",
            })
        })
        .collect();
    let mut supply: BTreeMap<&str, u128> = BTreeMap::new();
    let balances: Vec<Value> = accounts
        .iter()
        .map(|a| {
            for (d, n) in &a.coins {
                *supply.entry(d).or_default() += n;
            }
            json!({
                "address": a.address,
                "coins": a.coins.iter().map(|(d, n)| json!({"denom": d, "amount": n.to_string()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let supply: Vec<Value> = supply
        .iter()
        .map(|(d, n)| json!({"denom": d, "amount": n.to_string()}))
        .collect();
    set_if_present(&mut app, "/auth/accounts", Value::Array(auth_accounts));
    set_if_present(&mut app, "/bank/balances", Value::Array(balances));
    set_if_present(&mut app, "/bank/supply", Value::Array(supply));
    set_if_present(&mut app, "/staking/params/bond_denom", json!(denom));
    set_if_present(&mut app, "/mint/params/mint_denom", json!(denom));
    set_denom(&mut app, "/gov/params/min_deposit", denom);
    set_denom(&mut app, "/gov/params/expedited_min_deposit", denom);
    set_denom(&mut app, "/gov/deposit_params/min_deposit", denom);
    set_denom(&mut app, "/crisis/constant_fee", denom);
    set_if_present(&mut app, "/genutil/gen_txs", Value::Array(gen_txs));
    if let Some(d) = &net.chain.display_denom {
        // x/bank Metadata: the base unit at exponent 0, the display unit at its exponent.
        let metadata = json!([{
            "description": format!("The staking token of {}", net.chain.chain_id),
            "denom_units": [
                {"denom": denom, "exponent": 0, "aliases": []},
                {"denom": d.name, "exponent": d.exponent, "aliases": []},
            ],
            "base": denom,
            "display": d.name,
            "name": d.symbol,
            "symbol": d.symbol,
            "uri": "",
            "uri_hash": "",
        }]);
        set_if_present(&mut app, "/bank/denom_metadata", metadata);
    }
    app
}

fn app_toml(net: &Network, node: &Node) -> Result<String, Vec<Diagnostic>> {
    let lit = |v: Value| tomledit::literal(&v).expect("built-in values are TOML");
    let mut v = BTreeMap::new();
    v.insert(
        "minimum-gas-prices".into(),
        lit(json!(net.chain.minimum_gas_prices)),
    );
    v.insert("pruning".into(), lit(json!("default")));
    v.insert("api.enable".into(), lit(json!(true)));
    if let Some(p) = node.port("api") {
        v.insert(
            "api.address".into(),
            lit(json!(format!("tcp://0.0.0.0:{}", p.container))),
        );
    }
    v.insert("grpc.enable".into(), lit(json!(true)));
    if let Some(p) = node.port("grpc") {
        v.insert(
            "grpc.address".into(),
            lit(json!(format!("0.0.0.0:{}", p.container))),
        );
    }
    v.insert("telemetry.enabled".into(), lit(json!(true)));
    v.insert("telemetry.prometheus-retention-time".into(), lit(json!(60)));
    v.insert(
        "telemetry.global-labels".into(),
        lit(json!([["chain_id", net.chain.chain_id]])),
    );
    if let Some(g) = net.group(&node.group) {
        let d = cometbft::override_values("app_config", &g.name, &g.app_config, &mut v);
        if !d.is_empty() {
            return Err(d);
        }
    }
    Ok(APP_TOML.render(&v))
}

/// Build the artifacts of a Cosmos SDK network.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let prefix = &net.chain.bech32_prefix;
    let template = template(net)?;
    let keys = cometbft::node_keys(net, seed);
    let mut a = cometbft::key_artifacts(net, &keys);

    // Validator accounts and their gentxs: the BIP39 seed stretch dominates, so in parallel.
    let validators: Vec<(&Node, &cometbft::NodeKeys)> = net
        .nodes
        .iter()
        .zip(&keys)
        .filter(|(n, _)| n.is_validator())
        .collect();
    let signed: Vec<(Account, Value)> = validators
        .par_iter()
        .enumerate()
        .map(|(i, (n, k))| {
            let acct = validator_account(net, seed, n);
            let cons = k
                .validator
                .as_ref()
                .expect("validators have consensus keys");
            let valoper = addr(prefix, "valoper", &acct.address());
            let stake = n.stake.as_ref().map_or(DEFAULT_STAKE, |c| c.amount);
            let p2p = n.port("p2p").map_or(26656, |p| p.container);
            let memo = format!("{}@{}:{p2p}", k.node.node_id(), n.name);
            let tx = gentx::GenTx {
                chain_id: &net.chain.chain_id,
                settings: n
                    .validator
                    .as_ref()
                    .expect("Cosmos validators have settings"),
                validator_address: &valoper,
                consensus_pubkey: cons.public(),
                amount: stake,
                denom: &net.chain.denom,
                memo: &memo,
                // Validators' accounts are numbered first, in node order.
                account_number: if net.chain.initial_height > 1 {
                    i as u64
                } else {
                    0
                },
            }
            .sign(&acct);
            (acct, tx)
        })
        .collect();
    let extra: Vec<Account> = net
        .chain
        .accounts
        .par_iter()
        .map(|x| genesis_account(net, seed, &x.name))
        .collect();

    let mut genesis_accounts = Vec::new();
    let mut public_accounts = serde_json::Map::new();
    let mut gen_txs = Vec::new();
    for ((n, k), (acct, tx)) in validators.iter().zip(signed) {
        let address = addr(prefix, "", &acct.address());
        let cons = k.validator.as_ref().expect("validator");
        let na = a.nodes.entry(n.name.clone()).or_default();
        na.addresses.insert("account".into(), address.clone());
        na.addresses
            .insert("valoper".into(), addr(prefix, "valoper", &acct.address()));
        na.addresses
            .insert("valcons".into(), addr(prefix, "valcons", &cons.address()));
        let mut coins = BTreeMap::new();
        if let Some(s) = &n.stake {
            *coins.entry(s.denom.clone()).or_default() += s.amount;
        } else {
            coins.insert(net.chain.denom.clone(), DEFAULT_STAKE);
        }
        if net.chain.validator_fee_balance > 0 {
            *coins.entry(net.chain.denom.clone()).or_default() += net.chain.validator_fee_balance;
        }
        add_account(
            &mut a,
            &mut public_accounts,
            &n.name,
            &acct,
            &address,
            "validator",
        );
        genesis_accounts.push(GenesisAccount { address, coins });
        gen_txs.push(tx);
    }
    for (spec, acct) in net.chain.accounts.iter().zip(&extra) {
        let address = addr(prefix, "", &acct.address());
        let mut coins = BTreeMap::new();
        for c in &spec.coins {
            *coins.entry(c.denom.clone()).or_default() += c.amount;
        }
        add_account(
            &mut a,
            &mut public_accounts,
            &spec.name,
            acct,
            &address,
            "account",
        );
        genesis_accounts.push(GenesisAccount { address, coins });
    }

    let mut genesis = cometbft::genesis_frame(net, vec![]);
    genesis.insert(
        "app_state".into(),
        app_state(template, net, &genesis_accounts, gen_txs),
    );
    let genesis = apply_patches(net, Value::Object(genesis))?;
    a.public.insert(
        "genesis.json".into(),
        FileEntry::text(cometbft::canonical_json(&genesis)),
    );
    a.public.insert(
        "accounts.json".into(),
        FileEntry::text(cometbft::canonical_json(&Value::Object(public_accounts))),
    );
    cometbft::add_configs(net, &mut a, &|n| {
        Ok(vec![(
            format!("nodes/{}/config/app.toml", n.name),
            app_toml(net, n)?,
        )])
    })?;
    Ok(a)
}

/// Record an account: its mnemonic in the secrets tree, its address in `accounts.json`.
fn add_account(
    a: &mut Artifacts,
    public: &mut serde_json::Map<String, Value>,
    name: &str,
    acct: &Account,
    address: &str,
    kind: &str,
) {
    public.insert(name.into(), json!({"address": address, "kind": kind}));
    let secret = json!({
        "name": name,
        "address": address,
        "hd_path": HD_PATH,
        "mnemonic": acct.mnemonic(),
    });
    a.secrets.insert(
        format!("accounts/{name}.json"),
        FileEntry::text(cometbft::canonical_json(&secret)),
    );
}

/// The Cosmos SDK family: CometBFT nodes running an SDK app, genesis with app state and
/// signed gentxs. Nodes start, are probed and export metrics as CometBFT nodes do.
pub struct Cosmos;

impl ChainFamily for Cosmos {
    fn build(&self, net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
        build(net, seed)
    }
    fn launch(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
        cometbft::launch(net, node, rt)
    }
    fn peer_address(&self, id: Option<&str>, host: &Text, port: &Text) -> Text {
        cometbft::peer_address(id, host, port)
    }
    fn probe(&self, _net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
        cometbft::probe(node, rt)
    }
    fn data_dir(&self, net: &Network) -> String {
        cometbft::data_dir(net)
    }
    fn genesis_home_path(&self) -> &'static str {
        cometbft::GENESIS_HOME_PATH
    }
    fn home_dirs(&self) -> &'static [&'static str] {
        &["config"]
    }
    fn metrics(&self) -> Option<Metrics> {
        Some(cometbft::METRICS)
    }
    fn failure_log_terms(&self) -> &'static [&'static str] {
        cometbft::FAILURE_LOG_TERMS
    }
    /// CometBFT's `/health` on RPC; the SDK's syncing query on the REST API.
    fn http_health_path(&self, port: &str) -> Option<&'static str> {
        match port {
            "rpc" => Some("/health"),
            "api" => Some("/cosmos/base/tendermint/v1beta1/syncing"),
            _ => None,
        }
    }
    /// `CMTHOME` and `<PREFIX>_HOME` (the SDK binds every flag to `<PREFIX>_<FLAG>`).
    fn home_env(&self, net: &Network) -> Vec<String> {
        vec![
            "CMTHOME".into(),
            format!("{}_HOME", cometbft::env_prefix(net)),
        ]
    }
    fn external_address_env(&self, net: &Network) -> Option<String> {
        Some(format!(
            "{}_P2P_EXTERNAL_ADDRESS",
            cometbft::env_prefix(net)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_patches_set_add_and_report_missing_parents() {
        let mut v = json!({"a": {"b": 1}, "l": [1, 2]});
        set_pointer(&mut v, "/a/b", json!(2)).unwrap();
        set_pointer(&mut v, "/a/c", json!(3)).unwrap();
        set_pointer(&mut v, "/l/0", json!(9)).unwrap();
        set_pointer(&mut v, "/l/-", json!(4)).unwrap();
        assert_eq!(v, json!({"a": {"b": 2, "c": 3}, "l": [9, 2, 4]}));
        let e = set_pointer(&mut v, "/x/y/z", json!(1)).unwrap_err();
        assert!(e.contains("`/x`"), "{e}");
        assert!(set_pointer(&mut v, "/l/7", json!(1)).is_err());
        assert!(set_pointer(&mut v, "/a/b/c", json!(1)).is_err());
        assert!(set_pointer(&mut v, "a", json!(1)).is_err());
    }

    #[test]
    fn app_toml_template_has_the_keys_we_set() {
        for k in [
            "minimum-gas-prices",
            "pruning",
            "api.enable",
            "api.address",
            "grpc.enable",
            "grpc.address",
            "telemetry.enabled",
            "telemetry.prometheus-retention-time",
            "telemetry.global-labels",
        ] {
            let mut v = BTreeMap::new();
            v.insert(k.to_string(), "\"MARK\"".to_string());
            let out = APP_TOML.render(&v);
            assert_eq!(out.matches("MARK").count(), 1, "{k}");
        }
    }

    fn genesis_of(chain_extra: &str, group_extra: &str) -> Value {
        let yaml = format!("name: t\nchain: {{ family: cosmos, chain_id: t-1, binary: simd, image: ghcr.io/cosmos/simapp:v0.50.15{chain_extra} }}\ngroups:\n  - {{ name: v, role: validator, count: 2{group_extra} }}\ntargets:\n  local: {{}}\n");
        let net = crate::test_network(&yaml);
        let a = build(&net, &Seed::from_bytes([3; 32])).unwrap();
        serde_json::from_slice(&a.public["genesis.json"].bytes).unwrap()
    }

    fn balances(g: &Value) -> Vec<String> {
        g["app_state"]["bank"]["balances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["coins"][0]["amount"].as_str().unwrap().to_string())
            .collect()
    }

    /// Issue 11: the extra 10^9 of each validator account is a spec field with that default.
    #[test]
    fn validator_fee_balance_defaults_to_ten_to_the_ninth() {
        assert_eq!(balances(&genesis_of("", "")), ["1100000000", "1100000000"]);
        assert_eq!(
            balances(&genesis_of(", validator_fee_balance: 0", "")),
            ["100000000", "100000000"]
        );
    }

    #[test]
    fn gentx_settings_initial_height_and_display_denom_reach_genesis() {
        let g = genesis_of(
            ", initial_height: 42, display_denom: { name: kstake, exponent: 3 }",
            ", validator: { commission: { rate: \"0.07\" }, min_self_delegation: \"5\" }, nodes: { v-1: { validator: { description: { moniker: m1, details: d } } } }",
        );
        assert_eq!(g["initial_height"], "42");
        let meta = &g["app_state"]["bank"]["denom_metadata"][0];
        assert_eq!(meta["display"], "kstake");
        assert_eq!(meta["symbol"], "KSTAKE");
        let msgs: Vec<&Value> = g["app_state"]["genutil"]["gen_txs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| &t["body"]["messages"][0])
            .collect();
        assert_eq!(msgs[0]["commission"]["rate"], "0.070000000000000000");
        assert_eq!(msgs[0]["commission"]["max_rate"], "0.200000000000000000");
        assert_eq!(msgs[0]["min_self_delegation"], "5");
        assert_eq!(msgs[0]["description"]["moniker"], "v-0");
        assert_eq!(msgs[1]["description"]["moniker"], "m1");
        assert_eq!(msgs[1]["description"]["details"], "d");
    }
}
