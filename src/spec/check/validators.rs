//! Validator settings of a group and of its single nodes (`nodes:`): CometBFT `power`, the
//! stake's voting power, Cosmos gentx settings (commission, description, minimum
//! self-delegation), and dedicated sentries.

use std::collections::BTreeMap;

use super::names::{family_name, role_name};
use super::Checker;
use crate::diag::did_you_mean;
use crate::spec::load::pointer_segment;
use crate::spec::parse::{parse_coin, parse_dec18};
use crate::spec::{CommissionSpec, Family, GroupSpec, Role, Spec, ValidatorSpec};

/// The SDK's power reduction: voting power is stake / 10^6.
const POWER_REDUCTION: u128 = 1_000_000;
/// CometBFT's cap on the total voting power (`MaxTotalVotingPower`, MaxInt64 / 8).
const MAX_TOTAL_POWER: u128 = (i64::MAX / 8) as u128;
/// A validator's default stake (power 100).
const DEFAULT_STAKE: u128 = 100_000_000;
/// Default commission: rate, max rate, max daily change (10^18 units).
const DEFAULT_COMMISSION: [u128; 3] = [
    100_000_000_000_000_000,
    200_000_000_000_000_000,
    10_000_000_000_000_000,
];
const ONE: u128 = 1_000_000_000_000_000_000;
const COMMISSION_FIELDS: [&str; 3] = ["rate", "max_rate", "max_change_rate"];
/// `MsgCreateValidator.description` caps (x/staking `Description.EnsureLength`).
const DESCRIPTION_CAPS: [(&str, usize); 5] = [
    ("moniker", 70),
    ("identity", 3000),
    ("website", 140),
    ("security_contact", 140),
    ("details", 280),
];

/// Check the validator settings of group `g` at `p`.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    let family = spec.chain.family;
    if let Some(power) = g.power {
        power_rules(
            c,
            family,
            &format!("{p}/power"),
            g,
            power,
            g.stake.is_some(),
        );
    }
    if let Some(v) = &g.validator {
        settings(c, family, &format!("{p}/validator"), g, v, None);
    }
    nodes(c, spec, p, g);
    sentries(c, spec, p, g);
    total_power(c, family, p, g);
}

/// `power`: a bare CometBFT validator's, not beside a stake, within CometBFT's cap.
fn power_rules(
    c: &mut Checker<'_>,
    family: Family,
    at: &str,
    g: &GroupSpec,
    power: u64,
    staked: bool,
) {
    if family != Family::Cometbft {
        let hint = match family {
            Family::Cosmos => {
                "Cosmos SDK validators get their power from `stake` (stake / 10^6); set `stake`"
            }
            _ => "remove it",
        };
        c.error(
            at,
            format!(
                "`power` applies to bare CometBFT validators, not {}",
                family_name(family)
            ),
            power.to_string(),
            hint,
        );
    } else if g.role != Role::Validator {
        c.error(
            at,
            format!(
                "`power` is set on group `{}`, whose role is `{}`",
                g.name,
                role_name(g.role)
            ),
            power.to_string(),
            "only validators have voting power; remove it",
        );
    } else if staked {
        c.error(
            at,
            "both `power` and `stake` are set",
            power.to_string(),
            "a CometBFT validator's power is stake / 10^6: set one of them",
        );
    } else if u128::from(power) > MAX_TOTAL_POWER {
        c.error(
            at,
            format!("power {power} is above CometBFT's total voting power cap"),
            power.to_string(),
            format!("the total of all validators' power must stay at most {MAX_TOTAL_POWER}"),
        );
    }
}

/// A bare CometBFT stake becomes power stake / 10^6: refuse one that does not divide.
pub(super) fn cometbft_stake(c: &mut Checker<'_>, ptr: &str, text: &str, amount: u128) {
    if amount % POWER_REDUCTION != 0 || amount == 0 {
        let power = (amount / POWER_REDUCTION).max(1);
        let rounded = if amount < POWER_REDUCTION {
            format!("{amount} / 10^6 is below 1, so it would be power {power}")
        } else {
            format!("{amount} / 10^6 is not whole, so it would be power {power}")
        };
        c.error(
            ptr,
            format!("stake `{text}` is not a whole voting power: {rounded}"),
            text,
            format!(
                "CometBFT voting power is stake / 10^6; write `power: {power}` instead, or a stake that is a multiple of 1000000"
            ),
        );
    }
}

/// `nodes:` entries name nodes of this group and hold the same rules as the group's fields.
fn nodes(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    let names: Vec<String> = (0..g.count).map(|i| format!("{}-{i}", g.name)).collect();
    for (name, node) in &g.nodes {
        let at = format!("{p}/nodes/{}", pointer_segment(name));
        if !names.contains(name) {
            let hint = match did_you_mean(name, names.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "group `{}` has nodes `{}-0` to `{}-{}`",
                    g.name,
                    g.name,
                    g.name,
                    g.count.saturating_sub(1)
                ),
            };
            c.key_error(
                &at,
                format!("group `{}` has no node `{name}`", g.name),
                name,
                hint,
            );
            continue;
        }
        if let Some(stake) = &node.stake {
            super::groups::stake_rules(c, spec, &format!("{at}/stake"), stake, g);
        }
        if let Some(power) = node.power {
            let staked = node.stake.is_some() || (g.stake.is_some() && g.power.is_none());
            power_rules(
                c,
                spec.chain.family,
                &format!("{at}/power"),
                g,
                power,
                staked,
            );
        }
        if let Some(v) = &node.validator {
            let stake = node.stake.as_deref().or(g.stake.as_deref());
            settings(
                c,
                spec.chain.family,
                &format!("{at}/validator"),
                g,
                v,
                Some((g.validator.as_ref(), stake)),
            );
        }
    }
    // The group's own minimum self-delegation against each node's stake is judged in
    // `settings` through the group's stake; per-node stakes below it are reported here.
    if let Some(min) = g
        .validator
        .as_ref()
        .and_then(|v| v.min_self_delegation.as_deref())
        .and_then(|m| m.parse::<u128>().ok())
    {
        for (name, node) in g.nodes.iter().filter(|(n, _)| names.contains(n)) {
            let own_min = node
                .validator
                .as_ref()
                .and_then(|v| v.min_self_delegation.as_ref());
            let Some(stake) = node.stake.as_deref().and_then(parse_coin) else {
                continue;
            };
            if own_min.is_none() && stake.amount < min {
                c.error(
                    &format!("{p}/nodes/{}/stake", pointer_segment(name)),
                    format!("node `{name}` stakes less than the group's min_self_delegation {min}"),
                    stake.amount.to_string(),
                    "a validator's self-delegation must be at least its min_self_delegation",
                );
            }
        }
    }
}

/// Gentx settings at `at`: Cosmos validators only; rates decimals in [0, 1] that keep
/// rate <= max_rate and max_change_rate <= max_rate; description fields within the SDK's
/// caps; min_self_delegation a whole number from 1 up to the stake. `outer` is the group's
/// settings and stake when `v` is a node's.
fn settings(
    c: &mut Checker<'_>,
    family: Family,
    at: &str,
    g: &GroupSpec,
    v: &ValidatorSpec,
    outer: Option<(Option<&ValidatorSpec>, Option<&str>)>,
) {
    if family != Family::Cosmos || g.role != Role::Validator {
        let what = if family != Family::Cosmos {
            format!("{} networks", family_name(family))
        } else {
            format!("group `{}`, whose role is `{}`", g.name, role_name(g.role))
        };
        c.error(
            at,
            format!("`validator` settings (the gentx) apply to Cosmos SDK validators, not {what}"),
            "",
            "remove it",
        );
        return;
    }
    let group = match outer {
        Some((group, _)) => group,
        None => None,
    };
    if let Some(cm) = &v.commission {
        commission(
            c,
            &format!("{at}/commission"),
            cm,
            group.and_then(|g| g.commission.as_ref()),
        );
    }
    if let Some(d) = &v.description {
        let fields = [
            &d.moniker,
            &d.identity,
            &d.website,
            &d.security_contact,
            &d.details,
        ];
        for ((name, cap), value) in DESCRIPTION_CAPS.iter().zip(fields) {
            let Some(value) = value else { continue };
            let ptr = format!("{at}/description/{name}");
            let len = value.chars().count();
            if len > *cap {
                c.error(
                    &ptr,
                    format!("{name} is {len} characters, more than the SDK's {cap}"),
                    value.as_str(),
                    format!("shorten it to {cap} characters"),
                );
            } else if *name == "moniker" && value.trim().is_empty() {
                c.error(
                    &ptr,
                    "moniker is blank",
                    value.as_str(),
                    "the SDK refuses a blank moniker; leave it out to use the node name",
                );
            }
        }
    }
    if let Some(m) = &v.min_self_delegation {
        let ptr = format!("{at}/min_self_delegation");
        match m.parse::<u128>() {
            Ok(n) if n >= 1 && m.chars().all(|x| x.is_ascii_digit()) => {
                let stake = match outer {
                    Some((_, s)) => s,
                    None => g.stake.as_deref(),
                };
                let amount = stake
                    .and_then(parse_coin)
                    .map_or(DEFAULT_STAKE, |s| s.amount);
                if n > amount {
                    c.error(&ptr, format!("min_self_delegation {n} is more than the validator's stake {amount}"), m.as_str(), "the gentx self-delegates the stake, which must be at least min_self_delegation");
                }
            }
            _ => c.error(
                &ptr,
                format!("min_self_delegation `{m}` is not a whole number of at least 1"),
                m.as_str(),
                "write base units of the staking denom, e.g. `1000000`",
            ),
        }
    }
}

/// Commission rates: decimals in [0, 1]; rate and max_change_rate at most max_rate. A rate
/// left out takes the group's (for a node) or the default.
fn commission(c: &mut Checker<'_>, at: &str, cm: &CommissionSpec, group: Option<&CommissionSpec>) {
    let own = [&cm.rate, &cm.max_rate, &cm.max_change_rate];
    let group = group.map(|g| [&g.rate, &g.max_rate, &g.max_change_rate]);
    let mut value = DEFAULT_COMMISSION;
    let mut ok = true;
    for (i, field) in COMMISSION_FIELDS.iter().enumerate() {
        let written = own[i]
            .as_deref()
            .or_else(|| group.and_then(|g| g[i].as_deref()));
        let Some(text) = written else { continue };
        match parse_dec18(text) {
            Some(v) if v <= ONE => value[i] = v,
            _ => {
                ok = false;
                if own[i].is_some() {
                    c.error(
                        &format!("{at}/{field}"),
                        format!("commission {field} `{text}` is not a decimal from 0 to 1"),
                        text,
                        "write e.g. `0.05` for 5%",
                    );
                }
            }
        }
    }
    if !ok {
        return;
    }
    let [rate, max_rate, max_change] = value;
    let shown = |v: u128| {
        let s = format!("{}.{:018}", v / ONE, v % ONE);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    for (i, v) in [(0, rate), (2, max_change)] {
        if v > max_rate {
            let field = COMMISSION_FIELDS[i];
            let ptr = if own[i].is_some() {
                format!("{at}/{field}")
            } else {
                format!("{at}/max_rate")
            };
            c.error(
                &ptr,
                format!("commission {field} {} is above max_rate {}", shown(v), shown(max_rate)),
                shown(v),
                "the SDK requires rate <= max_rate and max_change_rate <= max_rate (default max_rate 0.2)",
            );
        }
    }
}

/// `dedicated_sentries`: needs `behind` and a sentry group of as many nodes; a pair in two
/// regions is allowed but warned about.
fn sentries(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    if !g.dedicated_sentries {
        return;
    }
    let at = format!("{p}/dedicated_sentries");
    let Some(behind) = &g.behind else {
        c.error(
            &at,
            format!(
                "group `{}` sets `dedicated_sentries` without `behind`",
                g.name
            ),
            "true",
            "name the sentry group with `behind`",
        );
        return;
    };
    let Some(s) = spec.groups.iter().find(|s| &s.name == behind) else {
        return;
    };
    if s.count != g.count {
        c.error(
            &at,
            format!("dedicated sentries pair each of the {} validators of `{}` with one of the {} sentries of `{behind}`", g.count, g.name, s.count),
            "true",
            format!("give `{behind}` `count: {}`, or leave `dedicated_sentries` out", g.count),
        );
        return;
    }
    let regions = |x: &GroupSpec| -> Vec<String> {
        let rs = if x.regions.is_empty() {
            spec.regions.iter().take(1).cloned().collect()
        } else {
            x.regions.clone()
        };
        (0..x.count as usize)
            .map(|i| rs.get(i % rs.len().max(1)).cloned().unwrap_or_default())
            .collect()
    };
    let apart: BTreeMap<usize, (String, String)> = regions(g)
        .into_iter()
        .zip(regions(s))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .collect();
    if let Some((i, (a, b))) = apart.iter().next() {
        c.warn(
            &at,
            format!("{} validator(s) sit in another region than their sentry, e.g. `{}-{i}` in {a} and `{behind}-{i}` in {b}", apart.len(), g.name),
            format!("list the same `regions`, in the same order, on `{}` and `{behind}`", g.name),
        );
    }
}

/// The group's total voting power stays within CometBFT's cap.
fn total_power(c: &mut Checker<'_>, family: Family, p: &str, g: &GroupSpec) {
    if family != Family::Cometbft || g.role != Role::Validator {
        return;
    }
    let each = |name: &str| -> u128 {
        let own = g.nodes.get(name);
        own.and_then(|o| o.power)
            .or(g.power)
            .map(u128::from)
            .or_else(|| {
                own.and_then(|o| o.stake.as_deref())
                    .or(g.stake.as_deref())
                    .and_then(parse_coin)
                    .map(|s| (s.amount / POWER_REDUCTION).max(1))
            })
            .unwrap_or(DEFAULT_STAKE / POWER_REDUCTION)
    };
    let total: u128 = (0..g.count).map(|i| each(&format!("{}-{i}", g.name))).sum();
    if total > MAX_TOTAL_POWER && g.power.is_some_and(|x| u128::from(x) <= MAX_TOTAL_POWER) {
        c.error(
            &format!("{p}/power"),
            format!("group `{}` has a total voting power of {total}", g.name),
            total.to_string(),
            format!("CometBFT caps the total voting power at {MAX_TOTAL_POWER}"),
        );
    }
}
