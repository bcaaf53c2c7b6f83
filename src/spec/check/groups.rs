//! Per-group rules every family shares: node count, placement in declared regions, stake,
//! the sentry and SNARK references between groups, resources, pinned host ports, config
//! overrides and environment names. A family's own group rules follow from `family/`.

use std::collections::BTreeMap;

use super::names::{declared_regions, group_index, role_name};
use super::{family, Checker};
use crate::diag::did_you_mean;
use crate::spec::load::pointer_segment;
use crate::spec::parse::{parse_coin, parse_mebibytes};
use crate::spec::{GroupSpec, Role, Spec};

/// Check every group.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    let declared = declared_regions(spec);
    let index = group_index(spec);
    let rules = family::rules(spec.chain.family);
    for (i, g) in spec.groups.iter().enumerate() {
        let p = format!("/groups/{i}");
        placement(c, &p, g, &declared);
        stake(c, spec, &p, g);
        topology(c, spec, &index, &p, g);
        workload(c, &p, g);
        test_service(c, &index, &p, g, spec.targets.hosts.is_some());
        overrides(c, &p, g);
        super::validators::check(c, spec, &p, g);
        (rules.group)(c, spec, &p, g);
    }
}

/// At least one node, and only in declared regions.
fn placement(c: &mut Checker<'_>, p: &str, g: &GroupSpec, declared: &[&str]) {
    if g.count == 0 {
        c.error(
            &format!("{p}/count"),
            format!("group `{}` has no nodes", g.name),
            "0",
            "set `count` to 1 or more, or remove the group",
        );
    }
    for (j, r) in g.regions.iter().enumerate() {
        if declared.contains(&r.as_str()) {
            continue;
        }
        let hint = match did_you_mean(r, declared.iter().copied()) {
            Some(s) => format!(
                "did you mean `{s}`? declared regions: {}",
                declared.join(", ")
            ),
            None => format!(
                "declared regions: {}; add it to the top-level `regions`",
                declared.join(", ")
            ),
        };
        c.error(
            &format!("{p}/regions/{j}"),
            format!(
                "group `{}` is placed in region `{r}`, which `regions` does not list",
                g.name
            ),
            r.as_str(),
            hint,
        );
    }
}

/// A stake is one coin in the staking denom, on a validator group; the family may ask more.
fn stake(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    if let Some(stake) = &g.stake {
        stake_rules(c, spec, &format!("{p}/stake"), stake, g);
    }
}

/// The rules of one stake `stake` at `sp` (a group's or one node's) of group `g`.
pub(super) fn stake_rules(c: &mut Checker<'_>, spec: &Spec, sp: &str, stake: &str, g: &GroupSpec) {
    match parse_coin(stake) {
        None => c.error(
            sp,
            format!("stake `{stake}` is not a coin"),
            stake,
            "write an amount and a denom, e.g. `100000000stake`",
        ),
        Some(coin) => {
            let denom = spec.chain.denom.as_deref().unwrap_or("stake");
            if coin.denom != denom {
                c.error(
                    sp,
                    format!(
                        "stake is in `{}`, but the chain's staking denom is `{denom}`",
                        coin.denom
                    ),
                    stake,
                    format!("write the stake in `{denom}`"),
                );
            } else {
                (family::rules(spec.chain.family).stake)(c, sp, stake, &coin);
            }
        }
    }
    if g.role != Role::Validator {
        c.error(
            sp,
            format!(
                "`stake` is set on group `{}`, whose role is `{}`",
                g.name,
                role_name(g.role)
            ),
            stake,
            "only validators stake at genesis; remove it",
        );
    }
}

/// `behind` names a sentry group from a validator group; `coordinator` names a SNARK
/// coordinator group from a SNARK worker group. (A worker pool without a coordinator is a
/// role rule, checked with the family's roles in `model::check`.)
fn topology(
    c: &mut Checker<'_>,
    spec: &Spec,
    index: &BTreeMap<&str, usize>,
    p: &str,
    g: &GroupSpec,
) {
    if let Some(behind) = &g.behind {
        let bp = format!("{p}/behind");
        if g.role != Role::Validator {
            c.error(
                &bp,
                format!(
                    "`behind` is set on group `{}`, which is not a validator group",
                    g.name
                ),
                behind.as_str(),
                "only validators hide behind sentries",
            );
        }
        reference(
            c,
            spec,
            index,
            &bp,
            behind,
            (Role::Sentry, "sentry"),
            "validators must sit behind a group with role `sentry`",
        );
    }
    if let Some(coord) = &g.coordinator {
        let cp = format!("{p}/coordinator");
        if g.role != Role::SnarkWorker {
            c.error(
                &cp,
                format!(
                    "`coordinator` is set on group `{}`, which is not a SNARK worker pool",
                    g.name
                ),
                coord.as_str(),
                "only `snark_worker` groups attach to a coordinator",
            );
        }
        reference(
            c,
            spec,
            index,
            &cp,
            coord,
            (Role::SnarkCoordinator, "coordinator"),
            "point the pool at a `snark_coordinator` group",
        );
    }
}

/// A test service: a custom group with its own pinned `image`; `tests` names a group (not a
/// test service) whose nodes serve GraphQL.
fn test_service(
    c: &mut Checker<'_>,
    index: &BTreeMap<&str, usize>,
    p: &str,
    g: &GroupSpec,
    spec_has_hosts: bool,
) {
    if let Some(image) = &g.image {
        let ip = format!("{p}/image");
        if g.role != Role::Custom {
            c.error(
                &ip,
                format!(
                    "`image` is set on group `{}`, whose role is `{}`",
                    g.name,
                    role_name(g.role)
                ),
                image.as_str(),
                "only `custom` groups (test services) run an image of their own; the chain's nodes run `chain.image`",
            );
        }
        super::chain::pinned_image(c, &ip, image);
        if spec_has_hosts {
            c.error(
                &ip,
                format!("test service `{}` runs a container image, which the hosts target (binaries under systemd) cannot start", g.name),
                image.as_str(),
                "run the test service from compose, kubernetes or aws, or drop `targets.hosts`",
            );
        }
    }
    let Some(tested) = &g.tests else { return };
    let tp = format!("{p}/tests");
    if g.image.is_none() {
        c.error(
            &tp,
            format!("`tests` is set on group `{}`, which has no `image`", g.name),
            tested.as_str(),
            "a test service runs its own image: add `image:` (pinned) and `command:`",
        );
    }
    if !index.contains_key(tested.as_str()) {
        let hint = match did_you_mean(tested, index.keys().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "name a group of this network".to_string(),
        };
        c.error(
            &tp,
            format!("tested group `{tested}` does not exist"),
            tested.as_str(),
            hint,
        );
    }
    // That it serves GraphQL is a family fact: `model::check::family`.
}

/// `name` (at `ptr`) must be a group with role `want.0`; `want.1` words the message.
fn reference(
    c: &mut Checker<'_>,
    spec: &Spec,
    index: &BTreeMap<&str, usize>,
    ptr: &str,
    name: &str,
    want: (Role, &str),
    wrong_role_hint: &str,
) {
    let (role, what) = want;
    let role_spelled = role_name(role);
    match index.get(name).map(|k| &spec.groups[*k]) {
        None => {
            let hint = match did_you_mean(name, index.keys().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("name a group with role `{role_spelled}`"),
            };
            c.error(
                ptr,
                format!("{what} group `{name}` does not exist"),
                name,
                hint,
            );
        }
        Some(s) if s.role != role => {
            c.error(
                ptr,
                format!(
                    "group `{name}` has role `{}`, not `{role_spelled}`",
                    role_name(s.role)
                ),
                name,
                wrong_role_hint,
            );
        }
        Some(_) => {}
    }
}

/// What the nodes run with: custom command, resources, pinned host ports (SNARK pool
/// fields: `check::mina`).
fn workload(c: &mut Checker<'_>, p: &str, g: &GroupSpec) {
    if g.role == Role::Custom && g.command.is_empty() {
        c.error(
            &format!("{p}/role"),
            format!("custom group `{}` has no `command`", g.name),
            g.name.as_str(),
            "custom nodes run the chain binary with the arguments in `command`",
        );
    }
    if let Some(r) = &g.resources {
        if let Some(cpu) = r.cpu {
            if !(cpu > 0.0 && cpu <= 192.0) {
                c.error(
                    &format!("{p}/resources/cpu"),
                    format!("cpu `{cpu}` is out of range"),
                    cpu.to_string(),
                    "use a positive number of vCPUs such as 0.5, 1 or 4",
                );
            }
        }
        for (key, val) in [("memory", &r.memory), ("storage", &r.storage)] {
            if let Some(v) = val {
                if parse_mebibytes(v).is_none() {
                    c.error(
                        &format!("{p}/resources/{key}"),
                        format!("{key} `{v}` is not a size"),
                        v.as_str(),
                        "write a whole number with Mi, Gi or Ti, e.g. `4Gi`",
                    );
                }
            }
        }
    }
    if !g.host_ports.is_empty() && g.count > 1 {
        c.error(&format!("{p}/host_ports"), format!("group `{}` pins host ports but has {} nodes", g.name, g.count), g.count.to_string(), "pin host ports only on groups of one node; others get ports from the target's base_port");
    }
}

/// `config`/`app_config` keys are dotted TOML paths with plain values; `env` names are
/// shell variable names.
fn overrides(c: &mut Checker<'_>, p: &str, g: &GroupSpec) {
    for (key, v) in &g.config {
        config_key(c, &format!("{p}/config/{}", pointer_segment(key)), key, v);
    }
    for (key, v) in &g.app_config {
        config_key(
            c,
            &format!("{p}/app_config/{}", pointer_segment(key)),
            key,
            v,
        );
    }
    for k in g.env.keys() {
        if k.is_empty()
            || !k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            || k.starts_with(|ch: char| ch.is_ascii_digit())
        {
            c.error(
                &format!("{p}/env/{}", pointer_segment(k)),
                format!("environment variable name `{k}` is invalid"),
                k.as_str(),
                "use letters, digits and `_`, not starting with a digit",
            );
        }
    }
}

fn config_key(c: &mut Checker<'_>, ptr: &str, key: &str, value: &serde_json::Value) {
    let ok = !key.is_empty()
        && key.split('.').all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        });
    if !ok {
        c.key_error(
            ptr,
            format!("config key `{key}` is not a dotted TOML path"),
            key,
            "write `section.key`, e.g. `consensus.timeout_commit`",
        );
    }
    if value.is_null() || value.is_object() {
        c.error(
            ptr,
            format!("config value for `{key}` must be a string, number, boolean or list"),
            value.to_string(),
            "write the TOML value, e.g. `\"2s\"` or `true`",
        );
    }
}
