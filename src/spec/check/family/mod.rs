//! Rules a chain family adds to the shared ones, one file per family behind one table
//! ([`FamilyRules`]), so each file can move into that family's `chain/<family>/` folder.
//! Rules that need the family's roles and ports run on the resolved network instead
//! (`model::check::family`).

mod cometbft;
mod config_keys;
mod cosmos;
mod generic;
mod komodo;
mod mina;

use super::names::family_name;
use super::Checker;
use crate::spec::parse::Coin;
use crate::spec::{Family, GroupSpec, Spec};

/// What one family checks beyond the shared rules. Each hook runs where the rule it
/// replaces always ran, so problems at one place keep their order.
pub(super) struct FamilyRules {
    /// Chain fields this family accepts or rejects, after the chain's identity and genesis.
    pub chain: fn(&mut Checker<'_>, &Spec),
    /// Chain definitions only this family has, after the shared chain rules.
    pub after_chain: fn(&mut Checker<'_>, &Spec),
    /// A stake `text` at `ptr` that is a coin in the staking denom.
    pub stake: fn(&mut Checker<'_>, &str, &str, &Coin),
    /// Per-group rules, after the shared ones; `p` is the group's pointer.
    pub group: fn(&mut Checker<'_>, &Spec, &str, &GroupSpec),
}

/// The rules of `family`.
pub(super) fn rules(family: Family) -> &'static FamilyRules {
    match family {
        Family::Cosmos => &cosmos::RULES,
        Family::Cometbft => &cometbft::RULES,
        Family::Mina => &mina::RULES,
        Family::Komodo => &komodo::RULES,
        Family::Generic => &generic::RULES,
    }
}

/// A hook with nothing to check.
fn none(_: &mut Checker<'_>, _: &Spec) {}

/// A stake rule with nothing to check.
fn any_stake(_: &mut Checker<'_>, _: &str, _: &str, _: &Coin) {}

/// Fields only Cosmos SDK chains accept, set on another family.
fn reject_cosmos_fields(c: &mut Checker<'_>, spec: &Spec) {
    let ch = &spec.chain;
    let cosmos_only: [(&str, bool); 7] = [
        ("validator_fee_balance", ch.validator_fee_balance.is_some()),
        ("display_denom", ch.display_denom.is_some()),
        ("sdk", ch.sdk.is_some()),
        ("app_state_template", ch.app_state_template.is_some()),
        ("bech32_prefix", ch.bech32_prefix.is_some()),
        ("minimum_gas_prices", ch.minimum_gas_prices.is_some()),
        // Mina accounts are checked in `mina::check`.
        (
            "accounts",
            !ch.accounts.is_empty() && ch.family != crate::spec::Family::Mina,
        ),
    ];
    for (field, set) in cosmos_only {
        if set {
            c.error(
                &format!("/chain/{field}"),
                format!(
                    "`{field}` applies to Cosmos SDK chains, not {}",
                    family_name(ch.family)
                ),
                field,
                "remove it, or set `family: cosmos`",
            );
        }
    }
}

/// Komodo assetchains defined on another family.
fn reject_assetchains(c: &mut Checker<'_>, spec: &Spec) {
    if !spec.chain.assetchains.is_empty() {
        c.error(
            "/chain/assetchains",
            format!(
                "`assetchains` applies to Komodo, not {}",
                family_name(spec.chain.family)
            ),
            "assetchains",
            "remove it, or set `family: komodo`",
        );
    }
}

/// Chain fields of other families, for a family that has none of its own.
fn reject_foreign_chain_fields(c: &mut Checker<'_>, spec: &Spec) {
    reject_cosmos_fields(c, spec);
    reject_assetchains(c, spec);
}

/// A group of another family that lists Komodo assetchains.
fn reject_group_assetchains(c: &mut Checker<'_>, _: &Spec, p: &str, g: &GroupSpec) {
    if g.assetchains.is_some() {
        c.error(
            &format!("{p}/assetchains"),
            "`assetchains` is for Komodo networks",
            "…",
            "remove it",
        );
    }
    if let Some(n) = &g.notary {
        c.error(
            &format!("{p}/notary"),
            "`notary` is for Komodo notaries",
            n.name.as_str(),
            "remove it",
        );
    }
}
