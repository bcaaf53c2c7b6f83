//! Cosmos SDK rules: a validator's stake must carry voting power; Komodo's fields are
//! foreign. (The Cosmos-only chain fields are accepted here and rejected elsewhere.)

use super::{none, reject_assetchains, reject_group_assetchains, FamilyRules};
use crate::spec::check::Checker;
use crate::spec::parse::Coin;

/// The SDK's default power reduction: less stake than this is zero voting power.
const POWER_REDUCTION: u128 = 1_000_000;

pub(super) const RULES: FamilyRules = FamilyRules {
    chain: reject_assetchains,
    after_chain: none,
    stake,
    group,
};

/// No assetchains; `config` and `app_config` keys that `config.toml` and `app.toml` have.
fn group(c: &mut Checker<'_>, spec: &crate::spec::Spec, p: &str, g: &crate::spec::GroupSpec) {
    reject_group_assetchains(c, spec, p, g);
    super::config_keys::check(c, p, g, true);
}

fn stake(c: &mut Checker<'_>, ptr: &str, text: &str, coin: &Coin) {
    if coin.amount < POWER_REDUCTION {
        c.error(
            ptr,
            "stake below 1000000 gives the validator no voting power",
            text,
            "the SDK's power reduction is 10^6: stake at least 1000000",
        );
    }
}
