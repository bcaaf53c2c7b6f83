//! CometBFT rules (a bare CometBFT app, no SDK): no family-specific field; Cosmos SDK and
//! Komodo fields are foreign.

use super::{any_stake, none, reject_foreign_chain_fields, reject_group_assetchains, FamilyRules};
use crate::spec::check::Checker;
use crate::spec::{GroupSpec, Spec};

pub(super) const RULES: FamilyRules = FamilyRules {
    chain: reject_foreign_chain_fields,
    after_chain: none,
    stake: any_stake,
    group,
};

/// No assetchains; `config` keys that `config.toml` has.
fn group(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    reject_group_assetchains(c, spec, p, g);
    super::config_keys::check(c, p, g, false);
}
