//! Checks on the resolved network: what a spec means once its nodes are expanded, placed
//! and given ports — a family's roles and ports, host port allocation, subnet capacity,
//! EC2 sizes, names and limits the targets derive, and voting power across regions. Each
//! problem is placed at what the user wrote through the group's source pointer (`Group::source`, `Node::source`) and the
//! document's span index.
//!
//! `lib::validate` runs these after `spec::check` on every spec that deserializes, also one
//! `spec::check` rejected (resolution is total), so all problems are reported at once.

mod aws;
mod family;
mod host_ports;
mod hosts;
mod kubernetes;
mod quorum;

use std::collections::BTreeMap;

use super::{Network, Node};
use crate::diag::Diagnostics;
use crate::spec::check::Checker;
use crate::spec::load::Document;

pub use aws::MAX_CROSS_REGION_PEERS;
pub use hosts::NODE_EXPORTER_PORT;

/// Check a resolved network; `doc` is the spec it was resolved from, shown as `file`.
pub fn check(file: &str, doc: &Document, net: &Network) -> Diagnostics {
    let mut c = Checker::new(file, doc);
    family::check(&mut c, net);
    host_ports::check(&mut c, net);
    hosts::check(&mut c, net);
    aws::check(&mut c, net);
    kubernetes::check(&mut c, net);
    quorum::check(&mut c, net);
    c.finish()
}

/// Nodes by name (the first of a name, as `Network::node` finds it), so checks that look
/// peers and names up stay linear on large networks.
fn nodes_by_name(net: &Network) -> BTreeMap<&str, &Node> {
    let mut by_name = BTreeMap::new();
    for n in &net.nodes {
        by_name.entry(n.name.as_str()).or_insert(n);
    }
    by_name
}

/// The scalar the user wrote at `ptr`, as text (`""` when there is none).
fn written(c: &Checker<'_>, ptr: &str) -> String {
    match c.doc().value.pointer(ptr) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.as_f64().map_or(String::new(), |f| f.to_string()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The messages `validate` reports for `yaml`.
    fn problems(yaml: &str) -> Vec<String> {
        match crate::validate("spec.yaml", yaml.as_bytes(), Path::new(".")) {
            Ok(_) => Vec::new(),
            Err(d) => d.0.into_iter().map(|d| d.message).collect(),
        }
    }

    const HEAD: &str = "name: n\nchain: { family: cometbft, chain_id: c-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\n";

    #[test]
    fn resolution_is_total_on_specs_that_fail_checking() {
        // A subnet at the top of the address space: node addresses would overflow.
        let got = problems(&format!(
            "{HEAD}groups:\n  - {{ name: validator, role: validator, count: 20 }}\ntargets:\n  compose: {{ subnet: 255.255.255.255/32 }}\n"
        ));
        assert_eq!(
            got,
            ["subnet `255.255.255.255/32` holds 0 nodes, the network has 20"]
        );
        // Broken references, coins and sizes resolve to defaults; both stages report.
        let got = problems(&format!(
            "{HEAD}groups:\n  - {{ name: validator, role: validator, behind: nobody, stake: lots, resources: {{ memory: 4GB }} }}\n  - {{ name: w, role: snark_worker }}\ntargets:\n  local: {{}}\n"
        ));
        assert_eq!(got.len(), 5, "{got:#?}");
        assert!(got
            .iter()
            .any(|m| m.contains("does not exist in a cometbft")));
        assert!(got.iter().any(|m| m.contains("sentry group `nobody`")));
    }

    #[test]
    fn regions_short_of_elastic_ips_are_warned_with_the_count() {
        let yaml = format!(
            "{HEAD}regions: [us-east-1]\ngroups:\n  - {{ name: validator, role: validator, count: 4 }}\n  - {{ name: sentry, role: sentry, count: 4, expose: {{ p2p: public }} }}\ntargets:\n  aws: {{}}\n"
        );
        let v = crate::validate("spec.yaml", yaml.as_bytes(), Path::new(".")).expect("valid");
        let w: Vec<&str> = v.warnings.0.iter().map(|d| d.message.as_str()).collect();
        assert!(
            w.contains(&"`us-east-1` needs 6 Elastic IPs (4 nodes with public p2p, 2 NAT gateways); AWS's default quota is 5 per region"),
            "{w:#?}"
        );
    }

    #[test]
    fn single_node_validator_groups_alternate_zones() {
        let yaml = format!(
            "{HEAD}regions: [us-east-1]\ngroups:\n  - {{ name: a, role: validator }}\n  - {{ name: s, role: sentry }}\n  - {{ name: b, role: validator }}\n  - {{ name: c, role: validator }}\n  - {{ name: d, role: validator }}\ntargets:\n  aws: {{}}\n"
        );
        let net = crate::test_network(&yaml);
        let zones: Vec<usize> = net.validators().map(|n| net.zone_slot(n, 2)).collect();
        assert_eq!(zones, [0, 1, 0, 1]);
    }

    #[test]
    fn resolved_problems_point_at_the_group_that_caused_them() {
        let yaml = format!(
            "{HEAD}groups:\n  - {{ name: validator, role: validator, count: 2 }}\n  - {{ name: validator, role: full, ports: {{ rpc: 26656 }} }}\ntargets:\n  local: {{}}\n"
        );
        let d = crate::validate("spec.yaml", yaml.as_bytes(), Path::new(".")).unwrap_err();
        let dup =
            d.0.iter()
                .find(|d| d.message.contains("are both 26656"))
                .unwrap();
        // The second group of the same name, line 5, at its `rpc` value.
        let pos = dup.pos.unwrap();
        assert_eq!((pos.line, pos.column), (5, 50), "{dup:?}");
    }
}
