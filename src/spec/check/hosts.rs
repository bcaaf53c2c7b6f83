//! Rules on the bare-metal target as written: machine names, addresses and logins that are
//! safe in an inventory, SSH and nftables; binaries with a SHA-256 and an https source; the
//! chain binary among them; `allow_from` networks. Node placement is checked on the
//! resolved network (`model::check::hosts`), where node names exist.

use std::collections::BTreeSet;

use super::Checker;
use crate::spec::parse::parse_cidr;
use crate::spec::{HostsTarget, Spec};

/// A POSIX login name as `useradd` accepts it by default (Debian's `NAME_REGEX`).
fn is_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// An IPv4 address or a DNS name: what SSH, nftables and the nodes' peer lists accept
/// without quoting.
fn is_address(s: &str) -> bool {
    if s.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && !s.chars().all(|c| c.is_ascii_digit() || c == '.')
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A file name for the install folder: no path, nothing a shell or template would read.
fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// An https URL with nothing Ansible, YAML or a shell would interpret.
fn is_download_url(s: &str) -> bool {
    s.strip_prefix("https://").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~/:@!&'()*+,;=%?".contains(c))
            && !rest.contains("{{")
    })
}

/// Check `targets.hosts`.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec, hosts: &HostsTarget) {
    let at = "/targets/hosts";
    if hosts.machines.is_empty() {
        c.error(
            &format!("{at}/machines"),
            "the hosts target lists no machines",
            "",
            "add `- { name: node-a, address: 10.0.0.11 }`",
        );
    }
    let mut names = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    for (i, m) in hosts.machines.iter().enumerate() {
        let ptr = format!("{at}/machines/{i}");
        c.dns_name(&format!("{ptr}/name"), "machine name", &m.name, 63);
        if !names.insert(m.name.as_str()) {
            c.error(
                &format!("{ptr}/name"),
                format!("machine `{}` is listed twice", m.name),
                m.name.as_str(),
                "give every machine its own name",
            );
        }
        if !is_address(&m.address) {
            c.error(
                &format!("{ptr}/address"),
                format!("`{}` is not an IPv4 address or a DNS name", m.address),
                m.address.as_str(),
                "write e.g. `10.0.0.11` or `node-a.example.com`",
            );
        } else if !addresses.insert(m.address.as_str()) {
            c.error(
                &format!("{ptr}/address"),
                format!("address `{}` belongs to two machines", m.address),
                m.address.as_str(),
                "list each machine once and put all of its nodes in its `nodes`",
            );
        }
        if let Some(u) = &m.ssh_user {
            login(c, &format!("{ptr}/ssh_user"), u);
        }
    }
    login(c, &format!("{at}/ssh_user"), &hosts.ssh_user);
    login(c, &format!("{at}/service_user"), &hosts.service_user);
    if hosts.service_user == "root" {
        c.error(
            &format!("{at}/service_user"),
            "nodes must not run as root",
            "root",
            "leave `service_user` out (default `chainfleet`) or name an unprivileged user",
        );
    }
    binaries(c, spec, hosts);
    for (i, cidr) in hosts.allow_from.iter().enumerate() {
        if parse_cidr(cidr).is_none() {
            c.error(
                &format!("{at}/allow_from/{i}"),
                format!("`{cidr}` is not an IPv4 network"),
                cidr.as_str(),
                "write a CIDR, e.g. `10.0.5.0/24` or `203.0.113.7/32`",
            );
        }
    }
}

fn login(c: &mut Checker<'_>, ptr: &str, user: &str) {
    if !is_login(user) {
        c.error(
            ptr,
            format!("`{user}` is not a valid login name"),
            user,
            "use lowercase letters, digits, `_` and `-`, starting with a letter or `_` (at most 32)",
        );
    }
}

fn binaries(c: &mut Checker<'_>, spec: &Spec, hosts: &HostsTarget) {
    let at = "/targets/hosts/binaries";
    let mut seen = BTreeSet::new();
    for (i, b) in hosts.binaries.iter().enumerate() {
        let ptr = format!("{at}/{i}");
        if !is_file_name(&b.name) {
            c.error(
                &format!("{ptr}/name"),
                format!("`{}` is not a plain file name", b.name),
                b.name.as_str(),
                "use letters, digits, `.`, `_` and `-` (no `/`), e.g. `simd`",
            );
        } else if !seen.insert(b.name.as_str()) {
            c.error(
                &format!("{ptr}/name"),
                format!("binary `{}` is listed twice", b.name),
                b.name.as_str(),
                "list each binary once",
            );
        }
        if b.sha256.len() != 64 || !b.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            c.error(
                &format!("{ptr}/sha256"),
                "a SHA-256 is 64 hexadecimal digits",
                b.sha256.as_str(),
                format!("write the output of `sha256sum {}`", b.name),
            );
        }
        if let Some(url) = &b.url {
            if !is_download_url(url) {
                c.error(
                    &format!("{ptr}/url"),
                    format!("`{url}` is not an https URL chainfleet can pass on safely"),
                    url.as_str(),
                    "use an https:// URL without spaces, quotes or `{{`, or leave `url` out to copy the file from the control machine",
                );
            }
        }
    }
    let chain_binary = &spec.chain.binary;
    if !hosts.binaries.iter().any(|b| &b.name == chain_binary) {
        c.error(
            at,
            format!("the chain binary `{chain_binary}` is not among the binaries to install"),
            "",
            format!("add `- {{ name: {chain_binary}, sha256: <sha256sum of it> }}`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_logins() {
        assert!(is_address("10.0.0.11"));
        assert!(is_address("node-a.example.com"));
        assert!(is_address("kvstore-a"));
        assert!(!is_address("10.0.0.300"));
        assert!(!is_address("a b"));
        assert!(!is_address("$(touch x)"));
        assert!(!is_address("{{ x }}"));
        assert!(is_login("debian"));
        assert!(is_login("_ops-1"));
        assert!(!is_login("Root"));
        assert!(!is_login("a;b"));
        assert!(is_download_url("https://example.com/simd-v1?x=1"));
        assert!(!is_download_url("http://example.com/simd"));
        assert!(!is_download_url("https://example.com/{{ x }}"));
        assert!(!is_download_url("https://example.com/a b"));
    }
}
