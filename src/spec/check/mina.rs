//! Checks of the Mina fields: genesis ledger (group `balance`/`delegate`, account
//! `balance`/`delegate`: amounts in MINA, delegation to a block producer node), SNARK pools
//! (`snark_fee`, `work_selection` on coordinators), and a Mina group's `config:`, which maps
//! to `mina daemon` flags ([`daemon_flag_args`], the one table launch commands use too).

use super::{family_name, role_name, Checker};
use crate::diag::did_you_mean;
use crate::spec::{Family, GroupSpec, Role, Spec};

/// How a `mina daemon` flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    /// `--flag VALUE`.
    Value,
    /// `--flag` alone (`true` sets it, `false` leaves it out).
    Switch,
    /// `--flag VALUE`, repeatable (a list repeats it).
    Listed,
    /// chainfleet sets it from the spec; the hint says where.
    Managed(&'static str),
}

const PORTS: FlagKind = FlagKind::Managed("set the port under the group's `ports:`");
const KEYS: FlagKind =
    FlagKind::Managed("chainfleet generates and passes every key and password from the seed");
const TOPOLOGY: FlagKind = FlagKind::Managed(
    "peers come from the groups (a `role: seed` group for seeds), in every daemon's `--peer`",
);
const LAYOUT: FlagKind = FlagKind::Managed(
    "chainfleet runs the daemon in the foreground in the node's home with the network's runtime config",
);

/// The flags of `mina daemon` (MinaProtocol/mina `src/app/cli/src/cli_entrypoint/
/// mina_cli_entrypoint.ml`, `setup_daemon`; log flags from `src/lib/cli_lib/flag.ml`), by
/// name without the leading `--`, sorted.
const DAEMON_FLAGS: &[(&str, FlagKind)] = &[
    ("all-peers-seen-metric", FlagKind::Value),
    (
        "archive-address",
        FlagKind::Managed("add a group with `role: archive`: its daemons are pointed at their archive process"),
    ),
    ("archive-rocksdb", FlagKind::Switch),
    ("background", LAYOUT),
    ("bind-ip", FlagKind::Value),
    ("block-producer-key", KEYS),
    ("block-producer-password", KEYS),
    ("block-producer-pubkey", KEYS),
    ("client-port", PORTS),
    ("coinbase-receiver", FlagKind::Value),
    ("config-directory", LAYOUT),
    ("config-file", LAYOUT),
    ("contact-info", FlagKind::Value),
    ("current-protocol-version", FlagKind::Value),
    ("demo-mode", FlagKind::Switch),
    ("direct-peer", FlagKind::Listed),
    ("disable-node-status", FlagKind::Switch),
    ("discovery-keypair", KEYS),
    ("enable-flooding", FlagKind::Value),
    ("enable-mina-peer-exchange", FlagKind::Value),
    ("enable-peer-exchange", FlagKind::Value),
    ("external-ip", FlagKind::Managed("chainfleet sets each node's external address from the target")),
    ("external-port", PORTS),
    ("file-log-level", FlagKind::Value),
    ("gc-stat-interval", FlagKind::Value),
    ("generate-genesis-proof", FlagKind::Value),
    ("genesis-ledger-dir", FlagKind::Value),
    ("insecure-rest-server", FlagKind::Managed("chainfleet opens GraphQL on the container address where the target needs it; expose it with `expose: { graphql: ... }`")),
    ("isolate-network", FlagKind::Value),
    ("libp2p-keypair", KEYS),
    ("libp2p-metrics-port", FlagKind::Value),
    ("limited-graphql-port", FlagKind::Value),
    ("log-block-creation", FlagKind::Value),
    ("log-json", FlagKind::Switch),
    ("log-level", FlagKind::Value),
    ("log-precomputed-blocks", FlagKind::Value),
    ("log-snark-work-gossip", FlagKind::Value),
    ("log-txn-pool-gossip", FlagKind::Value),
    ("max-connections", FlagKind::Value),
    ("metrics-port", PORTS),
    ("min-connections", FlagKind::Value),
    ("minimum-block-reward", FlagKind::Value),
    ("no-super-catchup", FlagKind::Switch),
    ("node-error-url", FlagKind::Value),
    ("node-status-url", FlagKind::Value),
    ("open-limited-graphql-port", FlagKind::Switch),
    ("peer", TOPOLOGY),
    ("peer-list-file", FlagKind::Value),
    ("peer-list-url", FlagKind::Value),
    ("precomputed-blocks-file", FlagKind::Value),
    ("proof-level", FlagKind::Value),
    ("proposed-protocol-version", FlagKind::Value),
    ("rest-port", PORTS),
    ("run-snark-coordinator", FlagKind::Managed("give the network a `snark_coordinator` group: its fee key is generated")),
    ("run-snark-worker", FlagKind::Managed("add a `snark_worker` group with `coordinator:` naming the coordinator group")),
    ("seed", TOPOLOGY),
    ("snark-worker-fee", FlagKind::Managed("set the coordinator group's `snark_fee`")),
    ("snark-worker-parallelism", FlagKind::Value),
    ("stop-time", FlagKind::Value),
    ("tracing", FlagKind::Switch),
    ("upload-blocks-to-gcloud", FlagKind::Value),
    ("uptime-submitter-key", FlagKind::Value),
    ("uptime-submitter-pubkey", FlagKind::Value),
    ("uptime-url", FlagKind::Value),
    ("validation-queue-size", FlagKind::Value),
    ("work-reassignment-wait", FlagKind::Value),
    ("work-selection", FlagKind::Managed("set the coordinator group's `work_selection` (seq or rand)")),
    ("working-dir", LAYOUT),
];

/// Why a `config:` entry of a Mina group cannot become daemon flags: (message, hint, about
/// the key rather than the value).
pub struct FlagError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
    /// The key is wrong (else its value).
    pub key: bool,
}

/// A JSON scalar as a flag value.
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `mina daemon` arguments of a Mina group's `config:` entry `key: value` (the flag's
/// name without `--`), or why it cannot be one. The spec checker reports the errors; launch
/// commands append the arguments in key order.
pub fn daemon_flag_args(key: &str, value: &serde_json::Value) -> Result<Vec<String>, FlagError> {
    let bare = key.trim_start_matches('-');
    let Some((name, kind)) = DAEMON_FLAGS.iter().find(|(n, _)| *n == bare) else {
        let hint = match did_you_mean(bare, DAEMON_FLAGS.iter().map(|(n, _)| *n)) {
            Some(s) => format!("did you mean `{s}`? keys are `mina daemon` flags without `--`"),
            None => "keys are `mina daemon` flags without `--`, e.g. `max-connections: 50` or `log-level: Debug`".into(),
        };
        return Err(FlagError {
            message: format!("`{key}` is not a flag of `mina daemon`"),
            hint,
            key: true,
        });
    };
    if bare != key {
        return Err(FlagError {
            message: format!("config key `{key}` starts with `-`"),
            hint: format!("write the flag's name alone: `{name}`"),
            key: true,
        });
    }
    let flag = format!("--{name}");
    let not_scalar = || FlagError {
        message: format!("`{flag}` takes one value, not {value}"),
        hint: "write a string, number or boolean".into(),
        key: false,
    };
    match kind {
        FlagKind::Managed(hint) => Err(FlagError {
            message: format!(
                "chainfleet sets `{flag}` itself, so a value here would be overridden"
            ),
            hint: hint.to_string(),
            key: true,
        }),
        FlagKind::Switch => match value {
            serde_json::Value::Bool(true) => Ok(vec![flag]),
            serde_json::Value::Bool(false) => Ok(vec![]),
            _ => Err(FlagError {
                message: format!(
                    "`{flag}` is a switch, so its value is `true` or `false`, not {value}"
                ),
                hint: format!("write `{name}: true` to set it"),
                key: false,
            }),
        },
        FlagKind::Value => {
            let v = scalar(value).ok_or_else(not_scalar)?;
            Ok(vec![flag, v])
        }
        FlagKind::Listed => {
            let values = match value {
                serde_json::Value::Array(items) => {
                    items.iter().map(scalar).collect::<Option<Vec<_>>>()
                }
                v => scalar(v).map(|s| vec![s]),
            };
            let values = values.ok_or_else(|| FlagError {
                message: format!("`{flag}` takes strings, not {value}"),
                hint: "write one value or a list of values".into(),
                key: false,
            })?;
            Ok(values.into_iter().flat_map(|v| [flag.clone(), v]).collect())
        }
    }
}

/// A Mina group's `config:` (daemon flags, for roles that run `mina daemon`) and
/// `app_config:` (Mina has no app config).
fn group_config(c: &mut Checker<'_>, p: &str, g: &GroupSpec) {
    for key in g.app_config.keys() {
        c.key_error(
            &format!("{p}/app_config/{key}"),
            "`app_config` applies to Cosmos SDK chains (their app.toml); Mina has none",
            key.as_str(),
            "write `mina daemon` flags under `config:` instead, e.g. `max-connections: 50`",
        );
    }
    let runs_daemon = !matches!(g.role, Role::SnarkWorker | Role::Custom);
    for (key, value) in &g.config {
        let ptr = format!("{p}/config/{key}");
        if !runs_daemon {
            c.key_error(
                &ptr,
                format!(
                    "group `{}` ({}) does not run `mina daemon`, so it has no daemon flags",
                    g.name,
                    role_name(g.role)
                ),
                key.as_str(),
                match g.role {
                    Role::SnarkWorker => "SNARK work settings belong to the coordinator group (`snark_fee`, `work_selection`, `config:`)",
                    _ => "pass the arguments in the group's `command`",
                },
            );
            continue;
        }
        if let Err(e) = daemon_flag_args(key, value) {
            if e.key {
                c.key_error(&ptr, e.message, key.as_str(), e.hint);
            } else {
                c.error(&ptr, e.message, value.to_string(), e.hint);
            }
        }
    }
}

/// Mina archive nodes run the archive process from `chain.archive_image` beside their
/// daemon, with a PostgreSQL: both are containers, which the local launcher does not run.
fn archive(c: &mut Checker<'_>, spec: &Spec) {
    let mina = spec.chain.family == Family::Mina;
    if let (false, Some(image)) = (mina, &spec.chain.archive_image) {
        c.error(
            "/chain/archive_image",
            format!(
                "`archive_image` applies to Mina, not {}",
                family_name(spec.chain.family)
            ),
            image.as_str(),
            "remove it",
        );
    }
    if !mina {
        return;
    }
    for (i, g) in spec.groups.iter().enumerate() {
        if g.role != Role::Archive {
            continue;
        }
        let ptr = format!("/groups/{i}/role");
        if spec.chain.archive_image.is_none() {
            c.error(
                &ptr,
                format!(
                    "Mina archive group `{}` needs the archive process's image",
                    g.name
                ),
                "archive",
                "set `chain.archive_image`, e.g. `minaprotocol/mina-archive:3.0.3-bullseye-devnet`",
            );
        }
        for (target, set) in [
            ("local", spec.targets.local.is_some()),
            ("hosts", spec.targets.hosts.is_some()),
        ] {
            if set {
                c.error(
                    &ptr,
                    format!("Mina archive group `{}` runs PostgreSQL and the archive process in containers, which the {target} target cannot start", g.name),
                    "archive",
                    format!("generate the network for compose, kubernetes or aws, or drop `targets.{target}`"),
                );
            }
        }
    }
}

/// `snark_fee` and `work_selection` belong to SNARK coordinators: a pool's workers are paid
/// what their coordinator asks, and the coordinator hands out the work.
fn snark_pool(c: &mut Checker<'_>, p: &str, g: &GroupSpec) {
    let elsewhere = |field: &str| match (&g.role, &g.coordinator) {
        (Role::SnarkWorker, Some(coord)) => {
            format!("set `{field}` on the coordinator group `{coord}`: its workers work for what it asks")
        }
        _ => "only `snark_coordinator` groups take it; remove it".to_string(),
    };
    if let Some(fee) = &g.snark_fee {
        let ptr = format!("{p}/snark_fee");
        if g.role != Role::SnarkCoordinator {
            c.error(
                &ptr,
                format!(
                    "`snark_fee` is set on group `{}` ({}), but the fee is a SNARK coordinator's",
                    g.name,
                    role_name(g.role)
                ),
                fee.as_str(),
                elsewhere("snark_fee"),
            );
        } else if parse_mina(fee).is_none() {
            c.error(
                &ptr,
                format!("SNARK fee `{fee}` is not an amount of MINA"),
                fee.as_str(),
                "write a decimal with at most 9 fractional digits, e.g. `0.01`",
            );
        }
    }
    if let Some(ws) = g.work_selection {
        if g.role != Role::SnarkCoordinator {
            c.error(
                &format!("{p}/work_selection"),
                format!("`work_selection` is set on group `{}` ({}), but a SNARK coordinator selects the work", g.name, role_name(g.role)),
                ws.as_str(),
                elsewhere("work_selection"),
            );
        }
    }
}

/// nanomina in one MINA (Mina's `Currency` has 9 decimals).
pub const NANOMINA_PER_MINA: u64 = 1_000_000_000;

/// Parse a MINA amount (`1000`, `0.5`, at most 9 fractional digits) into nanomina; `None`
/// when it is not one or does not fit Mina's 64-bit balance.
pub fn parse_mina(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    if text.contains('.') && frac.is_empty() {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac: u64 = format!("{frac:0<9}").parse().ok()?;
    whole.checked_mul(NANOMINA_PER_MINA)?.checked_add(frac)
}

/// Names of the block producer nodes a spec expands to.
fn producer_nodes(spec: &Spec) -> Vec<String> {
    spec.groups
        .iter()
        .filter(|g| g.role == Role::BlockProducer)
        .flat_map(|g| (0..g.count).map(move |i| format!("{}-{i}", g.name)))
        .collect()
}

pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    let mina = spec.chain.family == Family::Mina;
    let producers = producer_nodes(spec);
    let delegate = |c: &mut Checker<'_>, ptr: &str, d: &str| {
        if !producers.iter().any(|p| p == d) {
            let hint = if producers.is_empty() {
                "the network has no block producer group".to_string()
            } else {
                format!("name a block producer node: {}", producers.join(", "))
            };
            c.error(ptr, format!("`{d}` is not a block producer node"), d, hint);
        }
    };
    let balance = |c: &mut Checker<'_>, ptr: &str, b: &str| {
        if parse_mina(b).is_none() {
            c.error(
                ptr,
                format!("balance `{b}` is not an amount of MINA"),
                b,
                "write a decimal with at most 9 fractional digits, e.g. `1000` or `0.5`",
            );
        }
    };
    archive(c, spec);
    for (i, g) in spec.groups.iter().enumerate() {
        let p = format!("/groups/{i}");
        snark_pool(c, &p, g);
        if mina {
            group_config(c, &p, g);
        }
        if let Some(b) = &g.balance {
            let ptr = format!("{p}/balance");
            if !mina || !matches!(g.role, Role::BlockProducer | Role::SnarkCoordinator) {
                c.error(
                    &ptr,
                    format!(
                        "`balance` is set on group `{}` ({} {}), but only Mina block producers and SNARK coordinators have genesis accounts",
                        g.name,
                        family_name(spec.chain.family),
                        role_name(g.role)
                    ),
                    b.as_str(),
                    "remove it",
                );
            } else {
                balance(c, &ptr, b);
            }
        }
        if let Some(d) = &g.delegate {
            let ptr = format!("{p}/delegate");
            if !mina || g.role != Role::BlockProducer {
                c.error(
                    &ptr,
                    format!(
                        "`delegate` is set on group `{}`, but only Mina block producers delegate at genesis",
                        g.name
                    ),
                    d.as_str(),
                    "remove it",
                );
            } else {
                delegate(c, &ptr, d);
            }
        }
    }
    for (i, a) in spec.chain.accounts.iter().enumerate() {
        let p = format!("/chain/accounts/{i}");
        match (mina, &a.balance) {
            (true, None) => c.error(
                &format!("{p}/name"),
                format!("Mina account `{}` has no `balance`", a.name),
                a.name.as_str(),
                "give it a balance in MINA, e.g. `balance: \"1000\"`",
            ),
            (true, Some(b)) => balance(c, &format!("{p}/balance"), b),
            (false, Some(b)) => c.error(
                &format!("{p}/balance"),
                "`balance` applies to Mina accounts; Cosmos accounts list `coins`",
                b.as_str(),
                "write the balance as `coins: [1000000stake]`",
            ),
            (false, None) => {}
        }
        if mina && !a.coins.is_empty() {
            c.error(
                &format!("{p}/coins"),
                "`coins` applies to Cosmos accounts; a Mina account has a `balance` in MINA",
                a.coins.join(","),
                "write `balance: \"1000\"` instead",
            );
        }
        if let Some(d) = &a.delegate {
            let ptr = format!("{p}/delegate");
            if mina {
                delegate(c, &ptr, d);
            } else {
                c.error(
                    &ptr,
                    "`delegate` applies to Mina accounts",
                    d.as_str(),
                    "remove it",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mina_amounts() {
        assert_eq!(parse_mina("1000"), Some(1_000 * NANOMINA_PER_MINA));
        assert_eq!(parse_mina("0.5"), Some(500_000_000));
        assert_eq!(parse_mina("0.000000001"), Some(1));
        assert_eq!(parse_mina("0.0000000001"), None);
        assert_eq!(parse_mina("1."), None);
        assert_eq!(parse_mina(".5"), None);
        assert_eq!(parse_mina("-1"), None);
        assert_eq!(parse_mina("1e3"), None);
        assert_eq!(parse_mina("18446744074"), None);
        assert_eq!(parse_mina("18446744073.709551615"), Some(u64::MAX));
    }
}
