//! The one container image every containerised target runs (compose, Helm, CloudFormation):
//! `docker/Dockerfile`, `docker/entrypoint.sh` and `docker/healthcheck.sh`.
//!
//! Contract other targets rely on:
//! - Build context is the network folder: `docker build -f docker/Dockerfile .`; the tag is
//!   [`image_ref`] (content-addressed, so a changed genesis or config gives a new tag).
//! - The image is `FROM` the pinned chain image, bakes `genesis.json` and `nodes/` under
//!   [`ROOT`], and runs [`ENTRYPOINT`]; `CMD` is empty: targets pass the binary and its
//!   launch arguments (`chain::process`) as the container command.
//! - The entrypoint selects the node from `CHAINFLEET_NODE` (else the host/pod name), installs
//!   its secret files from `$CHAINFLEET_SECRETS_DIR/<key>` (default `/run/secrets`) or
//!   `CHAINFLEET_SECRET_<KEY>`, waits for `CHAINFLEET_WAIT_HOSTS` to resolve (timeout
//!   `CHAINFLEET_WAIT_SECONDS`), then `exec`s its arguments. `CHAINFLEET_EXTERNAL_ADDRESS`
//!   (CometBFT families) becomes `<PREFIX>_P2P_EXTERNAL_ADDRESS` for targets that learn
//!   the address only at run time. Before `exec` it exports `ChainFamily::home_env` (`CMTHOME`,
//!   `<APP>_HOME`) as the node home, which the binaries read before `--home`.
//!   `CHAINFLEET_ROOT` and `CHAINFLEET_HOME` move the baked files and the node home, so the
//!   script also runs outside a container (tested so).
//! - [`HEALTHCHECK`] `PORT [PATH]` is the health probe (see [`probe`]).
//!
//! User: a numeric non-root UID (build ARG `CHAINFLEET_UID`, default 10001) owns the node
//! home; numeric because a name must exist in the base image. A home under `/root` forces
//! root (only root may enter `/root`), stated in the Dockerfile with a justified skip.
//! The base image needs `/bin/sh`, `mkdir`, `chmod` and `chown` (every Alpine/Debian-based
//! chain image has them); the health probe falls back from curl/wget to reading
//! `/proc/net/tcp` with the shell alone, so it needs nothing more.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{templates, Context, FileEntry, FileSet};
use crate::chain::{family, process, PeerHost, Probe, TargetRuntime, Text};
use crate::model::{Network, Node, Protocol};

/// Where the image keeps the public artifacts.
pub const ROOT: &str = "/chainfleet";
/// The entrypoint inside the image.
pub const ENTRYPOINT: &str = "/usr/local/bin/chainfleet-entrypoint";
/// The health probe inside the image: `chainfleet-healthcheck PORT [HTTP_PATH]`.
pub const HEALTHCHECK: &str = "/usr/local/bin/chainfleet-healthcheck";

/// The image's own view of a node, for defaults baked into the image (its health probe):
/// container ports, no peers.
struct InImage;

impl TargetRuntime for InImage {
    fn home(&self, net: &Network) -> Text {
        Text::lit(net.chain.home.clone())
    }
    fn peer_host(&self, _net: &Network, _from: &Node, _peer: &Node) -> PeerHost {
        PeerHost::Unreachable
    }
    fn external_address(&self, _net: &Network, _node: &Node) -> Option<Text> {
        None
    }
}

/// The health probe of `node` in container port numbers.
pub fn probe(cx: &Context<'_>, node: &Node) -> Option<Probe> {
    process(cx.net, cx.artifacts, node, &InImage).probe
}

/// Public files the image bakes in: `genesis.json` and everything under `nodes/`.
fn baked<'a>(cx: &Context<'a>) -> impl Iterator<Item = (&'a String, &'a FileEntry)> {
    cx.artifacts
        .public
        .iter()
        .filter(|(p, _)| *p == "genesis.json" || p.starts_with("nodes/"))
}

/// The image tag: the first 12 hex digits of a SHA-256 over the Dockerfile (without its
/// tag), the scripts and every file the image bakes in, so a changed genesis, config or
/// entrypoint never reuses a stale image.
pub fn image_tag(cx: &Context<'_>) -> anyhow::Result<String> {
    let mut h = Sha256::new();
    h.update(dockerfile(cx, String::new())?.as_bytes());
    for (path, entry) in render(cx)? {
        h.update(path.as_bytes());
        h.update([0]);
        h.update(&entry.bytes);
    }
    for (path, entry) in baked(cx) {
        h.update(path.as_bytes());
        h.update([0]);
        h.update((entry.bytes.len() as u64).to_le_bytes());
        h.update(&entry.bytes);
    }
    Ok(hex::encode(&h.finalize()[..6]))
}

/// The image reference every target runs: `chainfleet/<network>:<image_tag>`.
pub fn image_ref(cx: &Context<'_>) -> anyhow::Result<String> {
    Ok(format!("chainfleet/{}:{}", cx.net.name, image_tag(cx)?))
}

#[derive(Serialize)]
struct EntryNode {
    name: String,
    files: String,
    secrets: String,
}

#[derive(Serialize)]
struct EntryView<'a> {
    network: &'a str,
    home: &'a str,
    genesis_path: Option<&'static str>,
    nodes: Vec<EntryNode>,
    names: String,
    external_address_var: Option<String>,
    home_vars: Vec<String>,
}

#[derive(Serialize)]
struct DockerView<'a> {
    network: &'a str,
    base_image: &'a str,
    image_ref: String,
    root: &'static str,
    home: &'a str,
    make_dirs: String,
    root_user: bool,
    has_genesis: bool,
    has_nodes: bool,
    entrypoint: &'static str,
    healthcheck: &'static str,
    health_port: Option<u16>,
    health_path: Option<&'static str>,
    expose: String,
}

/// The entrypoint and health check (everything but the Dockerfile, which names the tag).
fn render(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let fam = family(net.chain.family);
    let nodes = net
        .nodes
        .iter()
        .map(|n| {
            let a = cx.artifacts.nodes.get(&n.name);
            let files = a.map(|a| a.home_files.join(" ")).unwrap_or_default();
            let secrets = a
                .map(|a| {
                    a.secret_files
                        .iter()
                        .map(|s| format!("{}:{}", s.key, s.home_path))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            for word in files.split(' ').chain(secrets.split(' ')) {
                // Lists are split on spaces and single-quoted in the script.
                anyhow::ensure!(
                    !word.contains(['\'', '\\', '\n', '\t']),
                    "internal error: unsafe file name `{word}` for the entrypoint"
                );
            }
            Ok(EntryNode {
                name: n.name.clone(),
                files,
                secrets,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let view = EntryView {
        network: &net.name,
        home: &net.chain.home,
        genesis_path: cx
            .artifacts
            .public
            .contains_key("genesis.json")
            .then(|| fam.genesis_home_path()),
        names: net
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        nodes,
        home_vars: fam.home_env(net),
        external_address_var: fam.external_address_env(net),
    };
    let mut out = FileSet::new();
    out.insert(
        "docker/entrypoint.sh".into(),
        FileEntry::script(templates::render("docker/entrypoint.sh.j2", &view)?),
    );
    out.insert(
        "docker/healthcheck.sh".into(),
        FileEntry::script(templates::raw("docker/healthcheck.sh")?),
    );
    Ok(out)
}

/// `EXPOSE` list: every container port of every node, `/udp` too where the port is UDP.
fn expose(net: &Network) -> String {
    let mut ports = std::collections::BTreeSet::new();
    for n in &net.nodes {
        for p in &n.ports {
            ports.insert((p.container, "tcp"));
            if p.protocol == Protocol::TcpUdp {
                ports.insert((p.container, "udp"));
            }
        }
    }
    ports
        .into_iter()
        .map(|(p, proto)| format!("{p}/{proto}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Dockerfile, naming `image_ref` in its build instructions.
fn dockerfile(cx: &Context<'_>, image_ref: String) -> anyhow::Result<String> {
    let net = cx.net;
    let home = net.chain.home.trim_end_matches('/');
    // The first node with a probe gives the image's default health port; targets pass each
    // node's own port explicitly (ports can differ per group).
    let default_health = net.nodes.iter().find_map(|n| probe(cx, n));
    let fam = family(net.chain.family);
    let data = fam.data_dir(net);
    let mut dirs = vec![home.to_string()];
    if data != home {
        dirs.push(data);
    }
    dirs.extend(fam.home_dirs().iter().map(|d| format!("{home}/{d}")));
    let view = DockerView {
        network: &net.name,
        base_image: &net.chain.image,
        image_ref,
        root: ROOT,
        home,
        make_dirs: dirs.join(" "),
        root_user: home == "/root" || home.starts_with("/root/"),
        has_genesis: cx.artifacts.public.contains_key("genesis.json"),
        has_nodes: baked(cx).any(|(p, _)| p.starts_with("nodes/")),
        entrypoint: ENTRYPOINT,
        healthcheck: HEALTHCHECK,
        health_port: default_health.as_ref().map(|h| h.port),
        health_path: default_health.and_then(|h| h.http_path),
        expose: expose(net),
    };
    templates::render("docker/Dockerfile.j2", &view)
}

/// Emit `docker/Dockerfile`, its `.dockerignore`, `docker/entrypoint.sh` and
/// `docker/healthcheck.sh`.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let mut out = render(cx)?;
    // BuildKit reads `<Dockerfile>.dockerignore`: send the daemon only what the image
    // bakes, so nothing else in the folder (a secrets tree placed inside it) leaves it.
    out.insert(
        "docker/Dockerfile.dockerignore".into(),
        FileEntry::text(
            "# Build context allowlist (generated by chainfleet): only what the image bakes.\n\
             *\n!genesis.json\n!nodes\n!docker/entrypoint.sh\n!docker/healthcheck.sh\n",
        ),
    );
    out.insert(
        "docker/Dockerfile".into(),
        FileEntry::text(dockerfile(cx, image_ref(cx)?)?),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Artifacts;

    use crate::test_network as net;

    const KV: &str = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\ngroups:\n  - { name: validator, role: validator, count: 2 }\ntargets:\n  compose: {}\n";

    #[test]
    fn cometbft_nodes_probe_rpc_health_and_keep_data_under_home() {
        let n = net(KV);
        let a = Artifacts::default();
        let cx = Context {
            net: &n,
            artifacts: &a,
            targets: &[],
            secrets_rel: "../s",
        };
        let p = probe(&cx, &n.nodes[0]).unwrap();
        assert_eq!((p.port, p.http_path), (26657, Some("/health")));
        let fam = family(n.chain.family);
        assert_eq!(fam.data_dir(&n), "/var/lib/chainfleet/data");
        assert_eq!(fam.genesis_home_path(), "config/genesis.json");
    }

    #[test]
    fn image_tag_follows_baked_content_only() {
        let n = net(KV);
        let mut a = Artifacts::default();
        a.public
            .insert("genesis.json".into(), FileEntry::text("{}"));
        let cx = |a: &Artifacts| -> String {
            let cx = Context {
                net: &n,
                artifacts: a,
                targets: &[],
                secrets_rel: "../s",
            };
            image_tag(&cx).unwrap()
        };
        let first = cx(&a);
        assert_eq!(first.len(), 12);
        assert_eq!(first, cx(&a), "deterministic");
        let mut b = a.clone();
        b.public.insert("README.md".into(), FileEntry::text("x"));
        b.secrets.insert("k".into(), FileEntry::text("secret"));
        assert_eq!(first, cx(&b), "files the image does not bake do not matter");
        b.public
            .insert("genesis.json".into(), FileEntry::text("{\"a\":1}"));
        assert_ne!(first, cx(&b), "a new genesis is a new image");
    }
}
