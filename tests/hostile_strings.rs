//! Hostile strings in every free string field of a spec (issue 11): each value either makes
//! `validate` refuse the spec with a position on the field's line, or reaches every sink of
//! that field literally. Sinks are read the way their consumers read them: the local
//! launcher's `run.sh` and the image's entrypoint are RUN with a stub node binary that records
//! its argv and environment, and no `$(touch canary)` may create a file; the compose file is resolved by `docker
//! compose config` (which applies compose's `$` interpolation); the Helm chart is rendered by
//! `helm template` (which evaluates `{{ }}`); CloudFormation templates, `config.toml`,
//! `app.toml`, `genesis.json`, Prometheus and Alertmanager files are parsed; the Dockerfile's
//! `FROM` line is compared as Docker reads it.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::*;
use serde_json::Value;

/// The hostile set: command substitution, backticks, quotes, a newline, Helm and Go
/// template actions, printf and URL `%`, backslashes, shell, compose and CloudFormation
/// `$` forms, globs, unicode bidi and zero-width characters, and 300 characters with
/// doubled, leading and trailing spaces (which a folding YAML writer loses).
fn hostile() -> Vec<String> {
    let mut v: Vec<String> = [
        "$(touch canary)",
        "$(touch${IFS}canary)",
        "`touch canary`",
        "it's \"quoted\" ' \"",
        "line one\nline two",
        "{{ .Release.Name }}",
        "{{.Values}}",
        "100% %s %d %% %n",
        "back\\slash \\n \\\\ \\",
        "${HOME}$HOME${AWS::Region}",
        "glob * ? [a] ~",
        "a;b&&c|d>e<f",
        "\u{202e}bidi\u{2066}x\u{2069}\u{200b}zero\u{200d}width\u{feff}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let long: String = format!(" {}", "ab  c ".repeat(50));
    v.push(long[..300].to_string());
    v
}

/// Where a field's value goes, read the way its consumer reads it.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// `local/run.sh`, run with a stub binary: the node's environment has `HOSTILE` = value.
    LocalEnv,
    /// `local/run.sh`, run with a stub binary: the node's environment has the value as a
    /// variable name.
    LocalEnvName,
    /// `local/run.sh`, run with a stub binary: one argument equals the value.
    LocalArg,
    /// The image's `docker/entrypoint.sh`, run outside a container with node-0's command
    /// and environment as `docker compose config` resolves them and a stub node binary:
    /// the node's environment has `HOSTILE` = value.
    EntrypointEnv,
    /// As `EntrypointEnv`: one argument the node receives equals the value.
    EntrypointArg,
    /// `docker compose config` of `compose/docker-compose.yaml` holds the value.
    Compose,
    /// A parsed YAML file of the compose tree, read as plain YAML.
    Plain(&'static str),
    /// A parsed Prometheus rule or Alertmanager file of the compose tree, whose consumer
    /// expands Go templates in this field: the value holds no `{{ }}` either.
    Templated(&'static str),
    /// `helm template` of the chart holds the value.
    Helm,
    /// Every region's CloudFormation template holds the value.
    Cfn,
    /// A parsed TOML file of the public tree.
    Toml(&'static str),
    /// A parsed JSON file of the public tree.
    Json(&'static str),
    /// A parsed JSON file of the public tree has a key named by the last segment of the
    /// JSON pointer the value is (RFC 6901: `~1` is `/`, `~0` is `~`).
    JsonPointerKey(&'static str),
    /// The Dockerfile's `FROM` line is the value.
    DockerFrom,
}

struct Field {
    /// What the field is, for messages.
    what: &'static str,
    /// The spec, with `@V@` where the value goes (as a YAML double-quoted scalar) and
    /// `@K@` where it goes as a mapping key.
    spec: &'static str,
    sinks: &'static [Sink],
    /// The value is a whole string in its sinks (else: part of one, e.g. a node name).
    exact: bool,
    /// Text around each hostile value, so a field that must start like an ARN or end like
    /// an address is tested past that rule.
    wrap: (&'static str, &'static str),
}

const GENERIC: &str = "name: hostile
chain:
  family: generic
  chain_id: hostile-1
  binary: node
  image: @IMAGE@
keys: { seed: { env: CHAINFLEET_SEED } }
regions: [us-east-1]
groups:
  - name: node
    role: full
    ports: { rpc: 8080, p2p: 9000 }
    expose: { rpc: public }
    env:
      HOSTILE: @ENV@
      @EKEY@: x
    command: [serve, @ARG@]
targets:
  local: { base_port: 43300 }
  compose: { subnet: 172.31.0.0/24 }
  kubernetes: { namespace: hostile }
  aws: { certificate_arn: @ARN@, dns_zone: { name: hostile.example.com, hosted_zone_id: Z0123456789ABCDEFGHIJ } }
monitoring: { alerts: { sns_topics: [@SNS@] } }
";

const COMETBFT: &str = "name: hostile
chain:
  family: cometbft
  chain_id: @CHAINID@
  binary: @BIN@
  image: cometbft/cometbft:v0.38.26
keys: { seed: { env: @SEEDENV@ } }
regions: [@REGION@]
groups:
  - name: validator
    role: validator
    count: 1
    ports: { @PORTKEY@: 26656 }
    resources: { memory: @MEM@ }
    config:
      moniker: @MONIKER@
      @CKEY@: 1
monitoring:
  prometheus: true
  alerts:
    labels:
      team: @LABEL@
      @LKEY@: ops
    slack:
      channel: @SLACK@
    email: [@EMAIL@]
    webhooks: [@HOOK@]
    smtp: { smarthost: @SMARTHOST@, from: @FROM@, username: @SMTPUSER@ }
targets:
  compose: { subnet: 172.31.0.0/24, host_ip: @HOSTIP@ }
  kubernetes: { namespace: @NS@, storage_class: @STORAGE@, cluster_domain: @DOMAIN@ }
";

const KOMODO: &str = "name: hostile
chain:
  family: komodo
  chain_id: kmd
  binary: komodod
  image: example/komodo:0.8.1
  assetchains:
    - name: @AC@
      supply: 1000
      p2p_port: 8922
      rpc_port: 8923
      params:
        reward: @ACPARAM@
        @ACKEY@: x1
keys: { seed: { env: CHAINFLEET_SEED } }
regions: [eu-west-1]
groups:
  - { name: chain, role: full }
  - { name: notary, role: notary, notary: { name: @NOTARY@ } }
targets:
  compose: { subnet: 172.31.0.0/24 }
  kubernetes: { namespace: hostile }
  aws: { vpc: { cidr: 10.70.0.0/16 } }
";

const COSMOS: &str = "name: hostile
chain:
  family: cosmos
  chain_id: hostile-1
  binary: simd
  image: ghcr.io/cosmos/simapp:v0.50.10
  home: @HOME@
  bech32_prefix: @BECH@
  genesis_time: @GTIME@
  minimum_gas_prices: @MGP@
  display_denom: { name: @DNAME@, exponent: 6, symbol: @DSYM@ }
  denom: @DENOM@
  genesis_patches:
    - { path: /app_state/gov/params/metadata_hint, value: @PATCH@ }
    - { path: @PPATH@, value: 1 }
  accounts:
    - { name: @ACCOUNT@, coins: [@COIN@] }
keys: { seed: { env: CHAINFLEET_SEED } }
groups:
  - name: @GROUP@
    role: validator
    count: 1
    stake: 100000000stake
    app_config:
      pruning: @PRUNING@
      @AKEY@: 1
    validator:
      commission: { rate: @RATE@ }
      description: { moniker: @VMON@, details: @VDET@, website: @VWEB@, identity: @VID@ }
      min_self_delegation: @MSD@
targets:
  compose: { subnet: 172.31.0.0/24 }
";

/// Every free string field, in the spec of a family that uses it.
fn fields() -> Vec<(Field, &'static str)> {
    use Sink::*;
    vec![
        (
            Field {
                what: "chain ID",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@CHAINID@",
        ),
        (
            Field {
                what: "chain binary",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@BIN@",
        ),
        (
            Field {
                what: "seed variable name",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@SEEDENV@",
        ),
        (
            Field {
                what: "region name",
                spec: COMETBFT,
                sinks: &[Helm],
                exact: false,
                wrap: ("", ""),
            },
            "@REGION@",
        ),
        (
            Field {
                what: "port name",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@PORTKEY@",
        ),
        (
            Field {
                what: "memory size",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@MEM@",
        ),
        (
            Field {
                what: "app.toml key",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@AKEY@",
        ),
        (
            Field {
                what: "genesis patch path",
                spec: COSMOS,
                sinks: &[JsonPointerKey("genesis.json")],
                exact: false,
                wrap: ("/app_state/", ""),
            },
            "@PPATH@",
        ),
        (
            Field {
                what: "account coin",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("1000", ""),
            },
            "@COIN@",
        ),
        (
            Field {
                what: "Komodo assetchain parameter name",
                spec: KOMODO,
                sinks: &[Compose, Helm, Cfn],
                exact: false,
                wrap: ("", ""),
            },
            "@ACKEY@",
        ),
        (
            Field {
                what: "chain home",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@HOME@",
        ),
        (
            Field {
                what: "bech32 prefix",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@BECH@",
        ),
        (
            Field {
                what: "genesis time",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@GTIME@",
        ),
        (
            Field {
                what: "minimum gas prices",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("0", ""),
            },
            "@MGP@",
        ),
        (
            Field {
                what: "display denom name",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@DNAME@",
        ),
        (
            Field {
                what: "display denom symbol",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@DSYM@",
        ),
        (
            Field {
                what: "commission rate",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("0.", ""),
            },
            "@RATE@",
        ),
        (
            Field {
                what: "validator moniker",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@VMON@",
        ),
        (
            Field {
                what: "validator details",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@VDET@",
        ),
        (
            Field {
                what: "validator website",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("https://example.com/", ""),
            },
            "@VWEB@",
        ),
        (
            Field {
                what: "validator identity",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@VID@",
        ),
        (
            Field {
                what: "min self-delegation",
                spec: COSMOS,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@MSD@",
        ),
        (
            Field {
                what: "SMTP smarthost",
                spec: COMETBFT,
                sinks: &[Plain("compose/alertmanager/alertmanager.yml")],
                exact: true,
                wrap: ("", ":587"),
            },
            "@SMARTHOST@",
        ),
        (
            Field {
                what: "SMTP username",
                spec: COMETBFT,
                sinks: &[Plain("compose/alertmanager/alertmanager.yml")],
                exact: true,
                wrap: ("", ""),
            },
            "@SMTPUSER@",
        ),
        (
            Field {
                what: "compose host_ip",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@HOSTIP@",
        ),
        (
            Field {
                what: "Kubernetes namespace",
                spec: COMETBFT,
                sinks: &[],
                exact: true,
                wrap: ("", ""),
            },
            "@NS@",
        ),
        (
            Field {
                what: "alert webhook URL",
                spec: COMETBFT,
                sinks: &[Templated("compose/alertmanager/alertmanager.yml")],
                exact: true,
                wrap: ("https://example.com/", ""),
            },
            "@HOOK@",
        ),
        (
            Field {
                what: "SNS topic ARN",
                spec: GENERIC,
                sinks: &[Cfn],
                exact: true,
                wrap: ("arn:aws:sns:us-east-1:123456789012:", ""),
            },
            "@SNS@",
        ),
        (
            Field {
                what: "config.toml key",
                spec: COMETBFT,
                sinks: &[Toml("nodes/validator-0/config/config.toml")],
                exact: true,
                wrap: ("", ""),
            },
            "@CKEY@",
        ),
        (
            Field {
                what: "group env name",
                spec: GENERIC,
                sinks: &[LocalEnvName, Compose, Helm, Cfn],
                exact: true,
                wrap: ("", ""),
            },
            "@EKEY@",
        ),
        (
            Field {
                what: "alert e-mail address",
                spec: COMETBFT,
                sinks: &[Templated("compose/alertmanager/alertmanager.yml")],
                exact: true,
                wrap: ("ops", "@example.com"),
            },
            "@EMAIL@",
        ),
        (
            Field {
                what: "SMTP sender",
                spec: COMETBFT,
                sinks: &[Templated("compose/alertmanager/alertmanager.yml")],
                exact: true,
                wrap: ("", ""),
            },
            "@FROM@",
        ),
        (
            Field {
                what: "ACM certificate ARN",
                spec: GENERIC,
                sinks: &[Cfn],
                exact: true,
                wrap: ("arn:aws:acm:us-east-1:123456789012:certificate/", ""),
            },
            "@ARN@",
        ),
        (
            Field {
                what: "Kubernetes cluster domain",
                spec: COMETBFT,
                sinks: &[Helm],
                exact: false,
                wrap: ("", ""),
            },
            "@DOMAIN@",
        ),
        (
            Field {
                what: "alert label name",
                spec: COMETBFT,
                sinks: &[Templated("compose/prometheus/alerts.yml"), Helm],
                exact: true,
                wrap: ("", ""),
            },
            "@LKEY@",
        ),
        (
            Field {
                what: "Komodo assetchain parameter",
                spec: KOMODO,
                sinks: &[Compose, Helm, Cfn],
                exact: false,
                wrap: ("", ""),
            },
            "@ACPARAM@",
        ),
        (
            Field {
                what: "Komodo assetchain name",
                spec: KOMODO,
                sinks: &[Compose, Helm, Cfn],
                exact: false,
                wrap: ("", ""),
            },
            "@AC@",
        ),
        (
            Field {
                what: "Komodo notary name",
                spec: KOMODO,
                sinks: &[Compose],
                exact: false,
                wrap: ("", ""),
            },
            "@NOTARY@",
        ),
        (
            Field {
                what: "group env value",
                spec: GENERIC,
                sinks: &[LocalEnv, EntrypointEnv, Compose, Helm, Cfn],
                exact: true,
                wrap: ("", ""),
            },
            "@ENV@",
        ),
        (
            Field {
                what: "custom command argument",
                spec: GENERIC,
                sinks: &[LocalArg, EntrypointArg, Compose, Helm, Cfn],
                exact: true,
                wrap: ("", ""),
            },
            "@ARG@",
        ),
        (
            Field {
                what: "chain image",
                spec: GENERIC,
                sinks: &[DockerFrom],
                exact: true,
                wrap: ("", ""),
            },
            "@IMAGE@",
        ),
        (
            Field {
                what: "config.toml string (moniker)",
                spec: COMETBFT,
                sinks: &[Toml("nodes/validator-0/config/config.toml")],
                exact: true,
                wrap: ("", ""),
            },
            "@MONIKER@",
        ),
        (
            Field {
                what: "alert label value",
                spec: COMETBFT,
                sinks: &[Templated("compose/prometheus/alerts.yml"), Helm],
                exact: true,
                wrap: ("", ""),
            },
            "@LABEL@",
        ),
        (
            Field {
                what: "Slack channel",
                spec: COMETBFT,
                sinks: &[Templated("compose/alertmanager/alertmanager.yml")],
                exact: true,
                wrap: ("", ""),
            },
            "@SLACK@",
        ),
        (
            Field {
                what: "Kubernetes storage class",
                spec: COMETBFT,
                sinks: &[Helm],
                exact: true,
                wrap: ("", ""),
            },
            "@STORAGE@",
        ),
        (
            Field {
                what: "app.toml string (pruning)",
                spec: COSMOS,
                sinks: &[Toml("nodes/validator-0/config/app.toml")],
                exact: true,
                wrap: ("", ""),
            },
            "@PRUNING@",
        ),
        (
            Field {
                what: "genesis patch string value",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@PATCH@",
        ),
        (
            Field {
                what: "denom",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: false,
                wrap: ("", ""),
            },
            "@DENOM@",
        ),
        (
            Field {
                what: "account name",
                spec: COSMOS,
                sinks: &[Json("genesis.json")],
                exact: true,
                wrap: ("", ""),
            },
            "@ACCOUNT@",
        ),
        (
            Field {
                what: "group name",
                spec: COSMOS,
                sinks: &[Compose],
                exact: false,
                wrap: ("", ""),
            },
            "@GROUP@",
        ),
    ]
}

/// Benign values for the placeholders a field does not test.
fn benign(placeholder: &str) -> &'static str {
    match placeholder {
        "@IMAGE@" => "example/node:1.0.0",
        "@ENV@" | "@ARG@" | "@MONIKER@" | "@LABEL@" | "@PATCH@" => "plain",
        "@SLACK@" => "\"#ops\"",
        "@STORAGE@" => "standard",
        "@CHAINID@" => "hostile-1",
        "@BIN@" => "cometbft",
        "@SEEDENV@" => "CHAINFLEET_SEED",
        "@REGION@" => "local",
        "@PORTKEY@" => "p2p",
        "@MEM@" => "1Gi",
        "@AKEY@" => "iavl-cache-size",
        "@PPATH@" => "/app_state/gov/params/burn_vote_quorum",
        "@COIN@" => "1000stake",
        "@ACKEY@" => "halving",
        "@HOME@" => "/home/simd",
        "@BECH@" => "cosmos",
        "@GTIME@" => "2026-01-01T00:00:00Z",
        "@MGP@" => "0stake",
        "@DNAME@" => "kstake",
        "@DSYM@" => "KST",
        "@RATE@" => "\"0.05\"",
        "@VMON@" => "mon",
        "@VDET@" => "details",
        "@VWEB@" => "https://example.com",
        "@VID@" => "id",
        "@MSD@" => "\"1\"",
        "@SMARTHOST@" => "smtp.example.com:587",
        "@SMTPUSER@" => "alerts",
        "@HOSTIP@" => "127.0.0.1",
        "@NS@" => "hostile",
        "@DOMAIN@" => "cluster.local",
        "@LKEY@" => "owner",
        "@CKEY@" => "mempool.size",
        "@EKEY@" => "OTHER",
        "@EMAIL@" => "ops@example.com",
        "@HOOK@" => "https://example.com/hook",
        "@SNS@" => "arn:aws:sns:us-east-1:123456789012:alerts",
        "@FROM@" => "alerts@example.com",
        "@ARN@" => "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        "@AC@" => "BEER",
        "@ACPARAM@" => "\"10000\"",
        "@NOTARY@" => "alice_EU",
        "@DENOM@" => "stake",
        "@PRUNING@" => "default",
        "@ACCOUNT@" => "faucet",
        "@GROUP@" => "validator",
        other => panic!("no benign value for {other}"),
    }
}

/// The spec text with `value` at `placeholder` and benign values elsewhere; and the
/// (1-based) line the value is on.
fn spec_text(field: &Field, placeholder: &str, value: &str) -> (String, usize) {
    let line = field
        .spec
        .lines()
        .position(|l| l.contains(placeholder))
        .expect("placeholder in spec")
        + 1;
    let mut text = field
        .spec
        .replace(placeholder, &serde_json::to_string(value).unwrap());
    // The other placeholders (`@NAME@`, upper case) of the template get benign values.
    let mut others: Vec<&str> = field
        .spec
        .split('@')
        .skip(1)
        .step_by(2)
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase()))
        .collect();
    others.dedup();
    for p in others {
        let ph = format!("@{p}@");
        text = text.replace(&ph, benign(&ph));
    }
    (text, line)
}

/// A stub node binary: records its argv (NUL-separated) and environment (`env -0`) in
/// `$STUB_OUT`, then waits to be stopped.
fn stub(dir: &Path) -> PathBuf {
    let path = dir.join("stub-node");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         printf '%s\\0' \"$@\" >\"$STUB_OUT/argv\"\n\
         env -0 >\"$STUB_OUT/env\"\n\
         while :; do sleep 1; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Run `local/run.sh` with the stub in `work` (so a stray `touch canary` lands there), then
/// `local/stop.sh`; return the recorded (argv, environment).
fn run_local(out: &Path, work: &Path) -> (Vec<String>, BTreeMap<String, String>) {
    let stub = stub(work);
    let rec = work.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let script = |name: &str| {
        let mut c = Command::new(out.join("local").join(name));
        c.current_dir(work)
            .env("CHAINFLEET_RUN_DIR", work.join("run"))
            .env("CHAINFLEET_BINARY", &stub)
            .env("CHAINFLEET_STOP_TIMEOUT", "5")
            .env("STUB_OUT", &rec);
        c
    };
    let o = run(&mut script("run.sh"));
    let stop = run(&mut script("stop.sh"));
    assert_ok(&o, "local/run.sh");
    assert_ok(&stop, "local/stop.sh");
    read_record(&rec)
}

/// Run `docker/entrypoint.sh` as the container would: node-0's compose command as its
/// arguments, its compose environment, the generated tree as the image root, and a stub
/// named like the chain binary first on PATH. Returns the stub's (argv, environment).
fn run_entrypoint(out: &Path, work: &Path) -> (Vec<String>, BTreeMap<String, String>) {
    let cfg = compose_config(out);
    let service = &cfg["services"]["node-0"];
    let unescape = |v: &Value| v.as_str().unwrap().replace("$$", "$");
    let command: Vec<String> = service["command"]
        .as_array()
        .expect("node-0 has a command")
        .iter()
        .map(unescape)
        .collect();
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rec = work.join("entry-rec");
    std::fs::create_dir_all(&rec).unwrap();
    let stub = bin.join(&command[0]);
    std::fs::write(
        &stub,
        "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$STUB_OUT/argv\"\nenv -0 >\"$STUB_OUT/env\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Command::new("sh");
    c.arg(out.join("docker/entrypoint.sh"))
        .args(&command)
        .current_dir(work)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("CHAINFLEET_ROOT", out)
        .env("CHAINFLEET_HOME", work.join("home"))
        .env("STUB_OUT", &rec);
    if let Some(env) = service["environment"].as_object() {
        for (k, v) in env {
            c.env(k, unescape(v));
        }
    }
    let o = run(&mut c);
    assert_ok(&o, "docker/entrypoint.sh");
    read_record(&rec)
}

/// The (argv, environment) a stub recorded in `rec`.
fn read_record(rec: &Path) -> (Vec<String>, BTreeMap<String, String>) {
    let argv = std::fs::read(rec.join("argv")).expect("the stub ran");
    let argv = argv
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    let env = std::fs::read(rec.join("env")).unwrap();
    let env = env
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8(kv.to_vec()).ok()?;
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
    (argv, env)
}

/// Every string of a JSON value (keys included).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                strings(x, out);
            }
        }
        _ => {}
    }
}

/// A YAML stream (documents separated by `---` lines) as JSON values, parsed by the
/// spec loader's YAML reader.
fn yaml_docs(text: &str, what: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line == "---" || line.starts_with("--- ") {
            if cur.trim().lines().any(|l| !l.trim_start().starts_with('#')) {
                let doc = chainfleet::spec::load::load(what, cur.as_bytes())
                    .unwrap_or_else(|e| panic!("{what} is not YAML: {e:?}\n{cur}"));
                docs.push(doc.value);
            }
            cur.clear();
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    docs
}

/// How a consumer reads back a string of its file.
#[derive(Clone, Copy)]
enum Read {
    /// As written.
    Plain,
    /// A CloudFormation `Fn::Sub` string carries a literal `${` as `${!`.
    Sub,
    /// `docker compose config` writes every literal `$` as `$$`.
    Compose,
}

/// True when some string of `docs`, read back as its consumer does, is `value` (`exact`)
/// or holds it.
fn holds(docs: &[Value], value: &str, read: Read, exact: bool) -> bool {
    let mut all = Vec::new();
    docs.iter().for_each(|d| strings(d, &mut all));
    all.iter().any(|s| {
        let s = match read {
            Read::Plain => s.clone(),
            Read::Sub => s.replace("${!", "${"),
            Read::Compose => s.replace("$$", "$"),
        };
        if exact {
            s == value
        } else {
            s.contains(value)
        }
    }) || (matches!(read, Read::Sub) && holds(docs, value, Read::Plain, exact))
}

fn helm_template(out: &Path, work: &Path) -> String {
    let helm = tool("HELM").expect("helm");
    let chart = std::fs::read_dir(out.join("helm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a chart folder");
    let home = work.join("helm-home");
    let o = run(Command::new(helm)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .args(["template", "rel"])
        .arg(&chart)
        .args([
            "--namespace",
            "hostile",
            "--api-versions",
            "monitoring.coreos.com/v1",
        ]));
    assert_ok(&o, "helm template");
    String::from_utf8(o.stdout).unwrap()
}

fn compose_config(out: &Path) -> Value {
    let compose = tool("COMPOSE").expect("docker compose");
    let o = run(Command::new(compose)
        .arg("-f")
        .arg(out.join("compose/docker-compose.yaml"))
        .args(["config", "--format", "json"]));
    assert_ok(&o, "docker compose config");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Check one sink; panics with what differs.
fn check_sink(sink: Sink, out: &Path, work: &Path, value: &str, exact: bool, ctx: &str) {
    match sink {
        Sink::LocalEnv | Sink::LocalArg | Sink::LocalEnvName => {
            let (argv, env) = run_local(out, work);
            match sink {
                Sink::LocalEnvName => assert!(env.contains_key(value), "{ctx}: run.sh environment"),
                Sink::LocalEnv => assert_eq!(
                    env.get("HOSTILE").map(String::as_str),
                    Some(value),
                    "{ctx}: run.sh environment"
                ),
                _ => assert!(
                    argv.iter().any(|a| a == value),
                    "{ctx}: run.sh arguments {argv:?}"
                ),
            }
        }
        Sink::EntrypointEnv => {
            let (_, env) = run_entrypoint(out, work);
            assert_eq!(
                env.get("HOSTILE").map(String::as_str),
                Some(value),
                "{ctx}: entrypoint environment"
            );
        }
        Sink::EntrypointArg => {
            let (argv, _) = run_entrypoint(out, work);
            assert!(
                argv.iter().any(|a| a == value),
                "{ctx}: entrypoint arguments {argv:?}"
            );
        }
        Sink::Compose => {
            let cfg = compose_config(out);
            assert!(
                holds(&[cfg], value, Read::Compose, exact),
                "{ctx}: docker compose config"
            );
        }
        Sink::Plain(rel) => {
            let text = std::fs::read_to_string(out.join(rel)).unwrap();
            assert!(
                holds(&yaml_docs(&text, rel), value, Read::Plain, exact),
                "{ctx}: {rel}\n{text}"
            );
        }
        Sink::Templated(rel) => {
            assert!(
                !value.contains("{{") && !value.contains("}}"),
                "{ctx}: {rel}: Prometheus and Alertmanager would expand the template"
            );
            let text = std::fs::read_to_string(out.join(rel)).unwrap();
            assert!(
                holds(&yaml_docs(&text, rel), value, Read::Plain, exact),
                "{ctx}: {rel}\n{text}"
            );
        }
        Sink::Helm => {
            let text = helm_template(out, work);
            assert!(
                holds(
                    &yaml_docs(&text, "helm template"),
                    value,
                    Read::Plain,
                    exact
                ),
                "{ctx}: helm template"
            );
        }
        Sink::Cfn => {
            let dir = out.join("cloudformation");
            let mut n = 0;
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.ends_with(".yaml") && name != "network.yaml" {
                    let text = std::fs::read_to_string(&p).unwrap();
                    assert!(
                        holds(&yaml_docs(&text, &name), value, Read::Sub, exact),
                        "{ctx}: CloudFormation {name}"
                    );
                    n += 1;
                }
            }
            assert!(n > 0, "{ctx}: no CloudFormation template");
        }
        Sink::Toml(rel) => {
            let text = std::fs::read_to_string(out.join(rel)).unwrap();
            let v: toml::Value =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{ctx}: {rel}: {e}"));
            let v = serde_json::to_value(v).unwrap();
            assert!(holds(&[v], value, Read::Plain, exact), "{ctx}: {rel}");
        }
        Sink::Json(rel) => {
            let v: Value = serde_json::from_slice(&std::fs::read(out.join(rel)).unwrap())
                .unwrap_or_else(|e| panic!("{ctx}: {rel}: {e}"));
            assert!(holds(&[v], value, Read::Plain, exact), "{ctx}: {rel}");
        }
        Sink::JsonPointerKey(rel) => {
            let v: Value = serde_json::from_slice(&std::fs::read(out.join(rel)).unwrap())
                .unwrap_or_else(|e| panic!("{ctx}: {rel}: {e}"));
            let last = value.rsplit('/').next().unwrap();
            let key = last.replace("~1", "/").replace("~0", "~");
            assert!(holds(&[v], &key, Read::Plain, true), "{ctx}: {rel}");
        }
        Sink::DockerFrom => {
            let text = std::fs::read_to_string(out.join("docker/Dockerfile")).unwrap();
            let from: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
            assert_eq!(
                from,
                [format!("FROM {value}").as_str()],
                "{ctx}: Dockerfile"
            );
            // Docker substitutes `$VAR` and `${VAR}` in FROM: a literal value has none.
            assert!(!value.contains('$'), "{ctx}: `$` in FROM is substituted");
        }
    }
}

/// No file named `canary` anywhere below `dir`: nothing ran an injected command.
fn no_canary(dir: &Path, ctx: &str) {
    for f in files_under(dir) {
        assert!(
            f.file_name().is_none_or(|n| n != "canary"),
            "{ctx}: an injected command ran: {}",
            f.display()
        );
    }
}

/// What became of one value in one field.
enum Outcome {
    Refused,
    Carried,
}

/// Validate the spec with `value` in `field`; when accepted, generate it and read every sink.
/// Returns the outcome and the problems found.
fn try_value(field: &Field, placeholder: &str, value: &str) -> (Outcome, Vec<String>) {
    let value = &format!("{}{value}{}", field.wrap.0, field.wrap.1);
    let ctx = format!("{} = {value:?}", field.what);
    let mut problems = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let (text, line) = spec_text(field, placeholder, value);
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, &text).unwrap();
    let o = run(chainfleet()
        .arg("validate")
        .arg(&spec)
        .current_dir(dir.path()));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    match o.status.code() {
        Some(1) => {
            // Refused: an error positioned on the field's line.
            let at = format!("{}:{line}:", spec.display());
            if !stderr
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(": error: "))
            {
                problems.push(format!(
                    "{ctx}: refused without a position on line {line}:\n{stderr}"
                ));
            }
            (Outcome::Refused, problems)
        }
        Some(0) => {
            let out = dir.path().join("out");
            let o = run(chainfleet()
                .arg("generate")
                .arg(&spec)
                .arg("--out")
                .arg(&out)
                .arg("--secrets")
                .arg(dir.path().join("secrets"))
                .current_dir(dir.path()));
            if !o.status.success() {
                problems.push(format!(
                    "{ctx}: generate failed after validate said ok:\n{}",
                    String::from_utf8_lossy(&o.stderr)
                ));
                return (Outcome::Carried, problems);
            }
            for sink in field.sinks {
                let work = dir.path().join("work");
                std::fs::create_dir_all(&work).unwrap();
                let r = std::panic::catch_unwind(|| {
                    check_sink(*sink, &out, &work, value, field.exact, &ctx)
                });
                if let Err(e) = r {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    problems.push(format!("{ctx}: {sink:?}: {msg}"));
                }
            }
            no_canary(dir.path(), &ctx);
            (Outcome::Carried, problems)
        }
        _ => {
            problems.push(format!("{ctx}: validate exited {:?}:\n{stderr}", o.status));
            (Outcome::Refused, problems)
        }
    }
}

#[test]
fn every_free_string_is_refused_with_a_position_or_carried_literally() {
    let started = Instant::now();
    let fields = fields();
    // Two workers (the fields alternate), each value in its own folder.
    let results: Vec<(usize, usize, usize, Vec<String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let fields = &fields;
                scope.spawn(move || {
                    let mut res = Vec::new();
                    for (i, (field, placeholder)) in fields.iter().enumerate() {
                        if i % 2 != w {
                            continue;
                        }
                        let (mut refused, mut carried, mut problems) = (0, 0, Vec::new());
                        for value in hostile() {
                            let (outcome, p) = try_value(field, placeholder, &value);
                            match outcome {
                                Outcome::Refused => refused += 1,
                                Outcome::Carried => carried += 1,
                            }
                            problems.extend(p);
                        }
                        res.push((i, refused, carried, problems));
                    }
                    res
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut results = results;
    results.sort_by_key(|r| r.0);
    let (mut refused, mut carried, mut problems) = (0, 0, Vec::new());
    for (i, r, c, p) in results {
        eprintln!("  {:<32} {r:>2} refused, {c:>2} carried", fields[i].0.what);
        refused += r;
        carried += c;
        problems.extend(p);
    }
    eprintln!(
        "hostile strings: {} fields x {} values: {refused} refused with a position, {carried} carried literally to every sink, {} problems ({:.1} s)",
        fields.len(),
        hostile().len(),
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
