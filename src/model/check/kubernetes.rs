//! Names the Helm chart derives: it names a headless Service after each group and a
//! Service after each node, so no group may be named like a node.

use super::{nodes_by_name, Checker};
use crate::model::Network;

/// Check the Kubernetes target's derived names.
pub(super) fn check(c: &mut Checker<'_>, net: &Network) {
    if net.targets.kubernetes.is_none() {
        return;
    }
    let nodes = nodes_by_name(net);
    for g in &net.groups {
        let Some(node) = nodes.get(g.name.as_str()) else {
            continue;
        };
        c.error(
            &format!("{}/name", g.source),
            format!(
                "group `{}` has the name of node `{}` of group `{}`",
                g.name, node.name, node.group
            ),
            g.name.as_str(),
            format!(
                "rename the group: the Helm chart names a Service after each group and each node, and two Services cannot both be `{}`",
                g.name
            ),
        );
    }
}
