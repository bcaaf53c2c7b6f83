//! Voting power across regions: a CometBFT chain commits a block only while validators with
//! more than 2/3 of the voting power reach each other. Regions run in separate clusters or AWS
//! regions, so when no single region keeps more than 2/3 the chain halts whenever the regions
//! lose each other. This applies to every target that places regions apart (Helm's
//! `values-<region>.yaml`, one CloudFormation deploy per region): a warning, placed at the
//! validator group that spreads the power. On AWS without a Route 53 zone it is an error:
//! cross-region peers are only known after a second deploy pass (issue 13 item 5).

use std::collections::BTreeMap;

use super::Checker;
use crate::model::{Family, Network};

/// Warn when no region keeps more than 2/3 of the voting power (an error on AWS without a
/// Route 53 zone).
pub(super) fn check(c: &mut Checker<'_>, net: &Network) {
    // The families whose consensus is CometBFT's (a block needs > 2/3 of the power).
    if !matches!(net.chain.family, Family::Cosmos | Family::Cometbft) {
        return;
    }
    let mut by_region: BTreeMap<&str, u128> = BTreeMap::new();
    for n in net.validators() {
        *by_region.entry(n.region.as_str()).or_default() += u128::from(n.power.unwrap_or(0));
    }
    let total: u128 = by_region.values().sum();
    if by_region.len() < 2 || total == 0 {
        return;
    }
    // The first region of the most power (`max_by_key` keeps the last of equals).
    let Some((strongest, most)) = by_region.iter().rev().max_by_key(|(_, p)| **p) else {
        return;
    };
    if most * 3 > total * 2 {
        return;
    }
    // The first validator group that spreads over regions, else the first one placed outside
    // the strongest region.
    let spread = |g: &&crate::model::Group| g.regions.len() > 1;
    let outside = |g: &&crate::model::Group| g.regions.iter().any(|r| r != strongest);
    let validators = || {
        net.groups.iter().filter(|g| {
            g.nodes
                .iter()
                .any(|n| net.node(n).is_some_and(|n| n.is_validator()))
        })
    };
    let at = validators()
        .find(spread)
        .or_else(|| validators().find(outside))
        .map_or("/regions".to_string(), |g| format!("{}/regions", g.source));
    let split: Vec<String> = by_region.iter().map(|(r, p)| format!("{r} {p}")).collect();
    // On AWS without a Route 53 zone, a node learns a peer in another region only in
    // deploy.sh's second pass (its Elastic IP exists after the first). With no region above
    // 2/3 such a network makes no block after a single pass: refuse it.
    if net
        .targets
        .aws
        .as_ref()
        .is_some_and(|a| a.dns_zone.is_none())
    {
        c.error(
            &at,
            format!(
                "on AWS without `dns_zone`, validators in different regions learn each other's addresses only in deploy.sh's second pass, and no region keeps more than 2/3 of the voting power ({} of {total}): after one pass the chain makes no block",
                split.join(", ")
            ),
            "",
            "set `targets.aws.dns_zone` (peers then dial Route 53 names created with each Elastic IP, known before the peer exists), or place validators with more than 2/3 of the power in one region",
        );
        return;
    }
    c.warn(
        &at,
        format!(
            "no region keeps more than 2/3 of the voting power ({} of {total}): the chain halts whenever the regions cannot reach each other",
            split.join(", ")
        ),
        "place validators with more than 2/3 of the power in one region, or accept that a cut between regions stops the chain",
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The 2/3 warnings `validate` reports for a 2-region spec whose validator groups are
    /// `groups` (YAML flow mappings), as (line, column, message).
    fn warnings(family: &str, groups: &[&str]) -> Vec<(usize, usize, String)> {
        let chain = match family {
            "cosmos" => "{ family: cosmos, chain_id: q-1, binary: simd, image: ghcr.io/cosmos/simapp:v0.50.15, home: /h, sdk: \"0.50\", denom: stake, genesis_time: 2026-01-01T00:00:00Z }",
            _ => "{ family: cometbft, chain_id: q-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }",
        };
        let mut yaml = format!(
            "name: q\nchain: {chain}\nkeys: {{ seed: {{ env: S }} }}\nregions: [east, west]\ngroups:\n"
        );
        for g in groups {
            yaml.push_str(&format!("  - {g}\n"));
        }
        yaml.push_str("targets:\n  kubernetes: { namespace: q }\n");
        let v = crate::validate("q.yaml", yaml.as_bytes(), Path::new("."))
            .unwrap_or_else(|d| panic!("{d:?}"));
        v.warnings
            .0
            .iter()
            .filter(|d| d.message.contains("2/3"))
            .map(|d| {
                let p = d.pos.unwrap();
                (p.line, p.column, d.message.clone())
            })
            .collect()
    }

    #[test]
    fn warns_when_no_region_keeps_more_than_two_thirds() {
        // 3 validators over 2 regions: 2 east, 1 west; east holds exactly 2/3, not more.
        let w = warnings(
            "cosmos",
            &["{ name: v, role: validator, count: 3, regions: [east, west] }"],
        );
        assert_eq!(w.len(), 1, "{w:?}");
        // At the value of the group's `regions` (line 6, column 52).
        assert_eq!((w[0].0, w[0].1), (6, 52), "{w:?}");
        assert!(w[0].2.contains("east 200, west 100 of 300"), "{w:?}");
        // 4 over 2 regions: 2/2.
        let w = warnings(
            "cometbft",
            &["{ name: v, role: validator, count: 4, regions: [east, west] }"],
        );
        assert!(w[0].2.contains("east 200, west 200 of 400"), "{w:?}");
    }

    #[test]
    fn aws_without_a_zone_refuses_what_a_zone_makes_a_warning() {
        let spec = |aws: &str| {
            format!(
                "name: q\nchain: {{ family: cometbft, chain_id: q-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }}\nregions: [us-east-1, eu-west-1]\ngroups:\n  - {{ name: v, role: validator, count: 4, regions: [us-east-1, eu-west-1], expose: {{ p2p: public }} }}\ntargets:\n  aws: {aws}\n"
            )
        };
        let err = crate::validate("q.yaml", spec("{}").as_bytes(), Path::new("."))
            .expect_err("refused without a zone");
        assert!(
            err.0.iter().any(|d| d.message.contains("second pass")),
            "{err:?}"
        );
        let zone = "{ dns_zone: { name: q.example.com, hosted_zone_id: Z0123456789ABCDEFGHIJ } }";
        let v = crate::validate("q.yaml", spec(zone).as_bytes(), Path::new("."))
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert!(v.warnings.0.iter().any(|d| d.message.contains("2/3")));
    }

    #[test]
    fn stake_decides_not_the_count() {
        // Two groups in separate regions: east's larger stake keeps > 2/3.
        let big = "{ name: a, role: validator, count: 2, stake: 500000000stake, regions: [east] }";
        let small = "{ name: b, role: validator, count: 2, regions: [west] }";
        assert!(warnings("cosmos", &[big, small]).is_empty());
        // Equal stakes: the warning sits at the group placed outside the strongest region.
        let a = "{ name: a, role: validator, count: 2, regions: [east] }";
        let w = warnings("cosmos", &[a, small]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, 7, "at group b: {w:?}");
        // Everything in one region: nothing to say.
        assert!(warnings("cosmos", &["{ name: v, role: validator, count: 3 }"]).is_empty());
    }
}
