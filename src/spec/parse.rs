//! Parsers for the small value syntaxes a spec uses: coins, sizes, denoms and IPv4 CIDRs.
//! They live in the spec layer so checking and resolution share one definition.

use std::net::Ipv4Addr;

use serde::Serialize;

/// A coin amount such as `100000000stake`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Coin {
    /// Amount in base units.
    pub amount: u128,
    /// Denomination.
    pub denom: String,
}

impl std::fmt::Display for Coin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.amount, self.denom)
    }
}

/// Parse `1000stake` into a coin. `None` when the text is not a coin.
pub fn parse_coin(text: &str) -> Option<Coin> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (amount, denom) = text.split_at(split);
    if amount.is_empty() || !valid_denom(denom) {
        return None;
    }
    Some(Coin {
        amount: amount.parse().ok()?,
        denom: denom.to_string(),
    })
}

/// Cosmos SDK denom syntax: a letter, then 2–127 of letters, digits, `/:._-`.
pub fn valid_denom(d: &str) -> bool {
    let mut chars = d.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && (3..=128).contains(&d.len())
        && chars.all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c))
}

/// Parse a Cosmos SDK decimal such as `0.05` or `1` into its 10^18-scaled integer
/// (`LegacyDec` atomics). `None` when it is not a plain decimal with at most 18 fractional
/// digits.
pub fn parse_dec18(text: &str) -> Option<u128> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 18 {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let int: u128 = int.parse().ok()?;
    let frac: u128 = format!("{frac:0<18}").parse().ok()?;
    int.checked_mul(1_000_000_000_000_000_000)?
        .checked_add(frac)
}

/// Parse `512Mi` / `4Gi` / `1Ti` into MiB.
pub fn parse_mebibytes(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let factor = match unit {
        "Mi" => 1,
        "Gi" => 1024,
        "Ti" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor).filter(|v| *v > 0)
}

/// Parse an IPv4 CIDR `a.b.c.d/n` into its network address and prefix length.
pub fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = text.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((Ipv4Addr::from(u32::from(addr) & mask), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(
            parse_coin("100stake"),
            Some(Coin {
                amount: 100,
                denom: "stake".into()
            })
        );
        assert_eq!(parse_coin("stake"), None);
        assert_eq!(parse_coin("10st"), None);
        assert_eq!(parse_mebibytes("4Gi"), Some(4096));
        assert_eq!(parse_mebibytes("4GB"), None);
        assert_eq!(
            parse_cidr("172.28.0.7/24"),
            Some((Ipv4Addr::new(172, 28, 0, 0), 24))
        );
        assert_eq!(parse_cidr("300.1.1.1/24"), None);
    }
}
