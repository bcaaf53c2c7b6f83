//! Cosmos SDK networks: account keys, genesis with app state and signed gentxs, per-node
//! `config.toml` and `app.toml`.

use super::Artifacts;
use crate::diag::Diagnostics;
use crate::keys::Seed;
use crate::model::Network;

/// Build the artifacts of a Cosmos SDK network.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    super::cometbft::build(net, seed)
}
