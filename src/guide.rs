//! What `generate` tells the user afterwards: per target, what was written where, the next
//! commands (paths as the user reaches them from the current directory) and the endpoints
//! to call (`emit::endpoints`, the same data the generated README shows). Pure: built from
//! the generated output, rendered by the binary as text or JSON.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::emit::endpoints::{self, TargetEndpoints};
use crate::emit::quote::sh_quote;
use crate::emit::{Output, Target};
use crate::model::Network;

/// Node rows shown per target in the text summary; the README and JSON have them all.
pub const SHOWN_NODES: usize = 8;

/// Everything the user needs after `generate`.
#[derive(Debug, Clone, Serialize)]
pub struct Guide {
    /// Network name.
    pub network: String,
    /// The public tree, as reached from the current directory.
    pub out_dir: String,
    /// The secrets tree, as reached from the current directory.
    pub secrets_dir: String,
    /// The generated README (topology, nodes, endpoints).
    pub readme: String,
    /// One entry per generated target, in output order.
    pub targets: Vec<TargetGuide>,
}

/// One target's files, next commands and endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct TargetGuide {
    /// The target.
    pub target: Target,
    /// Its folder in the public tree.
    pub path: String,
    /// Number of files in that folder.
    pub files: usize,
    /// Its files in the secrets tree (Kubernetes Secret manifests), if any.
    pub secrets_path: Option<String>,
    /// Commands to run next, in order, paths relative to the current directory.
    pub next: Vec<String>,
    /// What to call, and where.
    pub endpoints: TargetEndpoints,
}

/// `p` without `.` components, so `./generated/x` shows as `generated/x`.
pub fn show(p: &Path) -> String {
    let clean: PathBuf = p
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if clean.as_os_str().is_empty() {
        ".".into()
    } else {
        clean.display().to_string()
    }
}

/// The public-tree folder of `target` (its files all sit below it).
fn folder(target: Target, net: &Network) -> String {
    match target {
        Target::Aws => "cloudformation/".into(),
        Target::Kubernetes => format!("helm/{}/", net.name),
        Target::Compose => "compose/".into(),
        Target::Local => "local/".into(),
        Target::Hosts => "ansible/".into(),
    }
}

/// Build the guide. `image` is the generated image reference (`chainfleet/<net>:<tag>`).
pub fn guide(
    net: &Network,
    targets: &[Target],
    out_dir: &Path,
    secrets_dir: &Path,
    image: &str,
    output: &Output,
) -> Guide {
    let out = show(out_dir);
    let secrets = show(secrets_dir);
    let at = |rel: &str| sh_quote(&show(&out_dir.join(rel)));
    let build = format!(
        "docker build -f {} -t <registry>/{image} {}",
        at("docker/Dockerfile"),
        sh_quote(&out)
    );
    let targets = targets
        .iter()
        .map(|&t| {
            let dir = folder(t, net);
            let files = output.public.keys().filter(|k| k.starts_with(&dir)).count();
            let (secrets_path, next) = match t {
                Target::Compose => {
                    let f = at("compose/docker-compose.yaml");
                    (
                        None,
                        vec![
                            format!("docker compose -f {f} up -d --build"),
                            format!("docker compose -f {f} ps"),
                        ],
                    )
                }
                Target::Hosts => (
                    None,
                    vec![
                        format!(
                            "cp \"$(command -v {})\" {}/",
                            sh_quote(&net.chain.binary),
                            at("ansible/bin")
                        ),
                        format!(
                            "cd {} && ansible-playbook site.yml",
                            at("ansible")
                        ),
                    ],
                ),
                Target::Local => (
                    None,
                    vec![
                        format!(
                            "CHAINFLEET_BINARY=$(command -v {}) {}",
                            sh_quote(&net.chain.binary),
                            at("local/run.sh")
                        ),
                        at("local/stop.sh"),
                    ],
                ),
                Target::Kubernetes => {
                    let ns = net
                        .targets
                        .kubernetes
                        .as_ref()
                        .map_or("default", |k| k.namespace.as_str());
                    let k8s_secrets = show(&secrets_dir.join("kubernetes"));
                    let repo = image.split(':').next().unwrap_or(image);
                    let values = if net.regions.len() > 1 {
                        format!(" -f {}", at(&format!("helm/{}/values-<region>.yaml", net.name)))
                    } else {
                        String::new()
                    };
                    (
                        Some(format!("{k8s_secrets}/")),
                        vec![
                            build.clone(),
                            format!("docker push <registry>/{image}"),
                            format!("kubectl create namespace {ns}"),
                            format!("kubectl apply -n {ns} -f {}/", sh_quote(&k8s_secrets)),
                            format!(
                                "helm install {} {} -n {ns} --set image.repository=<registry>/{repo}{values}",
                                net.name,
                                at(&format!("helm/{}", net.name))
                            ),
                        ],
                    )
                }
                Target::Aws => (
                    None,
                    vec![
                        build.clone(),
                        format!("docker push <registry>/{image}"),
                        format!("export CHAINFLEET_IMAGE=<registry>/{image}"),
                        "export CHAINFLEET_ARTIFACT_BUCKET_PREFIX=<prefix>   # one S3 bucket <prefix>-<region> per region".into(),
                        at("cloudformation/deploy.sh"),
                    ],
                ),
            };
            TargetGuide {
                target: t,
                path: format!("{}/", show(&out_dir.join(&dir))),
                files,
                secrets_path,
                next,
                endpoints: endpoints::endpoints(net, t),
            }
        })
        .collect();
    Guide {
        network: net.name.clone(),
        readme: show(&out_dir.join("README.md")),
        out_dir: out,
        secrets_dir: secrets,
        targets,
    }
}

/// The text summary: per target its folder, next commands and endpoints (monitoring UIs and
/// the first `SHOWN_NODES` nodes; the README lists the rest).
pub fn render(g: &Guide) -> String {
    let mut s = String::new();
    for t in &g.targets {
        s.push_str(&format!(
            "\n{}: {} ({} file{})",
            t.target.name(),
            t.path,
            t.files,
            if t.files == 1 { "" } else { "s" }
        ));
        if let Some(p) = &t.secrets_path {
            s.push_str(&format!(", Secrets in {p}"));
        }
        s.push_str("\n  next:\n");
        for c in &t.next {
            s.push_str(&format!("    {c}\n"));
        }
        let e = &t.endpoints;
        let mut names: Vec<&str> = Vec::new();
        for x in &e.endpoints {
            if !names.contains(&x.node.as_str()) {
                names.push(&x.node);
            }
        }
        s.push_str(&format!("  endpoints, reached {}:\n", e.reach));
        if names.is_empty() {
            s.push_str("    none published\n");
        }
        let ui = names
            .iter()
            .filter(|n| e.of(n).all(|x| x.service == "ui"))
            .count();
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        // Cluster and VPC names are long and repeat per port: grouped by host there.
        let compact = matches!(t.target, Target::Kubernetes | Target::Aws);
        for n in names.iter().take(ui + SHOWN_NODES) {
            let line = if compact {
                endpoints::compact_line(e.of(n))
            } else {
                endpoints::node_line(e.of(n))
            };
            s.push_str(&format!("    {n:<width$}  {line}\n"));
        }
        if names.len() > ui + SHOWN_NODES {
            let more = names.len() - ui - SHOWN_NODES;
            s.push_str(&format!(
                "    … and {more} more node{}: see {}\n",
                if more == 1 { "" } else { "s" },
                g.readme
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_drops_dot_components() {
        assert_eq!(show(Path::new("./generated/x")), "generated/x");
        assert_eq!(show(Path::new(".")), ".");
        assert_eq!(show(Path::new("/a/./b")), "/a/b");
    }
}
