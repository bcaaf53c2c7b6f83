//! Ready-to-apply Kubernetes Secret manifests of every node's keys, from the secrets tree
//! and written to the secrets tree only (`kubernetes/<node>-secret.yaml`).

use base64::Engine;
use serde_json::json;

use super::secret_name;
use crate::emit::{templates, Context, FileEntry, FileSet};
use crate::model::Kubernetes;

/// One Secret manifest per node with secret files.
pub(super) fn secret_manifests(cx: &Context<'_>, k8s: &Kubernetes) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let mut secrets = FileSet::new();
    for node in &net.nodes {
        let Some(arts) = cx.artifacts.nodes.get(&node.name) else {
            continue;
        };
        if arts.secret_files.is_empty() {
            continue;
        }
        let mut data = Vec::new();
        // Files the operator supplies (e.g. Mina staking keys) are not generated, so they
        // are named in the manifest for the operator to add, never invented.
        let mut operator = Vec::new();
        for f in &arts.secret_files {
            match cx.artifacts.secrets.get(&f.source) {
                Some(e) => data.push((
                    f.key.clone(),
                    base64::engine::general_purpose::STANDARD.encode(&e.bytes),
                )),
                None => operator.push((f.key.clone(), f.source.clone())),
            }
        }
        let text = templates::render(
            "helm/secret.yaml.j2",
            json!({
                "name": secret_name(net, &node.name),
                "namespace": k8s.namespace,
                "network": net.name,
                "node": node.name,
                "data": data,
                "operator": operator,
            }),
        )?;
        secrets.insert(
            format!("kubernetes/{}-secret.yaml", node.name),
            FileEntry::text(text),
        );
    }
    Ok(secrets)
}
