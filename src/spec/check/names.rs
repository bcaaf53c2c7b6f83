//! Names: DNS labels, RFC 3339 times, region and group names, and how roles and families
//! are spelled in the spec.

use std::collections::{BTreeMap, BTreeSet};

use super::{Checker, MAX_GROUP_NAME};
use crate::spec::{Family, Role, Spec};

/// True for an RFC 1123 label of at most `max` characters that starts with a letter.
pub fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Minimal RFC 3339 check: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` with field ranges.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days[mo as usize - 1]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => true,
        _ => {
            let r = rest.as_bytes();
            r.len() == 6
                && matches!(r[0], b'+' | b'-')
                && r[3] == b':'
                && rest[1..3].parse::<u32>().is_ok_and(|v| v < 24)
                && rest[4..6].parse::<u32>().is_ok_and(|v| v < 60)
        }
    }
}

/// The spelling of a role in the spec.
pub fn role_name(r: Role) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The spelling of a family in the spec.
pub fn family_name(f: Family) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The declared regions: DNS-safe, each listed once.
pub(super) fn regions(c: &mut Checker<'_>, spec: &Spec) {
    let mut seen = BTreeSet::new();
    for (i, r) in spec.regions.iter().enumerate() {
        c.dns_name(&format!("/regions/{i}"), "region", r, 40);
        if !seen.insert(r.as_str()) {
            c.error(
                &format!("/regions/{i}"),
                format!("region `{r}` is listed twice"),
                r.as_str(),
                "list each region once",
            );
        }
    }
}

/// Regions groups may use: the declared ones, or the implicit `local`.
pub(super) fn declared_regions(spec: &Spec) -> Vec<&str> {
    if spec.regions.is_empty() {
        vec!["local"]
    } else {
        spec.regions.iter().map(String::as_str).collect()
    }
}

/// At least one group; group names DNS-safe and unique (node names derive from them).
pub(super) fn groups(c: &mut Checker<'_>, spec: &Spec) {
    if spec.groups.is_empty() {
        c.error(
            "/groups",
            "the network has no node groups",
            "[]",
            "add a group, e.g. `- {name: validator, role: validator, count: 4}`",
        );
    }
    let mut first_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, g) in spec.groups.iter().enumerate() {
        let p = format!("/groups/{i}");
        c.dns_name(&format!("{p}/name"), "group name", &g.name, MAX_GROUP_NAME);
        if let Some(first) = first_of.insert(g.name.as_str(), i) {
            c.error(
                &format!("{p}/name"),
                format!("group name `{}` is used twice", g.name),
                g.name.as_str(),
                format!("group {first} already has this name; node names must be unique"),
            );
        }
    }
}

/// Group names by their last index, for references between groups (`behind`,
/// `coordinator`); a name used twice resolves to its last group, as it always has.
pub(super) fn group_index(spec: &Spec) -> BTreeMap<&str, usize> {
    spec.groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        for ok in ["2026-12-01T00:00:00Z", "2024-02-29T23:59:59.123+02:00"] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-12-01",
            "2026-12-01 00:00:00Z",
            "yesterday",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("duality-testnet", 40));
        assert!(!is_dns_label("Duality", 40));
        assert!(!is_dns_label("-x", 40));
        assert!(!is_dns_label("x-", 40));
        assert!(!is_dns_label("1x", 40));
    }
}
