//! Chain rules every family shares: chain ID, binary, image pinning, home, genesis time,
//! denom, genesis accounts, gas prices, genesis patches, and where the seed comes from.
//! Fields only some families accept are checked by `family/`.

use std::collections::BTreeSet;

use super::names::family_name;
use super::names::is_rfc3339;
use super::{family, Checker, MAX_CHAIN_ID};
use crate::spec::parse::{parse_coin, valid_denom};
use crate::spec::{Family, SeedSource, Spec};

/// Check `chain` and `keys`.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    identity(c, spec);
    genesis(c, spec);
    // Fields only some families accept: checked here so problems at one place keep the
    // order they have always had.
    (family::rules(spec.chain.family).chain)(c, spec);
    accounts(c, spec);
    fees_and_patches(c, spec);
    (family::rules(spec.chain.family).after_chain)(c, spec);
    keys(c, spec);
}

/// Chain ID, binary, image and home.
fn identity(c: &mut Checker<'_>, spec: &Spec) {
    let ch = &spec.chain;
    if ch.chain_id.is_empty()
        || ch.chain_id.len() > MAX_CHAIN_ID
        || !ch
            .chain_id
            .chars()
            .all(|x| x.is_ascii_alphanumeric() || "-_.".contains(x))
    {
        c.error(
            "/chain/chain_id",
            format!("chain ID `{}` is invalid", ch.chain_id),
            ch.chain_id.as_str(),
            format!("use 1–{MAX_CHAIN_ID} letters, digits, `-`, `_` or `.`, e.g. `duality-1`"),
        );
    }
    if ch.binary.is_empty()
        || !ch
            .binary
            .chars()
            .all(|x| x.is_ascii_alphanumeric() || "-_.".contains(x))
    {
        c.error(
            "/chain/binary",
            format!("binary `{}` is not a plain program name", ch.binary),
            ch.binary.as_str(),
            "name the executable on the image's PATH, e.g. `dualityd`",
        );
    }
    pinned_image(c, "/chain/image", &ch.image);
    if let Some(image) = &ch.archive_image {
        pinned_image(c, "/chain/archive_image", image);
    }
    if let Some(home) = &ch.home {
        if !home.starts_with('/') {
            c.error(
                "/chain/home",
                format!("home `{home}` is not an absolute path"),
                home.as_str(),
                "use an absolute path inside the image, e.g. `/root/.duality`",
            );
        } else if !is_plain_path(home) {
            // The home reaches the Dockerfile, the entrypoint and every target's launch
            // arguments: a plain path needs no quoting in any of them.
            c.error(
                "/chain/home",
                format!("home `{home}` is not a plain path"),
                home.as_str(),
                "use only letters, digits, `/`, `.`, `_` and `-`, without `..`, e.g. `/root/.duality`",
            );
        }
    }
}

/// Docker's image reference grammar (distribution/reference): `[host[:port]/]path[:tag][@digest]`,
/// path components of lowercase letters and digits joined by `.`, `_`, `__` or `-`; a tag
/// of at most 128 word characters, `.` and `-`, not starting with `.` or `-`.
fn is_image_reference(image: &str) -> bool {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let Some((alg, hex)) = d.split_once(':') else {
            return false;
        };
        let alg_ok = !alg.is_empty()
            && alg
                .chars()
                .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || "+.-_".contains(x));
        if !alg_ok || hex.len() < 32 || !hex.chars().all(|x| x.is_ascii_hexdigit()) {
            return false;
        }
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let word = |x: char| x.is_ascii_alphanumeric() || x == '_';
        if t.is_empty()
            || t.len() > 128
            || !t.starts_with(word)
            || !t.chars().all(|x| word(x) || x == '.' || x == '-')
        {
            return false;
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (h, port) = match host.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        let host_ok = !h.is_empty()
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|x| x.is_ascii_alphanumeric() || x == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|x| x.is_ascii_digit()));
        if !host_ok || !port_ok {
            return false;
        }
    }
    !name.is_empty()
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || "._-".contains(x))
                && p.starts_with(|x: char| x.is_ascii_alphanumeric())
                && p.ends_with(|x: char| x.is_ascii_alphanumeric())
        })
}

/// `image` (at `ptr`) is an image reference pinned by tag (not `latest`) or digest.
pub(super) fn pinned_image(c: &mut Checker<'_>, ptr: &str, image: &str) {
    let last = image.rsplit('/').next().unwrap_or(image);
    let has_digest = image.contains("@sha256:");
    let tag = last.split_once(':').map(|(_, t)| t);
    if !is_image_reference(image) {
        // The image reaches the Dockerfile's FROM (where Docker substitutes `$VAR`), compose,
        // the chart's values and CloudFormation: Docker's own grammar needs no quoting there.
        c.error(
            ptr,
            format!("image `{image}` is not an image reference"),
            image,
            "write `registry/name:tag` or `name@sha256:…` (lowercase name; tag of letters, digits, `_`, `.`, `-`)",
        );
    } else if !has_digest && (tag.is_none() || tag == Some("latest")) {
        c.error(
            ptr,
            format!("image `{image}` is not pinned"),
            image,
            "pin a version tag (e.g. `:v0.5.0`) or a digest; `latest` changes under you",
        );
    }
}

/// An absolute path of letters, digits, `/`, `.`, `_` and `-`, with no `..` component.
fn is_plain_path(p: &str) -> bool {
    p.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
        && !p.split('/').any(|part| part == "..")
}

/// Genesis time, denom and bech32 prefix.
fn genesis(c: &mut Checker<'_>, spec: &Spec) {
    let ch = &spec.chain;
    if let Some(t) = &ch.genesis_time {
        if !is_rfc3339(t) {
            c.error(
                "/chain/genesis_time",
                format!("genesis time `{t}` is not RFC 3339"),
                t.as_str(),
                "write e.g. `2026-12-01T00:00:00Z`",
            );
        }
    }
    if let Some(d) = &ch.denom {
        if !valid_denom(d) {
            c.error(
                "/chain/denom",
                format!("denom `{d}` is invalid"),
                d.as_str(),
                "a letter then 2–127 letters, digits or `/:._-`, e.g. `stake`, `uatom`",
            );
        }
    }
    if let Some(h) = ch.initial_height {
        if !matches!(ch.family, Family::Cosmos | Family::Cometbft) {
            c.error(
                "/chain/initial_height",
                format!(
                    "`initial_height` applies to Cosmos SDK and CometBFT chains, not {}",
                    family_name(ch.family)
                ),
                h.to_string(),
                "remove it",
            );
        } else if h > i64::MAX as u64 {
            c.error(
                "/chain/initial_height",
                format!("initial height {h} does not fit CometBFT's int64 heights"),
                h.to_string(),
                "use a height below 2^63",
            );
        }
    }
    // On another family `display_denom` is refused as a whole (`family::`).
    if let Some(d) = ch
        .display_denom
        .as_ref()
        .filter(|_| ch.family == Family::Cosmos)
    {
        let base = ch.denom.as_deref().unwrap_or("stake");
        if !valid_denom(&d.name) {
            c.error(
                "/chain/display_denom/name",
                format!("display denom `{}` is invalid", d.name),
                d.name.as_str(),
                "a letter then 2–127 letters, digits or `/:._-`, e.g. `atom`",
            );
        } else if d.name == base {
            c.error(
                "/chain/display_denom/name",
                format!("display denom `{}` is the base denom itself", d.name),
                d.name.as_str(),
                format!(
                    "name the larger unit, e.g. `{}` for `u{}`",
                    base.trim_start_matches('u'),
                    base.trim_start_matches('u')
                ),
            );
        }
        if let Some(sym) = &d.symbol {
            if sym.is_empty() || sym.len() > 20 || !sym.chars().all(|x| x.is_ascii_alphanumeric()) {
                c.error(
                    "/chain/display_denom/symbol",
                    format!("symbol `{sym}` is not a ticker"),
                    sym.as_str(),
                    "use 1–20 letters and digits, e.g. `ATOM`",
                );
            }
        }
    }
    if let Some(p) = &ch.bech32_prefix {
        if p.is_empty()
            || p.len() > 20
            || !p
                .chars()
                .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit())
        {
            c.error(
                "/chain/bech32_prefix",
                format!("bech32 prefix `{p}` is invalid"),
                p.as_str(),
                "use lowercase letters and digits, e.g. `cosmos`, `osmo`",
            );
        }
    }
}

/// Genesis accounts: DNS-safe unique names, at least one coin, one coin per denom.
fn accounts(c: &mut Checker<'_>, spec: &Spec) {
    let mut names = BTreeSet::new();
    for (i, a) in spec.chain.accounts.iter().enumerate() {
        let p = format!("/chain/accounts/{i}");
        c.dns_name(&format!("{p}/name"), "account name", &a.name, 40);
        if !names.insert(a.name.as_str()) {
            c.error(
                &format!("{p}/name"),
                format!("account `{}` is defined twice", a.name),
                a.name.as_str(),
                "account names must be unique",
            );
        }
        if a.coins.is_empty() && spec.chain.family != crate::spec::Family::Mina {
            c.error(
                &format!("{p}/coins"),
                format!("account `{}` has no coins", a.name),
                "[]",
                "give it a balance, e.g. `[1000000stake]`",
            );
        }
        let mut denoms = BTreeSet::new();
        for (j, coin) in a.coins.iter().enumerate() {
            match parse_coin(coin) {
                None => c.error(
                    &format!("{p}/coins/{j}"),
                    format!("`{coin}` is not a coin"),
                    coin.as_str(),
                    "write an amount and a denom, e.g. `1000000stake`",
                ),
                Some(k) if !denoms.insert(k.denom.clone()) => c.error(
                    &format!("{p}/coins/{j}"),
                    format!("denom `{}` appears twice in account `{}`", k.denom, a.name),
                    coin.as_str(),
                    "add the amounts into one coin",
                ),
                Some(_) => {}
            }
        }
    }
}

/// Minimum gas prices are decimal coins; genesis patch paths are JSON pointers.
fn fees_and_patches(c: &mut Checker<'_>, spec: &Spec) {
    let ch = &spec.chain;
    let denom = ch.denom.as_deref().unwrap_or("stake");
    if let Some(mgp) = &ch.minimum_gas_prices {
        let ok = mgp.split(',').all(|p| {
            let p = p.trim();
            let split = p
                .find(|x: char| !(x.is_ascii_digit() || x == '.'))
                .unwrap_or(p.len());
            split > 0 && p[..split].parse::<f64>().is_ok() && valid_denom(&p[split..])
        });
        if !ok {
            c.error(
                "/chain/minimum_gas_prices",
                format!("minimum gas prices `{mgp}` are not decimal coins"),
                mgp.as_str(),
                format!("write e.g. `0.025{denom}`"),
            );
        }
    }
    for (i, patch) in ch.genesis_patches.iter().enumerate() {
        if !patch.path.starts_with('/') {
            c.error(
                &format!("/chain/genesis_patches/{i}/path"),
                format!("genesis patch path `{}` is not a JSON pointer", patch.path),
                patch.path.as_str(),
                "start it with `/`, e.g. `/app_state/gov/params/voting_period`",
            );
        }
    }
}

/// The seed source is not empty; a public phrase is allowed with a warning.
fn keys(c: &mut Checker<'_>, spec: &Spec) {
    let Some(k) = &spec.keys else { return };
    let (field, v) = match &k.seed {
        SeedSource::Env(v) => ("env", v),
        SeedSource::File(v) => ("file", v),
        SeedSource::InsecurePhrase(v) => ("insecure_phrase", v),
    };
    if field == "insecure_phrase" && !v.is_empty() {
        c.warn(
            "/keys/seed/insecure_phrase",
            "every key of this network derives from a public phrase: anyone can recompute them",
            "fine for a throwaway devnet; for anything else use `env` or a git-ignored `file`",
        );
    }
    let env_name_ok = |n: &str| {
        n.starts_with(|x: char| x.is_ascii_alphabetic() || x == '_')
            && n.chars().all(|x| x.is_ascii_alphanumeric() || x == '_')
    };
    if field == "env" && !v.is_empty() && !env_name_ok(v) {
        // It is read from the environment and shown in `export NAME=…` hints.
        c.error(
            "/keys/seed/env",
            format!("seed variable name `{v}` is not an environment variable name"),
            v.as_str(),
            "use letters, digits and `_`, not starting with a digit, e.g. `CHAINFLEET_SEED`",
        );
    }
    if v.is_empty() {
        c.error(
            &format!("/keys/seed/{field}"),
            format!("seed {field} is empty"),
            "",
            "name an environment variable or a git-ignored file",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::is_image_reference;

    #[test]
    fn image_references() {
        for ok in [
            "cometbft/cometbft:v0.38.26",
            "ghcr.io/cosmos/simapp:v0.50.10",
            "localhost:5000/chain_node:1.0.0",
            "minaprotocol/mina-daemon:3.0.3-bullseye-devnet",
            "simapp",
            "registry.example.com/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_image_reference(ok), "{ok}");
        }
        for bad in [
            "",
            "example/x:1$(id)",
            "example/x:${TAG}",
            "Example/x:1",
            "example/x:.1",
            "example//x:1",
            "example/x:1\nRUN id",
            "example/x@sha256:zz",
            "example/x:",
        ] {
            assert!(!is_image_reference(bad), "{bad}");
        }
    }
}
