//! Mina genesis from the spec alone: every Mina key of a network (block producers' staking
//! keys, SNARK coordinators' fee keys, extra accounts) derived from the seed, the secrets
//! they put in the secrets tree, the per-node `daemon.json` files, and the runtime config
//! (`genesis.json`: genesis timestamp and ledger) every daemon reads with `--config-file`.
//!
//! The runtime config follows the daemon's `Runtime_config.Json_layout` (MinaProtocol/mina
//! `src/lib/runtime_config/runtime_config.ml`): `genesis.genesis_state_timestamp`, and
//! `ledger.accounts[]` with `pk`, `balance` (a MINA decimal string) and `delegate`. The
//! daemon drops unknown fields silently (`of_yojson_generic` keeps only known ones), so the
//! tests below check every emitted field against that definition.
//!
//! Passwords reach the daemon without an environment variable: `mina daemon` reads
//! `<config-directory>/daemon.json` besides its `--config-file`s and takes
//! `daemon.block-producer-password` from it, setting `MINA_PRIVKEY_PASS` itself
//! (`mina_cli_entrypoint.ml`: `maybe_from_config … "block-producer-password"`, then
//! `Unix.putenv ~key:Secrets.Keypair.env`). So a producer's `daemon.json` is a secret file
//! like its key; a coordinator's holds only `run-snark-coordinator` (its public fee key,
//! read the same way) and is public.

use serde_json::{json, Value};

use crate::chain::{Artifacts, SecretFile};
use crate::files::FileEntry;
use crate::keys::mina_key::StakingKey;
use crate::keys::Seed;
use crate::model::{Network, Role};
use crate::spec::check::{parse_mina, NANOMINA_PER_MINA};

/// The runtime config in the public tree (baked into the image, installed into each
/// daemon's home like a Cosmos genesis).
pub const RUNTIME_CONFIG: &str = "genesis.json";
/// The per-node daemon config the daemon reads from its config directory.
pub const DAEMON_JSON: &str = "daemon.json";
/// Where a block producer's staking key sits in its home.
pub const BLOCK_PRODUCER_KEY_PATH: &str = "keys/block-producer.key";
/// Every generated Mina key with its private key and password, in the secrets tree.
pub const KEYS_FILE: &str = "mina/keys.json";
/// Default genesis balance (stake) of a block producer, in MINA.
pub const DEFAULT_PRODUCER_BALANCE: &str = "1000000";

/// One genesis ledger account and its key.
pub struct LedgerAccount {
    /// Node or account name.
    pub name: String,
    /// `block_producer`, `snark_coordinator` or `account`.
    pub kind: &'static str,
    /// Key pair, password and key file.
    pub key: StakingKey,
    /// Balance in nanomina.
    pub balance: u64,
    /// The name of the node it delegates to (itself when it stakes for itself).
    pub delegate: String,
    /// Where its key file is in the secrets tree.
    pub key_file: String,
}

/// `nanomina` as a MINA decimal with all 9 fractional digits (`Currency.Balance` JSON, as
/// the `0.000600000` of runtime_config.ml's documented example).
pub fn format_mina(nanomina: u64) -> String {
    format!(
        "{}.{:09}",
        nanomina / NANOMINA_PER_MINA,
        nanomina % NANOMINA_PER_MINA
    )
}

/// Every genesis account of `net`: block producers, SNARK coordinators, then extra
/// accounts, in spec order. Amounts were checked by the spec checker.
pub fn accounts(net: &Network, seed: &Seed) -> Vec<LedgerAccount> {
    let mut out = Vec::new();
    for node in &net.nodes {
        let group = net.group(&node.group);
        let (kind, purpose, default_balance, key_file) = match node.role {
            Role::BlockProducer => (
                "block_producer",
                "block-producer",
                DEFAULT_PRODUCER_BALANCE,
                format!("nodes/{}/{BLOCK_PRODUCER_KEY_PATH}", node.name),
            ),
            Role::SnarkCoordinator => (
                "snark_coordinator",
                "snark-work",
                "0",
                format!("nodes/{}/keys/snark-work.key", node.name),
            ),
            _ => continue,
        };
        let balance = group
            .and_then(|g| g.balance.as_deref())
            .unwrap_or(default_balance);
        out.push(LedgerAccount {
            name: node.name.clone(),
            kind,
            key: StakingKey::derive(seed, &net.name, purpose, &node.name),
            balance: parse_mina(balance).unwrap_or(0),
            delegate: group
                .and_then(|g| g.delegate.clone())
                .unwrap_or_else(|| node.name.clone()),
            key_file,
        });
    }
    for a in &net.chain.accounts {
        out.push(LedgerAccount {
            name: a.name.clone(),
            kind: "account",
            key: StakingKey::derive(seed, &net.name, "account", &a.name),
            balance: a.balance.as_deref().and_then(parse_mina).unwrap_or(0),
            delegate: a.delegate.clone().unwrap_or_else(|| a.name.clone()),
            key_file: format!("mina/accounts/{}.key", a.name),
        });
    }
    out
}

/// The runtime config of `net` with `accounts` as its genesis ledger.
pub fn runtime_config(net: &Network, accounts: &[LedgerAccount]) -> Value {
    let pk_of = |name: &str| {
        accounts
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.key.key.public_key())
    };
    let ledger: Vec<Value> = accounts
        .iter()
        .map(|a| {
            json!({
                "pk": a.key.key.public_key(),
                "balance": format_mina(a.balance),
                // Explicit even for self-delegation: an account without a delegate has no
                // stake in the daemon's genesis ledger.
                "delegate": pk_of(&a.delegate).unwrap_or_else(|| a.key.key.public_key()),
            })
        })
        .collect();
    json!({
        "genesis": { "genesis_state_timestamp": net.chain.genesis_time },
        "ledger": { "accounts": ledger },
    })
}

/// Add the Mina keys, `daemon.json` files and runtime config of `net` to `a` (whose node
/// entries the family's `build` created).
pub fn build(net: &Network, seed: &Seed, a: &mut Artifacts) {
    let accounts = accounts(net, seed);
    let mut index = Vec::new();
    for acc in &accounts {
        a.secrets
            .insert(acc.key_file.clone(), FileEntry::text(acc.key.key_file()));
        index.push(json!({
            "name": acc.name,
            "kind": acc.kind,
            "public_key": acc.key.key.public_key(),
            "private_key": acc.key.key.private_key_base58(),
            "password": acc.key.password,
            "key_file": acc.key_file,
        }));
        let Some(na) = a.nodes.get_mut(&acc.name) else {
            continue;
        };
        match acc.kind {
            "block_producer" => {
                na.addresses
                    .insert("staking_pubkey".into(), acc.key.key.public_key());
                na.secret_files.push(SecretFile {
                    key: "block_producer_key".into(),
                    home_path: BLOCK_PRODUCER_KEY_PATH.into(),
                    source: acc.key_file.clone(),
                });
                let source = format!("nodes/{}/{DAEMON_JSON}", acc.name);
                let daemon = json!({ "daemon": { "block-producer-password": acc.key.password } });
                a.secrets
                    .insert(source.clone(), FileEntry::text(pretty(&daemon)));
                na.secret_files.push(SecretFile {
                    key: "mina_daemon_json".into(),
                    home_path: DAEMON_JSON.into(),
                    source,
                });
            }
            "snark_coordinator" => {
                na.addresses
                    .insert("snark_work_pubkey".into(), acc.key.key.public_key());
                // The fee key is public; its private key stays with the operator.
                let daemon =
                    json!({ "daemon": { "run-snark-coordinator": acc.key.key.public_key() } });
                a.public.insert(
                    format!("nodes/{}/{DAEMON_JSON}", acc.name),
                    FileEntry::text(pretty(&daemon)),
                );
            }
            _ => {}
        }
    }
    a.secrets.insert(
        KEYS_FILE.into(),
        FileEntry::text(pretty(&Value::Array(index))),
    );
    a.public.insert(
        RUNTIME_CONFIG.into(),
        FileEntry::text(pretty(&runtime_config(net, &accounts))),
    );
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::mina_key::decode_public_key;

    /// Field names of `Runtime_config.Json_layout` in MinaProtocol/mina
    /// `src/lib/runtime_config/runtime_config.ml` (read at commit 00a849f5ce95): the
    /// top-level record, `Genesis.t`, `Ledger.t` and `Accounts.Single.t`.
    const TOP: &[&str] = &["daemon", "genesis", "proof", "ledger", "epoch_data"];
    const GENESIS: &[&str] = &[
        "k",
        "delta",
        "slots_per_epoch",
        "slots_per_sub_window",
        "grace_period_slots",
        "genesis_state_timestamp",
    ];
    const LEDGER: &[&str] = &[
        "accounts",
        "num_accounts",
        "balances",
        "hash",
        "s3_data_hash",
        "name",
        "add_genesis_winner",
    ];
    const ACCOUNT: &[&str] = &[
        "pk",
        "sk",
        "balance",
        "delegate",
        "timing",
        "token",
        "nonce",
        "receipt_chain_hash",
        "voting_for",
        "zkapp",
        "permissions",
        "token_symbol",
    ];

    fn keys_within(v: &Value, allowed: &[&str], what: &str) {
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("{what} is an object"));
        for k in obj.keys() {
            assert!(allowed.contains(&k.as_str()), "{what}: unknown field `{k}`");
        }
    }

    /// Checks `config` against the daemon's runtime-config definition: known fields only,
    /// the types it parses (`genesis_state_timestamp` a string, `balance` a
    /// `Currency.Balance` decimal string, `pk`/`delegate` compressed public keys), its two
    /// rules ("each account must have a balance", "a ledger has accounts, name or hash").
    pub fn assert_runtime_config_shape(config: &Value) {
        keys_within(config, TOP, "runtime config");
        let genesis = &config["genesis"];
        keys_within(genesis, GENESIS, "genesis");
        let ts = genesis["genesis_state_timestamp"].as_str().unwrap();
        assert!(crate::spec::check::is_rfc3339(ts), "{ts}");
        let ledger = &config["ledger"];
        keys_within(ledger, LEDGER, "ledger");
        assert!(["accounts", "name", "hash"]
            .iter()
            .any(|k| !ledger[*k].is_null()));
        for acc in ledger["accounts"].as_array().unwrap() {
            keys_within(acc, ACCOUNT, "account");
            assert!(
                acc.get("sk").is_none(),
                "no private key in the public config"
            );
            let balance = acc["balance"].as_str().expect("balance is a string");
            assert!(parse_mina(balance).is_some(), "{balance}");
            decode_public_key(acc["pk"].as_str().unwrap()).unwrap();
            decode_public_key(acc["delegate"].as_str().unwrap()).unwrap();
        }
    }

    use crate::test_network as network;

    const SPEC: &str = r#"
name: qa
chain: { family: mina, chain_id: qa, binary: mina, image: "mina:1", genesis_time: "2026-12-01T00:00:00Z",
  accounts: [ { name: faucet, balance: "5000.25" }, { name: whale, balance: "7", delegate: bp-1 } ] }
groups:
  - { name: bp, role: block_producer, count: 2, balance: "66000" }
  - { name: coord, role: snark_coordinator }
targets: { compose: {} }
"#;

    #[test]
    fn runtime_config_matches_the_daemon_definition_and_the_spec() {
        let net = network(SPEC);
        let seed = Seed::from_bytes([1; 32]);
        let accs = accounts(&net, &seed);
        let cfg = runtime_config(&net, &accs);
        assert_runtime_config_shape(&cfg);
        assert_eq!(
            cfg["genesis"]["genesis_state_timestamp"],
            "2026-12-01T00:00:00Z"
        );
        let ledger = cfg["ledger"]["accounts"].as_array().unwrap();
        let names: Vec<&str> = accs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["bp-0", "bp-1", "coord-0", "faucet", "whale"]);
        let pk = |i: usize| accs[i].key.key.public_key();
        assert_eq!(ledger[0]["pk"], pk(0));
        assert_eq!(ledger[0]["balance"], "66000.000000000");
        assert_eq!(ledger[0]["delegate"], pk(0));
        assert_eq!(ledger[2]["balance"], "0.000000000");
        assert_eq!(ledger[3]["balance"], "5000.250000000");
        assert_eq!(ledger[3]["delegate"], pk(3));
        assert_eq!(ledger[4]["delegate"], pk(1), "whale delegates to bp-1");
    }

    #[test]
    fn amounts_format_like_currency_balance() {
        assert_eq!(format_mina(600_000), "0.000600000");
        assert_eq!(format_mina(u64::MAX), "18446744073.709551615");
        assert_eq!(
            parse_mina(&format_mina(123_456_789_012)),
            Some(123_456_789_012)
        );
    }
}
