//! The ECS task definitions of the AWS target, run for real on a Docker engine as ECS would
//! run them (issue 13, "Prove the ECS wiring by running it"): moto never runs a task, so this
//! is what executes the generated CloudFormation.
//!
//! The Duality-style example (`examples/cosmos-testnet-aws.yaml`) is generated with a test
//! spec derived from it (see [`test_spec`]): 2 regions, 4 validators behind a sentry per
//! region, one RPC node, Fargate. Every region stack `cloudformation/<region>.yaml` is parsed
//! and each ECS service's task definition is resolved by a small CloudFormation evaluator
//! ([`Stack`]) that panics on any intrinsic or property it does not know, never dropping a
//! value. Each container definition becomes one `docker run` with:
//! - the image built from the generated `docker/Dockerfile` as parameter `Image` (every other
//!   parameter takes its template default);
//! - EntryPoint, Command, Environment, User, StopTimeout, Linux tmpfs mounts and the task's
//!   Cpu/Memory as Docker flags; the container HealthCheck as Docker's health check with the
//!   same interval, timeout, retries and start period;
//! - every `Secrets[]` entry as an environment variable whose value is the file that
//!   `cloudformation/deploy.sh` pushes to that Secrets Manager secret: `ValueFrom` (a
//!   `Fn::ImportValue` of the region's `network.yaml` stack export) is resolved to the secret's
//!   ARN and name, and the name to deploy.sh's `put-secret-value --secret-id NAME
//!   --secret-string file://$secrets/PATH` line;
//! - the EFS volumes as bind mounts of one host folder per (region, file system, access point
//!   RootDirectory), created with the access point's CreationInfo mode, so two access points
//!   with one path share a tree as on EFS;
//! - networking: each region's VPC is one Docker network, on which a task answers to its
//!   Cloud Map name (`<service>.<namespace>` of its service registry); one more network stands
//!   for the internet: a task behind a network load balancer holds that load balancer's
//!   Elastic IP there and answers to the Route 53 names of it (record -> Elastic IP -> NLB
//!   subnet mapping -> listener -> target group -> ECS service). Every task joins that network
//!   too (tasks in private subnets reach the internet through the NAT gateway). Without a
//!   Route 53 zone, the `PeerHost<Node>` parameters get what deploy.sh's second pass gives
//!   them: the other regions' exports of those Elastic IPs;
//! - the region stacks start at once when deploy.sh deploys them at once (waves read from the
//!   script), and a task that would wait for a name only a later wave creates fails the test.
//!
//! Checked: height 5 with every genesis validator signing; every p2p connection seen in
//! `/net_info` is one the security groups admit (Docker's networks do not filter: each is
//! checked against the dialler's egress and the dialled task's ingress rules, through the
//! load balancer's private address when dialled by public name); the metrics sidecar's scrape
//! target answers with the metrics its CloudWatch configuration selects. With every drill
//! (the Route 53 test): no validator key byte is on any EFS tree, each validator's key
//! resolves to a tmpfs and its home folder is mounted by that validator only; a sentry reads
//! no validator key at any validator key path and no file of its whole file system holds one
//! (the same search in a validator finds its own); every container turns healthy by its own
//! health check; a validator task killed with `docker kill` leaves its signing state on EFS,
//! and a new task from the same definition (as ECS replaces a task) catches up and signs again.
//!
//! Not modelled (the template assertions of `tests/cfn_semantics.rs` cover them): IAM
//! (execution/task roles, the EFS file-system policy), the CloudWatch agent sidecar itself
//! (its image cannot be pulled offline: its scrape target is checked instead), awslogs (logs
//! stay with Docker), load balancer health checks, and the order of services inside a stack
//! (they start in parallel; CloudFormation's validator waves matter for updates).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::*;

const TIMEOUT: Duration = Duration::from_secs(150);
const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// The example with what this machine can run, each change asserted so that a drift of the
/// example fails here instead of silently testing something else:
/// - the chain binary is the real `simd` of the offline simapp stand-in image (Duality's image
///   cannot be pulled), with the SDK's `cosmos` address prefix that simd hard-codes;
/// - genesis in the past (the example's is in the future: the chain would wait for it);
/// - 2 regions, 4 validators (so one can be killed while 3/4 of the power keeps making
///   blocks), a sentry per region, one RPC node.
fn test_spec() -> String {
    let mut text =
        std::fs::read_to_string(root().join("examples/cosmos-testnet-aws.yaml")).unwrap();
    let mut edit = |from: &str, to: &str, times: usize| {
        assert_eq!(
            text.matches(from).count(),
            times,
            "examples/cosmos-testnet-aws.yaml changed: `{from}` expected {times} time(s)"
        );
        text = text.replace(from, to);
    };
    edit("binary: dualityd", "binary: simd", 1);
    edit(
        "image: ghcr.io/duality-labs/duality:v0.5.0",
        "image: ghcr.io/cosmos/simapp:v0.50.15",
        1,
    );
    edit("bech32_prefix: dual\n", "bech32_prefix: cosmos\n", 1);
    edit(
        "genesis_time: 2026-12-01T00:00:00Z",
        "genesis_time: 2026-01-01T00:00:00Z",
        1,
    );
    edit(
        "[us-east-1, eu-west-1, ap-southeast-1]",
        "[us-east-1, eu-west-1]",
        3,
    );
    edit(
        "    count: 3\n    regions: [us-east-1, eu-west-1]",
        "    count: 2\n    regions: [us-east-1, eu-west-1]",
        1,
    );
    edit(
        "    count: 2\n    regions: [us-east-1, eu-west-1]\n    expose: { rpc",
        "    count: 1\n    regions: [us-east-1]\n    expose: { rpc",
        1,
    );
    text
}

// --- CloudFormation evaluation ------------------------------------------------------------

/// One template as deployed in one region: parameters and conditions evaluated, intrinsics
/// resolved; anything unknown panics with its position.
struct Stack {
    name: String,
    region: String,
    tpl: Value,
    params: BTreeMap<String, String>,
    /// The region's CloudFormation exports (what `Fn::ImportValue` sees).
    exports: BTreeMap<String, Value>,
    /// Elastic IP resource -> its address on the internet network.
    eips: BTreeMap<String, Ipv4Addr>,
}

impl Stack {
    /// `first_eip`: the address of this stack's first Elastic IP on the internet network
    /// (the others follow in logical-ID order).
    fn new(
        name: &str,
        region: &str,
        tpl: Value,
        overrides: &[(String, String)],
        first_eip: Ipv4Addr,
    ) -> Stack {
        let eips = tpl["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::EC2::EIP")
            .enumerate()
            .map(|(k, (id, _))| (id.clone(), Ipv4Addr::from(u32::from(first_eip) + k as u32)))
            .collect();
        let mut params = BTreeMap::new();
        for (p, decl) in tpl["Parameters"].as_object().into_iter().flatten() {
            let v = overrides
                .iter()
                .find(|(k, _)| k == p)
                .map(|(_, v)| v.to_string())
                .or_else(|| match &decl["Default"] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Null => None,
                    other => panic!("{name}: parameter {p} default {other}"),
                })
                .unwrap_or_else(|| panic!("{name} ({region}): parameter {p} has no value"));
            params.insert(p.clone(), v);
        }
        Stack {
            name: name.to_string(),
            region: region.to_string(),
            tpl,
            params,
            exports: BTreeMap::new(),
            eips,
        }
    }

    /// The Elastic IP resource holding address `ip`.
    fn eip_of(&self, ip: &Value) -> String {
        let ip: Ipv4Addr = ip
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{}: {ip} is not an Elastic IP address", self.name));
        self.eips
            .iter()
            .find(|(_, a)| **a == ip)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{}: {ip} is no Elastic IP of this stack", self.name))
    }

    fn resources(&self) -> &serde_json::Map<String, Value> {
        self.tpl["Resources"].as_object().unwrap()
    }

    fn resource(&self, id: &str) -> &Value {
        self.tpl["Resources"]
            .get(id)
            .unwrap_or_else(|| panic!("{}: no resource {id}", self.name))
    }

    fn kind(&self, id: &str) -> &str {
        self.resource(id)["Type"].as_str().unwrap()
    }

    /// Whether condition `name` holds in this region.
    fn condition(&self, name: &str) -> bool {
        let c = &self.tpl["Conditions"][name];
        assert!(!c.is_null(), "{}: no condition {name}", self.name);
        self.truth(c, name)
    }

    fn truth(&self, c: &Value, at: &str) -> bool {
        let (f, args) = single(c).unwrap_or_else(|| panic!("{}: condition {at}: {c}", self.name));
        match f {
            "Fn::Equals" => {
                let a = self.resolve(&args[0], at);
                let b = self.resolve(&args[1], at);
                a == b
            }
            "Fn::Not" => !self.truth(&args[0], at),
            "Fn::And" => args.as_array().unwrap().iter().all(|x| self.truth(x, at)),
            "Fn::Or" => args.as_array().unwrap().iter().any(|x| self.truth(x, at)),
            "Condition" => self.condition(args.as_str().unwrap()),
            _ => panic!("{}: condition function {f} at {at} unknown", self.name),
        }
    }

    /// A resource exists in this region when it has no condition or its condition holds.
    fn exists(&self, r: &Value) -> bool {
        r.get("Condition")
            .is_none_or(|c| self.condition(c.as_str().unwrap()))
    }

    /// The value `Ref id` returns for resource `id`: what CloudFormation documents for the
    /// types the task definitions reach; an opaque but unique token for the others.
    fn physical(&self, id: &str) -> Value {
        let r = self.resource(id);
        let p = &r["Properties"];
        match self.kind(id) {
            "AWS::SecretsManager::Secret" => {
                let name = self.resolve(&p["Name"], id);
                json!(format!(
                    "arn:aws:secretsmanager:{}:{ACCOUNT}:secret:{}-AbCdEf",
                    self.region,
                    name.as_str().unwrap()
                ))
            }
            "AWS::Logs::LogGroup" => self.resolve(&p["LogGroupName"], id),
            "AWS::EC2::EIP" => json!(self.eips[id].to_string()),
            _ => json!(format!("cfn:{}:{}:{id}", self.region, self.name)),
        }
    }

    fn pseudo(&self, name: &str) -> Option<Value> {
        Some(json!(match name {
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => ACCOUNT.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::URLSuffix" => "amazonaws.com".to_string(),
            "AWS::StackName" => self.name.clone(),
            _ => return None,
        }))
    }

    fn reference(&self, name: &str, at: &str) -> Value {
        if let Some(v) = self.pseudo(name) {
            return v;
        }
        if let Some(v) = self.params.get(name) {
            return json!(v);
        }
        if self.tpl["Resources"].get(name).is_some() {
            return self.physical(name);
        }
        panic!("{}: `Ref {name}` at {at} names nothing", self.name)
    }

    fn get_att(&self, id: &str, attr: &str, at: &str) -> Value {
        assert!(
            self.tpl["Resources"].get(id).is_some(),
            "{}: Fn::GetAtt {id}.{attr} at {at}: no such resource",
            self.name
        );
        json!(format!("cfn:{}:{}:{id}.{attr}", self.region, self.name))
    }

    /// `v` with every intrinsic function resolved; panics on one it cannot resolve.
    fn resolve(&self, v: &Value, at: &str) -> Value {
        if let Some((f, args)) = single(v) {
            return match f {
                "Ref" => self.reference(args.as_str().unwrap(), at),
                "Fn::GetAtt" => {
                    let (id, attr) = match args {
                        Value::Array(a) => (
                            a[0].as_str().unwrap().to_string(),
                            a[1].as_str().unwrap().to_string(),
                        ),
                        Value::String(s) => {
                            let (a, b) = s.split_once('.').unwrap();
                            (a.to_string(), b.to_string())
                        }
                        _ => panic!("{}: Fn::GetAtt {args} at {at}", self.name),
                    };
                    self.get_att(&id, &attr, at)
                }
                "Fn::ImportValue" => {
                    let name = self.resolve(args, at);
                    let name = name.as_str().unwrap();
                    self.exports.get(name).cloned().unwrap_or_else(|| {
                        panic!(
                            "{}: Fn::ImportValue {name} at {at}: no such export in {}",
                            self.name, self.region
                        )
                    })
                }
                "Fn::Join" => {
                    let sep = args[0].as_str().unwrap();
                    let items = self.resolve(&args[1], at);
                    let parts: Vec<String> = items
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                        .collect();
                    json!(parts.join(sep))
                }
                "Fn::Sub" => {
                    let (s, vars) = match args {
                        Value::String(s) => (s.clone(), serde_json::Map::new()),
                        Value::Array(a) => (
                            a[0].as_str().unwrap().to_string(),
                            a[1].as_object().unwrap().clone(),
                        ),
                        _ => panic!("{}: Fn::Sub {args} at {at}", self.name),
                    };
                    json!(self.sub(&s, &vars, at))
                }
                "Fn::Select" => {
                    let i = self.resolve(&args[0], at);
                    let i: usize = match i {
                        Value::Number(n) => n.as_u64().unwrap() as usize,
                        Value::String(s) => s.parse().unwrap(),
                        _ => panic!("{}: Fn::Select index {i} at {at}", self.name),
                    };
                    self.resolve(&args[1], at)[i].clone()
                }
                "Fn::If" => {
                    let c = self.condition(args[0].as_str().unwrap());
                    self.resolve(&args[if c { 1 } else { 2 }], at)
                }
                _ => panic!(
                    "{}: intrinsic {f} at {at} is not understood by this harness: {v}",
                    self.name
                ),
            };
        }
        match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, x) in m {
                    let r = self.resolve(x, &format!("{at}.{k}"));
                    // AWS::NoValue removes the property, as CloudFormation does.
                    if r != json!("AWS::NoValue") {
                        out.insert(k.clone(), r);
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.resolve(x, &format!("{at}[{i}]")))
                    .filter(|x| *x != json!("AWS::NoValue"))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn sub(&self, s: &str, vars: &serde_json::Map<String, Value>, at: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                out.push_str("${");
                rest = lit;
                continue;
            }
            let end = after
                .find('}')
                .unwrap_or_else(|| panic!("{}: unclosed ${{ in Fn::Sub at {at}", self.name));
            let name = &after[..end];
            let v = if let Some(x) = vars.get(name) {
                self.resolve(x, at)
            } else if let Some((id, attr)) = name.split_once('.') {
                self.get_att(id, attr, at)
            } else {
                self.reference(name, at)
            };
            out.push_str(
                v.as_str()
                    .map(str::to_string)
                    .as_deref()
                    .unwrap_or(&v.to_string()),
            );
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Exports of this stack's outputs in this region (those whose condition holds).
    fn outputs_exported(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (id, o) in self.tpl["Outputs"].as_object().into_iter().flatten() {
            if !self.exists(o) || o.get("Export").is_none() {
                continue;
            }
            let name = self.resolve(&o["Export"]["Name"], id);
            out.insert(
                name.as_str().unwrap().to_string(),
                self.resolve(&o["Value"], id),
            );
        }
        out
    }

    /// The logical ID a resolved `Ref` token of this stack names.
    fn id_of(&self, token: &Value) -> String {
        let t = token
            .as_str()
            .unwrap_or_else(|| panic!("not a token: {token}"));
        let prefix = format!("cfn:{}:{}:", self.region, self.name);
        t.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{t} is not a resource of {}", self.name))
            .to_string()
    }
}

/// `{ "Fn::X": args }` or `{ "Ref": x }` / `{ "Condition": x }`: the function and its args.
fn single(v: &Value) -> Option<(&str, &Value)> {
    let m = v.as_object()?;
    if m.len() != 1 {
        return None;
    }
    let (k, a) = m.iter().next().unwrap();
    (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then_some((k.as_str(), a))
}

fn load_template(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    chainfleet::spec::load::load(&path.display().to_string(), text.as_bytes())
        .unwrap_or_else(|e| panic!("{} is not YAML: {e:?}", path.display()))
        .value
}

/// deploy.sh's secret uploads: (region, secret name) -> file in the secrets tree.
fn deploy_secret_files(deploy: &str, secrets: &Path) -> BTreeMap<(String, String), PathBuf> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = deploy.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim_start().starts_with('#') || !l.contains("secretsmanager put-secret-value") {
            continue;
        }
        let word_after = |line: &str, flag: &str| -> String {
            let mut w = line.split_whitespace();
            w.find(|x| *x == flag);
            w.next()
                .unwrap_or_else(|| panic!("deploy.sh: {flag} missing in `{line}`"))
                .to_string()
        };
        let region = word_after(l, "--region");
        let id = word_after(l, "--secret-id");
        let next = lines[i + 1];
        let file = word_after(next, "--secret-string");
        let rel = file
            .trim_matches('"')
            .strip_prefix("file://$secrets/")
            .unwrap_or_else(|| panic!("deploy.sh: secret value from `{file}`"));
        out.insert((region, id), secrets.join(rel));
    }
    out
}

/// The order in which deploy.sh deploys the region stacks on a first deploy (first pass):
/// waves of stacks deployed at once (backgrounded with `&`); `cloudformation deploy` returns
/// only once a stack's ECS services are stable, so a wave starts after the previous one is
/// up. The branch taken when every region's stack exists already (an update, region after
/// region: every name exists by then) is not a first deploy and is skipped.
fn deploy_waves(deploy: &str, net: &str, regions: &[String]) -> BTreeMap<String, usize> {
    let lines: Vec<&str> = deploy.lines().collect();
    let mut waves = BTreeMap::new();
    let mut wave = 0;
    let mut in_background = false;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.trim() == r#"if [ "$update" = 1 ]; then"# {
            while lines[i].trim() != "else" {
                i += 1;
            }
            i += 1;
            continue;
        }
        let region = regions.iter().find(|r| {
            l.contains("cloudformation deploy") && l.contains(&format!("--stack-name {net}-{r} "))
        });
        // The command's last line.
        let mut end = i;
        while lines[end].trim_end().ends_with('\\') {
            end += 1;
        }
        if let Some(r) = region {
            let background = lines[end].trim_end().ends_with('&');
            if !(background && in_background) {
                wave += 1;
            }
            in_background = background;
            waves.entry(r.clone()).or_insert(wave);
        } else if l.trim_start().starts_with("if ! wait") || l.trim_start().starts_with("wait") {
            in_background = false;
        }
        i = end + 1;
    }
    for r in regions {
        assert!(
            waves.contains_key(r),
            "deploy.sh never deploys the {r} stack"
        );
    }
    waves
}

// --- Docker -------------------------------------------------------------------------------

/// What one ECS task's essential container becomes.
#[derive(Clone)]
struct Task {
    /// ECS service name (the node).
    service: String,
    region: String,
    container: String,
    /// `docker create` arguments (without the image's secret values).
    args: Vec<String>,
    /// Secret environment variables: name -> value (given to the docker CLI's environment,
    /// never on its command line).
    secret_env: Vec<(String, String)>,
    /// Aliases on the region network and on the internet network.
    region_aliases: Vec<String>,
    internet_aliases: Vec<String>,
    /// How the internet reaches the task (Route 53 name, port, load balancer).
    public: Vec<Public>,
    /// Its Elastic IP: its address on the internet network.
    eip: Option<Ipv4Addr>,
    /// The task's security groups (logical IDs in its region stack).
    sgs: Vec<String>,
    /// (host folder, container path) of each EFS mount.
    mounts: Vec<(PathBuf, String)>,
    /// CloudWatch agent scrape targets and metric name regexes of a sidecar not run.
    scrape: Vec<(String, Vec<String>)>,
    /// Containers not run (name and image).
    skipped: Vec<String>,
}

/// Everything this test started; removed on drop (also when the test fails).
struct Harness {
    docker: PathBuf,
    label: String,
    image: String,
}

impl Harness {
    fn docker(&self) -> Command {
        Command::new(&self.docker)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = run(self.docker().args(args));
        assert_ok(&o, &format!("docker {}", args.join(" ")));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn network(&self, name: &str) -> String {
        let n = format!("{}-{name}", self.label);
        self.ok(&["network", "create", "--label", &self.label_kv(), &n]);
        n
    }

    fn label_kv(&self) -> String {
        format!("org.chainfleet.test={}", self.label)
    }

    /// Create, connect and start the task's container.
    fn start(&self, t: &Task, region_net: &str, internet: &str) {
        let mut c = self.docker();
        c.args([
            "create",
            "--name",
            &t.container,
            "--label",
            &self.label_kv(),
        ]);
        c.args(["--network", region_net]);
        for a in &t.region_aliases {
            c.args(["--network-alias", a]);
        }
        for (k, v) in &t.secret_env {
            c.env(k, v).args(["-e", k]);
        }
        c.args(&t.args);
        let o = run(&mut c);
        assert_ok(&o, &format!("docker create {}", t.container));
        let mut connect = vec!["network", "connect"];
        for a in &t.internet_aliases {
            connect.extend(["--alias", a]);
        }
        let ip = t.eip.map(|i| i.to_string());
        if let Some(ip) = &ip {
            connect.extend(["--ip", ip]);
        }
        connect.extend([internet, &t.container]);
        {
            // dockerd 20.10 once left a stale endpoint (a network it then refused to remove)
            // after concurrent connects to one network: connect one container at a time.
            let _one = CONNECT.lock().unwrap_or_else(|e| e.into_inner());
            self.ok(&connect);
        }
        self.ok(&["start", &t.container]);
    }

    fn inspect(&self, container: &str, format: &str) -> Option<String> {
        let o = self
            .docker()
            .args(["inspect", "-f", format, container])
            .output()
            .ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    }

    fn ip(&self, container: &str, network: &str) -> Ipv4Addr {
        self.inspect(
            container,
            &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        )
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no address of {container} on {network}"))
    }

    /// The container's address on each of its networks (one `docker inspect`).
    fn ips(&self, container: &str) -> BTreeMap<String, Ipv4Addr> {
        let text = self
            .inspect(container, "{{json .NetworkSettings.Networks}}")
            .unwrap_or_else(|| panic!("docker inspect {container}"));
        let v: Value = serde_json::from_str(&text).unwrap();
        v.as_object()
            .unwrap()
            .iter()
            .map(|(n, x)| (n.clone(), x["IPAddress"].as_str().unwrap().parse().unwrap()))
            .collect()
    }

    /// (running, health status) of each container, in one `docker inspect`; panics with the
    /// log of one that stopped.
    fn states(&self, containers: &[&str]) -> BTreeMap<String, String> {
        let o = run(self
            .docker()
            .args([
                "inspect",
                "-f",
                "{{.Name}} {{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
            ])
            .args(containers));
        assert_ok(&o, "docker inspect");
        let mut out = BTreeMap::new();
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().trim_start_matches('/').to_string();
            if w.next() != Some("true") {
                self.alive(&name);
            }
            out.insert(name, w.next().unwrap_or("").to_string());
        }
        out
    }

    /// Panics with the container's log when it is no longer running.
    fn alive(&self, container: &str) {
        let running = self.inspect(container, "{{.State.Running}}");
        if running.as_deref() != Some("true") {
            let logs = self
                .docker()
                .args(["logs", "--tail", "40", container])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout).into_owned()
                        + &String::from_utf8_lossy(&o.stderr)
                })
                .unwrap_or_default();
            panic!("container {container} is not running ({running:?}); its log:\n{logs}");
        }
    }

    /// `sh -c script` inside `container`: (success, stdout+stderr).
    fn exec(&self, container: &str, script: &str) -> (bool, String) {
        let o = run(self.docker().args(["exec", container, "sh", "-c", script]));
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let t = Instant::now();
        let filter = format!("label={}", self.label_kv());
        let ids = self
            .docker()
            .args(["ps", "-aq", "--filter", &filter])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        // One at a time, as the connects (see CONNECT).
        for id in &ids {
            let _ = self.docker().args(["rm", "-f", "-v", id]).output();
        }
        let nets = self
            .docker()
            .args(["network", "ls", "-q", "--filter", &filter])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for n in nets.split_whitespace() {
            let o = self.docker().args(["network", "rm", n]).output();
            if !o.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!(
                    "ecs: LEFT BEHIND: docker network {n} could not be removed: {}",
                    o.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                        .unwrap_or_default()
                );
            }
        }
        let _ = self.docker().args(["rmi", &self.image]).output();
        eprintln!(
            "ecs: removed {} containers, networks and the image in {:.1} s",
            ids.len(),
            secs(t)
        );
    }
}

/// GET `path` from `ip:port`: the JSON `result`, or `None` when it does not answer.
fn rpc(ip: Ipv4Addr, path: &str) -> Option<Value> {
    let mut s = TcpStream::connect_timeout(&(ip, 26657).into(), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if head.split(' ').nth(1) != Some("200") {
        return None;
    }
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("result")
        .cloned()
}

fn height(ip: Ipv4Addr) -> Option<u64> {
    rpc(ip, "/status")?["sync_info"]["latest_block_height"]
        .as_str()?
        .parse()
        .ok()
}

/// A shell command listing every file (outside /proc and /sys) holding one of `keys`.
fn grep_keys(keys: &[(String, String)]) -> String {
    let patterns: Vec<String> = keys
        .iter()
        .map(|(_, k)| format!("-e {}", sh_quote(k)))
        .collect();
    format!(
        "grep -rlsF --exclude-dir=proc --exclude-dir=sys {} /",
        patterns.join(" ")
    )
}

fn docker_cmd(docker: &Path) -> Command {
    Command::new(docker)
}

/// POSIX shell quoting.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

// --- from templates to tasks ---------------------------------------------------------------

/// Container definition keys this harness maps to Docker, and those with no Docker meaning
/// here (with why). Any other key fails the test: a new property must be given a meaning.
const IGNORED_KEYS: &[(&str, &str)] = &[
    ("Name", "the container name is <label>-<service>"),
    (
        "Essential",
        "an essential container is run; a non-essential one is run or reported",
    ),
    (
        "LogConfiguration",
        "awslogs: logs stay with Docker (docker logs)",
    ),
    (
        "PortMappings",
        "awsvpc: every container port is on the task's own address",
    ),
    (
        "MemoryReservation",
        "a soft limit; the task's Memory is the hard one",
    ),
];

#[allow(clippy::too_many_arguments)]
fn task_of(
    stack: &Stack,
    service_id: &str,
    image: &str,
    secret_names: &BTreeMap<String, (String, String)>,
    secret_files: &BTreeMap<(String, String), PathBuf>,
    efs_root: &Path,
    label: &str,
    docker: &Path,
) -> Task {
    let svc = stack.resolve(&stack.resource(service_id)["Properties"], service_id);
    let service = svc["ServiceName"].as_str().unwrap().to_string();
    let at = format!("{} {service}", stack.name);
    assert_eq!(svc["LaunchType"], "FARGATE", "{at}: launch type");
    let desired = match &svc["DesiredCount"] {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("{at}: DesiredCount {other}"),
    };
    assert_eq!(desired, 1, "{at}: one task per node");
    let td_id = stack.id_of(&svc["TaskDefinition"]);
    assert_eq!(stack.kind(&td_id), "AWS::ECS::TaskDefinition");
    let td = stack.resolve(&stack.resource(&td_id)["Properties"], &td_id);
    assert_eq!(td["NetworkMode"], "awsvpc", "{at}: network mode");

    // Cloud Map: the service registries' names in their namespaces.
    let mut region_aliases = Vec::new();
    for reg in svc["ServiceRegistries"].as_array().into_iter().flatten() {
        let arn = reg["RegistryArn"].as_str().unwrap();
        let disc = arn
            .strip_prefix(&format!("cfn:{}:{}:", stack.region, stack.name))
            .and_then(|s| s.strip_suffix(".Arn"))
            .unwrap_or_else(|| panic!("{at}: registry {arn}"));
        assert_eq!(stack.kind(disc), "AWS::ServiceDiscovery::Service");
        let d = stack.resolve(&stack.resource(disc)["Properties"], disc);
        let ns = stack.id_of(&d["NamespaceId"]);
        assert_eq!(
            stack.kind(&ns),
            "AWS::ServiceDiscovery::PrivateDnsNamespace",
            "{at}: Cloud Map namespace kind"
        );
        let ns = stack.resolve(&stack.resource(&ns)["Properties"], &ns);
        region_aliases.push(format!(
            "{}.{}",
            d["Name"].as_str().unwrap(),
            ns["Name"].as_str().unwrap()
        ));
    }
    let public = public_of(stack, &svc);
    let mut internet_aliases: Vec<String> = public
        .iter()
        .flat_map(|p| p.names.iter().cloned())
        .collect();
    internet_aliases.sort();
    internet_aliases.dedup();
    // The task holds its Elastic IP on the internet network (an NLB forwards it 1:1 here).
    let mut eip: Vec<Ipv4Addr> = public.iter().flat_map(|p| p.eips.iter().copied()).collect();
    eip.sort();
    eip.dedup();
    assert!(eip.len() <= 1, "{at}: more than one Elastic IP: {eip:?}");
    let eip = eip.first().copied();
    let sgs: Vec<String> = svc["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: no security groups"))
        .iter()
        .map(|g| sg_id(stack, g))
        .collect();

    // Volumes: EFS access points as host folders.
    let mut volumes = BTreeMap::new();
    for v in td["Volumes"].as_array().into_iter().flatten() {
        let name = v["Name"].as_str().unwrap().to_string();
        let efs = v
            .get("EFSVolumeConfiguration")
            .unwrap_or_else(|| panic!("{at}: volume {name} is not EFS: {v}"));
        let fs = stack.id_of(&efs["FilesystemId"]);
        let ap = stack.id_of(&efs["AuthorizationConfig"]["AccessPointId"]);
        let apr = stack.resolve(&stack.resource(&ap)["Properties"], &ap);
        assert_eq!(stack.id_of(&apr["FileSystemId"]), fs, "{at}: {ap} on {fs}");
        let path = apr["RootDirectory"]["Path"].as_str().unwrap();
        let dir = efs_root
            .join(&stack.region)
            .join(&fs)
            .join(path.trim_start_matches('/'));
        if !dir.exists() {
            let info = &apr["RootDirectory"]["CreationInfo"];
            std::fs::create_dir_all(&dir).unwrap();
            let mode = u32::from_str_radix(info["Permissions"].as_str().unwrap(), 8).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let uid: u32 = info["OwnerUid"].as_str().unwrap().parse().unwrap();
            let gid: u32 = info["OwnerGid"].as_str().unwrap().parse().unwrap();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        // The access point's POSIX user is root here, as the container's user: no mapping.
        assert_eq!(apr["PosixUser"]["Uid"], "0", "{at}: {ap} PosixUser");
        volumes.insert(name, dir);
    }

    let defs = td["ContainerDefinitions"].as_array().unwrap();
    let mut task: Option<Task> = None;
    let mut scrape = Vec::new();
    let mut skipped = Vec::new();
    for def in defs {
        let cname = def["Name"].as_str().unwrap();
        let cat = format!("{at} container {cname}");
        let cimage = def["Image"].as_str().unwrap();
        let present = Command::new(docker)
            .args(["image", "inspect", cimage])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            // Only the CloudWatch agent sidecar (not essential) may be absent: its image
            // cannot be pulled here. Its scrape targets are checked against the node instead.
            assert!(
                def["Essential"] == false && cname == "metrics-agent",
                "{cat}: image {cimage} is not available and the container is essential"
            );
            let cw: Value =
                serde_json::from_str(env(def, "CW_CONFIG_CONTENT").unwrap().as_str()).unwrap();
            let prom: Value =
                serde_json::from_str(env(def, "PROMETHEUS_CONFIG_CONTENT").unwrap().as_str())
                    .unwrap();
            let mut selectors = Vec::new();
            for d in cw["logs"]["metrics_collected"]["prometheus"]["emf_processor"]
                ["metric_declaration"]
                .as_array()
                .unwrap()
            {
                for s in d["metric_selectors"].as_array().unwrap() {
                    selectors.push(s.as_str().unwrap().to_string());
                }
            }
            for sc in prom["scrape_configs"].as_array().unwrap() {
                for st in sc["static_configs"].as_array().unwrap() {
                    for t in st["targets"].as_array().unwrap() {
                        scrape.push((t.as_str().unwrap().to_string(), selectors.clone()));
                    }
                }
            }
            skipped.push(format!("{cname} ({cimage})"));
            continue;
        }
        assert!(task.is_none(), "{at}: more than one container to run");
        assert_eq!(cimage, image, "{cat}: the node runs the built image");
        let mut args: Vec<String> = Vec::new();
        let mut secret_env = Vec::new();
        let mut mounts = Vec::new();
        let mut entry: Vec<String> = Vec::new();
        let mut command: Vec<String> = Vec::new();
        for (k, v) in def.as_object().unwrap() {
            match k.as_str() {
                "Image" => {}
                "EntryPoint" => entry = strs(v),
                "Command" => command = strs(v),
                "Environment" => {
                    for e in v.as_array().unwrap() {
                        args.push("-e".into());
                        args.push(format!(
                            "{}={}",
                            e["Name"].as_str().unwrap(),
                            e["Value"]
                                .as_str()
                                .unwrap_or_else(|| panic!("{cat}: env {e}"))
                        ));
                    }
                }
                "Secrets" => {
                    for s in v.as_array().unwrap() {
                        let var = s["Name"].as_str().unwrap().to_string();
                        let from = s["ValueFrom"].as_str().unwrap();
                        let (region, name) = secret_names
                            .get(from)
                            .cloned()
                            .unwrap_or_else(|| panic!("{cat}: {var} from {from}: no secret"));
                        assert_eq!(region, stack.region, "{cat}: {var} from another region");
                        let file = secret_files.get(&(region.clone(), name.clone()))
                            .unwrap_or_else(|| panic!("{cat}: deploy.sh never pushes a value to secret {name} in {region}"));
                        let value = std::fs::read_to_string(file)
                            .unwrap_or_else(|e| panic!("{cat}: {}: {e}", file.display()));
                        secret_env.push((var, value));
                    }
                }
                "User" => {
                    args.push("--user".into());
                    args.push(v.as_str().unwrap().into());
                }
                "WorkingDirectory" => {
                    args.push("--workdir".into());
                    args.push(v.as_str().unwrap().into());
                }
                "StopTimeout" => {
                    // ECS refuses a task definition outside these (Fargate: at most 120 s).
                    let t = v.as_u64().unwrap();
                    assert!((2..=120).contains(&t), "{cat}: StopTimeout {t}");
                    args.push("--stop-timeout".into());
                    args.push(v.to_string());
                }
                "HealthCheck" => {
                    let cmd = strs(&v["Command"]);
                    let line = match cmd[0].as_str() {
                        // Docker's CLI takes the shell form; exec form is quoted word by word.
                        "CMD" => cmd[1..]
                            .iter()
                            .map(|w| sh_quote(w))
                            .collect::<Vec<_>>()
                            .join(" "),
                        "CMD-SHELL" => cmd[1].clone(),
                        other => panic!("{cat}: health check form {other}"),
                    };
                    // ECS's ranges (a definition outside them is refused by RegisterTaskDefinition).
                    let n = |key: &str, default: u64, lo: u64, hi: u64| {
                        let x = v.get(key).map_or(default, |x| x.as_u64().unwrap());
                        assert!(
                            (lo..=hi).contains(&x),
                            "{cat}: HealthCheck.{key} {x} not in {lo}..={hi}"
                        );
                        x
                    };
                    args.extend([
                        "--health-cmd".into(),
                        line,
                        format!("--health-interval={}s", n("Interval", 30, 5, 300)),
                        format!("--health-timeout={}s", n("Timeout", 5, 2, 120)),
                        format!("--health-retries={}", n("Retries", 3, 1, 10)),
                        format!("--health-start-period={}s", n("StartPeriod", 0, 0, 300)),
                    ]);
                }
                "MountPoints" => {
                    for m in v.as_array().unwrap() {
                        let vol = m["SourceVolume"].as_str().unwrap();
                        let dir = volumes
                            .get(vol)
                            .unwrap_or_else(|| panic!("{cat}: no volume {vol}"));
                        let path = m["ContainerPath"].as_str().unwrap().to_string();
                        let ro = if m["ReadOnly"] == true { ":ro" } else { "" };
                        args.push("-v".into());
                        args.push(format!("{}:{path}{ro}", dir.display()));
                        mounts.push((dir.clone(), path));
                    }
                }
                "LinuxParameters" => {
                    for (lk, lv) in lv_obj(v) {
                        match lk.as_str() {
                            "Tmpfs" => {
                                for t in lv.as_array().unwrap() {
                                    let p = t["ContainerPath"].as_str().unwrap();
                                    let size = t["Size"].as_u64().unwrap();
                                    let opts: Vec<String> = strs_or_empty(&t["MountOptions"]);
                                    let mut o = vec![format!("size={size}m")];
                                    o.extend(opts);
                                    args.push("--tmpfs".into());
                                    args.push(format!("{p}:{}", o.join(",")));
                                }
                            }
                            "InitProcessEnabled" => {
                                if lv == &json!(true) {
                                    args.push("--init".into());
                                }
                            }
                            other => panic!("{cat}: LinuxParameters.{other} not mapped"),
                        }
                    }
                }
                key if IGNORED_KEYS.iter().any(|(k, _)| *k == key) => {}
                other => panic!("{cat}: container property {other} is not mapped by this harness"),
            }
        }
        // ECS: EntryPoint replaces the image's; Command replaces its CMD. Docker's CLI takes
        // the entry point's first word; the rest go before the command.
        let mut tail: Vec<String> = Vec::new();
        if let Some((first, rest)) = entry.split_first() {
            args.push("--entrypoint".into());
            args.push(first.clone());
            tail.extend(rest.iter().cloned());
        }
        // Fargate task size as the container's limits.
        let cpu: f64 = td["Cpu"].as_str().unwrap().parse::<f64>().unwrap() / 1024.0;
        args.push(format!("--cpus={cpu}"));
        args.push(format!("--memory={}m", td["Memory"].as_str().unwrap()));
        args.push(image.to_string());
        tail.extend(command);
        args.extend(tail);
        task = Some(Task {
            service: service.clone(),
            region: stack.region.clone(),
            container: format!("{label}-{service}"),
            args,
            secret_env,
            region_aliases: region_aliases.clone(),
            internet_aliases: internet_aliases.clone(),
            public: public.clone(),
            eip,
            sgs: sgs.clone(),
            mounts,
            scrape: Vec::new(),
            skipped: Vec::new(),
        });
    }
    let mut task = task.unwrap_or_else(|| panic!("{at}: no container to run"));
    task.scrape = scrape;
    task.skipped = skipped;
    task
}

fn lv_obj(v: &Value) -> Vec<(String, &Value)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, x)| (k.clone(), x))
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| {
            x.as_str()
                .unwrap_or_else(|| panic!("not a string: {x}"))
                .to_string()
        })
        .collect()
}

fn strs_or_empty(v: &Value) -> Vec<String> {
    if v.is_null() {
        Vec::new()
    } else {
        strs(v)
    }
}

fn env(def: &Value, name: &str) -> Option<String> {
    def["Environment"]
        .as_array()?
        .iter()
        .find(|e| e["Name"] == name)
        .map(|e| e["Value"].as_str().unwrap().to_string())
}

/// How the internet reaches ECS service `svc`: each listener of a load balancer forwarding
/// to one of the service's target groups, with the load balancer's Elastic IPs and the
/// Route 53 names pointing at it (A records holding one of those Elastic IPs, or alias
/// records of the load balancer).
fn public_of(stack: &Stack, svc: &Value) -> Vec<Public> {
    // Target group -> the container port the service registers in it.
    let tgs: BTreeMap<String, u64> = svc["LoadBalancers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|lb| {
            (
                stack.id_of(&lb["TargetGroupArn"]),
                lb["ContainerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    // Route 53 records: (name, Elastic IPs, aliased load balancer).
    let mut records = Vec::new();
    for (id, r) in stack.resources() {
        if r["Type"] != "AWS::Route53::RecordSet" || !stack.exists(r) {
            continue;
        }
        let p = stack.resolve(&r["Properties"], id);
        let name = p["Name"]
            .as_str()
            .unwrap()
            .trim_end_matches('.')
            .to_string();
        if let Some(values) = p["ResourceRecords"].as_array() {
            let eips: Vec<String> = values.iter().map(|x| stack.eip_of(x)).collect();
            records.push((name, eips, None));
        } else if let Some(dns) = p["AliasTarget"]["DNSName"].as_str() {
            let lb = dns
                .strip_prefix(&format!("cfn:{}:{}:", stack.region, stack.name))
                .and_then(|s| s.strip_suffix(".DNSName"))
                .unwrap_or_else(|| panic!("{id}: alias target {dns}"));
            records.push((name, Vec::new(), Some(lb.to_string())));
        } else {
            panic!(
                "{}: record {id} has neither values nor an alias target",
                stack.name
            )
        }
    }
    let mut out = Vec::new();
    for (lid, l) in stack.resources() {
        if l["Type"] != "AWS::ElasticLoadBalancingV2::Listener" || !stack.exists(l) {
            continue;
        }
        let lp = stack.resolve(&l["Properties"], lid);
        let lb = stack.id_of(&lp["LoadBalancerArn"]);
        for a in lp["DefaultActions"].as_array().unwrap() {
            let Some(tg) = a.get("TargetGroupArn").map(|t| stack.id_of(t)) else {
                continue;
            };
            let Some(port) = tgs.get(&tg) else { continue };
            // A Docker alias reaches the container on the port dialled, so the listener's
            // port must be the container port the service registers (as it is for p2p).
            assert_eq!(
                lp["Port"].as_u64(),
                Some(*port),
                "{}: listener {lid} port vs container port of {tg}",
                stack.name
            );
            let lbp = stack.resolve(&stack.resource(&lb)["Properties"], &lb);
            let eips: Vec<String> = lbp["SubnetMappings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["AllocationId"].as_str())
                .map(|a| {
                    a.strip_prefix(&format!("cfn:{}:{}:", stack.region, stack.name))
                        .and_then(|s| s.strip_suffix(".AllocationId"))
                        .unwrap_or_else(|| panic!("{lb}: allocation {a}"))
                        .to_string()
                })
                .collect();
            let names = records
                .iter()
                .filter(|(_, e, alias)| {
                    alias.as_deref() == Some(lb.as_str()) || e.iter().any(|x| eips.contains(x))
                })
                .map(|(n, _, _)| n.clone())
                .collect();
            let tgp = stack.resolve(&stack.resource(&tg)["Properties"], &tg);
            let preserve = tgp["TargetGroupAttributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["Key"] == "preserve_client_ip.enabled")
                .map(|a| a["Value"] == "true")
                // AWS default for IP targets over TCP/TLS: off (the target sees the load
                // balancer's private address); on for instance targets and UDP.
                .unwrap_or(!(tgp["TargetType"] == "ip" && tgp["Protocol"] == "TCP"));
            out.push(Public {
                names,
                eips: eips.iter().map(|e| stack.eips[e]).collect(),
                port: *port,
                lb_sgs: lbp["SecurityGroups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|g| sg_id(stack, g))
                    .collect(),
                preserve_client_ip: preserve,
            });
        }
    }
    out
}

/// A way in from the internet: a load balancer listener forwarding to the task.
#[derive(Clone, Debug)]
struct Public {
    /// Route 53 names of the load balancer.
    names: Vec<String>,
    /// Its Elastic IPs (an ALB has none: reached by its alias record).
    eips: Vec<Ipv4Addr>,
    port: u64,
    /// Security groups of the load balancer (none: an NLB without security groups).
    lb_sgs: Vec<String>,
    /// Whether the task sees the client's address (else the load balancer's, in its VPC).
    preserve_client_ip: bool,
}

/// The logical ID of a security group from a resolved `Ref` or `Fn::GetAtt .GroupId`.
fn sg_id(stack: &Stack, v: &Value) -> String {
    let id = stack.id_of(v);
    let id = id.strip_suffix(".GroupId").unwrap_or(&id).to_string();
    assert_eq!(
        stack.kind(&id),
        "AWS::EC2::SecurityGroup",
        "{}: {id}",
        stack.name
    );
    id
}

/// Where a security-group rule admits traffic from (ingress) or to (egress).
#[derive(Clone, Debug, PartialEq)]
enum Peer {
    Cidr(u32, u32),
    Sg(String),
}

#[derive(Clone, Debug)]
struct Rule {
    from: u64,
    to: u64,
    peer: Peer,
}

fn cidr(s: &str) -> Peer {
    let (a, n) = s.split_once('/').unwrap_or_else(|| panic!("CIDR {s}"));
    let a: Ipv4Addr = a.parse().unwrap();
    Peer::Cidr(u32::from(a), n.parse().unwrap())
}

/// True when CIDR (a, n) holds all of CIDR (b, m).
fn holds(a: u32, n: u32, b: u32, m: u32) -> bool {
    let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
    n <= m && (a & mask) == (b & mask)
}

/// One region's security groups: the rules of each group, as EC2 evaluates them.
struct Firewall {
    region: String,
    vpc: Peer,
    ingress: BTreeMap<String, Vec<Rule>>,
    /// `None`: no egress rule written, EC2's default (all traffic out).
    egress: BTreeMap<String, Option<Vec<Rule>>>,
}

impl Firewall {
    fn of(stack: &Stack) -> Firewall {
        let rule = |r: &Value, at: &str, peer_key: &str| -> Option<Rule> {
            let proto = r["IpProtocol"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| r["IpProtocol"].to_string());
            let (from, to) = match proto.as_str() {
                "-1" => (0, 65535),
                "tcp" | "6" => (
                    r["FromPort"].as_u64().unwrap(),
                    r["ToPort"].as_u64().unwrap(),
                ),
                // Not TCP: never admits a p2p connection.
                _ => return None,
            };
            let peer = if let Some(c) = r["CidrIp"].as_str() {
                cidr(c)
            } else if let Some(g) = r.get(peer_key) {
                Peer::Sg(sg_id(stack, g))
            } else if r.get("CidrIpv6").is_some() {
                // IPv6 only: admits no IPv4 connection.
                return None;
            } else {
                panic!(
                    "{}: rule {at} without a peer this harness understands: {r}",
                    stack.name
                )
            };
            Some(Rule { from, to, peer })
        };
        let mut ingress: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
        let mut egress: BTreeMap<String, Option<Vec<Rule>>> = BTreeMap::new();
        let mut vpc = None;
        for (id, r) in stack.resources() {
            if !stack.exists(r) {
                continue;
            }
            let p = || stack.resolve(&r["Properties"], id);
            match r["Type"].as_str().unwrap() {
                "AWS::EC2::VPC" => vpc = Some(cidr(p()["CidrBlock"].as_str().unwrap())),
                "AWS::EC2::SecurityGroup" => {
                    let p = p();
                    let ins = ingress.entry(id.clone()).or_default();
                    for x in p["SecurityGroupIngress"].as_array().into_iter().flatten() {
                        ins.extend(rule(x, id, "SourceSecurityGroupId"));
                    }
                    let eg = p["SecurityGroupEgress"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|x| rule(x, id, "DestinationSecurityGroupId"))
                            .collect::<Vec<_>>()
                    });
                    let e = egress.entry(id.clone()).or_insert(None);
                    if let Some(eg) = eg {
                        e.get_or_insert_with(Vec::new).extend(eg);
                    }
                }
                "AWS::EC2::SecurityGroupIngress" => {
                    let p = p();
                    let g = sg_id(stack, &p["GroupId"]);
                    ingress
                        .entry(g)
                        .or_default()
                        .extend(rule(&p, id, "SourceSecurityGroupId"));
                }
                "AWS::EC2::SecurityGroupEgress" => {
                    let p = p();
                    let g = sg_id(stack, &p["GroupId"]);
                    let e = egress.entry(g).or_insert(None);
                    e.get_or_insert_with(Vec::new).extend(rule(
                        &p,
                        id,
                        "DestinationSecurityGroupId",
                    ));
                }
                _ => {}
            }
        }
        Firewall {
            region: stack.region.clone(),
            vpc: vpc.unwrap_or_else(|| panic!("{}: no VPC", stack.name)),
            ingress,
            egress,
        }
    }

    /// Whether a rule of `rules` admits `peer` (one of `peers`, any of which suffices) on
    /// `port`.
    fn admits(rules: &[Rule], peers: &[Peer], port: u64) -> bool {
        rules.iter().any(|r| {
            r.from <= port
                && port <= r.to
                && peers.iter().any(|p| match (&r.peer, p) {
                    (Peer::Cidr(a, n), Peer::Cidr(b, m)) => holds(*a, *n, *b, *m),
                    (Peer::Sg(a), Peer::Sg(b)) => a == b,
                    _ => false,
                })
        })
    }

    /// Whether groups `sgs` let a connection out to `to` on `port`.
    fn out(&self, sgs: &[String], to: &[Peer], port: u64) -> bool {
        sgs.iter().any(|g| match &self.egress[g] {
            None => true,
            Some(rules) => Firewall::admits(rules, to, port),
        })
    }

    /// Whether groups `sgs` let a connection in from `from` on `port`.
    fn into(&self, sgs: &[String], from: &[Peer], port: u64) -> bool {
        sgs.iter()
            .any(|g| Firewall::admits(&self.ingress[g], from, port))
    }
}

// --- the test ------------------------------------------------------------------------------

/// Serialises `docker network connect` (see [`Harness::start`]).
static CONNECT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One network at a time: a 2-core machine runs one 7-task network at a time well.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The Duality-style example, Route 53 names across regions, with every drill.
#[test]
fn ecs_task_definitions_run_a_network_across_two_regions() {
    run_network("duality-ecs.yaml", &test_spec(), true);
}

/// Without `dns_zone`, cross-region peers are the `PeerHost<Node>` parameters deploy.sh's
/// second pass fills with the peers' Elastic IPs (the stack exports): run the tasks as they
/// are after that pass. The validators sit 3 in us-east-1 and 1 in eu-west-1 (`validate`
/// refuses a split where no region keeps more than 2/3 of the power); the eu-west-1 validator
/// can sign only if its sentry reaches the other region by those addresses. Only addressing
/// differs from the test above, so its drills (keys, health, kill) are not repeated.
#[test]
fn ecs_second_pass_peers_by_elastic_ip_without_route53() {
    let mut text = test_spec();
    let mut edit = |from: &str, to: &str| {
        assert_eq!(text.matches(from).count(), 1, "test spec changed: `{from}`");
        text = text.replace(from, to);
    };
    edit(
        "    dns_zone: { name: testnet.example.com, hosted_zone_id: Z0123456789ABCDEFGHIJ }\n",
        "",
    );
    edit(
        "    count: 4\n    stake: 100000000stake\n    regions: [us-east-1, eu-west-1]\n",
        "    count: 3\n    stake: 100000000stake\n    regions: [us-east-1]\n",
    );
    edit(
        "  - name: sentry\n",
        "  - name: euval\n    role: validator\n    count: 1\n    stake: 100000000stake\n    \
         regions: [eu-west-1]\n    behind: sentry\n    resources: { cpu: 2, memory: 8Gi, storage: 200Gi }\n  - name: sentry\n",
    );
    run_network("duality-ecs-eip.yaml", &text, false);
}

/// deploy.sh's second pass: per region, stack parameter -> (export region, export name).
fn second_pass(deploy: &str, net: &str) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    let Some(at) = deploy.find("# --- second pass") else {
        return out;
    };
    let mut region = String::new();
    for l in deploy[at..].lines() {
        if let Some(rest) = l.split(&format!("--stack-name {net}-")).nth(1) {
            region = rest.split_whitespace().next().unwrap().to_string();
        }
        let t = l.trim().trim_end_matches('\\').trim().trim_matches('"');
        if let Some((param, call)) = t.split_once("=$(export_value ") {
            let mut w = call.trim_end_matches(')').split_whitespace();
            let (r, e) = (w.next().unwrap(), w.next().unwrap());
            out.entry(region.clone()).or_default().push((
                param.to_string(),
                r.to_string(),
                e.to_string(),
            ));
        }
    }
    out
}

/// Generate `spec`, run its ECS tasks and check them (`full`: also keys, health, the kill
/// drill).
fn run_network(spec_name: &str, spec: &str, full: bool) {
    let Some(docker) = docker() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t_all = Instant::now();

    let t = Instant::now();
    let (tmp, out, secrets) = generate_text(spec_name, spec);
    let network = chainfleet::validate(spec_name, spec.as_bytes(), &out)
        .unwrap_or_else(|d| panic!("the test spec is invalid: {d:?}"))
        .network;
    eprintln!("ecs: generated in {:.1} s", secs(t));

    // Unique per test and process: container, network and image names carry it.
    let label = format!(
        "cfecs{}{}",
        std::process::id(),
        if full { "a" } else { "b" }
    );
    let image = format!("chainfleet-ecs-real/{}:{label}", network.name);
    let h = Harness {
        docker: docker.clone(),
        label: label.clone(),
        image: image.clone(),
    };

    // The image, as deploy.sh's step 1 says: built from docker/Dockerfile in the network folder.
    let t = Instant::now();
    let o = run(Command::new(&docker)
        .env("DOCKER_BUILDKIT", "1")
        .args(["build", "-q", "-f", "docker/Dockerfile", "-t", &image, "."])
        .current_dir(&out));
    assert_ok(&o, "docker build -f docker/Dockerfile");
    eprintln!("ecs: image built in {:.1} s", secs(t));

    // The internet: a network whose addresses stand for public ones (Elastic IPs), in a
    // subnet of this run's own.
    let mut internet = String::new();
    let mut subnet_base = Ipv4Addr::UNSPECIFIED;
    for k in 0..40u32 {
        let x = (std::process::id() + k) % 200 + 20;
        let name = format!("{label}-internet");
        let subnet = format!("10.213.{x}.0/24");
        let o = run(docker_cmd(&docker).args([
            "network",
            "create",
            "--label",
            &h.label_kv(),
            "--subnet",
            &subnet,
            &name,
        ]));
        if o.status.success() {
            internet = name;
            subnet_base = Ipv4Addr::new(10, 213, x as u8, 0);
            break;
        }
    }
    assert!(
        !internet.is_empty(),
        "no free subnet for the internet network"
    );
    let first_eip = |k: usize| Ipv4Addr::from(u32::from(subnet_base) + 10 + 50 * k as u32);

    // Stacks: the network stack per region (secrets, exports), then each region's stack.
    let cfn = out.join("cloudformation");
    let deploy = std::fs::read_to_string(cfn.join("deploy.sh")).unwrap();
    let secret_files = deploy_secret_files(&deploy, &secrets);
    let network_tpl = load_template(&cfn.join("network.yaml"));
    let mut secret_names: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut tasks: Vec<Task> = Vec::new();
    let mut firewalls: BTreeMap<String, Firewall> = BTreeMap::new();
    let mut net_exports: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let efs_root = tmp.path().join("efs");
    let regions: Vec<String> = {
        let mut r: Vec<String> = network.nodes.iter().map(|n| n.region.clone()).collect();
        r.sort();
        r.dedup();
        r
    };
    assert_eq!(
        regions.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        REGIONS.into_iter().collect(),
        "the test network spans both regions"
    );
    for region in &regions {
        let net_stack = Stack::new(
            &format!("{}-network", network.name),
            region,
            network_tpl.clone(),
            &[],
            Ipv4Addr::UNSPECIFIED,
        );
        assert!(
            net_stack
                .resources()
                .values()
                .all(|r| r["Type"] != "AWS::CloudFormation::Stack"),
            "nested secrets stacks are not followed by this harness"
        );
        for (id, r) in net_stack.resources() {
            if r["Type"] == "AWS::SecretsManager::Secret" && net_stack.exists(r) {
                let arn = net_stack.physical(id).as_str().unwrap().to_string();
                let name = net_stack.resolve(&r["Properties"]["Name"], id);
                secret_names.insert(arn, (region.clone(), name.as_str().unwrap().to_string()));
            }
        }
        net_exports.insert(region.clone(), net_stack.outputs_exported());
    }
    // First pass: every region stack with the image; its exports (Elastic IPs) join the
    // network stack's.
    let image_param = vec![("Image".to_string(), image.clone())];
    let mut exports = net_exports.clone();
    for (k, region) in regions.iter().enumerate() {
        let tpl = load_template(&cfn.join(format!("{region}.yaml")));
        let mut stack = Stack::new(
            &format!("{}-{region}", network.name),
            region,
            tpl,
            &image_param,
            first_eip(k),
        );
        stack.exports = net_exports[region].clone();
        let own = stack.outputs_exported();
        exports.get_mut(region).unwrap().extend(own);
    }
    // Second pass (when deploy.sh has one): parameters from other regions' exports.
    let passes = second_pass(&deploy, &network.name);
    eprintln!("ecs: deploy.sh's second pass sets {passes:?}");
    for (k, region) in regions.iter().enumerate() {
        let mut params = image_param.clone();
        for (param, r, e) in passes.get(region).into_iter().flatten() {
            let v = exports[r]
                .get(e)
                .unwrap_or_else(|| panic!("second pass: no export {e} in {r}"));
            params.push((param.clone(), v.as_str().unwrap().to_string()));
        }
        let tpl = load_template(&cfn.join(format!("{region}.yaml")));
        let mut stack = Stack::new(
            &format!("{}-{region}", network.name),
            region,
            tpl,
            &params,
            first_eip(k),
        );
        stack.exports = net_exports[region].clone();
        firewalls.insert(region.clone(), Firewall::of(&stack));
        let services: Vec<String> = stack
            .resources()
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::ECS::Service" && stack.exists(r))
            .map(|(id, _)| id.clone())
            .collect();
        for s in services {
            tasks.push(task_of(
                &stack,
                &s,
                &image,
                &secret_names,
                &secret_files,
                &efs_root,
                &label,
                &docker,
            ));
        }
    }
    let names: BTreeSet<String> = tasks.iter().map(|t| t.service.clone()).collect();
    let expected: BTreeSet<String> = network.nodes.iter().map(|n| n.name.clone()).collect();
    assert_eq!(
        names, expected,
        "one ECS service per node, across the region stacks"
    );
    for t in &tasks {
        let node = network.node(&t.service).unwrap();
        assert_eq!(node.region, t.region, "{} runs in its region", t.service);
    }

    // deploy.sh's order: a task can wait only for names that stacks of its own or earlier
    // waves create (else its stack never turns stable and the deploy rolls back).
    let waves = deploy_waves(&deploy, &network.name, &regions);
    eprintln!("ecs: deploy.sh deploys the region stacks in waves {waves:?}");
    for t in &tasks {
        let hosts = t
            .args
            .iter()
            .find_map(|a| a.strip_prefix("CHAINFLEET_WAIT_HOSTS="))
            .unwrap_or("");
        for name in hosts.split_whitespace() {
            if name.parse::<Ipv4Addr>().is_ok() {
                continue;
            }
            let creator = tasks
                .iter()
                .find(|o| {
                    (o.region == t.region && o.region_aliases.iter().any(|a| a == name))
                        || o.internet_aliases.iter().any(|a| a == name)
                })
                .unwrap_or_else(|| {
                    panic!("{} waits for {name}, which no stack creates", t.service)
                });
            assert!(
                waves[&creator.region] <= waves[&t.region],
                "{} ({}) waits at start for {name}, created by the {} stack, which deploy.sh \
                 deploys only after the {} stack is stable: the first deploy never completes",
                t.service,
                t.region,
                creator.region,
                t.region
            );
        }
    }

    // Networks: one per region (its VPC); the internet's was made above.
    let region_net: BTreeMap<String, String> =
        regions.iter().map(|r| (r.clone(), h.network(r))).collect();

    let t_up = Instant::now();
    std::thread::scope(|s| {
        for t in &tasks {
            let h = &h;
            let rn = &region_net[&t.region];
            let internet = &internet;
            s.spawn(move || h.start(t, rn, internet));
        }
    });
    let skipped: BTreeSet<&String> = tasks.iter().flat_map(|t| &t.skipped).collect();
    eprintln!(
        "ecs: sidecars not run in {} tasks (image not available offline; their scrape \
         targets are checked instead): {skipped:?}",
        tasks.iter().filter(|t| !t.skipped.is_empty()).count()
    );
    eprintln!(
        "ecs: {} tasks started in {:.1} s (parallel docker create/connect/start)",
        tasks.len(),
        secs(t_up)
    );
    let ip = |node: &str| -> Ipv4Addr {
        let t = tasks.iter().find(|t| t.service == node).unwrap();
        h.ip(&t.container, &region_net[&t.region])
    };
    let containers: Vec<&str> = tasks.iter().map(|t| t.container.as_str()).collect();
    let all_alive = || h.states(&containers);

    let validators: Vec<String> = network.validators().map(|n| n.name.clone()).collect();
    let observer = network
        .nodes
        .iter()
        .find(|n| !validators.contains(&n.name) && n.group == "rpc")
        .map(|n| n.name.clone())
        .expect("an RPC node");
    let observer_ip = ip(&observer);
    let h5 = wait_for(
        "height 5 at the RPC node",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            all_alive();
            height(observer_ip).filter(|h| *h >= 5)
        },
    );
    eprintln!(
        "ecs: height {h5} reached {:.1} s after the start",
        secs(t_up)
    );

    // Every genesis validator signs.
    let addresses: BTreeMap<String, String> = validators
        .iter()
        .map(|v| {
            let key: Value = serde_json::from_str(
                &std::fs::read_to_string(
                    secrets.join(format!("nodes/{v}/config/priv_validator_key.json")),
                )
                .unwrap(),
            )
            .unwrap();
            (key["address"].as_str().unwrap().to_uppercase(), v.clone())
        })
        .collect();
    let set: BTreeSet<String> = rpc(observer_ip, "/validators?per_page=100")
        .expect("/validators answers")["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["address"].as_str().unwrap().to_uppercase())
        .collect();
    let want: BTreeSet<String> = addresses.keys().cloned().collect();
    assert_eq!(set, want, "/validators is exactly the genesis validators");
    let signers_at = |height: u64| -> BTreeSet<String> {
        let c = rpc(observer_ip, &format!("/commit?height={height}")).expect("/commit answers");
        c["signed_header"]["commit"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["block_id_flag"] == 2)
            .map(|s| s["validator_address"].as_str().unwrap().to_uppercase())
            .collect()
    };
    let hnow = height(observer_ip).unwrap();
    let mut signed = BTreeSet::new();
    for hh in hnow.saturating_sub(3).max(2)..=hnow {
        signed.extend(signers_at(hh));
    }
    assert_eq!(signed, want, "every validator signs (heights ..={hnow})");
    eprintln!("ecs: all {} validators sign", want.len());

    // Every p2p connection the network made is one the security groups admit: Docker's
    // networks do not filter, so each connection seen in /net_info is checked against the
    // region stacks' rules (egress of the dialling task, ingress of the dialled one, through
    // the load balancer when dialled by its public name).
    let t = Instant::now();
    let mut by_ip: BTreeMap<Ipv4Addr, (&Task, bool)> = BTreeMap::new();
    let mut private_ip = BTreeMap::new();
    for t in &tasks {
        let ips = h.ips(&t.container);
        by_ip.insert(ips[&region_net[&t.region]], (t, false));
        by_ip.insert(ips[&internet], (t, true));
        private_ip.insert(t.service.clone(), ips[&region_net[&t.region]]);
    }
    let mut checked = 0;
    for a in &tasks {
        let info = rpc(private_ip[&a.service], "/net_info")
            .unwrap_or_else(|| panic!("{}: /net_info", a.service));
        for peer in info["peers"].as_array().unwrap() {
            if peer["is_outbound"] != true {
                continue;
            }
            let ip: Ipv4Addr = peer["remote_ip"].as_str().unwrap().parse().unwrap();
            let (b, public) = by_ip
                .get(&ip)
                .copied()
                .unwrap_or_else(|| panic!("{} dialled {ip}, no task of this test", a.service));
            let port: u64 = peer["node_info"]["listen_addr"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let fa = &firewalls[&a.region];
            let fb = &firewalls[&b.region];
            let what = format!("{} -> {} port {port}", a.service, b.service);
            if public {
                // The dialler leaves through its NAT gateway: some public address (here
                // one of the documentation range).
                let p = b.public.iter().find(|p| p.port == port).unwrap_or_else(|| {
                    panic!("{what}: dialled publicly, but no load balancer forwards {port}")
                });
                let internet = [cidr("203.0.113.7/32")];
                assert!(
                    fa.out(&a.sgs, &internet, port),
                    "{what}: {} egress refuses the internet",
                    a.service
                );
                if !p.lb_sgs.is_empty() {
                    assert!(
                        fb.into(&p.lb_sgs, &internet, port),
                        "{what}: the load balancer's groups refuse it"
                    );
                }
                let mut from: Vec<Peer> = Vec::new();
                if p.preserve_client_ip {
                    from.push(internet[0].clone());
                } else {
                    from.push(fb.vpc.clone());
                    from.extend(p.lb_sgs.iter().cloned().map(Peer::Sg));
                }
                assert!(
                    fb.into(&b.sgs, &from, port),
                    "{what}: {}'s groups {:?} refuse the load balancer's traffic ({from:?}) in {}",
                    b.service,
                    b.sgs,
                    fb.region
                );
            } else {
                assert_eq!(
                    a.region, b.region,
                    "{what}: a private address across regions"
                );
                let to: Vec<Peer> = b
                    .sgs
                    .iter()
                    .cloned()
                    .map(Peer::Sg)
                    .chain([fb.vpc.clone()])
                    .collect();
                let from: Vec<Peer> = a
                    .sgs
                    .iter()
                    .cloned()
                    .map(Peer::Sg)
                    .chain([fa.vpc.clone()])
                    .collect();
                assert!(
                    fa.out(&a.sgs, &to, port),
                    "{what}: {}'s egress refuses it",
                    a.service
                );
                assert!(
                    fb.into(&b.sgs, &from, port),
                    "{what}: {}'s groups {:?} refuse it",
                    b.service,
                    b.sgs
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= tasks.len(),
        "only {checked} outbound connections seen"
    );
    eprintln!(
        "ecs: {checked} p2p connections, each admitted by the security groups ({:.1} s)",
        secs(t)
    );

    // The metrics sidecar's targets answer, inside the task's network namespace, with the
    // metrics its CloudWatch configuration selects.
    for t in &tasks {
        for (target, selectors) in &t.scrape {
            let (ok, text) = h.exec(
                &t.container,
                &format!("curl -fsS --max-time 5 http://{target}/metrics"),
            );
            assert!(ok, "{}: scrape target {target}: {text}", t.service);
            for sel in selectors {
                let name = sel.trim_start_matches('^').trim_end_matches('$');
                // The validator signing metric exists on validators only.
                if name.contains("validator_last_signed") && !validators.contains(&t.service) {
                    continue;
                }
                assert!(
                    text.lines().any(|l| l.starts_with(name)),
                    "{}: {target} has no {name} (selected by the CloudWatch agent)",
                    t.service
                );
            }
        }
    }

    if !full {
        drop(h);
        eprintln!("ecs: {spec_name}: real ECS run took {:.1} s", secs(t_all));
        return;
    }

    // Keys: only their own node can read them.
    let t = Instant::now();
    let mut key_values = Vec::new();
    for v in &validators {
        let key: Value = serde_json::from_str(
            &std::fs::read_to_string(
                secrets.join(format!("nodes/{v}/config/priv_validator_key.json")),
            )
            .unwrap(),
        )
        .unwrap();
        key_values.push((
            v.clone(),
            key["priv_key"]["value"].as_str().unwrap().to_string(),
        ));
    }
    // No key byte on any EFS tree (as seen from the host, i.e. by every mount).
    for f in files_under(&efs_root) {
        let p = efs_root.join(&f);
        if p.is_symlink() {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for (v, k) in &key_values {
            assert!(
                !text.contains(k.as_str()),
                "{v}'s consensus key is on EFS: {}",
                f.display()
            );
        }
    }
    let mut key_paths = BTreeSet::new();
    for v in &validators {
        let task = tasks.iter().find(|t| &t.service == v).unwrap();
        // The key the node reads resolves to a tmpfs of the validator's own, not a volume.
        let home = network.chain.home.clone();
        let (ok, real) = h.exec(
            &task.container,
            &format!("readlink -f {home}/config/priv_validator_key.json && stat -f -c %T \"$(readlink -f {home}/config/priv_validator_key.json)\""),
        );
        assert!(ok, "{v}: its key path: {real}");
        let mut lines = real.lines();
        let path = lines.next().unwrap().to_string();
        key_paths.insert(format!("{home}/config/priv_validator_key.json"));
        key_paths.insert(path.clone());
        let fstype = lines.next().unwrap_or("").to_string();
        assert_eq!(fstype, "tmpfs", "{v}: key at {path} is on {fstype}");
        for (_, cpath) in &task.mounts {
            assert!(
                !path.starts_with(cpath.as_str()),
                "{v}: key at {path} is on the volume at {cpath}"
            );
        }
        // Its home folder is mounted by no other task.
        for (dir, _) in &task.mounts {
            for other in tasks.iter().filter(|o| &o.service != v) {
                assert!(
                    other
                        .mounts
                        .iter()
                        .all(|(d, _)| !d.starts_with(dir) && !dir.starts_with(d)),
                    "{v}'s volume {} is also mounted by {}",
                    dir.display(),
                    other.service
                );
            }
        }
    }
    let sentries: Vec<&Task> = tasks
        .iter()
        .filter(|t| network.node(&t.service).unwrap().group == "sentry")
        .collect();
    assert!(!sentries.is_empty());
    std::thread::scope(|s| {
        // The search finds a key where it is: in its validator's own keys folder.
        s.spawn(|| {
            let v0 = &key_values[0].0;
            let (found, text) = h.exec(
                &tasks.iter().find(|t| &t.service == v0).unwrap().container,
                &grep_keys(&key_values[..1]),
            );
            assert!(
                found && text.contains("/dev/shm/"),
                "{v0}: the key search misses its own key: {text}"
            );
        });
        for st in &sentries {
            let h = &h;
            let key_values = &key_values;
            let key_paths = &key_paths;
            s.spawn(move || {
                // What a sentry reads at a validator's key paths is no validator's key (the
                // home's priv_validator_key.json exists: `start` generates one for any node
                // without, a key in no validator set; the keys folder's file does not exist).
                for p in key_paths {
                    let (_, text) = h.exec(&st.container, &format!("cat {} 2>&1", sh_quote(p)));
                    for (v, k) in key_values {
                        assert!(
                            !text.contains(k.as_str()),
                            "{}: {v}'s key is readable at {p}",
                            st.service
                        );
                    }
                }
                // Its keys folder holds its own node key only.
                let keys_dir = st
                    .args
                    .iter()
                    .find_map(|a| a.strip_prefix("CHAINFLEET_KEYS_DIR="))
                    .expect("CHAINFLEET_KEYS_DIR");
                let (ok, text) = h.exec(&st.container, &format!("ls -A {}", sh_quote(keys_dir)));
                assert!(ok, "{}: ls {keys_dir}: {text}", st.service);
                assert_eq!(
                    text.split_whitespace().collect::<Vec<_>>(),
                    ["node_key"],
                    "{}: {keys_dir} holds its node key only",
                    st.service
                );
                // No file of its whole file system holds any validator's key.
                let (found, text) = h.exec(&st.container, &grep_keys(key_values));
                assert!(
                    !found && text.trim().is_empty(),
                    "{}: a validator key is readable in the sentry at: {text}",
                    st.service
                );
            });
        }
    });
    eprintln!(
        "ecs: keys: none on EFS, validators read them from their own tmpfs, {} sentries \
         cannot read any ({:.1} s)",
        sentries.len(),
        secs(t)
    );

    // Every container healthy by its own health check (first probe one interval after start).
    let t = Instant::now();
    wait_for(
        "every container healthy",
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let states = all_alive();
            for t in &tasks {
                assert_ne!(
                    states[&t.container],
                    "unhealthy",
                    "{} is unhealthy: {:?}",
                    t.service,
                    h.inspect(&t.container, "{{json .State.Health.Log}}")
                );
            }
            states.values().all(|s| s == "healthy").then_some(())
        },
    );
    eprintln!(
        "ecs: all {} containers healthy {:.1} s after the start (waited {:.1} s)",
        tasks.len(),
        secs(t_up),
        secs(t)
    );

    // Kill a validator's task and start it again from the same definition.
    let victim = validators[1].clone();
    let vt = tasks.iter().find(|t| t.service == victim).unwrap().clone();
    let victim_addr = addresses
        .iter()
        .find(|(_, v)| **v == victim)
        .map(|(a, _)| a.clone())
        .unwrap();
    let t_kill = Instant::now();
    h.ok(&["kill", &vt.container]);
    h.ok(&["rm", "-f", &vt.container]);
    // What the next task finds on its EFS access point: the signing state the killed one left
    // (so it cannot double-sign a height it signed), and its chain data.
    let (efs, _) = vt
        .mounts
        .iter()
        .find(|(_, p)| *p == network.chain.home)
        .expect("the validator's home is on EFS");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(efs.join("data/priv_validator_state.json")).unwrap(),
    )
    .unwrap();
    let signed_height: u64 = state["height"].as_str().unwrap().parse().unwrap();
    assert!(
        signed_height >= 5 && efs.join("data/blockstore.db").is_dir(),
        "{victim}: EFS keeps its signing state (height {signed_height}) and chain data"
    );
    let h0 = height(observer_ip).unwrap();
    wait_for(
        &format!("3 blocks without {victim}"),
        TIMEOUT,
        Duration::from_millis(500),
        || height(observer_ip).filter(|x| *x >= h0 + 3),
    );
    eprintln!(
        "ecs: 3 blocks without {victim} ({:.1} s after docker kill)",
        secs(t_kill)
    );
    let t_start = Instant::now();
    h.start(&vt, &region_net[&vt.region], &internet);
    let target = height(observer_ip).unwrap();
    let vip = h.ip(&vt.container, &region_net[&vt.region]);
    wait_for(
        &format!("{victim} catches up to {target}"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            h.alive(&vt.container);
            let s = rpc(vip, "/status")?;
            let hh: u64 = s["sync_info"]["latest_block_height"]
                .as_str()?
                .parse()
                .ok()?;
            (hh >= target && s["sync_info"]["catching_up"] == false).then_some(())
        },
    );
    eprintln!(
        "ecs: {victim} (new task) caught up to {target} {:.1} s after its start",
        secs(t_start)
    );
    wait_for(
        &format!("{victim} signs again"),
        TIMEOUT,
        Duration::from_millis(500),
        || {
            let hh = height(observer_ip)?;
            signers_at(hh).contains(&victim_addr).then_some(())
        },
    );
    eprintln!(
        "ecs: {victim} signs again {:.1} s after its start",
        secs(t_start)
    );

    drop(h);
    eprintln!("ecs: {spec_name}: real ECS run took {:.1} s", secs(t_all));
}
