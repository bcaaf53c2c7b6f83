//! The per-network README: a Mermaid topology (regions, groups, nodes, peer links), a node
//! table with node IDs and ports, each target's endpoints (`endpoints.rs`) and the deploy
//! commands of each generated target, so a reviewer sees topology changes in the pull
//! request.

use serde::Serialize;

use super::{endpoints, templates, Context, FileEntry, FileSet, Target};

#[derive(Serialize)]
struct NodeRow {
    name: String,
    mermaid_id: String,
    group: String,
    role: String,
    region: String,
    node_id: String,
    ports: String,
    public: String,
}

#[derive(Serialize)]
struct Link {
    from: String,
    to: String,
}

/// One box of the topology: a node, or a whole group of a region when collapsed.
#[derive(Serialize)]
struct DiagramBox {
    mermaid_id: String,
    name: String,
    role: String,
}

#[derive(Serialize)]
struct Region {
    name: String,
    mermaid_id: String,
    nodes: Vec<DiagramBox>,
}

#[derive(Serialize)]
struct EndpointRow {
    node: String,
    endpoints: String,
}

#[derive(Serialize)]
struct TargetEndpointsView {
    target: &'static str,
    reach: String,
    rows: Vec<EndpointRow>,
}

#[derive(Serialize)]
struct View<'a> {
    name: &'a str,
    chain_id: &'a str,
    family: String,
    image: &'a str,
    regions: Vec<Region>,
    nodes: Vec<NodeRow>,
    links: Vec<Link>,
    /// Why the diagram shows groups instead of nodes, when it does.
    collapsed: Option<String>,
    endpoints: Vec<TargetEndpointsView>,
    targets: Vec<&'static str>,
    secrets_rel: &'a str,
    image_name: String,
    namespace: String,
    binary: &'a str,
}

/// One table per target: a row per node (or monitoring UI) that has endpoints there.
fn endpoint_view(net: &crate::model::Network, target: Target) -> TargetEndpointsView {
    let e = endpoints::endpoints(net, target);
    let mut names: Vec<&str> = Vec::new();
    for x in &e.endpoints {
        if !names.contains(&x.node.as_str()) {
            names.push(&x.node);
        }
    }
    TargetEndpointsView {
        target: target.name(),
        rows: names
            .iter()
            .map(|n| EndpointRow {
                node: n.to_string(),
                endpoints: endpoints::node_line(e.of(n)),
            })
            .collect(),
        reach: e.reach,
    }
}

/// Above this many nodes the topology shows one box per group and region: Mermaid refuses
/// more than 500 edges and a bigger text, and a diagram of 100 nodes is unreadable anyway.
pub const MERMAID_NODE_LIMIT: usize = 50;
/// Above this many peer links the topology is collapsed too (Mermaid's limit is 500).
pub const MERMAID_LINK_LIMIT: usize = 400;

/// The group-per-region view: boxes `<region>/<group>` with their node count, and one
/// link between two boxes when any of their nodes peer (links inside a box left out).
fn collapse(net: &crate::model::Network, links: &[(String, String)]) -> (Vec<Region>, Vec<Link>) {
    let box_id = |n: &crate::model::Node| mermaid_id(&format!("{}__{}", n.region, n.group));
    let regions = net
        .regions
        .iter()
        .map(|r| {
            let mut boxes: Vec<DiagramBox> = Vec::new();
            for n in net.nodes_in(r) {
                let id = box_id(n);
                if boxes.iter().all(|b| b.mermaid_id != id) {
                    let count = net.nodes_in(r).filter(|m| m.group == n.group).count();
                    boxes.push(DiagramBox {
                        mermaid_id: id,
                        name: format!(
                            "{} ({count} node{})",
                            n.group,
                            if count == 1 { "" } else { "s" }
                        ),
                        role: crate::spec::check::role_name(n.role),
                    });
                }
            }
            Region {
                name: r.clone(),
                mermaid_id: mermaid_id(r),
                nodes: boxes,
            }
        })
        .filter(|r| !r.nodes.is_empty())
        .collect();
    let by_name: std::collections::HashMap<&str, &crate::model::Node> =
        net.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (a, b) in links {
        let (Some(a), Some(b)) = (by_name.get(a.as_str()), by_name.get(b.as_str())) else {
            continue;
        };
        let (x, y) = (box_id(a), box_id(b));
        if x == y {
            continue;
        }
        let key = if x < y {
            (x.clone(), y.clone())
        } else {
            (y.clone(), x.clone())
        };
        if seen.insert(key) {
            out.push(Link { from: x, to: y });
        }
    }
    (regions, out)
}

fn mermaid_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Render `README.md`.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let row = |n: &crate::model::Node| NodeRow {
        name: n.name.clone(),
        mermaid_id: mermaid_id(&n.name),
        group: n.group.clone(),
        role: crate::spec::check::role_name(n.role),
        region: n.region.clone(),
        node_id: cx
            .artifacts
            .nodes
            .get(&n.name)
            .and_then(|a| a.node_id.clone())
            .unwrap_or_else(|| "-".into()),
        ports: n
            .ports
            .iter()
            .map(|p| format!("{} {}", p.name, p.container))
            .collect::<Vec<_>>()
            .join(", "),
        public: {
            let public: Vec<&str> = n
                .ports
                .iter()
                .filter(|p| p.exposure == crate::model::Exposure::Public)
                .map(|p| p.name.as_str())
                .collect();
            if public.is_empty() {
                "-".into()
            } else {
                public.join(", ")
            }
        },
    };
    let by_name: std::collections::HashMap<&str, &crate::model::Node> =
        net.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for n in &net.nodes {
        for p in n.peers.persistent.iter().chain(n.peers.seeds.iter()) {
            // Each link once: listed by the lower-named side, or by the only side that lists it.
            let reverse = by_name.get(p.as_str()).is_some_and(|o| {
                o.peers.persistent.contains(&n.name) || o.peers.seeds.contains(&n.name)
            });
            if !reverse || n.name < *p {
                pairs.push((n.name.clone(), p.clone()));
            }
        }
    }
    let collapsed = (net.nodes.len() > MERMAID_NODE_LIMIT || pairs.len() > MERMAID_LINK_LIMIT)
        .then(|| {
            format!(
                "{} nodes and {} peer links: shown as one box per group and region (above {MERMAID_NODE_LIMIT} nodes or {MERMAID_LINK_LIMIT} links); every node is in the table below.",
                net.nodes.len(),
                pairs.len()
            )
        });
    let (regions, links) = if collapsed.is_some() {
        collapse(net, &pairs)
    } else {
        let node_box = |n: &crate::model::Node| DiagramBox {
            mermaid_id: mermaid_id(&n.name),
            name: n.name.clone(),
            role: crate::spec::check::role_name(n.role),
        };
        let regions = net
            .regions
            .iter()
            .map(|r| Region {
                name: r.clone(),
                mermaid_id: mermaid_id(r),
                nodes: net.nodes_in(r).map(node_box).collect(),
            })
            .filter(|r| !r.nodes.is_empty())
            .collect();
        let links = pairs
            .iter()
            .map(|(a, b)| Link {
                from: mermaid_id(a),
                to: mermaid_id(b),
            })
            .collect();
        (regions, links)
    };
    let view = View {
        name: &net.name,
        chain_id: &net.chain.chain_id,
        family: crate::spec::check::family_name(net.chain.family),
        image: &net.chain.image,
        regions,
        nodes: net.nodes.iter().map(row).collect(),
        links,
        collapsed,
        endpoints: cx.targets.iter().map(|&t| endpoint_view(net, t)).collect(),
        targets: cx.targets.iter().map(|t: &Target| t.name()).collect(),
        secrets_rel: cx.secrets_rel,
        image_name: super::docker::image_ref(cx)?,
        namespace: net
            .targets
            .kubernetes
            .as_ref()
            .map(|k| k.namespace.clone())
            .unwrap_or_default(),
        binary: &net.chain.binary,
    };
    let text = templates::render("readme/README.md.j2", &view)?;
    Ok(FileSet::from([(
        "README.md".to_string(),
        FileEntry::text(text),
    )]))
}
