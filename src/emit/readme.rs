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

#[derive(Serialize)]
struct Region {
    name: String,
    mermaid_id: String,
    nodes: Vec<NodeRow>,
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
    let mut links = Vec::new();
    for n in &net.nodes {
        for p in n.peers.persistent.iter().chain(n.peers.seeds.iter()) {
            // Each link once: listed by the lower-named side, or by the only side that lists it.
            let reverse = net.node(p).is_some_and(|o| {
                o.peers.persistent.contains(&n.name) || o.peers.seeds.contains(&n.name)
            });
            if !reverse || n.name < *p {
                links.push(Link {
                    from: mermaid_id(&n.name),
                    to: mermaid_id(p),
                });
            }
        }
    }
    let view = View {
        name: &net.name,
        chain_id: &net.chain.chain_id,
        family: crate::spec::check::family_name(net.chain.family),
        image: &net.chain.image,
        regions: net
            .regions
            .iter()
            .map(|r| Region {
                name: r.clone(),
                mermaid_id: mermaid_id(r),
                nodes: net.nodes_in(r).map(row).collect(),
            })
            .filter(|r| !r.nodes.is_empty())
            .collect(),
        nodes: net.nodes.iter().map(row).collect(),
        links,
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
