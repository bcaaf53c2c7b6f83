//! The `hosts` target (bare metal, VMs): an Ansible project under `ansible/` that installs
//! every node as a systemd service on the machine the model placed it on. chainfleet
//! renders each node's unit and each machine's firewall itself (from its `NodeProcess`),
//! so the playbook only copies reviewed files: inventory, per-machine `host_vars`, one role
//! per concern (user and folders, binaries with checksums, public files, secrets, systemd
//! units, firewall, node exporter) and a Prometheus scrape configuration for the machines.

mod firewall;
mod systemd;

use serde::Serialize;

use super::{monitoring, templates, Context, FileEntry, FileSet};
use crate::chain::{process, PeerHost, TargetRuntime, Text};
use crate::model::check::NODE_EXPORTER_PORT;
use crate::model::{Hosts, Network, Node, Port};

/// Where a network lives on each machine.
struct Layout {
    install_dir: String,
    data_dir: String,
    config_dir: String,
    unit_prefix: String,
}

impl Layout {
    fn of(net: &Network) -> Layout {
        Layout {
            install_dir: format!("/opt/chainfleet/{}", net.name),
            data_dir: format!("/var/lib/chainfleet/{}", net.name),
            config_dir: format!("/etc/chainfleet/{}", net.name),
            unit_prefix: format!("chainfleet-{}-", net.name),
        }
    }

    fn home(&self, node: &str) -> String {
        format!("{}/{node}", self.data_dir)
    }

    fn unit(&self, node: &str) -> String {
        format!("{}{node}.service", self.unit_prefix)
    }

    fn firewall_unit(&self) -> String {
        format!("{}firewall.service", self.unit_prefix)
    }
}

/// How one node runs on its machine: its own home under `/var/lib/chainfleet/<net>/`,
/// the installed binary, its machine's ports (shifted by its slot there), peers at their
/// machines' addresses.
struct HostsRuntime<'a> {
    hosts: &'a Hosts,
    layout: &'a Layout,
    node: &'a str,
    /// Some machine runs more than one node, so peers may share an address.
    crowded: bool,
}

impl TargetRuntime for HostsRuntime<'_> {
    fn home(&self, _net: &Network) -> Text {
        Text::lit(self.layout.home(self.node))
    }
    fn binary(&self, net: &Network) -> Text {
        Text::lit(format!(
            "{}/bin/{}",
            self.layout.install_dir, net.chain.binary
        ))
    }
    fn port(&self, node: &Node, port: &Port) -> u16 {
        // The model check refuses placements whose ports pass 65535.
        u16::try_from(self.hosts.port(&node.name, port)).unwrap_or(u16::MAX)
    }
    fn peer_host(&self, _net: &Network, _from: &Node, peer: &Node) -> PeerHost {
        match self.hosts.placement(&peer.name) {
            Some((m, _)) => PeerHost::At(Text::lit(m.address.clone())),
            None => PeerHost::Unreachable,
        }
    }
    fn external_address(&self, _net: &Network, node: &Node) -> Option<Text> {
        let (m, _) = self.hosts.placement(&node.name)?;
        let port = self.port(node, node.port("p2p")?);
        Some(Text::lit(format!("{}:{port}", m.address)))
    }
    fn shares_one_address(&self) -> bool {
        self.crowded
    }
    fn source_cidr(&self, _net: &Network, node: &Node) -> Option<Text> {
        // A node's connections come from its machine's address; a DNS name has no CIDR.
        let (m, _) = self.hosts.placement(&node.name)?;
        let ip: std::net::Ipv4Addr = m.address.parse().ok()?;
        Some(Text::lit(format!("{ip}/32")))
    }
    fn in_image(&self) -> bool {
        false
    }
}

#[derive(Serialize)]
struct NodeVars {
    name: String,
    unit: String,
    home: String,
    ports: String,
}

#[derive(Serialize)]
struct PublicFile {
    node: String,
    src: String,
    dest: String,
    mode: &'static str,
    once: bool,
}

#[derive(Serialize)]
struct SecretFile {
    node: String,
    src: String,
    dest: String,
}

#[derive(Serialize, Default)]
struct MachineVars {
    network: String,
    machine: String,
    nodes: Vec<NodeVars>,
    dirs: Vec<String>,
    public_files: Vec<PublicFile>,
    secret_files: Vec<SecretFile>,
}

/// The folder of `path` (`a/b/c` → `a/b`), `None` at the top.
fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(dir, _)| dir)
}

/// A literal `Text` as a string; the hosts runtime makes every value literal.
fn literal(t: &Text, what: &str, node: &str) -> anyhow::Result<String> {
    t.literal()
        .ok_or_else(|| anyhow::anyhow!("{node}: {what} is not known before deployment"))
}

/// Render `ansible/`.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let Some(hosts) = &net.targets.hosts else {
        return Ok(FileSet::new());
    };
    let layout = Layout::of(net);
    let crowded = hosts.machines.iter().any(|m| m.nodes.len() > 1);
    let genesis = cx.artifacts.public.contains_key("genesis.json");
    let mut out = FileSet::new();
    for m in &hosts.machines {
        let mut vars = MachineVars {
            network: net.name.clone(),
            machine: m.name.clone(),
            ..Default::default()
        };
        let mut dirs = std::collections::BTreeSet::new();
        for name in &m.nodes {
            let Some(node) = net.node(name) else { continue };
            let rt = HostsRuntime {
                hosts,
                layout: &layout,
                node: name,
                crowded,
            };
            let proc = process(net, cx.artifacts, node, &rt);
            let home = layout.home(name);
            let unit = layout.unit(name);
            dirs.insert(home.clone());
            for sub in ["config", "data"] {
                dirs.insert(format!("{home}/{sub}"));
            }
            let mut install = |rel: &str| {
                let mut dir = parent(rel);
                while let Some(d) = dir {
                    dirs.insert(format!("{home}/{d}"));
                    dir = parent(d);
                }
            };
            for f in &proc.home_files {
                install(f);
                let executable = cx
                    .artifacts
                    .public
                    .get(&format!("nodes/{name}/{f}"))
                    .is_some_and(|e| e.executable);
                vars.public_files.push(PublicFile {
                    node: name.clone(),
                    src: format!("nodes/{name}/{f}"),
                    dest: format!("{home}/{f}"),
                    mode: if executable {
                        "0750"
                    } else if f.starts_with("data/") {
                        "0600"
                    } else {
                        "0640"
                    },
                    once: f.starts_with("data/"),
                });
            }
            if let (true, Some(g)) = (genesis, proc.genesis_path) {
                install(g);
                vars.public_files.push(PublicFile {
                    node: name.clone(),
                    src: "genesis.json".into(),
                    dest: format!("{home}/{g}"),
                    mode: "0640",
                    once: false,
                });
            }
            for s in &proc.secret_files {
                install(&s.home_path);
                vars.secret_files.push(SecretFile {
                    node: name.clone(),
                    src: s.source.clone(),
                    dest: format!("{home}/{}", s.home_path),
                });
            }
            let mut env: Vec<(String, String)> = Vec::new();
            for (k, v) in &proc.env {
                env.push((k.clone(), literal(v, k, name)?));
            }
            if !proc.env.contains_key("HOME") {
                // Tools write below $HOME before they read --home (simd: $HOME/.simapp).
                env.push(("HOME".into(), home.clone()));
            }
            env.push((
                "PATH".into(),
                format!("{}/bin:/usr/local/bin:/usr/bin:/bin", layout.install_dir),
            ));
            env.sort();
            let mut command = vec![literal(&proc.program, "the program", name)?];
            for a in &proc.args {
                command.push(literal(a, "an argument", name)?);
            }
            let group = net.group(&node.group).map(|g| g.resources);
            out.insert(
                format!("ansible/files/systemd/{unit}"),
                FileEntry::text(systemd::node_unit(&systemd::NodeUnit {
                    network: &net.name,
                    node: name,
                    group: &node.group,
                    user: &hosts.service_user,
                    home: &home,
                    command,
                    env,
                    resources: group.unwrap_or(crate::model::Resources {
                        cpu_millis: 1000,
                        memory_mib: 2048,
                        storage_gib: 50,
                    }),
                    unit: &unit,
                })),
            );
            vars.nodes.push(NodeVars {
                name: name.clone(),
                unit,
                home,
                ports: node
                    .ports
                    .iter()
                    .map(|p| format!("{}={}", p.name, hosts.port(name, p)))
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        vars.dirs = dirs.into_iter().collect();
        out.insert(
            format!("ansible/host_vars/{}.yml", m.name),
            FileEntry::text(templates::render("hosts/host_vars/machine.yml.j2", &vars)?),
        );
        out.insert(
            format!("ansible/files/nftables/{}.nft", m.name),
            FileEntry::text(firewall::rules(net, hosts, m)),
        );
    }
    let firewall_unit = layout.firewall_unit();
    out.insert(
        format!("ansible/files/systemd/{firewall_unit}"),
        FileEntry::text(systemd::firewall_unit(
            &net.name,
            &format!("{}/firewall.nft", layout.config_dir),
            &firewall::table(net),
        )),
    );
    let secrets_rel = format!("../{}", cx.secrets_rel);
    let (secrets_dir, secrets_rel) = if cx.secrets_rel.starts_with('/') {
        ("{{ chainfleet_secrets_rel }}", cx.secrets_rel.to_string())
    } else {
        (
            "{{ playbook_dir }}/{{ chainfleet_secrets_rel }}",
            secrets_rel,
        )
    };
    let common = serde_json::json!({
        "network": net.name,
        "machines": hosts.machines,
        "service_user": hosts.service_user,
        "install_dir": layout.install_dir,
        "data_dir": layout.data_dir,
        "config_dir": layout.config_dir,
        "unit_prefix": layout.unit_prefix,
        "firewall_unit": firewall_unit,
        "node_exporter": net.monitoring.prometheus,
        "secrets_dir": secrets_dir,
        "secrets_rel": secrets_rel,
        "binaries": hosts.binaries,
    });
    for (path, template) in [
        ("ansible/inventory.yml", "hosts/inventory.yml.j2"),
        ("ansible/site.yml", "hosts/site.yml.j2"),
        ("ansible/group_vars/all.yml", "hosts/group_vars/all.yml.j2"),
    ] {
        out.insert(
            path.into(),
            FileEntry::text(templates::render(template, &common)?),
        );
    }
    for (path, text) in templates::raw_files("hosts") {
        out.insert(format!("ansible/{path}"), FileEntry::text(text));
    }
    // Binaries copied from the control machine go here; never commit them.
    out.insert("ansible/.gitignore".into(), FileEntry::text("/bin/\n"));
    if net.monitoring.prometheus {
        out.insert(
            "ansible/prometheus/prometheus.yml".into(),
            FileEntry::text(prometheus(net, hosts)?),
        );
        out.insert(
            "ansible/prometheus/alerts.yml".into(),
            FileEntry::text(monitoring::alert_rules(net)?),
        );
    }
    Ok(out)
}

/// A Prometheus configuration scraping every node's metrics port and every machine's node
/// exporter at the machines' addresses, with the alert vocabulary's rules.
fn prometheus(net: &Network, hosts: &Hosts) -> anyhow::Result<String> {
    let address = |n: &Node, _port: u16| -> String {
        let (m, _) = hosts.placement(&n.name).expect("every node is placed");
        let p = n.port("metrics").map_or(0, |p| hosts.port(&n.name, p));
        format!("{}:{p}", m.address)
    };
    let machines: Vec<String> = hosts
        .machines
        .iter()
        .map(|m| format!("{}:{NODE_EXPORTER_PORT}", m.address))
        .collect();
    monitoring::prometheus_config_with_machines(net, &address, None, &machines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\ngroups:\n  - { name: validator, role: validator, count: 3 }\n  - { name: full, role: full, expose: { rpc: public } }\ntargets:\n  hosts:\n    machines:\n      - { name: a, address: 10.0.0.1, nodes: [validator-2] }\n      - { name: b, address: 10.0.0.2 }\n    binaries: [{ name: cometbft, sha256: abababababababababababababababababababababababababababababababab }]\n";

    #[test]
    fn nodes_fill_the_emptiest_machine_and_shift_ports_by_slot() {
        let net = crate::test_network(SPEC);
        let hosts = net.targets.hosts.as_ref().unwrap();
        let on = |m: usize| hosts.machines[m].nodes.clone();
        assert_eq!(on(0), ["validator-2", "validator-1"]);
        assert_eq!(on(1), ["validator-0", "full-0"]);
        let p2p = net.node("validator-1").unwrap().port("p2p").unwrap();
        assert_eq!(hosts.port("validator-1", p2p), 27656);
        assert_eq!(hosts.port("validator-0", p2p), 26656);
    }

    #[test]
    fn peers_dial_machine_addresses_and_the_firewall_opens_only_public_ports() {
        let net = crate::test_network(SPEC);
        let a = crate::chain::build(&net, &crate::keys::Seed::from_bytes([5; 32])).unwrap();
        let cx = Context {
            net: &net,
            artifacts: &a,
            targets: &[],
            secrets_rel: "../s",
        };
        let files = emit(&cx).unwrap();
        let text = |p: &str| String::from_utf8(files[p].bytes.clone()).unwrap();
        let unit = text("ansible/files/systemd/chainfleet-t-validator-1.service");
        assert!(unit.contains("@10.0.0.2:26656"), "{unit}");
        assert!(unit.contains("--p2p.laddr tcp://0.0.0.0:27656"), "{unit}");
        assert!(
            unit.contains("Environment=CMT_P2P_EXTERNAL_ADDRESS=10.0.0.1:27656"),
            "{unit}"
        );
        let nft = text("ansible/files/nftables/b.nft");
        assert!(nft.contains("tcp dport { 27657 } accept"), "{nft}");
        assert!(nft.contains("elements = { 10.0.0.1, 10.0.0.2 }"), "{nft}");
        assert!(files.contains_key("ansible/roles/services/tasks/main.yml"));
        assert_eq!(text("ansible/.gitignore"), "/bin/\n");
    }
}
