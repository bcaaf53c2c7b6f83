//! Host ports and addresses of the compose and local targets, as resolution allocated them:
//! no target runs out of ports or hands one host port out twice, and the compose subnet
//! holds every node.

use std::collections::BTreeMap;

use super::Checker;
use crate::model::resolve::{host_port, COMPOSE_FIRST_NODE_OFFSET};
use crate::model::{Network, Port, LOCAL_PORT_STRIDE};
use crate::spec::parse::parse_cidr;

/// Check host ports, then the compose subnet.
pub(super) fn check(c: &mut Checker<'_>, net: &Network) {
    let targets = [
        (
            "local",
            net.targets.local.as_ref().map(|l| l.base_port),
            "/targets/local/base_port",
        ),
        (
            "compose",
            net.targets.compose.as_ref().map(|l| l.base_port),
            "/targets/compose/base_port",
        ),
    ];
    for (target, base, ptr) in targets {
        let Some(base) = base else { continue };
        if !ports_of(c, net, target, base, ptr) {
            // Out of ports: every later port would repeat it. This also skips the subnet
            // check, the order these rules have always run in (the multi-error corpus case
            // pins it).
            return;
        }
    }
    subnet(c, net);
}

/// The host port `port` (slot `slot` of a node) gets in `target`; `None` when the target
/// does not publish it (compose publishes public ports only). Unclamped, so a target that
/// runs out of ports shows as a number above 65535.
fn wanted(target: &str, base: u16, index: usize, slot: usize, port: &Port) -> Option<u32> {
    let host = if target == "compose" {
        port.compose_host?
    } else {
        port.local
    };
    Some(if port.pinned {
        u32::from(host)
    } else {
        host_port(base, index, slot)
    })
}

/// One target's host ports; false when it runs out of them.
fn ports_of(c: &mut Checker<'_>, net: &Network, target: &str, base: u16, ptr: &str) -> bool {
    let total = net.nodes.len();
    let mut used: BTreeMap<u32, String> = BTreeMap::new();
    for node in &net.nodes {
        for (slot, port) in node.ports.iter().enumerate() {
            let Some(number) = wanted(target, base, node.index, slot, port) else {
                continue;
            };
            if number > 65535 {
                c.error(
                    ptr,
                    format!(
                        "the {target} target runs out of ports: node `{}` would need port {number}",
                        node.name
                    ),
                    base.to_string(),
                    format!(
                        "lower base_port; {total} nodes need {} ports from it",
                        total * LOCAL_PORT_STRIDE as usize
                    ),
                );
                return false;
            }
            let here = format!("{} {}", node.name, port.name);
            if let Some(other) = used.insert(number, here.clone()) {
                let at = if port.pinned {
                    format!("{}/host_ports/{}", node.source, port.name)
                } else {
                    ptr.to_string()
                };
                c.error(
                    &at,
                    format!(
                        "host port {number} of the {target} target is taken twice: `{other}` and `{here}`"
                    ),
                    number.to_string(),
                    format!("pin another host port, or move base_port; node ports take base_port + {LOCAL_PORT_STRIDE} × node index + slot"),
                );
            }
        }
    }
    true
}

/// The compose subnet is an IPv4 CIDR with room for every node after the reserved
/// addresses.
fn subnet(c: &mut Checker<'_>, net: &Network) {
    let Some(compose) = &net.targets.compose else {
        return;
    };
    let at = "/targets/compose/subnet";
    let total = net.nodes.len();
    match parse_cidr(&compose.subnet) {
        None => c.error(
            at,
            format!("subnet `{}` is not an IPv4 CIDR", compose.subnet),
            compose.subnet.as_str(),
            "write e.g. `172.28.0.0/24`",
        ),
        Some((_, len)) => {
            let capacity = (1u64 << (32 - u32::from(len)))
                .saturating_sub(1 + u64::from(COMPOSE_FIRST_NODE_OFFSET));
            if (total as u64) > capacity {
                c.error(
                    at,
                    format!(
                        "subnet `{}` holds {capacity} nodes, the network has {total}",
                        compose.subnet
                    ),
                    compose.subnet.as_str(),
                    format!("use a larger subnet; the first {COMPOSE_FIRST_NODE_OFFSET} addresses go to the gateway and monitoring"),
                );
            }
        }
    }
}
