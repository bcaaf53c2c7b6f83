//! Rules for a generic chain: no family-specific field; Cosmos SDK and Komodo fields are
//! foreign.

use super::{any_stake, none, reject_foreign_chain_fields, reject_group_assetchains, FamilyRules};

pub(super) const RULES: FamilyRules = FamilyRules {
    chain: reject_foreign_chain_fields,
    after_chain: none,
    stake: any_stake,
    group: reject_group_assetchains,
};
