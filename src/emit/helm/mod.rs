//! Helm target: the chart `helm/<network>/` that runs every node from the one generated image,
//! plus ready-to-apply Kubernetes Secret manifests (secrets tree only, `kubernetes/`).
//!
//! Decisions (also in the chart's values.yaml and NOTES):
//! - One StatefulSet per *node* (replicas 1, named after the node), not one per group: a
//!   StatefulSet shares one pod template, so a per-group set could only hand each pod its own
//!   key by mounting every sibling's key too. Per node, each pod mounts only its own Secret
//!   (`nodes.<node>.existingSecret`). `CHAINFLEET_NODE` names the node (the pod is `<node>-0`).
//!   Each group still gets one headless Service (`<group>`, `publishNotReadyAddresses`), a
//!   PodDisruptionBudget and, for validators behind sentries, NetworkPolicies.
//! - Peers are written out at generation time. A peer running in the same release is dialed at
//!   its pod DNS name `<peer>-0.<group>.<namespace>.svc.<clusterDomain>`; a peer that another
//!   cluster runs (multi-region: `values-<region>.yaml` disables it here) is dialed at its public
//!   host: `nodes.<peer>.publicHost`, else `<peer>.<region>.<publicDomain>`. The Helm helpers
//!   decide at install time, so one chart serves a single cluster and every region. Validators
//!   behind sentries are never exposed: another cluster's hidden validator is left out of peer
//!   lists (it dials its sentries itself), and their NetworkPolicy lets them reach remote
//!   sentries' p2p port only in `networkPolicy.remoteSentryCIDRs`.
//! - The node home is the data volume at `/var/lib/chainfleet`, so the pod runs as a non-root
//!   user with a read-only root filesystem whatever home the base image assumes.

mod runtime;
mod schema;
mod secrets;
mod view;

use super::{templates, Context, FileEntry, FileSet, Output};
use crate::model::Network;

pub use runtime::HelmRuntime;

/// Home of every node inside its pod: the mount point of its data volume.
pub const POD_HOME: &str = "/var/lib/chainfleet";
/// Where a pod's own Secret is mounted (`CHAINFLEET_SECRETS_DIR`).
pub const SECRETS_DIR: &str = "/run/secrets/chainfleet";
/// The chart's version; the image tag (appVersion) carries what changes.
pub const CHART_VERSION: &str = "0.1.0";

/// Name of the Kubernetes Secret holding `node`'s keys.
pub fn secret_name(net: &Network, node: &str) -> String {
    format!("{}-{}-keys", net.name, node)
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// A YAML double-quoted scalar for a value at `indent` columns; long lists are broken after
/// each top-level comma (escaped line break: nothing inserted) and at each top-level space
/// (folded line break: one space), outside Helm actions, so lines stay short for review.
/// YAML drops white space around a line break inside a quoted scalar, so no break is made
/// next to another space (`a  b` keeps both spaces).
fn q_wrapped(s: &str, indent: usize) -> String {
    let quoted = q(s);
    if quoted.len() <= 100 {
        return quoted;
    }
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut depth = 0usize;
    let chars: Vec<char> = quoted.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '{' && next == Some('{') {
            depth += 1;
            out.push_str("{{");
            i += 2;
            continue;
        }
        if c == '}' && next == Some('}') {
            depth = depth.saturating_sub(1);
            out.push_str("}}");
            i += 2;
            continue;
        }
        let last = i + 2 >= chars.len();
        let spaced = next == Some(' ') || (i > 0 && chars[i - 1] == ' ');
        match c {
            ',' if depth == 0 && !last && next != Some(' ') => out.push_str(&format!(",\\\n{pad}")),
            ' ' if depth == 0 && !last && !spaced => out.push_str(&format!("\n{pad}")),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// A Go-template raw string literal (backticks survive JSON/YAML quoting untouched).
fn raw(s: &str) -> String {
    format!("`{s}`")
}

/// Render the chart and the Secret manifests.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<Output> {
    let net = cx.net;
    let Some(k8s) = &net.targets.kubernetes else {
        return Ok(Output::default());
    };
    let runtime = HelmRuntime::new(net);
    let view = view::chart_view(cx, k8s, &runtime)?;
    let dir = format!("helm/{}", net.name);
    let mut public = FileSet::new();
    let mut put = |path: String, text: String| {
        public.insert(format!("{dir}/{path}"), FileEntry::text(text));
    };
    for (file, tmpl) in [
        ("Chart.yaml", "helm/Chart.yaml.j2"),
        ("README.md", "helm/README.md.j2"),
        ("values.yaml", "helm/values.yaml.j2"),
        (".helmignore", "helm/helmignore.j2"),
        ("templates/_helpers.tpl", "helm/_helpers.tpl.j2"),
        ("templates/NOTES.txt", "helm/NOTES.txt.j2"),
        ("templates/groups.yaml", "helm/groups.yaml.j2"),
        ("templates/monitoring.yaml", "helm/monitoring.yaml.j2"),
    ] {
        put(file.into(), templates::render(tmpl, &view)?);
    }
    // The view converted once: per-node contexts share it instead of re-serialising every
    // node's view for every node (quadratic: 57 s for 800 validators before).
    let shared = minijinja::Value::from(minijinja::value::Serde(&view));
    for node in &view.nodes {
        let ctx = minijinja::context! { v => shared.clone(), n => minijinja::Value::from(minijinja::value::Serde(node)) };
        let text = templates::render("helm/node.yaml.j2", ctx)?;
        put(format!("templates/node-{}.yaml", node.name), text);
    }
    if view.multi_region {
        for r in &view.regions {
            let ctx = minijinja::context! { v => shared.clone(), r => minijinja::Value::from(minijinja::value::Serde(r)) };
            let text = templates::render("helm/values-region.yaml.j2", ctx)?;
            put(format!("values-{}.yaml", r.name), text);
        }
    }
    let mut schema = serde_json::to_string_pretty(&schema::values_schema(&view))?;
    schema.push('\n');
    put("values.schema.json".into(), schema);

    let secrets = secrets::secret_manifests(cx, k8s)?;
    Ok(Output { public, secrets })
}

#[cfg(test)]
mod tests {
    use super::runtime::{helm_literal, helm_text, p2p_node_port};
    use super::view::{cpu, memory};
    use super::*;
    use crate::chain::{process, Text};

    /// YAML drops the white space around a folded line break: a long value with doubled
    /// spaces must not be broken next to them (issue 11's hostile strings lost spaces here).
    #[test]
    fn wrapping_keeps_doubled_spaces_and_spaces_after_commas() {
        let long = format!(" {}", "ab  c, d ".repeat(30));
        let wrapped = q_wrapped(&long, 4);
        assert!(wrapped.contains('\n'), "long enough to wrap: {wrapped}");
        for line in wrapped.lines().skip(1) {
            let rest = line.strip_prefix("    ").unwrap();
            assert!(
                !rest.starts_with(' '),
                "a line starts with a kept space: {line:?}"
            );
        }
        for line in wrapped.lines() {
            assert!(!line.ends_with(' '), "a line ends with a space: {line:?}");
        }
    }
    use crate::model::Node;
    use std::collections::BTreeSet;

    #[test]
    fn short_strings_stay_on_one_line() {
        assert_eq!(
            q_wrapped("tcp://0.0.0.0:26656", 14),
            "\"tcp://0.0.0.0:26656\""
        );
    }

    #[test]
    fn long_lists_break_outside_helm_actions_only() {
        let peer = |n: u32| format!("id{n}@{{{{ include `h` (list $ `n{n}`) }}}}:26656");
        let list = (0..4).map(peer).collect::<Vec<_>>().join(",");
        let out = q_wrapped(&list, 4);
        // Escaped line breaks after commas (YAML drops them and the indentation)...
        assert_eq!(out.matches(",\\\n    ").count(), 3, "{out}");
        // ...and nothing inside `{{ }}` moved.
        assert!(out.contains("{{ include `h` (list $ `n2`) }}"), "{out}");
        let hosts = (0..6)
            .map(|n| format!("host-{n}.svc.cluster.local"))
            .collect::<Vec<_>>()
            .join(" ");
        let out = q_wrapped(&hosts, 2);
        assert_eq!(out.matches("\n  host-").count(), 5, "{out}");
        assert!(!out.contains(" \n"), "no trailing spaces: {out}");
    }

    #[test]
    fn quantities_use_kubernetes_units() {
        assert_eq!(cpu(500), "500m");
        assert_eq!(cpu(2000), "2");
        assert_eq!(memory(1024), "1Gi");
        assert_eq!(memory(1536), "1536Mi");
    }

    #[test]
    fn spec_text_reaches_the_pod_literally() {
        assert_eq!(helm_literal("plain"), "plain");
        let t = helm_literal("{{ .Release.Name }}");
        assert_eq!(t, "{{`{`}}{{`{`}} .Release.Name }}");
        let t = Text::lit("a{").then(Text::expr("{{ include `x` . }}"));
        assert_eq!(helm_text(&t), "a{{`{`}}{{ include `x` . }}");
        let w = Text::when("c", Text::lit("b"));
        assert_eq!(helm_text(&w), "{{ if c }}b{{ end }}");
    }

    use crate::test_network as net;

    #[test]
    fn pods_get_a_writable_home_the_group_can_override() {
        // simd creates `$HOME/.simapp` before it reads --home; a pod's user has HOME=/ on a
        // read-only root (found on a real cluster).
        let yaml = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\ngroups:\n  - { name: validator, role: validator, count: 2 }\n  - { name: full, role: full, env: { HOME: /data } }\ntargets:\n  kubernetes: { namespace: t }\n";
        let n = net(yaml);
        let a = crate::chain::Artifacts::default();
        let rt = HelmRuntime::new(&n);
        let home = |node: &Node| process(&n, &a, node, &rt).env.get("HOME").cloned();
        assert_eq!(home(&n.nodes[0]), Some(Text::lit("/tmp")));
        assert_eq!(home(&n.nodes[2]), Some(Text::lit("/data")));
        // Targets whose containers keep the image's user and root have no such variable.
        let other = crate::chain::runtime::TestRuntime::containers();
        assert_eq!(process(&n, &a, &n.nodes[0], &other).env.get("HOME"), None);
    }

    #[test]
    fn peers_in_other_clusters_are_dialled_at_the_published_port() {
        let yaml = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\nregions: [east, west]\ngroups:\n  - { name: validator, role: validator, count: 4, regions: [east, west] }\ntargets:\n  kubernetes: { namespace: t, service_type: NodePort }\n";
        let n = net(yaml);
        let a = crate::chain::Artifacts::default();
        let rt = HelmRuntime::new(&n);
        let p = process(&n, &a, &n.nodes[0], &rt);
        let dialled: Vec<String> = p
            .peers
            .persistent
            .iter()
            .map(|d| helm_text(&d.address))
            .collect();
        // validator-1 runs in the other region: its port is the chart's choice at install time.
        assert!(
            dialled.iter().any(|a| a
                .ends_with(":{{ include `chainfleet.peerPort` (list $ `validator-1` 26656) }}")),
            "{dialled:?}"
        );
        let ext = helm_text(p.external_address.as_ref().unwrap());
        assert!(
            ext.ends_with(
                ":{{ include `chainfleet.externalPort` (list $ `validator-0` `east` 26656) }}"
            ),
            "{ext}"
        );
        // NodePorts are in range and distinct.
        let ports: BTreeSet<u16> = n.nodes.iter().map(|x| p2p_node_port(&n, x)).collect();
        assert_eq!(ports.len(), 4);
        assert!(
            ports.iter().all(|p| (30000..=32767).contains(p)),
            "{ports:?}"
        );
    }
}
