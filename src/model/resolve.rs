//! Spec → Network: fill defaults, expand groups into named nodes, place them in regions,
//! allocate ports and addresses, and wire peers (a second pass, so any graph works).
//!
//! Resolution is total: it accepts any spec that deserializes, also one `spec::check`
//! rejected, so `model::check` can run on the result in the same pass and every problem is
//! reported at once. What it cannot compute (a bad coin, CIDR or size) falls back to a
//! default, and arithmetic that a bad spec could overflow wraps or saturates; the checks
//! report those specs, so such a network is never emitted.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::ports::node_ports;
use super::*;
pub use crate::spec::parse::{parse_cidr, parse_coin, parse_dec18, parse_mebibytes, valid_denom};
use crate::spec::{self, Spec};

/// Default genesis time: in the past, so a fresh network starts at once. Pinned, so the
/// output never depends on the clock.
pub const DEFAULT_GENESIS_TIME: &str = "2024-01-01T00:00:00Z";

/// Peer lists beyond this many nodes switch from "everyone" to a ring of neighbours, so
/// config files stay small on large networks while the graph stays connected.
const FULL_MESH_LIMIT: usize = 16;
/// Neighbours on each side in the ring.
const RING_NEIGHBOURS: usize = 4;

/// A group's resources with defaults: 1 vCPU, 2 GiB, 50 GiB of storage.
pub fn resources_of(res: Option<&spec::ResourcesSpec>) -> Resources {
    let (cpu, memory, storage) = res.map_or((None, None, None), |r| {
        (r.cpu, r.memory.as_deref(), r.storage.as_deref())
    });
    Resources {
        cpu_millis: cpu.map_or(1000, |c| {
            (c * 1000.0).round().clamp(1.0, 1_000_000.0) as u32
        }),
        memory_mib: memory.and_then(parse_mebibytes).unwrap_or(2048),
        storage_gib: storage
            .and_then(parse_mebibytes)
            .map_or(50, |m| m.div_ceil(1024)),
    }
}

/// First compose address handed to a node; `.1` is the gateway, `.2`/`.3` monitoring.
pub const COMPOSE_FIRST_NODE_OFFSET: u32 = 10;

/// The host port a node's port `slot` gets from a target's `base_port` when the user did
/// not pin one: `base_port + index * LOCAL_PORT_STRIDE + slot`. Above 65535 when the
/// target runs out of ports (resolution clamps it; `model::check` reports it).
pub fn host_port(base_port: u16, index: usize, slot: usize) -> u32 {
    let offset = (index as u32)
        .saturating_mul(u32::from(LOCAL_PORT_STRIDE))
        .saturating_add(slot as u32);
    u32::from(base_port).saturating_add(offset)
}

/// Resolve a spec, checked or not (see the module comment). `app_state_template` is the parsed template file, if the spec
/// names one (reading files is the caller's job: this function does no I/O).
pub fn resolve(spec: &Spec, app_state_template: Option<serde_json::Value>) -> Network {
    let regions = if spec.regions.is_empty() {
        vec!["local".to_string()]
    } else {
        spec.regions.clone()
    };
    let chain = resolve_chain(spec, app_state_template);
    let (groups, mut nodes) = resolve_groups(spec, &chain, &regions);
    wire_peers(&groups, &mut nodes);
    let targets = resolve_targets(spec, &nodes);
    Network {
        name: spec.name.clone(),
        chain,
        regions,
        groups,
        nodes,
        monitoring: resolve_monitoring(spec),
        targets,
    }
}

/// The chain as the spec describes it, with defaults filled in.
fn resolve_chain(spec: &Spec, app_state_template: Option<serde_json::Value>) -> Chain {
    let family = spec.chain.family;
    let denom = spec.chain.denom.clone().unwrap_or_else(|| "stake".into());
    Chain {
        family,
        chain_id: spec.chain.chain_id.clone(),
        binary: spec.chain.binary.clone(),
        image: spec.chain.image.clone(),
        home: spec
            .chain
            .home
            .clone()
            .unwrap_or_else(|| "/var/lib/chainfleet".into()),
        sdk: match family {
            Family::Cosmos => Some(spec.chain.sdk.unwrap_or(SdkVersion::V050)),
            _ => None,
        },
        app_state_template,
        denom: denom.clone(),
        bech32_prefix: spec
            .chain
            .bech32_prefix
            .clone()
            .unwrap_or_else(|| "cosmos".into()),
        genesis_time: spec
            .chain
            .genesis_time
            .clone()
            .unwrap_or_else(|| DEFAULT_GENESIS_TIME.into()),
        genesis_patches: spec
            .chain
            .genesis_patches
            .iter()
            .map(|p| (p.path.clone(), p.value.clone()))
            .collect(),
        accounts: spec
            .chain
            .accounts
            .iter()
            .map(|a| Account {
                name: a.name.clone(),
                coins: a.coins.iter().filter_map(|c| parse_coin(c)).collect(),
                balance: a.balance.clone(),
                delegate: a.delegate.clone(),
            })
            .collect(),
        initial_height: spec.chain.initial_height.unwrap_or(1),
        validator_fee_balance: spec
            .chain
            .validator_fee_balance
            .map_or(DEFAULT_VALIDATOR_FEE_BALANCE, u128::from),
        display_denom: spec.chain.display_denom.as_ref().map(|d| DisplayDenom {
            name: d.name.clone(),
            exponent: d.exponent,
            symbol: d
                .symbol
                .clone()
                .unwrap_or_else(|| d.name.to_ascii_uppercase()),
        }),
        minimum_gas_prices: spec
            .chain
            .minimum_gas_prices
            .clone()
            .unwrap_or_else(|| format!("0{denom}")),
        assetchains: spec
            .chain
            .assetchains
            .iter()
            .map(|a| Assetchain {
                name: a.name.clone(),
                supply: a.supply,
                p2p_port: a.p2p_port,
                rpc_port: a.rpc_port,
                params: a.params.clone(),
            })
            .collect(),
        archive_image: spec.chain.archive_image.clone(),
    }
}

/// Groups and their nodes: names, regions, ports (container, local and compose host
/// numbers), stake and compose addresses, in spec order (peers are wired afterwards).
fn resolve_groups(spec: &Spec, chain: &Chain, regions: &[String]) -> (Vec<Group>, Vec<Node>) {
    let family = chain.family;
    let denom = chain.denom.clone();
    let compose_net = spec
        .targets
        .compose
        .as_ref()
        .and_then(|c| parse_cidr(&c.subnet))
        .map_or(Ipv4Addr::new(172, 28, 0, 0), |(n, _)| n);
    let local_base = spec.targets.local.as_ref().map_or(26600, |l| l.base_port);
    let compose_base = spec.targets.compose.as_ref().map_or(26600, |c| c.base_port);

    let mut groups = Vec::new();
    let mut nodes = Vec::new();
    for (group_index, g) in spec.groups.iter().enumerate() {
        let source = format!("/groups/{group_index}");
        let group_regions = if g.regions.is_empty() {
            vec![regions[0].clone()]
        } else {
            g.regions.clone()
        };
        let resources = resources_of(g.resources.as_ref());
        let cometbft_validators =
            g.role == Role::Validator && matches!(family, Family::Cosmos | Family::Cometbft);
        let stake = match cometbft_validators {
            true => Some(g.stake.as_deref().and_then(parse_coin).unwrap_or(Coin {
                amount: DEFAULT_STAKE,
                denom: denom.clone(),
            })),
            false => g.stake.as_deref().and_then(parse_coin),
        };
        let group_assetchains = group_assetchains(spec, g);
        let running: Vec<&Assetchain> = group_assetchains
            .iter()
            .filter_map(|n| chain.assetchains.iter().find(|a| &a.name == n))
            .collect();
        // A test service (own image) listens on nothing of the chain's.
        let defs = if g.image.is_some() {
            Vec::new()
        } else {
            node_ports(family, g.role, &running)
        };
        let mut names = Vec::new();
        for ordinal in 0..g.count {
            let index = nodes.len();
            let name = format!("{}-{ordinal}", g.name);
            let ports = defs
                .iter()
                .enumerate()
                .map(|(slot, def)| {
                    let exposure = g.expose.get(def.key).copied().unwrap_or(Exposure::Internal);
                    // A pinned host port names one port: an assetchain port is not pinned by
                    // its `p2p`/`rpc` key.
                    let pinned = g
                        .host_ports
                        .get(def.name.as_str())
                        .copied()
                        .filter(|_| !def.fixed);
                    let allocate = |base: u16| host_port(base, index, slot).min(65535) as u16;
                    let local = pinned.unwrap_or_else(|| allocate(local_base));
                    let compose_host = (exposure == Exposure::Public)
                        .then(|| pinned.unwrap_or_else(|| allocate(compose_base)));
                    Port {
                        name: def.name.clone(),
                        container: match def.fixed {
                            true => def.default,
                            false => g.ports.get(def.key).copied().unwrap_or(def.default),
                        },
                        protocol: def.protocol,
                        exposure,
                        reach: def.reach,
                        local,
                        compose_host,
                        pinned: pinned.is_some(),
                    }
                })
                .collect();
            let own = g.nodes.get(&name);
            let node_stake = own
                .and_then(|o| o.stake.as_deref())
                .and_then(parse_coin)
                .or_else(|| stake.clone());
            let power = cometbft_validators.then(|| {
                own.and_then(|o| o.power)
                    .or(g.power)
                    .unwrap_or_else(|| voting_power(node_stake.as_ref().map_or(0, |c| c.amount)))
            });
            let validator = (cometbft_validators && family == Family::Cosmos).then(|| {
                validator_settings(
                    &name,
                    g.validator.as_ref(),
                    own.and_then(|o| o.validator.as_ref()),
                )
            });
            nodes.push(Node {
                name: name.clone(),
                group: g.name.clone(),
                role: g.role,
                index,
                ordinal,
                region: group_regions[ordinal as usize % group_regions.len()].clone(),
                ports,
                peers: PeerPlan::default(),
                compose_ip: Ipv4Addr::from(
                    u32::from(compose_net)
                        .wrapping_add(COMPOSE_FIRST_NODE_OFFSET)
                        .wrapping_add(index as u32),
                ),
                stake: node_stake,
                power,
                validator,
                source: source.clone(),
            });
            names.push(name);
        }
        groups.push(Group {
            name: g.name.clone(),
            role: g.role,
            count: g.count,
            nodes: names,
            stake,
            regions: group_regions,
            resources,
            behind: g.behind.clone(),
            dedicated_sentries: g.dedicated_sentries,
            coordinator: g.coordinator.clone(),
            snark_fee: g.snark_fee.clone(),
            work_selection: g.work_selection,
            balance: g.balance.clone(),
            delegate: g.delegate.clone(),
            assetchains: group_assetchains,
            notary_name: g.notary.as_ref().map(|n| n.name.clone()),
            notary_passphrase_env: g.notary.as_ref().and_then(|n| n.passphrase_env.clone()),
            notary_pubkey: g.notary.as_ref().and_then(|n| n.pubkey.clone()),
            config: g.config.clone(),
            app_config: g.app_config.clone(),
            env: g.env.clone(),
            command: g.command.clone(),
            image: g.image.clone(),
            tests: g.tests.clone(),
            source,
        });
    }
    (groups, nodes)
}

/// Monitoring and alert thresholds, with defaults filled in.
fn resolve_monitoring(spec: &Spec) -> Monitoring {
    let m = spec.monitoring.clone().unwrap_or_default();
    let a = m.alerts.clone().unwrap_or_default();
    Monitoring {
        prometheus: m.prometheus || m.grafana,
        grafana: m.grafana,
        log_retention_days: m.log_retention_days.unwrap_or(14),
        memory_percent: a.memory_percent.unwrap_or(85),
        cpu_percent: a.cpu_percent.unwrap_or(90),
        no_block_minutes: a.no_block_minutes.unwrap_or(5),
        min_peers: a.min_peers.unwrap_or(1),
        email: a.email,
        webhooks: a.webhooks,
        smtp: a.smtp,
        slack: a.slack,
        telegram: a.telegram,
        pagerduty: a.pagerduty,
        node_down_seconds: a.node_down_seconds.unwrap_or(120),
        missed_blocks: a.missed_blocks.unwrap_or(10),
        scrape_interval_seconds: m.scrape_interval_seconds.unwrap_or(15),
        sns_topics: a.sns_topics,
        labels: a.labels,
    }
}

/// The deployment targets, with compose's service addresses allocated in its subnet.
fn resolve_targets(spec: &Spec, nodes: &[Node]) -> Targets {
    let compose = spec.targets.compose.as_ref().map(|c| {
        let (net, _) = parse_cidr(&c.subnet).unwrap_or((Ipv4Addr::new(172, 28, 0, 0), 24));
        let at = |k: u32| Ipv4Addr::from(u32::from(net).wrapping_add(k));
        Compose {
            subnet: c.subnet.clone(),
            gateway: at(1),
            prometheus_ip: at(2),
            grafana_ip: at(3),
            alertmanager_ip: at(4),
            host_ip: c.host_ip.as_deref().and_then(|h| h.parse().ok()),
            base_port: c.base_port,
        }
    });
    Targets {
        aws: spec.targets.aws.as_ref().map(|t| Aws {
            launch_type: t.launch_type,
            vpc_cidr: match &t.vpc {
                Some(v) if v.existing => None,
                Some(v) => Some(v.cidr.clone().unwrap_or_else(|| "10.42.0.0/16".into())),
                None => Some("10.42.0.0/16".into()),
            },
            dns_zone: t
                .dns_zone
                .as_ref()
                .map(|z| (z.name.clone(), z.hosted_zone_id.clone())),
            certificate_arn: t.certificate_arn.clone(),
            instance_type: t.instance_type.clone(),
            retain_on_delete: t.retain_on_delete,
        }),
        kubernetes: spec.targets.kubernetes.as_ref().map(|k| Kubernetes {
            namespace: k.namespace.clone(),
            storage_class: k.storage_class.clone(),
            service_type: k.service_type,
            cluster_domain: k.cluster_domain.clone(),
        }),
        compose,
        local: spec.targets.local.as_ref().map(|l| Local {
            base_port: l.base_port,
        }),
        hosts: spec.targets.hosts.as_ref().map(|h| resolve_hosts(h, nodes)),
    }
}

/// Place every node on a machine: pinned nodes where the spec pins them (the first pin of
/// a node wins; unknown names are left for `model::check` to report), then the rest in
/// node order, each on the machine with the fewest nodes (the first of equals).
fn resolve_hosts(h: &spec::HostsTarget, nodes: &[Node]) -> Hosts {
    let known: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut machines: Vec<Machine> = h
        .machines
        .iter()
        .enumerate()
        .map(|(i, m)| Machine {
            name: m.name.clone(),
            address: m.address.clone(),
            ssh_user: m.ssh_user.clone().unwrap_or_else(|| h.ssh_user.clone()),
            nodes: m
                .nodes
                .iter()
                .filter(|n| known.contains(n.as_str()) && placed.insert((*n).clone()))
                .cloned()
                .collect(),
            source: format!("/targets/hosts/machines/{i}"),
        })
        .collect();
    if !machines.is_empty() {
        for node in nodes.iter().filter(|n| !placed.contains(&n.name)) {
            let emptiest = (0..machines.len())
                .min_by_key(|&i| (machines[i].nodes.len(), i))
                .expect("machines is not empty");
            machines[emptiest].nodes.push(node.name.clone());
        }
    }
    Hosts {
        machines,
        binaries: h
            .binaries
            .iter()
            .map(|b| Binary {
                name: b.name.clone(),
                sha256: b.sha256.to_ascii_lowercase(),
                url: b.url.clone(),
            })
            .collect(),
        service_user: h.service_user.clone(),
        allow_from: h.allow_from.clone(),
    }
}

/// The assetchains group `g` runs: its list, else (Komodo) every assetchain.
fn group_assetchains(spec: &Spec, g: &spec::GroupSpec) -> Vec<String> {
    match &g.assetchains {
        Some(list) => list.clone(),
        None if spec.chain.family == Family::Komodo => spec
            .chain
            .assetchains
            .iter()
            .map(|a| a.name.clone())
            .collect(),
        None => Vec::new(),
    }
}

/// A validator's default stake: `100000000<denom>`, voting power 100.
pub const DEFAULT_STAKE: u128 = 100_000_000;

/// The staking-denom balance a Cosmos validator account holds beyond its stake by default,
/// for the fees of its own transactions.
pub const DEFAULT_VALIDATOR_FEE_BALANCE: u128 = 1_000_000_000;

/// The commission a gentx sets when the spec gives none: 10%, at most 20%, changing at
/// most 1% a day (as `simd gentx` defaults), in 10^18 units.
pub const DEFAULT_COMMISSION: [u128; 3] = [
    100_000_000_000_000_000,
    200_000_000_000_000_000,
    10_000_000_000_000_000,
];

/// A Cosmos validator's gentx settings: the node's own (`nodes.<name>.validator`) over the
/// group's (`validator`) over the defaults, field by field.
fn validator_settings(
    name: &str,
    group: Option<&spec::ValidatorSpec>,
    own: Option<&spec::ValidatorSpec>,
) -> ValidatorSettings {
    let layers = [own, group];
    let commission = |i: usize| {
        layers
            .iter()
            .flatten()
            .filter_map(|v| v.commission.as_ref())
            .find_map(|c| [&c.rate, &c.max_rate, &c.max_change_rate][i].as_deref())
            .and_then(parse_dec18)
            .unwrap_or(DEFAULT_COMMISSION[i])
    };
    let text = |f: fn(&spec::DescriptionSpec) -> &Option<String>| {
        layers
            .iter()
            .flatten()
            .filter_map(|v| v.description.as_ref())
            .find_map(|d| f(d).clone())
    };
    ValidatorSettings {
        commission: [commission(0), commission(1), commission(2)],
        moniker: text(|d| &d.moniker).unwrap_or_else(|| name.to_string()),
        identity: text(|d| &d.identity).unwrap_or_default(),
        website: text(|d| &d.website).unwrap_or_default(),
        security_contact: text(|d| &d.security_contact).unwrap_or_default(),
        details: text(|d| &d.details).unwrap_or_default(),
        min_self_delegation: layers
            .iter()
            .flatten()
            .find_map(|v| v.min_self_delegation.as_deref())
            .and_then(|m| m.parse().ok())
            .unwrap_or(1),
    }
}

/// The sentries validator `ordinal` of `validators` peers with: its own (same ordinal) with
/// `dedicated_sentries`, else every node of the sentry group.
fn sentries_of(validators: &Group, sentries: &Group, ordinal: u32) -> Vec<String> {
    match validators.dedicated_sentries {
        true => sentries
            .nodes
            .get(ordinal as usize)
            .cloned()
            .into_iter()
            .collect(),
        false => sentries.nodes.clone(),
    }
}

/// The validators of `validators` that the sentry of ordinal `ordinal` shields.
fn shielded_by(validators: &Group, ordinal: u32) -> Vec<String> {
    match validators.dedicated_sentries {
        true => validators
            .nodes
            .get(ordinal as usize)
            .cloned()
            .into_iter()
            .collect(),
        false => validators.nodes.clone(),
    }
}

/// Second pass: peers by name.
///
/// - Validators behind a sentry group peer only with those sentries, PEX off; the sentries
///   keep them private and unconditional (CometBFT's documented sentry layout).
/// - Seeds peer with each other and run in seed mode; everyone else bootstraps from seeds.
/// - Without seeds, nodes keep persistent links to every other reachable node on small
///   networks, or to a ring of neighbours on large ones.
/// - SNARK workers talk to their coordinator only.
fn wire_peers(groups: &[Group], nodes: &mut [Node]) {
    let by_group: BTreeMap<&str, &Group> = groups.iter().map(|g| (g.name.as_str(), g)).collect();
    let hidden: Vec<String> = groups
        .iter()
        .filter(|g| g.behind.is_some())
        .flat_map(|g| g.nodes.iter().cloned())
        .collect();
    let seeds: Vec<String> = nodes
        .iter()
        .filter(|n| n.role == Role::Seed)
        .map(|n| n.name.clone())
        .collect();
    // Test services (own image) neither dial nor are dialled.
    let services: Vec<String> = groups
        .iter()
        .filter(|g| g.image.is_some())
        .flat_map(|g| g.nodes.iter().cloned())
        .collect();
    let workers_and_hidden = |n: &Node| {
        hidden.contains(&n.name) || n.role == Role::SnarkWorker || services.contains(&n.name)
    };
    let open: Vec<String> = nodes
        .iter()
        .filter(|n| !workers_and_hidden(n))
        .map(|n| n.name.clone())
        .collect();

    let plans: Vec<PeerPlan> = nodes
        .iter()
        .map(|n| {
            let group = by_group[n.group.as_str()];
            let mut plan = PeerPlan {
                pex: true,
                ..PeerPlan::default()
            };
            if let Some(sentry_group) = group.behind.as_deref().and_then(|s| by_group.get(s)) {
                plan.persistent = sentries_of(group, sentry_group, n.ordinal);
                plan.unconditional = plan.persistent.clone();
                plan.pex = false;
                return plan;
            }
            if group.image.is_some() {
                plan.pex = false;
                return plan;
            }
            if n.role == Role::SnarkWorker {
                plan.persistent = group
                    .coordinator
                    .as_deref()
                    .and_then(|c| by_group.get(c))
                    .map(|c| c.nodes.clone())
                    .unwrap_or_default();
                plan.pex = false;
                return plan;
            }
            if n.role == Role::Sentry {
                let shielded: Vec<String> = groups
                    .iter()
                    .filter(|g| g.behind.as_deref() == Some(n.group.as_str()))
                    .flat_map(|g| shielded_by(g, n.ordinal))
                    .collect();
                plan.private = shielded.clone();
                plan.unconditional = shielded.clone();
                plan.persistent.extend(shielded);
            }
            if n.role == Role::Seed {
                plan.seed_mode = true;
                plan.persistent
                    .extend(seeds.iter().filter(|s| **s != n.name).cloned());
            } else if !seeds.is_empty() {
                plan.seeds = seeds.clone();
                if n.role == Role::Sentry {
                    // Sentries also hold each other, so validators' blocks cross groups.
                    plan.persistent
                        .extend(group.nodes.iter().filter(|s| **s != n.name).cloned());
                }
            } else {
                let others: Vec<&String> = open.iter().filter(|o| **o != n.name).collect();
                if open.len() <= FULL_MESH_LIMIT {
                    plan.persistent.extend(others.into_iter().cloned());
                } else if let Some(me) = open.iter().position(|o| *o == n.name) {
                    for k in 1..=RING_NEIGHBOURS {
                        plan.persistent.push(open[(me + k) % open.len()].clone());
                        plan.persistent
                            .push(open[(me + open.len() - k) % open.len()].clone());
                    }
                }
            }
            plan.persistent.sort();
            plan.persistent.dedup();
            plan
        })
        .collect();
    for (n, plan) in nodes.iter_mut().zip(plans) {
        n.peers = plan;
    }
}

#[cfg(test)]
mod tests {
    fn yaml(dedicated: bool) -> String {
        format!(
            "name: t\nchain: {{ family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }}\nregions: [a, b]\ngroups:\n  - {{ name: validator, role: validator, count: 3, behind: sentry, dedicated_sentries: {dedicated}, regions: [a, b] }}\n  - {{ name: sentry, role: sentry, count: 3, regions: [a, b] }}\ntargets:\n  local: {{}}\n"
        )
    }

    /// Issue 11: `behind` linked each validator with every sentry; `dedicated_sentries`
    /// pairs validator i with sentry i, in both directions.
    #[test]
    fn dedicated_sentries_pair_validator_i_with_sentry_i() {
        let net = crate::test_network(&yaml(true));
        for i in 0..3 {
            let v = net.node(&format!("validator-{i}")).unwrap();
            let s = net.node(&format!("sentry-{i}")).unwrap();
            assert_eq!(v.peers.persistent, std::slice::from_ref(&s.name));
            assert_eq!(v.peers.unconditional, std::slice::from_ref(&s.name));
            assert!(!v.peers.pex);
            assert_eq!(s.peers.private, std::slice::from_ref(&v.name));
            assert!(s.peers.persistent.contains(&v.name));
            assert_eq!(v.region, s.region);
        }
        let shared = crate::test_network(&yaml(false));
        let v = shared.node("validator-0").unwrap();
        assert_eq!(v.peers.persistent, ["sentry-0", "sentry-1", "sentry-2"]);
    }
}
