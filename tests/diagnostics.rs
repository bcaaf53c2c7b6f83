//! The invalid-spec corpus (`tests/invalid/*.yaml`, one file per rule) and garbage inputs:
//! every one exits 1 with diagnostics at the right `FILE:LINE:COL`, never panics, and never
//! writes a file. The rendered diagnostics are snapshotted one per fixture.

mod common;

use std::path::Path;
use std::process::Output;

use common::{chainfleet, files_under, generate_text, root, run};

/// Every fixture with the positions of all its diagnostics, in order, and the text each
/// one points at (checked against the fixture: the column is where that text starts).
/// `""` skips the text check (garbage whose offending text is not printable).
const CORPUS: &[(&str, &[(&str, &str)])] = &[
    ("account-coin-syntax", &[("9:53", "\"lots of atoms\"")]),
    ("alias-bomb", &[("7:45", "*a4")]),
    (
        "archive-image-not-mina-or-unpinned",
        &[
            ("8:18", "minaprotocol/mina-archive:latest"),
            ("8:18", "minaprotocol/mina-archive:latest"),
        ],
    ),
    (
        "aws-certificate-without-dns-zone",
        &[(
            "14:22",
            "arn:aws:acm:us-east-1:123456789012:certificate/0e5c5f1e-1111-2222-3333-444455556666",
        )],
    ),
    (
        "aws-cross-region-quorum-without-dns-zone",
        &[("6:60", "[us-east-1, eu-west-1]")],
    ),
    ("aws-group-larger-than-any-instance", &[("9:34", "1Ti")]),
    ("aws-instance-type-too-small", &[("10:20", "t3.small")]),
    ("aws-instance-type-with-fargate", &[("10:20", "m6i.large")]),
    ("aws-region-typo", &[("8:11", "eu-wset-1")]),
    (
        "aws-too-many-cross-region-peers",
        &[("4:11", "us-east-1"), ("4:22", "eu-west-1")],
    ),
    ("bad-cidr", &[("11:22", "172.28.0.0/33")]),
    ("bad-email", &[("13:30", "\"ops at example dot com\"")]),
    ("bad-enum-family", &[("4:11", "cosmoss")]),
    ("bad-enum-role", &[("10:11", "validater")]),
    ("bad-vpc-cidr", &[("13:18", "10.300.0.0/16")]),
    (
        "bad-webhook",
        &[("13:16", "\"http://hooks.example.com/alert\"")],
    ),
    ("base-port-overflow", &[("11:23", "65530")]),
    ("behind-missing-group", &[("9:82", "sentries")]),
    ("behind-non-sentry-group", &[("9:82", "rpc")]),
    ("binary-bytes", &[("2:8", "")]),
    (
        "chain-genesis-fields",
        &[("9:19", "100"), ("10:26", "5"), ("11:18", "{ name")],
    ),
    ("chain-home-unsafe", &[("8:9", "\"/h/$(touch pwned)\"")]),
    (
        "chain-id-too-long",
        &[("5:13", "this-chain-id-is-much-too-long")],
    ),
    (
        "cometbft-stake-not-whole-power",
        &[("12:12", "10stake"), ("15:12", "1500000stake")],
    ),
    ("compose-subnet-too-small", &[("11:22", "172.28.0.0/29")]),
    (
        "config-key-unknown",
        &[
            ("12:15", "p2p.max_num_inbound_peer"),
            ("12:45", "p2p.persistent_peers"),
        ],
    ),
    ("count-zero", &[("10:37", "0 }")]),
    (
        "dedicated-sentries-count",
        &[("13:25", "true"), ("19:25", "true")],
    ),
    ("deep-nesting", &[("2:70", "[")]),
    ("display-denom", &[("9:26", "uatom"), ("9:54", "\"AT OM\"")]),
    ("duplicate-group-names", &[("10:13", "validator")]),
    ("duplicate-yaml-key", &[("10:1", "name: devnet2")]),
    ("empty-file", &[("1:1", "")]),
    ("expose-unknown-port", &[("12:15", "rcp")]),
    (
        "genesis-time-not-rfc3339",
        &[("8:17", "\"2026-12-01 00:00\"")],
    ),
    ("group-name-not-dns-safe", &[("9:13", "\"Validators!\"")]),
    ("group-named-like-a-node", &[("6:13", "validator-1")]),
    ("host-port-collision-compose", &[("16:24", "26641")]),
    ("host-port-collision-local", &[("12:24", "26601")]),
    ("hosts-machine-overfull", &[("13:17", "big-box")]),
    (
        "hosts-target-problems",
        &[
            ("12:19", "root"),
            ("14:34", "\"10.0.0.11; rm -rf /\""),
            ("15:17", "node-a"),
            ("15:53", "validatr-1"),
            ("17:7", "- { name: gaiad"),
            ("17:32", "\"1234\""),
            ("17:45", "\"http://example.com/gaiad\""),
        ],
    ),
    ("image-latest", &[("7:10", "ghcr.io/cosmos/simapp:latest")]),
    ("image-no-tag", &[("7:10", "ghcr.io/cosmos/simapp")]),
    (
        "komodo-notary-fields",
        &[
            ("10:15", "AVERYLONGCOIN"),
            ("12:39", "{ name: seed_node }"),
            ("13:51", "\"alice-EU\""),
            ("15:73", "p2p"),
        ],
    ),
    (
        "komodo-notary-operator-key",
        &[
            ("11:84", "alice-pass"),
            ("11:84", "alice-pass"),
            ("12:62", "04abcd"),
            ("12:62", "04abcd"),
        ],
    ),
    ("memory-size", &[("13:34", "4GB")]),
    (
        "mina-archive-needs-image-and-containers",
        &[("10:25", "archive"), ("10:25", "archive")],
    ),
    (
        "mina-ledger-fields",
        &[
            ("9:15", "faucet"),
            ("9:30", "[100stake]"),
            ("10:31", "\"1.0000000001\""),
            ("10:57", "seed-0"),
            ("12:50", "\"5\""),
            ("13:48", "\"-3\""),
            ("13:64", "bp-7"),
        ],
    ),
    (
        "mina-snark-pool-and-config",
        &[
            ("11:21", "seq"),
            ("12:15", "max_connections"),
            ("12:36", "peer"),
            ("12:68", "\"yes\""),
            ("13:19", "minimum-gas-prices"),
            ("14:56", "\"0.0000000001\""),
            ("18:16", "\"0.01\""),
            ("19:15", "log-level"),
        ],
    ),
    ("mina-work-selection-typo", &[("10:61", "random")]),
    ("missing-required-field", &[("3:1", "chain:")]),
    (
        "multi-error",
        &[
            ("2:7", "Dev_Net"),
            ("7:10", "ghcr.io/cosmos/simapp:latest"),
            ("8:17", "yesterday"),
            ("10:31", "lots"),
            ("16:12", "100000000uatom"),
            ("17:13", "sentries"),
            // A warning: 2 of the 4 validators land in each region.
            ("18:14", "[us-east-1, eu-west-2]"),
            ("18:26", "eu-west-2"),
            ("19:11", "validator"),
            ("21:15", "rcp"),
            ("23:11", "snark_worker"),
            ("23:11", "snark_worker"),
            ("24:5", "cuont"),
            ("27:21", "nobody"),
            ("27:41", "\"http://x.example.com\""),
            ("30:23", "65530"),
        ],
    ),
    ("network-name-not-dns-safe", &[("2:7", "Dev_Net")]),
    ("no-block-producer-mina", &[("9:3", "- {")]),
    ("no-targets", &[("10:10", "{}")]),
    ("no-validator-cometbft", &[("9:3", "- {")]),
    ("no-validator-cosmos", &[("9:3", "- {")]),
    ("power-and-stake", &[("13:12", "5"), ("16:12", "3")]),
    ("power-not-cometbft", &[("12:12", "10")]),
    (
        "region-not-declared",
        // A warning (no region keeps > 2/3), then the error.
        &[("14:14", "[us-east-1"), ("14:37", "eu-west-3")],
    ),
    (
        "role-not-allowed-for-family",
        &[("10:28", "snark_worker"), ("10:65", "validator")],
    ),
    ("seed-source-both", &[("9:9", "{ env")]),
    ("several-documents", &[("12:1", "---")]),
    (
        "snark-worker-missing-coordinator",
        &[("11:65", "coordinater")],
    ),
    (
        "snark-worker-without-coordinator",
        &[("11:28", "snark_worker")],
    ),
    (
        "snark-worker-wrong-role-coordinator",
        &[("10:65", "producer")],
    ),
    ("stake-denom-mismatch", &[("13:12", "100000000stake")]),
    ("stake-syntax", &[("12:12", "\"100 stake\"")]),
    ("tab-indentation", &[("4:1", "\tfamily")]),
    (
        "test-service-fields",
        &[
            ("9:46", "example/bp:1.0"),
            ("12:38", "\"curlimages/curl:latest\""),
            ("12:71", "bq"),
            ("13:72", "pool"),
            ("14:39", "coord"),
        ],
    ),
    ("top-level-list", &[("2:1", "- name")]),
    ("unclosed-flow-mapping", &[("11:3", "local")]),
    ("unknown-key-did-you-mean", &[("11:5", "cuont")]),
    ("unknown-top-level-key", &[("12:1", "zzzzzzzzzz")]),
    ("unknown-yaml-tag", &[("2:7", "!secret devnet")]),
    (
        "validator-settings",
        &[
            ("15:27", "\"0.5\""),
            ("16:31", "\" \""),
            ("17:28", "\"9000000\""),
            ("20:53", "\"1.5\""),
            ("20:83", "\"1e6\""),
            ("21:7", "validator-7"),
        ],
    ),
    ("wrong-type-count", &[("11:12", "four")]),
    ("wrong-type-list", &[("8:10", "us-east-1")]),
];

fn fixture(name: &str) -> String {
    format!("tests/invalid/{name}.yaml")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert the run ended with exit code exactly 1 and no panic.
fn assert_invalid(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what} panicked:\n{err}");
    assert_eq!(o.status.code(), Some(1), "{what}: want exit 1\n{err}");
}

/// The `LINE:COL` of every diagnostic header (`FILE:LINE:COL: error: ...`) in `stderr`.
fn header_positions(stderr: &str, file: &str) -> Vec<String> {
    let prefix = format!("{file}:");
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter(|rest| rest.contains(": error: ") || rest.contains(": warning: "))
        .map(|rest| rest.splitn(3, ':').take(2).collect::<Vec<_>>().join(":"))
        .collect()
}

#[test]
fn corpus_is_complete() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("tests/invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".yaml").map(str::to_string))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = CORPUS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "every fixture is listed in CORPUS, in order"
    );
    assert!(listed.len() >= 30, "{} fixtures", listed.len());
}

#[test]
fn every_invalid_spec_is_located_and_snapshotted() {
    for (name, expected) in CORPUS {
        let file = fixture(name);
        let o = run(chainfleet().current_dir(root()).args(["validate", &file]));
        assert_invalid(&o, &file);
        let err = stderr(&o);
        let got = header_positions(&err, &file);
        let want: Vec<&str> = expected.iter().map(|(p, _)| *p).collect();
        assert_eq!(got, want, "{file}: diagnostic positions\n{err}");
        // Each position points at the offending text in the fixture.
        let source =
            String::from_utf8_lossy(&std::fs::read(root().join(&file)).unwrap()).into_owned();
        let lines: Vec<&str> = source.lines().collect();
        for (pos, token) in *expected {
            if token.is_empty() {
                continue;
            }
            let (line, col) = pos.split_once(':').unwrap();
            let (line, col): (usize, usize) = (line.parse().unwrap(), col.parse().unwrap());
            let text: String = lines[line - 1].chars().skip(col - 1).collect();
            assert!(
                text.starts_with(token),
                "{file}:{pos} points at `{text}`, want `{token}`"
            );
        }
        // The summary counts errors; warnings are located like them but not counted.
        let n = err
            .lines()
            .filter(|l| l.starts_with(&format!("{file}:")) && l.contains(": error: "))
            .count();
        assert!(n > 0, "{file}: no error");
        assert!(
            err.ends_with(&format!(
                "error: {n} problem{}\n",
                if n == 1 { "" } else { "s" }
            )),
            "{file}: summary line\n{err}"
        );
        insta::assert_snapshot!(format!("invalid__{name}"), err);
    }
}

#[test]
fn every_diagnostic_has_a_hint() {
    for (name, _) in CORPUS {
        let file = fixture(name);
        let o = run(chainfleet()
            .current_dir(root())
            .args(["validate", &file, "--format", "json"]));
        assert_invalid(&o, &file);
        let diags: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{file}: --format json is not JSON: {e}"));
        let diags = diags.as_array().unwrap();
        assert!(!diags.is_empty(), "{file}");
        for d in diags {
            assert_eq!(d["file"], file.as_str(), "{d}");
            assert!(d["line"].as_u64().unwrap() >= 1, "{d}");
            assert!(d["column"].as_u64().unwrap() >= 1, "{d}");
            assert!(
                d["hint"].as_str().is_some_and(|h| !h.is_empty()),
                "{file}: no hint in {d}"
            );
        }
    }
}

#[test]
fn json_format_snapshots() {
    for name in [
        "unknown-key-did-you-mean",
        "multi-error",
        "seed-source-both",
    ] {
        let file = fixture(name);
        let o = run(chainfleet()
            .current_dir(root())
            .args(["validate", &file, "--format", "json"]));
        assert_invalid(&o, &file);
        assert!(
            o.stderr.is_empty(),
            "json mode prints nothing else: {}",
            stderr(&o)
        );
        insta::assert_snapshot!(
            format!("json__{name}"),
            String::from_utf8(o.stdout).unwrap()
        );
    }
}

#[test]
fn no_invalid_spec_writes_a_file() {
    for (name, _) in CORPUS {
        let file = fixture(name);
        let dir = tempfile::tempdir().unwrap();
        let o = run(chainfleet()
            .current_dir(root())
            .arg("generate")
            .arg(&file)
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--secrets")
            .arg(dir.path().join("secrets")));
        assert_invalid(&o, &format!("generate {file}"));
        assert!(
            stderr(&o).contains("nothing was written"),
            "{file}: {}",
            stderr(&o)
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "generate {file} wrote {left:?}");
    }
}

/// The checks that stand in for an emitter's own refusal accept what that emitter accepts:
/// one step inside each limit, `generate` writes the network (the emitter would exit 2
/// with an unplaced message if checking let through what it cannot render).
#[test]
fn checks_before_emitters_stop_at_the_emitters_limits() {
    let read = |name: &str| {
        std::fs::read_to_string(root().join(fixture(name))).unwrap()
            + "keys:\n  seed: { env: CHAINFLEET_SEED }\n"
    };
    let t = std::time::Instant::now();
    // 120 cross-region peers is the most a region stack takes.
    let peers = read("aws-too-many-cross-region-peers").replace("count: 121", "count: 120");
    assert!(peers.contains("count: 120"));
    let (_g, out, _) = generate_text("spec.yaml", &peers);
    assert!(out.join("cloudformation/us-east-1.yaml").is_file());
    // A group named like a node that does not exist is fine.
    let named = read("group-named-like-a-node").replace("validator-1", "validator-2");
    let (_g, out, _) = generate_text("spec.yaml", &named);
    assert!(out.join("helm").is_dir());
    eprintln!("emitter limits: {:.1?}", t.elapsed());
}

// ---- garbage inputs -------------------------------------------------------------------

/// Validate `bytes` written to a temporary `spec.yaml`; returns (exit code, stderr).
fn validate_bytes(bytes: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, bytes).unwrap();
    let o = run(chainfleet()
        .current_dir(dir.path())
        .args(["validate", "spec.yaml"]));
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    (o.status.code(), err)
}

/// A valid spec to mutate; a fixed copy (not an example) so positions in these tests do not
/// move when an example changes.
fn valid_spec() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/diagnostics-base.yaml")).unwrap()
}

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn ten_megabytes_of_nonsense() {
    // Raw bytes: not UTF-8, located at the first bad byte.
    let (code, err) = validate_bytes(&noise(10 << 20, 0x9e37_79b9_7f4a_7c15));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("spec.yaml:1:"), "{err}");
    // Text nonsense made of YAML's own punctuation.
    let alphabet = b"ab:-[]{},&*!|>'\"%@` \n\t#?";
    let text: Vec<u8> = noise(10 << 20, 42)
        .into_iter()
        .map(|b| alphabet[b as usize % alphabet.len()])
        .collect();
    let (code, err) = validate_bytes(&text);
    assert_eq!(code, Some(1), "{}", &err[..err.len().min(2000)]);
    assert!(
        err.starts_with("spec.yaml:"),
        "{}",
        &err[..err.len().min(2000)]
    );
}

#[test]
fn ten_megabyte_valid_looking_spec() {
    // A real spec followed by 10 MB of well-formed but unknown settings.
    let mut spec = valid_spec();
    spec.push_str("padding:\n");
    let mut i = 0;
    while spec.len() < 10 << 20 {
        spec.push_str(&format!(
            "  key{i}: {{ a: [1, 2], b: \"a longer text value, so that 10 MB stays below the value limit of the loader\" }}\n"
        ));
        i += 1;
    }
    let (code, err) = validate_bytes(spec.as_bytes());
    assert_eq!(code, Some(1));
    let first = err.lines().next().unwrap();
    let line = valid_spec().lines().count() + 1;
    assert_eq!(
        first,
        format!("spec.yaml:{line}:1: error: unknown field `padding` at the top level")
    );
}

#[test]
fn nul_bytes() {
    let mut spec = valid_spec().into_bytes();
    let at = spec.iter().position(|b| *b == b'\n').unwrap() + 1;
    spec.splice(at..at, b"name\0: x\n".iter().copied());
    let (code, err) = validate_bytes(&spec);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("spec.yaml:2:5: error: the spec contains a NUL byte"),
        "{err}"
    );
    assert!(!err.contains('\0'), "the NUL is not echoed");
}

#[test]
fn invalid_utf8() {
    let mut spec = valid_spec().into_bytes();
    spec.extend_from_slice(b"extra: caf\xe9\n");
    let (code, err) = validate_bytes(&spec);
    assert_eq!(code, Some(1));
    let line = valid_spec().lines().count() + 1;
    assert!(
        err.starts_with(&format!(
            "spec.yaml:{line}:11: error: the spec is not UTF-8 text"
        )),
        "{err}"
    );
}

#[test]
fn byte_order_mark_is_accepted() {
    let spec = format!("\u{feff}{}", valid_spec());
    let (code, err) = validate_bytes(spec.as_bytes());
    assert_eq!(code, Some(0), "{err}");
    // Positions on the first line ignore the mark.
    let bad =
        "\u{feff}name: Bad\n".to_string() + &valid_spec().replacen("name: cosmos-devnet\n", "", 1);
    let (code, err) = validate_bytes(bad.as_bytes());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with("spec.yaml:1:7: error: network name `Bad` is not DNS-safe\n  |\n1 | name: Bad\n  |       ^^^\n"),
        "{err}"
    );
}

#[test]
fn crlf_line_endings_work_and_keep_positions() {
    let spec = valid_spec().replace('\n', "\r\n");
    let (code, err) = validate_bytes(spec.as_bytes());
    assert_eq!(code, Some(0), "{err}");
    let lf = std::fs::read_to_string(root().join("tests/invalid/multi-error.yaml")).unwrap();
    let crlf = lf.replace('\n', "\r\n");
    let (code_lf, err_lf) = validate_bytes(lf.as_bytes());
    let (code_crlf, err_crlf) = validate_bytes(crlf.as_bytes());
    assert_eq!((code_lf, code_crlf), (Some(1), Some(1)));
    assert_eq!(err_lf, err_crlf, "CRLF gives the same diagnostics");
    assert!(!err_crlf.contains('\r'));
}

#[test]
fn very_long_lines() {
    // A 1 MB scalar on one line, then an error after it on the same line.
    let long = "x".repeat(1 << 20);
    let spec = valid_spec()
        .replacen("home: /home/simd/.simapp", &format!("home: /{long}"), 1)
        .replacen(
            "bech32_prefix: cosmos",
            &format!("bech32_prefix: {long}"),
            1,
        );
    let (code, err) = validate_bytes(spec.as_bytes());
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("spec.yaml:13:18: error: bech32 prefix `xxx"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(err.len() < 5000, "long values are truncated in the output");
    // A flow mapping on one 1 MB line with an unknown key at its end.
    let mut line = String::from("groups: [");
    for i in 0..20_000 {
        line.push_str(&format!("{{name: g{i}, role: full}}, "));
    }
    line.push_str("{name: v, role: validator, stake: 100000000stake, cuont: 1}]");
    let col = line.find("cuont").unwrap() + 1;
    let spec = valid_spec();
    let start = spec.find("groups:").unwrap();
    let end = spec.find("monitoring:").unwrap();
    let spec = format!("{}{line}\n{}", &spec[..start], &spec[end..]);
    let (code, err) = validate_bytes(spec.as_bytes());
    assert_eq!(code, Some(1));
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("spec.yaml:22:{col}: error: unknown field `cuont`")),
        "{first}"
    );
}

#[test]
fn unicode_columns_count_characters() {
    let spec = valid_spec().replacen(
        "  - name: rpc\n",
        "  - name: rpc # ünïcödé 🚀\n    regions: [\"ünï\", lõcal]\n",
        1,
    );
    let (code, err) = validate_bytes(spec.as_bytes());
    assert_eq!(code, Some(1));
    let heads: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(heads.len(), 2, "{err}");
    assert!(
        heads[0].starts_with("spec.yaml:31:15: error: group `rpc` is placed in region `ünï`"),
        "{err}"
    );
    assert!(
        heads[1].starts_with("spec.yaml:31:22: error: group `rpc` is placed in region `lõcal`"),
        "{err}"
    );
    assert!(
        err.contains("31 |     regions: [\"ünï\", lõcal]\n   |                      ^^^^^\n"),
        "{err}"
    );
}

#[test]
fn unreadable_and_missing_files_are_usage_errors() {
    let o = run(chainfleet().args(["validate", "/nonexistent/spec.yaml"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot read /nonexistent/spec.yaml"));
    let dir = tempfile::tempdir().unwrap();
    let o = run(chainfleet().arg("validate").arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "a folder is not a spec");
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn corpus_files_exist_relative_to_root() {
    // Guard against the corpus moving without this test noticing.
    assert!(Path::new(&root().join("tests/invalid/multi-error.yaml")).exists());
    assert!(files_under(&root().join("tests/invalid")).len() >= 30);
}
