//! Komodo rules: assetchain definitions (names, distinct ports) and the groups that run
//! them; Cosmos SDK fields are foreign.

use std::collections::{BTreeMap, BTreeSet};

use super::{any_stake, reject_cosmos_fields, FamilyRules};
use crate::spec::check::Checker;
use crate::spec::{GroupSpec, Spec};

pub(super) const RULES: FamilyRules = FamilyRules {
    chain: reject_cosmos_fields,
    after_chain: assetchains,
    stake: any_stake,
    group,
};

/// `chain.assetchains`: alphanumeric unique names, and p2p/rpc ports no two share.
fn assetchains(c: &mut Checker<'_>, spec: &Spec) {
    let mut names = BTreeSet::new();
    let mut ports: BTreeMap<u16, String> = BTreeMap::new();
    for (i, a) in spec.chain.assetchains.iter().enumerate() {
        let p = format!("/chain/assetchains/{i}");
        if a.name.is_empty()
            || a.name.len() > 64
            || !a.name.chars().all(|x| x.is_ascii_alphanumeric())
        {
            c.error(
                &format!("{p}/name"),
                format!("assetchain name `{}` is invalid", a.name),
                a.name.as_str(),
                "use letters and digits, e.g. `BEER`",
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

/// A group's `assetchains` name defined assetchains.
fn group(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
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
