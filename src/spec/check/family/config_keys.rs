//! A group's `config:` (CometBFT's `config.toml`) and `app_config:` (the SDK's `app.toml`)
//! keys, checked against the files they are built from (`templates/cosmos/`): a key the
//! node would not read is refused with did-you-mean, and the peer lists chainfleet computes
//! from the topology (and passes at start, overriding the file) cannot be set here.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::diag::did_you_mean;
use crate::spec::check::Checker;
use crate::spec::load::pointer_segment;
use crate::spec::GroupSpec;

/// Keys chainfleet sets from the topology at start (`--p2p.persistent_peers`, `--p2p.seeds`).
const TOPOLOGY_KEYS: &[&str] = &["p2p.persistent_peers", "p2p.seeds"];

/// The dotted paths of every value in a TOML document.
fn dotted_keys(text: &str) -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&path, t, out),
                _ => {
                    out.insert(path);
                }
            }
        }
    }
    let table: toml::Table = text.parse().expect("embedded TOML template parses");
    let mut out = BTreeSet::new();
    walk("", &table, &mut out);
    out
}

/// Keys of CometBFT v0.38's `config.toml`.
fn config_keys() -> &'static BTreeSet<String> {
    static KEYS: OnceLock<BTreeSet<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        dotted_keys(include_str!(
            "../../../../templates/cosmos/cometbft-0.38/config.toml"
        ))
    })
}

/// Keys of Cosmos SDK v0.50's `app.toml`.
fn app_keys() -> &'static BTreeSet<String> {
    static KEYS: OnceLock<BTreeSet<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        dotted_keys(include_str!(
            "../../../../templates/cosmos/sdk-0.50/app.toml"
        ))
    })
}

/// Check `g`'s `config` keys, and its `app_config` keys when the family has an `app.toml`.
pub(super) fn check(c: &mut Checker<'_>, p: &str, g: &GroupSpec, app_toml: bool) {
    for key in g.config.keys() {
        let ptr = format!("{p}/config/{}", pointer_segment(key));
        if TOPOLOGY_KEYS.contains(&key.as_str()) {
            c.key_error(
                &ptr,
                format!("chainfleet sets `{key}` from the topology when the node starts, so a value here would be overridden"),
                key.as_str(),
                "remove it: peers come from the groups (`behind:` for sentries, a `role: seed` group for seeds)",
            );
        } else {
            unknown(c, &ptr, key, config_keys(), "CometBFT v0.38's config.toml");
        }
    }
    if app_toml {
        for key in g.app_config.keys() {
            unknown(
                c,
                &format!("{p}/app_config/{}", pointer_segment(key)),
                key,
                app_keys(),
                "the Cosmos SDK v0.50 app.toml",
            );
        }
    }
}

/// Refuse `key` unless `known` has it.
fn unknown(c: &mut Checker<'_>, ptr: &str, key: &str, known: &BTreeSet<String>, file: &str) {
    if known.contains(key) {
        return;
    }
    let hint = match did_you_mean(key, known.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("use a dotted key that {file} has, e.g. `consensus.timeout_commit`"),
    };
    c.key_error(ptr, format!("`{key}` is not a key of {file}"), key, hint);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_keys_are_dotted_paths() {
        assert!(config_keys().contains("consensus.timeout_commit"));
        assert!(config_keys().contains("p2p.persistent_peers"));
        assert!(config_keys().contains("moniker"));
        assert!(app_keys().contains("api.enable"));
    }
}
