//! Checks on the resolved network: what a spec means once its nodes are expanded, placed
//! and given ports — a family's roles and ports, host port allocation, subnet capacity,
//! EC2 sizes, and names and limits the targets derive. Each problem is placed at what the
//! user wrote through the group's source pointer (`Group::source`, `Node::source`) and the
//! document's span index.
//!
//! `lib::validate` runs these after `spec::check` on every spec that deserializes, also one
//! `spec::check` rejected (resolution is total), so all problems are reported at once.

mod aws;
mod family;
mod host_ports;
mod kubernetes;

use super::Network;
use crate::diag::Diagnostics;
use crate::spec::check::Checker;
use crate::spec::load::Document;

pub use aws::MAX_CROSS_REGION_PEERS;

/// Check a resolved network; `doc` is the spec it was resolved from, shown as `file`.
pub fn check(file: &str, doc: &Document, net: &Network) -> Diagnostics {
    let mut c = Checker::new(file, doc);
    family::check(&mut c, net);
    host_ports::check(&mut c, net);
    aws::check(&mut c, net);
    kubernetes::check(&mut c, net);
    c.finish()
}

/// The scalar the user wrote at `ptr`, as text (`""` when there is none).
fn written(c: &Checker<'_>, ptr: &str) -> String {
    match c.doc().value.pointer(ptr) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.as_f64().map_or(String::new(), |f| f.to_string()),
        _ => String::new(),
    }
}
