//! Komodo rules: assetchain definitions (names, distinct ports) and the groups that run
//! them; Cosmos SDK fields are foreign.

use std::collections::{BTreeMap, BTreeSet};

use super::{any_stake, reject_cosmos_fields, FamilyRules};
use crate::spec::check::Checker;
use crate::spec::{GroupSpec, Role, Spec};

pub(super) const RULES: FamilyRules = FamilyRules {
    chain: reject_cosmos_fields,
    after_chain: assetchains,
    stake: any_stake,
    group,
};

/// Longest assetchain name: its ports are named `<name>-p2p`/`<name>-rpc`, and Kubernetes
/// port names have at most 15 characters.
const MAX_NAME: usize = 11;

/// `chain.assetchains`: alphanumeric unique names, and p2p/rpc ports no two share.
fn assetchains(c: &mut Checker<'_>, spec: &Spec) {
    let mut names = BTreeSet::new();
    let mut ports: BTreeMap<u16, String> = BTreeMap::new();
    for (i, a) in spec.chain.assetchains.iter().enumerate() {
        let p = format!("/chain/assetchains/{i}");
        if a.name.is_empty()
            || a.name.len() > MAX_NAME
            || !a.name.chars().all(|x| x.is_ascii_alphanumeric())
        {
            c.error(
                &format!("{p}/name"),
                format!("assetchain name `{}` is invalid", a.name),
                a.name.as_str(),
                "use 1 to 11 letters and digits, e.g. `BEER` (its ports are named `<name>-p2p`)",
            );
        }
        if !names.insert(a.name.as_str()) {
            c.error(
                &format!("{p}/name"),
                format!("assetchain `{}` is defined twice", a.name),
                a.name.as_str(),
                "assetchain names must be unique",
            );
        }
        for (field, port) in [("p2p_port", a.p2p_port), ("rpc_port", a.rpc_port)] {
            if port == 0 {
                c.error(
                    &format!("{p}/{field}"),
                    format!("{field} of `{}` is 0", a.name),
                    "0",
                    "use a port from 1 to 65535",
                );
            } else if let Some(other) = ports.insert(port, a.name.clone()) {
                c.error(
                    &format!("{p}/{field}"),
                    format!(
                        "port {port} of assetchain `{}` is already used by `{other}`",
                        a.name
                    ),
                    port.to_string(),
                    "give every assetchain its own p2p and rpc ports",
                );
            }
        }
    }
}

/// A group's `assetchains` name defined assetchains; `notary` belongs to notaries and names
/// them as iguana's notary file can. A notary group in a network where no group runs the KMD
/// chain is warned about: assetchains notarise to KMD.
fn group(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    let runs_kmd = |x: &GroupSpec| {
        matches!(x.role, Role::Seed | Role::Full)
            && (x.assetchains.as_ref().is_some_and(|l| l.is_empty())
                || (x.assetchains.is_none() && spec.chain.assetchains.is_empty()))
    };
    if g.role == Role::Notary && !spec.groups.iter().any(runs_kmd) {
        c.warn(
            &format!("{p}/role"),
            format!(
                "notaries of group `{}` have no KMD daemon: iguana is started and driven \
                 (addnotary, addcoin, walletpassphrase, dpow), but assetchain notarisations \
                 go to KMD, which no node runs",
                g.name
            ),
            "fine for a test of the notary set-up; for notarisations add a seed/full group \
             with `assetchains: []` (komodod joins KMD mainnet and must sync it first)",
        );
    }
    if let Some(n) = &g.notary {
        if g.role != Role::Notary {
            c.error(
                &format!("{p}/notary"),
                "`notary` is only for groups of role `notary`",
                n.name.as_str(),
                "remove it, or set `role: notary`",
            );
        }
        if n.name.is_empty()
            || n.name.len() > 32
            || !n
                .name
                .chars()
                .all(|x| x.is_ascii_alphanumeric() || x == '_')
        {
            c.error(
                &format!("{p}/notary/name"),
                format!("notary name `{}` is invalid", n.name),
                n.name.as_str(),
                "use 1 to 32 letters, digits and `_`, e.g. `alice_EU`",
            );
        }
        if let Some(var) = &n.passphrase_env {
            let shaped = !var.is_empty()
                && !var.starts_with(|x: char| x.is_ascii_digit())
                && var
                    .chars()
                    .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit() || x == '_');
            if !shaped {
                c.error(
                    &format!("{p}/notary/passphrase_env"),
                    format!("`{var}` is not an environment variable name"),
                    var.as_str(),
                    "use upper-case letters, digits and `_`, e.g. `NOTARY_EU_PASSPHRASE`",
                );
            }
            if g.count != 1 {
                c.error(
                    &format!("{p}/notary/passphrase_env"),
                    format!(
                        "group `{}` has {} notaries but one passphrase",
                        g.name, g.count
                    ),
                    var.as_str(),
                    "give each notary with its own passphrase a group of its own (`count: 1`)",
                );
            }
        }
        if let Some(pk) = &n.pubkey {
            let hex33 = pk.len() == 66
                && (pk.starts_with("02") || pk.starts_with("03"))
                && pk
                    .chars()
                    .all(|x| x.is_ascii_digit() || ('a'..='f').contains(&x));
            if !hex33 {
                c.error(
                    &format!("{p}/notary/pubkey"),
                    "a notary pubkey is a compressed secp256k1 key: 66 lower-case hex characters starting with 02 or 03",
                    pk.as_str(),
                    "copy it from your notary election entry (pubkey.txt)",
                );
            }
            if n.passphrase_env.is_none() {
                c.error(
                    &format!("{p}/notary/pubkey"),
                    "a notary pubkey needs the passphrase that gives it",
                    pk.as_str(),
                    "add `passphrase_env: <VARIABLE>` naming where `generate` reads the passphrase",
                );
            }
        }
    }
    for (j, a) in g.assetchains.iter().flatten().enumerate() {
        if !spec.chain.assetchains.iter().any(|x| &x.name == a) {
            c.error(
                &format!("{p}/assetchains/{j}"),
                format!("assetchain `{a}` is not defined in `chain.assetchains`"),
                a.as_str(),
                "define it under chain.assetchains or remove it",
            );
        }
    }
}
