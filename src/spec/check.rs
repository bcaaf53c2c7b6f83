//! Semantic rules the schema cannot express: names, references between groups, roles per
//! family, coins, regions, ports and addresses. Every rule reports every violation, each
//! pointing at the value the user wrote.

use std::collections::{BTreeMap, BTreeSet};

use super::load::Document;
use super::{Family, Role, Spec};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Pos};
use crate::model::ports::{family_port_names, family_ports, family_roles, required_signer};
use crate::model::resolve::{parse_cidr, parse_coin, parse_mebibytes, COMPOSE_FIRST_NODE_OFFSET};
use crate::model::LOCAL_PORT_STRIDE;

/// Longest network name (it prefixes stack, chart and resource names).
pub const MAX_NETWORK_NAME: usize = 40;
/// Longest group name (node names add `-<ordinal>`; Kubernetes names stop at 63).
pub const MAX_GROUP_NAME: usize = 40;
/// CometBFT's chain ID limit.
pub const MAX_CHAIN_ID: usize = 50;

mod mina;
pub use mina::{parse_mina, NANOMINA_PER_MINA};

struct Checker<'a> {
    file: &'a str,
    doc: &'a Document,
    diags: Diagnostics,
}

impl Checker<'_> {
    fn at(&self, ptr: &str) -> Option<Pos> {
        Some(
            self.doc
                .spans
                .value(ptr)
                .unwrap_or_else(|| self.doc.spans.nearest(ptr)),
        )
    }

    fn error(
        &mut self,
        ptr: &str,
        message: impl Into<String>,
        value: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let value = value.into();
        let mut d = Diagnostic::error(self.file, self.at(ptr), message).with_hint(hint);
        if !value.is_empty() {
            d = d.with_value(value);
        }
        self.diags.push(d);
    }

    fn warn(&mut self, ptr: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::warning(self.file, self.at(ptr), message).with_hint(hint);
        self.diags.push(d);
    }

    fn dns_name(&mut self, ptr: &str, what: &str, name: &str, max: usize) {
        if !is_dns_label(name, max) {
            self.error(
                ptr,
                format!("{what} `{name}` is not DNS-safe"),
                name,
                format!("use 1–{max} lowercase letters, digits and `-`, starting with a letter and not ending with `-`"),
            );
        }
    }
}

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

/// The semantic problems of a spec whose schema problems are all unknown keys: without
/// them it would pass the schema, so its other problems are reported in the same run.
/// Returns nothing when the spec has other schema problems (the checks need typed data).
pub fn check_without_unknown_fields(file: &str, doc: &Document) -> Diagnostics {
    let stripped = Document {
        value: super::schema::strip_unknown_fields(&doc.value),
        spans: doc.spans.clone(),
    };
    if super::schema::validate(file, &stripped).has_errors() {
        return Diagnostics::default();
    }
    match serde_json::from_value::<Spec>(stripped.value.clone()) {
        Ok(spec) => check(file, &stripped, &spec),
        Err(_) => Diagnostics::default(),
    }
}

/// Check a spec that passed schema validation.
pub fn check(file: &str, doc: &Document, spec: &Spec) -> Diagnostics {
    let mut c = Checker {
        file,
        doc,
        diags: Diagnostics::default(),
    };
    let family = spec.chain.family;

    c.dns_name("/name", "network name", &spec.name, MAX_NETWORK_NAME);
    check_chain(&mut c, spec);
    mina::check(&mut c, spec);

    // Regions.
    let mut seen_regions = BTreeSet::new();
    for (i, r) in spec.regions.iter().enumerate() {
        c.dns_name(&format!("/regions/{i}"), "region", r, 40);
        if !seen_regions.insert(r.as_str()) {
            c.error(
                &format!("/regions/{i}"),
                format!("region `{r}` is listed twice"),
                r.as_str(),
                "list each region once",
            );
        }
    }
    let declared: Vec<&str> = if spec.regions.is_empty() {
        vec!["local"]
    } else {
        spec.regions.iter().map(String::as_str).collect()
    };

    // Groups: names, roles, references.
    if spec.groups.is_empty() {
        c.error(
            "/groups",
            "the network has no node groups",
            "[]",
            "add a group, e.g. `- {name: validator, role: validator, count: 4}`",
        );
    }
    let mut group_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, g) in spec.groups.iter().enumerate() {
        let p = format!("/groups/{i}");
        c.dns_name(&format!("{p}/name"), "group name", &g.name, MAX_GROUP_NAME);
        if let Some(first) = group_index.insert(g.name.as_str(), i) {
            c.error(
                &format!("{p}/name"),
                format!("group name `{}` is used twice", g.name),
                g.name.as_str(),
                format!("group {first} already has this name; node names must be unique"),
            );
        }
    }
    let roles = family_roles(family);
    let port_names = family_port_names(family);
    for (i, g) in spec.groups.iter().enumerate() {
        let p = format!("/groups/{i}");
        if !roles.contains(&g.role) {
            let names: Vec<String> = roles.iter().map(|r| role_name(*r)).collect();
            c.error(
                &format!("{p}/role"),
                format!(
                    "role `{}` does not exist in a {} network",
                    role_name(g.role),
                    family_name(family)
                ),
                role_name(g.role),
                format!("roles for {}: {}", family_name(family), names.join(", ")),
            );
        }
        if g.count == 0 {
            c.error(
                &format!("{p}/count"),
                format!("group `{}` has no nodes", g.name),
                "0",
                "set `count` to 1 or more, or remove the group",
            );
        }
        for (j, r) in g.regions.iter().enumerate() {
            if !declared.contains(&r.as_str()) {
                let hint = match did_you_mean(r, declared.iter().copied()) {
                    Some(s) => format!(
                        "did you mean `{s}`? declared regions: {}",
                        declared.join(", ")
                    ),
                    None => format!(
                        "declared regions: {}; add it to the top-level `regions`",
                        declared.join(", ")
                    ),
                };
                c.error(
                    &format!("{p}/regions/{j}"),
                    format!(
                        "group `{}` is placed in region `{r}`, which `regions` does not list",
                        g.name
                    ),
                    r.as_str(),
                    hint,
                );
            }
        }
        // Stake.
        if let Some(stake) = &g.stake {
            let sp = format!("{p}/stake");
            match parse_coin(stake) {
                None => c.error(
                    &sp,
                    format!("stake `{stake}` is not a coin"),
                    stake.as_str(),
                    "write an amount and a denom, e.g. `100000000stake`",
                ),
                Some(coin) => {
                    let denom = spec.chain.denom.as_deref().unwrap_or("stake");
                    if coin.denom != denom {
                        c.error(
                            &sp,
                            format!(
                                "stake is in `{}`, but the chain's staking denom is `{denom}`",
                                coin.denom
                            ),
                            stake.as_str(),
                            format!("write the stake in `{denom}`"),
                        );
                    } else if matches!(family, Family::Cosmos) && coin.amount < 1_000_000 {
                        c.error(
                            &sp,
                            "stake below 1000000 gives the validator no voting power",
                            stake.as_str(),
                            "the SDK's power reduction is 10^6: stake at least 1000000",
                        );
                    }
                }
            }
            if g.role != Role::Validator {
                c.error(
                    &sp,
                    format!(
                        "`stake` is set on group `{}`, whose role is `{}`",
                        g.name,
                        role_name(g.role)
                    ),
                    stake.as_str(),
                    "only validators stake at genesis; remove it",
                );
            }
        }
        // Sentry topology.
        if let Some(behind) = &g.behind {
            let bp = format!("{p}/behind");
            if g.role != Role::Validator {
                c.error(
                    &bp,
                    format!(
                        "`behind` is set on group `{}`, which is not a validator group",
                        g.name
                    ),
                    behind.as_str(),
                    "only validators hide behind sentries",
                );
            }
            match group_index.get(behind.as_str()).map(|k| &spec.groups[*k]) {
                None => {
                    let hint = match did_you_mean(behind, group_index.keys().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "name a group with role `sentry`".into(),
                    };
                    c.error(
                        &bp,
                        format!("sentry group `{behind}` does not exist"),
                        behind.as_str(),
                        hint,
                    );
                }
                Some(s) if s.role != Role::Sentry => {
                    c.error(
                        &bp,
                        format!(
                            "group `{behind}` has role `{}`, not `sentry`",
                            role_name(s.role)
                        ),
                        behind.as_str(),
                        "validators must sit behind a group with role `sentry`",
                    );
                }
                Some(_) => {}
            }
        }
        // SNARK workers.
        match (&g.coordinator, g.role) {
            (None, Role::SnarkWorker) => {
                c.error(
                    &format!("{p}/role"),
                    format!("SNARK worker group `{}` has no `coordinator`", g.name),
                    g.name.as_str(),
                    "add `coordinator: <snark_coordinator group>`",
                );
            }
            (Some(coord), role) => {
                let cp = format!("{p}/coordinator");
                if role != Role::SnarkWorker {
                    c.error(
                        &cp,
                        format!(
                            "`coordinator` is set on group `{}`, which is not a SNARK worker pool",
                            g.name
                        ),
                        coord.as_str(),
                        "only `snark_worker` groups attach to a coordinator",
                    );
                }
                match group_index.get(coord.as_str()).map(|k| &spec.groups[*k]) {
                    None => {
                        let hint = match did_you_mean(coord, group_index.keys().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "name a group with role `snark_coordinator`".into(),
                        };
                        c.error(
                            &cp,
                            format!("coordinator group `{coord}` does not exist"),
                            coord.as_str(),
                            hint,
                        );
                    }
                    Some(s) if s.role != Role::SnarkCoordinator => {
                        c.error(
                            &cp,
                            format!(
                                "group `{coord}` has role `{}`, not `snark_coordinator`",
                                role_name(s.role)
                            ),
                            coord.as_str(),
                            "point the pool at a `snark_coordinator` group",
                        );
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
        if let Some(fee) = &g.snark_fee {
            if fee
                .parse::<f64>()
                .map_or(true, |f| !f.is_finite() || f < 0.0)
            {
                c.error(
                    &format!("{p}/snark_fee"),
                    format!("SNARK fee `{fee}` is not a number"),
                    fee.as_str(),
                    "write a decimal such as `0.01`",
                );
            }
        }
        if g.role == Role::Custom && g.command.is_empty() {
            c.error(
                &format!("{p}/role"),
                format!("custom group `{}` has no `command`", g.name),
                g.name.as_str(),
                "custom nodes run the chain binary with the arguments in `command`",
            );
        }
        // Resources.
        if let Some(r) = &g.resources {
            if let Some(cpu) = r.cpu {
                if !(cpu > 0.0 && cpu <= 192.0) {
                    c.error(
                        &format!("{p}/resources/cpu"),
                        format!("cpu `{cpu}` is out of range"),
                        cpu.to_string(),
                        "use a positive number of vCPUs such as 0.5, 1 or 4",
                    );
                }
            }
            for (key, val) in [("memory", &r.memory), ("storage", &r.storage)] {
                if let Some(v) = val {
                    if parse_mebibytes(v).is_none() {
                        c.error(
                            &format!("{p}/resources/{key}"),
                            format!("{key} `{v}` is not a size"),
                            v.as_str(),
                            "write a whole number with Mi, Gi or Ti, e.g. `4Gi`",
                        );
                    }
                }
            }
        }
        // Ports.
        for (key, map_name) in [
            ("ports", &g.ports.keys().collect::<Vec<_>>()),
            ("expose", &g.expose.keys().collect()),
            ("host_ports", &g.host_ports.keys().collect()),
        ] {
            for name in map_name.iter() {
                if !port_names.contains(&name.as_str()) {
                    let hint = match did_you_mean(name, port_names.iter().copied()) {
                        Some(s) => format!(
                            "did you mean `{s}`? {} ports: {}",
                            family_name(family),
                            port_names.join(", ")
                        ),
                        None => format!("{} ports: {}", family_name(family), port_names.join(", ")),
                    };
                    let ptr = format!("{p}/{key}/{name}");
                    let pos = doc.spans.key(&ptr);
                    let d = Diagnostic::error(
                        file,
                        pos.or(c.at(&ptr)),
                        format!("unknown port `{name}` in `{key}` of group `{}`", g.name),
                    )
                    .with_value(name.to_string())
                    .with_hint(hint);
                    c.diags.push(d);
                }
            }
        }
        let mut numbers: BTreeMap<u16, &str> = BTreeMap::new();
        for def in family_ports(family, g.role) {
            let n = g.ports.get(def.name).copied().unwrap_or(def.default);
            if n == 0 {
                c.error(
                    &format!("{p}/ports/{}", def.name),
                    format!("port `{}` of group `{}` is 0", def.name, g.name),
                    "0",
                    "use a port from 1 to 65535",
                );
            } else if let Some(other) = numbers.insert(n, def.name) {
                c.error(
                    &format!("{p}/ports/{}", def.name),
                    format!(
                        "ports `{other}` and `{}` of group `{}` are both {n}",
                        def.name, g.name
                    ),
                    n.to_string(),
                    "give each port its own number",
                );
            }
        }
        if !g.host_ports.is_empty() && g.count > 1 {
            c.error(&format!("{p}/host_ports"), format!("group `{}` pins host ports but has {} nodes", g.name, g.count), g.count.to_string(), "pin host ports only on groups of one node; others get ports from the target's base_port");
        }
        for (key, v) in &g.config {
            config_key(&mut c, &format!("{p}/config/{key}"), key, v);
        }
        for (key, v) in &g.app_config {
            config_key(&mut c, &format!("{p}/app_config/{key}"), key, v);
        }
        for k in g.env.keys() {
            if k.is_empty()
                || !k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                || k.starts_with(|ch: char| ch.is_ascii_digit())
            {
                c.error(
                    &format!("{p}/env/{k}"),
                    format!("environment variable name `{k}` is invalid"),
                    k.as_str(),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
        }
        if let Some(list) = &g.assetchains {
            if family != Family::Komodo {
                c.error(
                    &format!("{p}/assetchains"),
                    "`assetchains` is for Komodo networks",
                    "…",
                    "remove it",
                );
            }
            for (j, a) in list.iter().enumerate() {
                if !spec.chain.assetchains.iter().any(|x| &x.name == a) {
                    c.error(
                        &format!("{p}/assetchains/{j}"),
                        format!("assetchain `{a}` is not defined in `chain.assetchains`"),
                        a.as_str(),
                        "define it under chain.assetchains or remove it",
                    );
                }
            }
        }
    }

    // A chain that signs blocks needs a signer.
    if let Some(signer) = required_signer(family) {
        if !spec.groups.iter().any(|g| g.role == signer) && !spec.groups.is_empty() {
            c.error(
                "/groups",
                format!(
                    "a {} network needs at least one `{}` group",
                    family_name(family),
                    role_name(signer)
                ),
                format!(
                    "roles present: {}",
                    spec.groups
                        .iter()
                        .map(|g| role_name(g.role))
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!("add a group with `role: {}`", role_name(signer)),
            );
        }
    }
    check_host_ports(&mut c, spec);
    check_targets(&mut c, spec);
    check_monitoring(&mut c, spec);
    c.diags
}

fn config_key(c: &mut Checker<'_>, ptr: &str, key: &str, value: &serde_json::Value) {
    let ok = !key.is_empty()
        && key.split('.').all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        });
    if !ok {
        let pos = c.doc.spans.key(ptr);
        let d = Diagnostic::error(
            c.file,
            pos.or(c.at(ptr)),
            format!("config key `{key}` is not a dotted TOML path"),
        )
        .with_value(key.to_string())
        .with_hint("write `section.key`, e.g. `consensus.timeout_commit`");
        c.diags.push(d);
    }
    if value.is_null() || value.is_object() {
        c.error(
            ptr,
            format!("config value for `{key}` must be a string, number, boolean or list"),
            value.to_string(),
            "write the TOML value, e.g. `\"2s\"` or `true`",
        );
    }
}

fn check_chain(c: &mut Checker<'_>, spec: &Spec) {
    let ch = &spec.chain;
    let family = ch.family;
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
    let image = &ch.image;
    let last = image.rsplit('/').next().unwrap_or(image);
    let has_digest = image.contains("@sha256:");
    let tag = last.split_once(':').map(|(_, t)| t);
    if image.is_empty() || image.contains(char::is_whitespace) {
        c.error(
            "/chain/image",
            format!("image `{image}` is not an image reference"),
            image.as_str(),
            "write `registry/name:tag` or `name@sha256:…`",
        );
    } else if !has_digest && (tag.is_none() || tag == Some("latest")) {
        c.error(
            "/chain/image",
            format!("image `{image}` is not pinned"),
            image.as_str(),
            "pin a version tag (e.g. `:v0.5.0`) or a digest; `latest` changes under you",
        );
    }
    if let Some(home) = &ch.home {
        if !home.starts_with('/') {
            c.error(
                "/chain/home",
                format!("home `{home}` is not an absolute path"),
                home.as_str(),
                "use an absolute path inside the image, e.g. `/root/.duality`",
            );
        }
    }
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
    let denom = ch.denom.as_deref().unwrap_or("stake");
    if let Some(d) = &ch.denom {
        if !crate::model::resolve::valid_denom(d) {
            c.error(
                "/chain/denom",
                format!("denom `{d}` is invalid"),
                d.as_str(),
                "a letter then 2–127 letters, digits or `/:._-`, e.g. `stake`, `uatom`",
            );
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
    let cosmos_only: [(&str, bool); 5] = [
        ("sdk", ch.sdk.is_some()),
        ("app_state_template", ch.app_state_template.is_some()),
        ("bech32_prefix", ch.bech32_prefix.is_some()),
        ("minimum_gas_prices", ch.minimum_gas_prices.is_some()),
        // Mina accounts are checked in `mina::check`.
        (
            "accounts",
            !ch.accounts.is_empty() && family != Family::Mina,
        ),
    ];
    if family != Family::Cosmos {
        for (field, set) in cosmos_only {
            if set {
                c.error(
                    &format!("/chain/{field}"),
                    format!(
                        "`{field}` applies to Cosmos SDK chains, not {}",
                        family_name(family)
                    ),
                    field,
                    "remove it, or set `family: cosmos`",
                );
            }
        }
    }
    if family != Family::Komodo && !ch.assetchains.is_empty() {
        c.error(
            "/chain/assetchains",
            format!(
                "`assetchains` applies to Komodo, not {}",
                family_name(family)
            ),
            "assetchains",
            "remove it, or set `family: komodo`",
        );
    }
    let mut account_names = BTreeSet::new();
    for (i, a) in ch.accounts.iter().enumerate() {
        let p = format!("/chain/accounts/{i}");
        c.dns_name(&format!("{p}/name"), "account name", &a.name, 40);
        if !account_names.insert(a.name.as_str()) {
            c.error(
                &format!("{p}/name"),
                format!("account `{}` is defined twice", a.name),
                a.name.as_str(),
                "account names must be unique",
            );
        }
        if a.coins.is_empty() && family != Family::Mina {
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
    if let Some(mgp) = &ch.minimum_gas_prices {
        let ok = mgp.split(',').all(|p| {
            let p = p.trim();
            let split = p
                .find(|x: char| !(x.is_ascii_digit() || x == '.'))
                .unwrap_or(p.len());
            split > 0
                && p[..split].parse::<f64>().is_ok()
                && crate::model::resolve::valid_denom(&p[split..])
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
    let mut ac_names = BTreeSet::new();
    let mut ac_ports: BTreeMap<u16, String> = BTreeMap::new();
    for (i, a) in ch.assetchains.iter().enumerate() {
        let p = format!("/chain/assetchains/{i}");
        if a.name.is_empty()
            || a.name.len() > 64
            || !a.name.chars().all(|x| x.is_ascii_alphanumeric())
        {
            c.error(
                &format!("{p}/name"),
                format!("assetchain name `{}` is invalid", a.name),
                a.name.as_str(),
                "use letters and digits, e.g. `BEER`",
            );
        }
        if !ac_names.insert(a.name.as_str()) {
            c.error(
                &format!("{p}/name"),
                format!("assetchain `{}` is defined twice", a.name),
                a.name.as_str(),
                "assetchain names must be unique",
            );
        }
        for (field, port) in [("p2p_port", a.p2p_port), ("rpc_port", a.rpc_port)] {
            if port == 0 {
                c.error(
                    &format!("{p}/{field}"),
                    format!("{field} of `{}` is 0", a.name),
                    "0",
                    "use a port from 1 to 65535",
                );
            } else if let Some(other) = ac_ports.insert(port, a.name.clone()) {
                c.error(
                    &format!("{p}/{field}"),
                    format!(
                        "port {port} of assetchain `{}` is already used by `{other}`",
                        a.name
                    ),
                    port.to_string(),
                    "give every assetchain its own p2p and rpc ports",
                );
            }
        }
    }
    if let Some(k) = &spec.keys {
        let (field, v) = match &k.seed {
            super::SeedSource::Env(v) => ("env", v),
            super::SeedSource::File(v) => ("file", v),
            super::SeedSource::InsecurePhrase(v) => ("insecure_phrase", v),
        };
        if field == "insecure_phrase" && !v.is_empty() {
            c.warn(
                "/keys/seed/insecure_phrase",
                "every key of this network derives from a public phrase: anyone can recompute them",
                "fine for a throwaway devnet; for anything else use `env` or a git-ignored `file`",
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
}

/// Node counts and host ports as resolution will allocate them, checked for collisions.
fn check_host_ports(c: &mut Checker<'_>, spec: &Spec) {
    let family = spec.chain.family;
    let total: usize = spec.groups.iter().map(|g| g.count as usize).sum();
    for (target, base, ptr) in [
        (
            "local",
            spec.targets.local.as_ref().map(|l| l.base_port),
            "/targets/local/base_port",
        ),
        (
            "compose",
            spec.targets.compose.as_ref().map(|l| l.base_port),
            "/targets/compose/base_port",
        ),
    ] {
        let Some(base) = base else { continue };
        let mut used: BTreeMap<u16, String> = BTreeMap::new();
        let mut index = 0usize;
        for (i, g) in spec.groups.iter().enumerate() {
            for ordinal in 0..g.count {
                for (slot, def) in family_ports(family, g.role).iter().enumerate() {
                    let public = g.expose.get(def.name) == Some(&super::Exposure::Public);
                    if target == "compose" && !public {
                        continue;
                    }
                    let pinned = g.host_ports.get(def.name).copied();
                    let port = pinned.map(u32::from).unwrap_or(
                        u32::from(base)
                            + (index as u32) * u32::from(LOCAL_PORT_STRIDE)
                            + slot as u32,
                    );
                    let node = format!("{}-{ordinal}", g.name);
                    let where_ = if pinned.is_some() {
                        format!("/groups/{i}/host_ports/{}", def.name)
                    } else {
                        ptr.to_string()
                    };
                    if port > 65535 {
                        c.error(ptr, format!("the {target} target runs out of ports: node `{node}` would need port {port}"), base.to_string(), format!("lower base_port; {total} nodes need {} ports from it", total * LOCAL_PORT_STRIDE as usize));
                        return;
                    }
                    if let Some(other) = used.insert(port as u16, format!("{node} {}", def.name)) {
                        c.error(&where_, format!("host port {port} of the {target} target is taken twice: `{other}` and `{node} {}`", def.name), port.to_string(), format!("pin another host port, or move base_port; node ports take base_port + {} × node index + slot", LOCAL_PORT_STRIDE));
                    }
                }
                index += 1;
            }
        }
    }
    if let Some(compose) = &spec.targets.compose {
        match parse_cidr(&compose.subnet) {
            None => c.error(
                "/targets/compose/subnet",
                format!("subnet `{}` is not an IPv4 CIDR", compose.subnet),
                compose.subnet.as_str(),
                "write e.g. `172.28.0.0/24`",
            ),
            Some((_, len)) => {
                let capacity = (1u64 << (32 - u32::from(len)))
                    .saturating_sub(1 + u64::from(COMPOSE_FIRST_NODE_OFFSET));
                if (total as u64) > capacity {
                    c.error("/targets/compose/subnet", format!("subnet `{}` holds {capacity} nodes, the network has {total}", compose.subnet), compose.subnet.as_str(), format!("use a larger subnet; the first {COMPOSE_FIRST_NODE_OFFSET} addresses go to the gateway and monitoring"));
                }
            }
        }
    }
}

/// The EC2 instance type: only with `launch_type: ec2`, well formed, and big enough for
/// every group when its size is known.
fn check_instance_type(c: &mut Checker<'_>, spec: &Spec, aws: &super::AwsTarget) {
    use crate::model::ec2;
    let ec2_launch = aws.launch_type == super::LaunchType::Ec2;
    let Some(ty) = &aws.instance_type else {
        if ec2_launch {
            let largest = format!("{}.32xlarge", ec2::DEFAULT_FAMILY);
            let size = ec2::size_of(&largest).expect("a known size");
            for (i, g) in spec.groups.iter().enumerate() {
                let res = crate::model::resolve::resources_of(g.resources.as_ref());
                if !ec2::fits(size, res) {
                    let (key, value) = if ec2::task_memory_mib(size) < res.memory_mib {
                        (
                            "memory",
                            g.resources.as_ref().and_then(|r| r.memory.clone()),
                        )
                    } else {
                        (
                            "cpu",
                            g.resources
                                .as_ref()
                                .and_then(|r| r.cpu)
                                .map(|c| c.to_string()),
                        )
                    };
                    c.error(
                        &format!("/groups/{i}/resources/{key}"),
                        format!(
                            "group `{}` needs more {key} than any {} instance has",
                            g.name,
                            ec2::DEFAULT_FAMILY
                        ),
                        value.unwrap_or_default().as_str(),
                        format!("lower its cpu/memory, or set `targets.aws.instance_type` to a type that holds it (largest default: {largest}, {} vCPUs, {} MiB for tasks)", size.vcpus, ec2::task_memory_mib(size)),
                    );
                }
            }
        }
        return;
    };
    let at = "/targets/aws/instance_type";
    if !ec2_launch {
        c.error(
            at,
            "`instance_type` applies only to `launch_type: ec2`",
            ty.as_str(),
            "remove `instance_type` (Fargate sizes each task from the group's resources), or set `launch_type: ec2`",
        );
        return;
    }
    if !ec2::is_instance_type(ty) {
        c.error(
            at,
            format!("`{ty}` is not an EC2 instance type"),
            ty.as_str(),
            "write family.size in lower case, e.g. `m6i.xlarge`",
        );
        return;
    }
    let Some(size) = ec2::size_of(ty) else {
        return;
    };
    for g in &spec.groups {
        let res = crate::model::resolve::resources_of(g.resources.as_ref());
        if !ec2::fits(size, res) {
            c.error(
                at,
                format!(
                    "`{ty}` ({} vCPUs, {} MiB for tasks) cannot hold one node of group `{}` ({} vCPUs, {} MiB)",
                    size.vcpus,
                    ec2::task_memory_mib(size),
                    g.name,
                    f64::from(res.cpu_millis) / 1000.0,
                    res.memory_mib
                ),
                ty.as_str(),
                format!(
                    "choose a larger type, or remove `instance_type` to size each group (`{}` for this one)",
                    ec2::default_for(res)
                ),
            );
        }
    }
}

fn check_targets(c: &mut Checker<'_>, spec: &Spec) {
    let t = &spec.targets;
    if t.aws.is_none() && t.kubernetes.is_none() && t.compose.is_none() && t.local.is_none() {
        c.error(
            "/targets",
            "no deployment target is set",
            "{}",
            "add at least one of `aws`, `kubernetes`, `compose`, `local`",
        );
    }
    if let Some(aws) = &t.aws {
        check_instance_type(c, spec, aws);
        if spec.regions.is_empty() {
            c.error(
                "/targets/aws",
                "the aws target needs the top-level `regions`",
                "",
                "list AWS regions, e.g. `regions: [us-east-1]`",
            );
        }
        for (i, r) in spec.regions.iter().enumerate() {
            let parts: Vec<&str> = r.split('-').collect();
            if parts.len() < 3 || parts.last().is_none_or(|p| p.parse::<u8>().is_err()) {
                c.error(
                    &format!("/regions/{i}"),
                    format!("`{r}` is not an AWS region name"),
                    r.as_str(),
                    "AWS regions look like `us-east-1`, `eu-west-1`",
                );
            }
        }
        if let Some(v) = &aws.vpc {
            match (&v.cidr, v.existing) {
                (Some(_), true) => c.error(
                    "/targets/aws/vpc",
                    "`vpc` sets both `cidr` and `existing`",
                    "",
                    "either create a VPC with `cidr` or use `existing: true`",
                ),
                (Some(cidr), false)
                    if !parse_cidr(cidr).is_some_and(|(_, l)| (16..=24).contains(&l)) =>
                {
                    c.error(
                        "/targets/aws/vpc/cidr",
                        format!("VPC CIDR `{cidr}` is invalid"),
                        cidr.as_str(),
                        "use an IPv4 CIDR from /16 to /24, e.g. `10.42.0.0/16`",
                    );
                }
                _ => {}
            }
        }
        if let Some(z) = &aws.dns_zone {
            if !z
                .name
                .split('.')
                .all(|l| is_dns_label(l, 63) || l.chars().all(|x| x.is_ascii_digit()))
                || !z.name.contains('.')
            {
                c.error(
                    "/targets/aws/dns_zone/name",
                    format!("`{}` is not a DNS zone name", z.name),
                    z.name.as_str(),
                    "write e.g. `testnet.example.com`",
                );
            }
            if !z.hosted_zone_id.starts_with('Z')
                || !z
                    .hosted_zone_id
                    .chars()
                    .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())
            {
                c.error(
                    "/targets/aws/dns_zone/hosted_zone_id",
                    format!("`{}` is not a Route 53 hosted zone ID", z.hosted_zone_id),
                    z.hosted_zone_id.as_str(),
                    "hosted zone IDs look like `Z0123456789ABCDEFGHIJ`",
                );
            }
        }
        if let Some(arn) = &aws.certificate_arn {
            if !arn.starts_with("arn:aws:acm:") {
                c.error(
                    "/targets/aws/certificate_arn",
                    format!("`{arn}` is not an ACM certificate ARN"),
                    arn.as_str(),
                    "ARNs look like `arn:aws:acm:us-east-1:123456789012:certificate/…`",
                );
            }
        }
    }
    if let Some(k) = &t.kubernetes {
        c.dns_name(
            "/targets/kubernetes/namespace",
            "namespace",
            &k.namespace,
            63,
        );
    }
}

fn check_monitoring(c: &mut Checker<'_>, spec: &Spec) {
    let Some(alerts) = spec.monitoring.as_ref().and_then(|m| m.alerts.as_ref()) else {
        return;
    };
    for (i, e) in alerts.email.iter().enumerate() {
        let ok = e.split_once('@').is_some_and(|(u, d)| {
            !u.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !e.contains(char::is_whitespace)
        });
        if !ok {
            c.error(
                &format!("/monitoring/alerts/email/{i}"),
                format!("`{e}` is not an e-mail address"),
                e.as_str(),
                "write e.g. `ops@example.com`",
            );
        }
    }
    for (i, w) in alerts.webhooks.iter().enumerate() {
        if !w.starts_with("https://") || w.len() < 12 {
            c.error(
                &format!("/monitoring/alerts/webhooks/{i}"),
                format!("webhook `{w}` is not an HTTPS URL"),
                w.as_str(),
                "alert webhooks must use https://",
            );
        }
    }
    for (i, a) in alerts.sns_topics.iter().enumerate() {
        if !a.starts_with("arn:aws:sns:") {
            c.error(
                &format!("/monitoring/alerts/sns_topics/{i}"),
                format!("`{a}` is not an SNS topic ARN"),
                a.as_str(),
                "ARNs look like `arn:aws:sns:us-east-1:123456789012:alerts`",
            );
        }
    }
    if !spec
        .monitoring
        .as_ref()
        .is_some_and(|m| m.prometheus || m.grafana)
        && spec.targets.aws.is_none()
    {
        c.warn(
            "/monitoring/alerts",
            "alerts are set but neither prometheus nor an aws target will evaluate them",
            "set `prometheus: true`",
        );
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
