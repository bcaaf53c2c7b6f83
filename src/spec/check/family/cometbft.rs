//! CometBFT rules (a bare CometBFT app, no SDK): a stake must be a whole voting power;
//! Cosmos SDK and Komodo fields are foreign.

use super::{none, reject_foreign_chain_fields, reject_group_assetchains, FamilyRules};
use crate::spec::check::Checker;
use crate::spec::parse::Coin;
use crate::spec::{GroupSpec, Spec};

pub(super) const RULES: FamilyRules = FamilyRules {
    chain: reject_foreign_chain_fields,
    after_chain: none,
    stake,
    group,
};

/// Voting power is stake / 10^6: a stake that does not divide would silently round.
fn stake(c: &mut Checker<'_>, ptr: &str, text: &str, coin: &Coin) {
    crate::spec::check::validators::cometbft_stake(c, ptr, text, coin.amount);
}

/// No assetchains; `config` keys that `config.toml` has.
fn group(c: &mut Checker<'_>, spec: &Spec, p: &str, g: &GroupSpec) {
    reject_group_assetchains(c, spec, p, g);
    super::config_keys::check(c, p, g, false);
}
