//! Checks of the Mina genesis ledger fields: group `balance`/`delegate` and account
//! `balance`/`delegate` (amounts in MINA, delegation to a block producer node).

use super::{family_name, role_name, Checker};
use crate::spec::{Family, Role, Spec};

/// nanomina in one MINA (Mina's `Currency` has 9 decimals).
pub const NANOMINA_PER_MINA: u64 = 1_000_000_000;

/// Parse a MINA amount (`1000`, `0.5`, at most 9 fractional digits) into nanomina; `None`
/// when it is not one or does not fit Mina's 64-bit balance.
pub fn parse_mina(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    if text.contains('.') && frac.is_empty() {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac: u64 = format!("{frac:0<9}").parse().ok()?;
    whole.checked_mul(NANOMINA_PER_MINA)?.checked_add(frac)
}

/// Names of the block producer nodes a spec expands to.
fn producer_nodes(spec: &Spec) -> Vec<String> {
    spec.groups
        .iter()
        .filter(|g| g.role == Role::BlockProducer)
        .flat_map(|g| (0..g.count).map(move |i| format!("{}-{i}", g.name)))
        .collect()
}

pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    let mina = spec.chain.family == Family::Mina;
    let producers = producer_nodes(spec);
    let delegate = |c: &mut Checker<'_>, ptr: &str, d: &str| {
        if !producers.iter().any(|p| p == d) {
            let hint = if producers.is_empty() {
                "the network has no block producer group".to_string()
            } else {
                format!("name a block producer node: {}", producers.join(", "))
            };
            c.error(ptr, format!("`{d}` is not a block producer node"), d, hint);
        }
    };
    let balance = |c: &mut Checker<'_>, ptr: &str, b: &str| {
        if parse_mina(b).is_none() {
            c.error(
                ptr,
                format!("balance `{b}` is not an amount of MINA"),
                b,
                "write a decimal with at most 9 fractional digits, e.g. `1000` or `0.5`",
            );
        }
    };
    for (i, g) in spec.groups.iter().enumerate() {
        let p = format!("/groups/{i}");
        if let Some(b) = &g.balance {
            let ptr = format!("{p}/balance");
            if !mina || !matches!(g.role, Role::BlockProducer | Role::SnarkCoordinator) {
                c.error(
                    &ptr,
                    format!(
                        "`balance` is set on group `{}` ({} {}), but only Mina block producers and SNARK coordinators have genesis accounts",
                        g.name,
                        family_name(spec.chain.family),
                        role_name(g.role)
                    ),
                    b.as_str(),
                    "remove it",
                );
            } else {
                balance(c, &ptr, b);
            }
        }
        if let Some(d) = &g.delegate {
            let ptr = format!("{p}/delegate");
            if !mina || g.role != Role::BlockProducer {
                c.error(
                    &ptr,
                    format!(
                        "`delegate` is set on group `{}`, but only Mina block producers delegate at genesis",
                        g.name
                    ),
                    d.as_str(),
                    "remove it",
                );
            } else {
                delegate(c, &ptr, d);
            }
        }
    }
    for (i, a) in spec.chain.accounts.iter().enumerate() {
        let p = format!("/chain/accounts/{i}");
        match (mina, &a.balance) {
            (true, None) => c.error(
                &format!("{p}/name"),
                format!("Mina account `{}` has no `balance`", a.name),
                a.name.as_str(),
                "give it a balance in MINA, e.g. `balance: \"1000\"`",
            ),
            (true, Some(b)) => balance(c, &format!("{p}/balance"), b),
            (false, Some(b)) => c.error(
                &format!("{p}/balance"),
                "`balance` applies to Mina accounts; Cosmos accounts list `coins`",
                b.as_str(),
                "write the balance as `coins: [1000000stake]`",
            ),
            (false, None) => {}
        }
        if mina && !a.coins.is_empty() {
            c.error(
                &format!("{p}/coins"),
                "`coins` applies to Cosmos accounts; a Mina account has a `balance` in MINA",
                a.coins.join(","),
                "write `balance: \"1000\"` instead",
            );
        }
        if let Some(d) = &a.delegate {
            let ptr = format!("{p}/delegate");
            if mina {
                delegate(c, &ptr, d);
            } else {
                c.error(
                    &ptr,
                    "`delegate` applies to Mina accounts",
                    d.as_str(),
                    "remove it",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mina_amounts() {
        assert_eq!(parse_mina("1000"), Some(1_000 * NANOMINA_PER_MINA));
        assert_eq!(parse_mina("0.5"), Some(500_000_000));
        assert_eq!(parse_mina("0.000000001"), Some(1));
        assert_eq!(parse_mina("0.0000000001"), None);
        assert_eq!(parse_mina("1."), None);
        assert_eq!(parse_mina(".5"), None);
        assert_eq!(parse_mina("-1"), None);
        assert_eq!(parse_mina("1e3"), None);
        assert_eq!(parse_mina("18446744074"), None);
        assert_eq!(parse_mina("18446744073.709551615"), Some(u64::MAX));
    }
}
