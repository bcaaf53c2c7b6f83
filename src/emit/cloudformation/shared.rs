//! References from node resources to region-wide resources (cluster, file system, subnets,
//! alert topic, ...): direct in the region stack, parameters of the same name in a nested
//! node stack, which the parent then passes.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::builder::{ga, r};
use crate::model::Network;

/// Where node resources find shared region resources: directly, or as parameters of a
/// nested stack (same name) passed by the parent.
pub(super) struct Shared {
    /// True inside a nested node stack.
    pub(super) child: bool,
    /// Parameters a child needs, with the value the parent passes for each.
    pub(super) used: BTreeMap<String, Value>,
}

impl Shared {
    /// References as seen from the region stack itself.
    pub(super) fn region() -> Shared {
        Shared {
            child: false,
            used: BTreeMap::new(),
        }
    }

    /// References as seen from a nested node stack (each one becomes a parameter).
    pub(super) fn child() -> Shared {
        Shared {
            child: true,
            used: BTreeMap::new(),
        }
    }

    /// `Ref id` in the region stack; a parameter `id` in a child.
    pub(super) fn r(&mut self, id: &str) -> Value {
        if self.child {
            self.used.insert(id.into(), r(id));
        }
        r(id)
    }

    /// `Fn::GetAtt id.attr` in the region stack; a parameter `<id><attr>` in a child.
    pub(super) fn ga(&mut self, id: &str, attr: &str) -> Value {
        if self.child {
            let p = format!("{id}{}", attr.replace('.', ""));
            self.used.insert(p.clone(), ga(id, attr));
            r(&p)
        } else {
            ga(id, attr)
        }
    }

    /// A subnet ID (`PublicSubnet1`, `PrivateSubnet2`).
    pub(super) fn subnet(&mut self, net: &Network, kind: &str, i: usize) -> Value {
        if existing_vpc(net) {
            let p = format!("{kind}Subnets");
            json!({ "Fn::Select": [i, self.r(&p)] })
        } else {
            self.r(&format!("{kind}Subnet{}", i + 1))
        }
    }

    /// The VPC ID: the stack's own VPC or the `VpcId` parameter.
    pub(super) fn vpc(&mut self, net: &Network) -> Value {
        if existing_vpc(net) {
            self.r("VpcId")
        } else {
            self.r("Vpc")
        }
    }

    /// Where alarms notify: the region's alert topic and the spec's extra SNS topics.
    pub(super) fn alarm_actions(&mut self, net: &Network) -> Value {
        let mut v = vec![self.r("AlertTopic")];
        v.extend(net.monitoring.sns_topics.iter().map(|t| json!(t)));
        Value::Array(v)
    }
}

/// True when the network deploys into an existing VPC (the spec gives no `vpc_cidr`).
pub(super) fn existing_vpc(net: &Network) -> bool {
    net.targets
        .aws
        .as_ref()
        .is_some_and(|a| a.vpc_cidr.is_none())
}
