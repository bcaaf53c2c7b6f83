//! The bare-metal placement as resolved: every pinned node exists and is pinned once, and
//! the nodes sharing a machine get distinct ports below 65536 (including the node
//! exporter's 9100 when monitoring is on).

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::model::Network;

/// The Prometheus node exporter's port, opened on every machine when monitoring is on.
pub const NODE_EXPORTER_PORT: u16 = 9100;

/// Check `targets.hosts` placement and ports.
pub(super) fn check(c: &mut Checker<'_>, net: &Network) {
    let Some(hosts) = &net.targets.hosts else {
        return;
    };
    let names: Vec<&str> = net.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut pinned: BTreeMap<&str, String> = BTreeMap::new();
    let written = c
        .doc()
        .value
        .pointer("/targets/hosts/machines")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, m) in written.iter().enumerate() {
        let listed = m.get("nodes").and_then(|v| v.as_array());
        for (j, n) in listed.into_iter().flatten().enumerate() {
            let Some(n) = n.as_str() else { continue };
            let ptr = format!("/targets/hosts/machines/{i}/nodes/{j}");
            let beyond_count = n.rsplit_once('-').is_some_and(|(g, k)| {
                k.parse::<u32>().is_ok() && net.group(g).is_some_and(|g| g.count > 0)
            });
            if !names.contains(&n) && beyond_count {
                // A group made smaller: the pin outlived its node. Say so, do not refuse.
                c.warn(
                    &ptr,
                    format!("no node is named `{n}` (its group has fewer nodes): this pin has no effect"),
                    "remove the pin, or raise the group's `count`",
                );
            } else if !names.contains(&n) {
                let hint = match crate::diag::did_you_mean(n, names.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "node names are `<group>-<ordinal>`, e.g. `validator-0`".into(),
                };
                c.error(&ptr, format!("no node is named `{n}`"), n, hint);
            } else if let Some(first) = pinned.insert(n, hosts.machines[i].name.clone()) {
                c.error(
                    &ptr,
                    format!("node `{n}` is pinned to machine `{first}` already"),
                    n,
                    "a node runs on one machine: remove one of the two pins",
                );
            }
        }
    }
    for m in &hosts.machines {
        let mut used: BTreeMap<u32, String> = BTreeMap::new();
        if net.monitoring.prometheus {
            used.insert(NODE_EXPORTER_PORT.into(), "the node exporter".into());
        }
        let mut reported = BTreeSet::new();
        for name in &m.nodes {
            let Some(node) = net.node(name) else { continue };
            for port in &node.ports {
                let number = hosts.port(name, port);
                let what = format!("`{name}`'s {} port", port.name);
                let problem = if number > u32::from(u16::MAX) {
                    // Once per machine: every later node overflows too.
                    reported.insert(String::new()).then(|| {
                        (
                            format!(
                                "machine `{}` runs too many nodes: {what} would be {number}",
                                m.name
                            ),
                            "spread the nodes over more machines",
                        )
                    })
                } else if let Some(other) = used.insert(number, what.clone()) {
                    reported.insert(name.clone()).then(|| {
                        (
                            format!(
                                "on machine `{}`, {what} and {other} are both {number}",
                                m.name
                            ),
                            "pin these nodes to different machines",
                        )
                    })
                } else {
                    None
                };
                if let Some((message, hint)) = problem {
                    c.error(
                        &format!("{}/name", m.source),
                        message,
                        m.name.as_str(),
                        hint,
                    );
                }
            }
        }
    }
}
