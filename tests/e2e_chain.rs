//! Real-chain end to end: generate a 4-validator network with 2 sentries and a full node,
//! start it with the generated `local/run.sh` on the real binaries (CometBFT v0.38 with its
//! built-in kvstore; simd from Cosmos SDK v0.50), and check through RPC that every node makes
//! blocks, that the validator set is exactly the generated one, that every validator signs,
//! that (Cosmos) a genesis account has its balance, and that the chain survives losing one
//! validator, which catches up when restarted. Binaries come from env COMETBFT / SIMD
//! (`scripts/chain-binaries`); under CI they are required. Loopback only.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use common::*;

/// How long the network gets to reach a height; generous for a shared 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(120);

/// GET `path` from 127.0.0.1:`port`; the body as JSON, or `None` when the node does not answer.
fn get(port: u16, path: &str) -> Option<Value> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1);
    if !head.starts_with("HTTP/1.") || status != Some("200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// A CometBFT RPC call's `result`.
fn rpc(port: u16, path: &str) -> Option<Value> {
    get(port, path).and_then(|v| v.get("result").cloned())
}

fn height(port: u16) -> Option<u64> {
    rpc(port, "/status")?["sync_info"]["latest_block_height"]
        .as_str()?
        .parse()
        .ok()
}

/// A generated, running network. Dropping it runs `stop.sh`, so a failing test leaves no
/// process behind; on failure it prints the end of every node's log first.
struct Net {
    _dir: tempfile::TempDir,
    out: PathBuf,
    secrets: PathBuf,
    run_dir: PathBuf,
    binary: PathBuf,
    network: chainfleet::model::Network,
}

impl Net {
    fn generate(fixture: &str, binary: PathBuf) -> Net {
        let spec = root().join("tests/fixtures").join(fixture);
        let mut generate = chainfleet();
        generate.args(["generate", "--target", "local"]);
        let (dir, out, secrets) = common::generate_with(generate, &spec);
        let bytes = std::fs::read(&spec).unwrap();
        let network = chainfleet::validate(fixture, &bytes, spec.parent().unwrap())
            .unwrap_or_else(|d| panic!("{fixture} is invalid: {d:?}"))
            .network;
        let run_dir = dir.path().join("run");
        Net {
            _dir: dir,
            out,
            secrets,
            run_dir,
            binary,
            network,
        }
    }

    fn script(&self, name: &str, nodes: &[&str]) {
        let o = run(Command::new(self.out.join("local").join(name))
            .args(nodes)
            .env("CHAINFLEET_BINARY", &self.binary)
            .env("CHAINFLEET_RUN_DIR", &self.run_dir));
        assert_ok(&o, &format!("local/{name} {}", nodes.join(" ")));
    }

    fn port(&self, node: &str, port: &str) -> u16 {
        self.network.node(node).unwrap().port(port).unwrap().local
    }

    fn rpc_port(&self, node: &str) -> u16 {
        self.port(node, "rpc")
    }

    fn names(&self) -> Vec<String> {
        self.network.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn validators(&self) -> Vec<String> {
        self.network.validators().map(|n| n.name.clone()).collect()
    }

    /// Consensus address (upper-case hex) of each validator, from its generated
    /// `priv_validator_key.json` in the secrets tree.
    fn consensus_addresses(&self) -> BTreeMap<String, String> {
        self.validators()
            .into_iter()
            .map(|v| {
                let path = self
                    .secrets
                    .join(format!("nodes/{v}/config/priv_validator_key.json"));
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let key: Value = serde_json::from_str(&text).unwrap();
                (key["address"].as_str().unwrap().to_uppercase(), v)
            })
            .collect()
    }

    /// Wait until every node in `nodes` is at height ≥ `h`.
    fn wait_height(&self, nodes: &[String], h: u64, timeout: Duration) {
        for n in nodes {
            let port = self.rpc_port(n);
            wait_for(
                &format!("{n} to reach height {h}"),
                timeout,
                Duration::from_millis(500),
                || height(port).filter(|x| *x >= h),
            );
        }
    }

    fn max_height(&self, nodes: &[String]) -> u64 {
        nodes
            .iter()
            .filter_map(|n| height(self.rpc_port(n)))
            .max()
            .unwrap_or(0)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for n in self.names() {
                let log = self.run_dir.join(format!("{n}.log"));
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                eprintln!("--- last lines of {n}.log");
                for l in tail.into_iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
        let _ = Command::new(self.out.join("local/stop.sh"))
            .env("CHAINFLEET_RUN_DIR", &self.run_dir)
            .output();
    }
}

/// Validator set at `h` as (address → voting power).
fn validator_set(port: u16, h: u64) -> BTreeMap<String, u64> {
    let r =
        rpc(port, &format!("/validators?height={h}&per_page=100")).expect("/validators answers");
    assert_eq!(
        r["total"].as_str(),
        Some("4"),
        "validator count at height {h}: {r}"
    );
    r["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["address"].as_str().unwrap().to_string(),
                v["voting_power"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// Validators (by address) with a commit signature at any height in `heights`.
fn signers(port: u16, heights: impl Iterator<Item = u64>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for h in heights {
        let c = rpc(port, &format!("/commit?height={h}")).expect("/commit answers");
        for s in c["signed_header"]["commit"]["signatures"]
            .as_array()
            .unwrap()
        {
            // block_id_flag 2 = voted for the committed block.
            if s["block_id_flag"].as_u64() == Some(2) {
                out.insert(s["validator_address"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

/// The checks both families share; `expected_power` gives each validator's power, `first`
/// the chain's first height (`initial_height`).
fn check_network(net: &Net, first: u64, expected_power: &dyn Fn(&str) -> u64) {
    let all = net.names();
    let validators = net.validators();
    assert_eq!(validators.len(), 4);
    net.script("run.sh", &[]);
    // Running twice is harmless.
    net.script("run.sh", &[]);

    // Every node (validators, sentries, full node) makes progress.
    net.wait_height(&all, first + 4, TIMEOUT);

    // The validator set is exactly the 4 generated keys, with their powers.
    let full = net.rpc_port(all.last().unwrap());
    let h = height(full).unwrap() - 1;
    // Nodes may trail the full node by a block; query each only at a height it has.
    net.wait_height(&all, h + 1, TIMEOUT);
    let addresses = net.consensus_addresses();
    let expected: BTreeMap<String, u64> = addresses
        .iter()
        .map(|(addr, name)| (addr.clone(), expected_power(name)))
        .collect();
    for n in &all {
        assert_eq!(
            validator_set(net.rpc_port(n), h),
            expected,
            "validator set seen by {n} at height {h}"
        );
    }

    // Every validator signed at least one of the last few blocks.
    let signed = signers(full, h.saturating_sub(3).max(first + 1)..=h);
    let missing: Vec<&String> = addresses
        .iter()
        .filter(|(a, _)| !signed.contains(*a))
        .map(|(_, n)| n)
        .collect();
    assert!(
        missing.is_empty(),
        "validators with no signature in heights {}..={h}: {missing:?}",
        h.saturating_sub(3).max(first + 1)
    );

    // Fault: lose one validator (3 of 4 keep > 2/3 of the power) and keep making blocks.
    let victim = validators[1].clone();
    let victim_addr = addresses
        .iter()
        .find(|(_, n)| **n == victim)
        .unwrap()
        .0
        .clone();
    let others: Vec<String> = all.iter().filter(|n| **n != victim).cloned().collect();
    net.script("stop.sh", &[&victim]);
    assert!(
        height(net.rpc_port(&victim)).is_none(),
        "{victim} still answers after stop.sh"
    );
    let h0 = net.max_height(&others);
    net.wait_height(&others, h0 + 2, TIMEOUT);
    assert!(height(net.rpc_port(&victim)).is_none());

    // Restart it: it catches up with the others and signs again.
    net.script("run.sh", &[&victim]);
    let target = net.max_height(&others);
    let port = net.rpc_port(&victim);
    wait_for(
        &format!("{victim} to catch up to height {target}"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let st = rpc(port, "/status")?;
            let h: u64 = st["sync_info"]["latest_block_height"]
                .as_str()?
                .parse()
                .ok()?;
            (h >= target && st["sync_info"]["catching_up"] == Value::Bool(false)).then_some(())
        },
    );
    let from = net.max_height(&others);
    wait_for(
        &format!("{victim} to sign a block after restart"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let now = height(full)?;
            (now > from && signers(full, from + 1..=now).contains(&victim_addr)).then_some(())
        },
    );
}

#[test]
fn cometbft_kvstore_network() {
    let Some(cometbft) = tool("COMETBFT") else {
        return;
    };
    let net = Net::generate("e2e-cometbft.yaml", cometbft);
    // Powers come from the generated genesis; its validator list must be the generated keys.
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(net.out.join("genesis.json")).unwrap())
            .unwrap();
    let powers: BTreeMap<String, u64> = genesis["validators"]
        .as_array()
        .expect("genesis lists validators")
        .iter()
        .map(|v| {
            (
                v["address"].as_str().unwrap().to_uppercase(),
                v["power"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let addresses = net.consensus_addresses();
    assert_eq!(
        powers.keys().collect::<Vec<_>>(),
        addresses.keys().collect::<Vec<_>>(),
        "genesis validators are the generated validator keys"
    );
    let by_name: BTreeMap<String, u64> = addresses
        .iter()
        .map(|(a, n)| (n.clone(), powers[a]))
        .collect();
    // The spec's `power: 10` and validator-0's own `power: 20`.
    assert_eq!(
        by_name.values().copied().collect::<Vec<_>>(),
        [20, 10, 10, 10],
        "{by_name:?}"
    );
    check_network(&net, 1, &|name| by_name[name]);
}

/// The address of genesis account `name`, from the generated public `accounts.json`.
fn account_address(out: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(out.join("accounts.json")).expect("accounts.json");
    let v: Value = serde_json::from_str(&text).unwrap();
    v[name]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no account {name} in {v}"))
        .to_string()
}

#[test]
fn cosmos_simd_network() {
    let Some(simd) = tool("SIMD") else {
        return;
    };
    let net = Net::generate("e2e-cosmos.yaml", simd.clone());

    // The chain's own validator accepts the generated genesis.
    let o = run(Command::new(&simd)
        .args(["genesis", "validate"])
        .arg(net.out.join("genesis.json"))
        .arg("--home")
        .arg(net.run_dir.join("validate-home")));
    assert_ok(&o, "simd genesis validate");

    // 100000000stake at the SDK's power reduction of 10^6; validator-0 stakes twice that.
    check_network(&net, 100, &|n| if n == "validator-0" { 200 } else { 100 });

    // The chain started at the spec's `initial_height`.
    let full = net.rpc_port("full-0");
    let st = rpc(full, "/status").expect("status");
    assert_eq!(
        st["sync_info"]["earliest_block_height"], "100",
        "initial_height: {st}"
    );

    // The gentx settings reached the staking module: commission, description and minimum
    // self-delegation, per validator where `nodes` says so.
    let api = net.port("full-0", "api");
    let vals = wait_for(
        "the staking validators",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || get(api, "/cosmos/staking/v1beta1/validators"),
    );
    let vals = vals["validators"].as_array().expect("validators");
    assert_eq!(vals.len(), 4, "{vals:?}");
    let mut monikers: Vec<&str> = Vec::new();
    for v in vals {
        let rates = &v["commission"]["commission_rates"];
        assert_eq!(rates["rate"], "0.050000000000000000", "{v}");
        assert_eq!(rates["max_rate"], "0.500000000000000000", "{v}");
        assert_eq!(rates["max_change_rate"], "0.020000000000000000", "{v}");
        assert_eq!(v["min_self_delegation"], "2000000", "{v}");
        assert_eq!(v["description"]["website"], "https://example.com", "{v}");
        assert_eq!(v["description"]["details"], "e2e validator", "{v}");
        monikers.push(v["description"]["moniker"].as_str().unwrap());
    }
    monikers.sort();
    assert_eq!(
        monikers,
        [
            "first validator",
            "validator-1",
            "validator-2",
            "validator-3"
        ]
    );

    // The display denom is bank metadata; a validator's account holds its fee balance.
    let meta = get(api, "/cosmos/bank/v1beta1/denoms_metadata").expect("denoms metadata");
    let m = &meta["metadatas"][0];
    assert_eq!(m["base"], "stake", "{meta}");
    assert_eq!(m["display"], "kstake", "{meta}");
    assert_eq!(m["denom_units"][1]["exponent"], 3, "{meta}");
    let v1 = account_address(&net.out, "validator-1");
    let b = get(api, &format!("/cosmos/bank/v1beta1/balances/{v1}")).expect("balances");
    assert!(
        b["balances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["denom"] == "stake" && c["amount"] == "5000000000"),
        "validator-1 keeps its fee balance (its stake is bonded): {b}"
    );

    // A generated genesis account holds its balance, through the full node's REST API.
    let faucet = account_address(&net.out, "faucet");
    let api = net.port("full-0", "api");
    let path = format!("/cosmos/bank/v1beta1/balances/{faucet}");
    let body = wait_for(
        "the REST API to answer",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || get(api, &path),
    );
    let balances = body["balances"].as_array().unwrap();
    assert!(
        balances
            .iter()
            .any(|c| c["denom"] == "stake" && c["amount"] == "1000000000000"),
        "faucet {faucet} balances: {body}"
    );
}
