//! A family's roles and ports: each group's role exists in the family (and a SNARK worker
//! pool has its coordinator), the port names a group writes are the family's, its port
//! numbers are distinct and not 0, loopback-only ports are not public, and a chain that
//! signs blocks has a signer.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::diag::did_you_mean;
use crate::model::ports::{family_port_names, family_roles, required_signer};
use crate::model::{Exposure, Group, Network, Node, Reach, Role};
use crate::spec::check::{family_name, role_name};

/// Check roles and ports of every group.
pub(super) fn check(c: &mut Checker<'_>, net: &Network) {
    // Every node of a group has the same container ports: the first node shows them.
    let mut first: BTreeMap<&str, &Node> = BTreeMap::new();
    for n in &net.nodes {
        first.entry(n.source.as_str()).or_insert(n);
    }
    for g in &net.groups {
        role(c, net, g);
        port_names(c, net, g, first.get(g.source.as_str()).copied());
        if let Some(node) = first.get(g.source.as_str()) {
            port_numbers(c, g, node);
        }
        tested_group(c, net, g, &first);
    }
    signer(c, net);
}

/// A test service's `tests` names a group whose nodes serve GraphQL (the URL it is given).
fn tested_group(c: &mut Checker<'_>, net: &Network, g: &Group, first: &BTreeMap<&str, &Node>) {
    let Some(tested) = g.tests.as_deref().and_then(|t| net.group(t)) else {
        return;
    };
    let serves = first
        .get(tested.source.as_str())
        .is_some_and(|n| n.port("graphql").is_some());
    if !serves {
        c.error(
            &format!("{}/tests", g.source),
            format!(
                "group `{}` ({}) serves no GraphQL API to test",
                tested.name,
                role_name(tested.role)
            ),
            tested.name.as_str(),
            "name a group of Mina daemons (seeds, block producers, coordinators, archive or full nodes)",
        );
    }
}

/// The role exists in the family; a SNARK worker pool names its coordinator.
fn role(c: &mut Checker<'_>, net: &Network, g: &Group) {
    let family = net.chain.family;
    let roles = family_roles(family);
    let p = &g.source;
    if !roles.contains(&g.role) {
        let names: Vec<String> = roles.iter().map(|r| role_name(*r)).collect();
        c.error(
            &format!("{p}/role"),
            format!(
                "role `{}` does not exist in a {} network",
                role_name(g.role),
                family_name(family)
            ),
            role_name(g.role),
            format!("roles for {}: {}", family_name(family), names.join(", ")),
        );
    }
    if g.role == Role::SnarkWorker && g.coordinator.is_none() {
        c.error(
            &format!("{p}/role"),
            format!("SNARK worker group `{}` has no `coordinator`", g.name),
            g.name.as_str(),
            "add `coordinator: <snark_coordinator group>`",
        );
    }
}

/// Every name in `ports`, `expose` and `host_ports` is one of the family's ports, and one in
/// `ports` or `host_ports` is a port the group's nodes have (a Komodo node running
/// assetchains listens on their ports, not on 7770/7771).
fn port_names(c: &mut Checker<'_>, net: &Network, g: &Group, node: Option<&Node>) {
    let family = net.chain.family;
    let known = family_port_names(family);
    for key in ["ports", "expose", "host_ports"] {
        let ptr = format!("{}/{key}", g.source);
        let written: Vec<String> = match c.doc().value.pointer(&ptr) {
            Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        for name in written {
            if known.contains(&name.as_str()) {
                if let Some(n) = node.filter(|n| key != "expose" && n.port(&name).is_none()) {
                    let has: Vec<&str> = n.ports.iter().map(|p| p.name.as_str()).collect();
                    c.key_error(
                        &format!("{ptr}/{name}"),
                        format!(
                            "group `{}` has no port `{name}`: its nodes listen on {}",
                            g.name,
                            if has.is_empty() {
                                "nothing".to_string()
                            } else {
                                has.join(", ")
                            }
                        ),
                        name.as_str(),
                        "remove it; assetchain ports are set in `chain.assetchains`",
                    );
                }
                continue;
            }
            let hint = match did_you_mean(&name, known.iter().copied()) {
                Some(s) => format!(
                    "did you mean `{s}`? {} ports: {}",
                    family_name(family),
                    known.join(", ")
                ),
                None => format!("{} ports: {}", family_name(family), known.join(", ")),
            };
            c.key_error(
                &format!("{ptr}/{name}"),
                format!("unknown port `{name}` in `{key}` of group `{}`", g.name),
                name.as_str(),
                hint,
            );
        }
    }
}

/// The group's container ports (as its first node got them) are not 0 and pairwise
/// distinct.
fn port_numbers(c: &mut Checker<'_>, g: &Group, node: &Node) {
    let mut numbers: BTreeMap<u16, &str> = BTreeMap::new();
    for port in &node.ports {
        let n = port.container;
        let at = format!("{}/ports/{}", g.source, port.name);
        if port.reach == Reach::Loopback && port.exposure == Exposure::Public {
            c.error(
                &format!("{}/expose/{}", g.source, port.name),
                format!(
                    "port `{}` of group `{}` listens on 127.0.0.1 only: it cannot be public",
                    port.name, g.name
                ),
                "public",
                "remove it from `expose`",
            );
        }
        if n == 0 {
            c.error(
                &at,
                format!("port `{}` of group `{}` is 0", port.name, g.name),
                "0",
                "use a port from 1 to 65535",
            );
        } else if let Some(other) = numbers.insert(n, &port.name) {
            c.error(
                &at,
                format!(
                    "ports `{other}` and `{}` of group `{}` are both {n}",
                    port.name, g.name
                ),
                n.to_string(),
                "give each port its own number",
            );
        }
    }
}

/// A chain that signs blocks needs at least one group of its signing role.
fn signer(c: &mut Checker<'_>, net: &Network) {
    let family = net.chain.family;
    let Some(signer) = required_signer(family) else {
        return;
    };
    if net.groups.is_empty() || net.groups.iter().any(|g| g.role == signer) {
        return;
    }
    c.error(
        "/groups",
        format!(
            "a {} network needs at least one `{}` group",
            family_name(family),
            role_name(signer)
        ),
        format!(
            "roles present: {}",
            net.groups
                .iter()
                .map(|g| role_name(g.role))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("add a group with `role: {}`", role_name(signer)),
    );
}
