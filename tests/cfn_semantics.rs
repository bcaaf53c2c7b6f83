//! What the CloudFormation templates mean on AWS, asserted on the templates themselves (no
//! tool needed, so it runs everywhere in seconds): keys only their own node can read
//! (issue 13 item 2), validators rolled one wave at a time (item 12), HTTPS URLs that name
//! a record a certificate can match (item 9), EC2 instances whose role and metadata service
//! give a node nothing (item 8), the AMI pinned once (item 4), webhooks through a Lambda
//! and to Slack, Telegram and PagerDuty with credentials from Secrets Manager (item 10; its
//! code runs on the tools' Python against local stand-ins).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chainfleet::emit::cloudformation::templates;
use serde_json::Value;

/// Every template of `spec_text` (a spec as YAML), generated with the example seed.
fn templates_of(spec_text: &str) -> BTreeMap<String, Value> {
    let v = chainfleet::validate("spec.yaml", spec_text.as_bytes(), &common::root())
        .unwrap_or_else(|d| panic!("invalid spec: {d:?}"));
    let seed = chainfleet::keys::Seed::from_hex(&common::example_seed()).unwrap();
    let artifacts = chainfleet::chain::build(&v.network, &seed).expect("artifacts");
    templates(&v.network, &artifacts).expect("templates")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(common::root().join("examples").join(name)).unwrap()
}

/// Resources of a template by logical ID.
fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().unwrap()
}

/// The logical ID a `Fn::GetAtt [id, attr]` or `Ref id` names.
fn target(v: &Value) -> String {
    v.get("Fn::GetAtt")
        .map(|g| g[0].as_str().unwrap().to_string())
        .or_else(|| v.get("Ref").map(|r| r.as_str().unwrap().to_string()))
        .unwrap_or_else(|| panic!("not a reference: {v}"))
}

/// Issue 13 item 2: a node's keys are readable by that node only. Its execution role names
/// only its own secrets' ARNs; its task role may mount only through its own access point;
/// the file system refuses mounts without TLS or without an access point; and the keys are
/// written to a folder that is not on any mounted volume.
#[test]
fn keys_are_readable_only_by_their_own_node() {
    let mut checked = 0;
    for ex in ["cosmos-testnet-aws.yaml", "mina-testnet.yaml"] {
        for (path, t) in templates_of(&example(ex)) {
            let res = resources(&t);
            let text = t.to_string();
            assert!(
                !text.contains(":secret:") || path == "network.yaml",
                "{ex} {path}: a secret ARN pattern (secret:<net>/*) in a policy"
            );
            let mut task_roles = BTreeSet::new();
            for (id, r) in res {
                match r["Type"].as_str().unwrap() {
                    "AWS::EFS::FileSystem" => {
                        let policy = r["Properties"]["FileSystemPolicy"].to_string();
                        assert!(
                            policy.contains("aws:SecureTransport"),
                            "{ex} {path}: {id} does not require TLS"
                        );
                        assert!(
                            policy.contains(
                                "\"Null\":{\"elasticfilesystem:AccessPointArn\":\"true\"}"
                            ),
                            "{ex} {path}: {id} admits mounts without an access point: {policy}"
                        );
                    }
                    "AWS::ECS::TaskDefinition" => {
                        checked += 1;
                        let p = &r["Properties"];
                        let node = &p["ContainerDefinitions"][0];
                        let secrets: BTreeSet<String> = node["Secrets"]
                            .as_array()
                            .map(|a| a.iter().map(|s| s["ValueFrom"].to_string()).collect())
                            .unwrap_or_default();
                        // Execution role: exactly this node's secrets.
                        let exec = &res[&target(&p["ExecutionRoleArn"])];
                        let readable: BTreeSet<String> = exec["Properties"]["Policies"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .flat_map(|pol| {
                                pol["PolicyDocument"]["Statement"]
                                    .as_array()
                                    .unwrap()
                                    .clone()
                            })
                            .filter(|s| s["Action"].to_string().contains("secretsmanager"))
                            .flat_map(|s| s["Resource"].as_array().unwrap().clone())
                            .map(|v| v.to_string())
                            .collect();
                        assert_eq!(readable, secrets, "{ex} {path}: {id} execution role");
                        // Task role: its own, mounting only through the task's access point.
                        let task_role = target(&p["TaskRoleArn"]);
                        assert!(
                            task_roles.insert(task_role.clone()),
                            "{ex} {path}: {task_role} is shared by two tasks"
                        );
                        let ap = target(
                            &p["Volumes"][0]["EFSVolumeConfiguration"]["AuthorizationConfig"]
                                ["AccessPointId"],
                        );
                        let role = &res[&task_role]["Properties"];
                        let mount: Vec<&Value> = role["Policies"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .flat_map(|pol| pol["PolicyDocument"]["Statement"].as_array().unwrap())
                            .filter(|s| s["Action"].to_string().contains("elasticfilesystem"))
                            .collect();
                        assert!(!mount.is_empty(), "{ex} {path}: {task_role} cannot mount");
                        for s in mount {
                            assert_eq!(
                                target(
                                    &s["Condition"]["StringEquals"]
                                        ["elasticfilesystem:AccessPointArn"]
                                ),
                                ap,
                                "{ex} {path}: {task_role} may mount beyond its access point"
                            );
                        }
                        // Keys off every mounted volume.
                        if !secrets.is_empty() {
                            let keys_dir = node["Environment"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .find(|e| e["Name"] == "CHAINFLEET_KEYS_DIR")
                                .unwrap_or_else(|| {
                                    panic!("{ex} {path}: {id} writes its keys into its home")
                                })["Value"]
                                .as_str()
                                .unwrap()
                                .to_string();
                            for m in node["MountPoints"].as_array().unwrap() {
                                let mp = m["ContainerPath"].as_str().unwrap();
                                assert!(
                                    !keys_dir.starts_with(mp),
                                    "{ex} {path}: {id}: keys in {keys_dir}, on the volume at {mp}"
                                );
                            }
                        }
                    }
                    "AWS::IAM::Role" => {
                        let text = r.to_string();
                        assert!(
                            !text.contains("secret:") || text.contains("Fn::ImportValue"),
                            "{ex} {path}: {id} reads secrets by pattern"
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(checked > 0, "no task definition found");
}

/// Logical IDs `id` depends on, directly.
fn depends(res: &serde_json::Map<String, Value>, id: &str) -> BTreeSet<String> {
    match &res[id]["DependsOn"] {
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        Value::String(s) => BTreeSet::from([s.clone()]),
        _ => BTreeSet::new(),
    }
}

/// Issue 13 item 12: a new image never restarts every validator at once. Each validator's
/// service runs one task at most (stop before start: a validator never signs twice), and the
/// validators of a stack are chained by `DependsOn`, so CloudFormation updates one wave after
/// the other; a wave holds at most a tenth of the voting power (so a few validators roll one
/// at a time).
#[test]
fn validators_roll_one_wave_at_a_time() {
    // The example: at most two validators per region, so a chain of one-validator waves.
    let many = "name: rollnet
chain: { family: cosmos, chain_id: roll-1, binary: simd, image: ghcr.io/cosmos/simapp:v0.50.15 }
keys: { seed: { env: CHAINFLEET_SEED } }
regions: [us-east-1]
groups:
  - { name: validator, role: validator, count: 25, stake: 100000000stake }
  - { name: big, role: validator, count: 1, stake: 2000000000stake }
targets:
  aws: { vpc: { cidr: 10.42.0.0/16 } }
";
    let mut chained = 0;
    for spec in [example("cosmos-testnet-aws.yaml"), many.to_string()] {
        let all = templates_of(&spec);
        let mut total_power = 0u128;
        let mut services: Vec<(String, String, u128)> = Vec::new(); // (template, id, power)
        for (path, t) in &all {
            for (id, r) in resources(t) {
                if r["Type"] != "AWS::ECS::Service" {
                    continue;
                }
                let p = &r["Properties"];
                let name = p["ServiceName"].as_str().unwrap();
                if !name.starts_with("validator") && !name.starts_with("big") {
                    continue;
                }
                let dc = &p["DeploymentConfiguration"];
                assert_eq!(dc["MaximumPercent"], 100, "{path}: {name} may run twice");
                assert_eq!(dc["MinimumHealthyPercent"], 0, "{path}: {name}");
                let power = if name.starts_with("big") { 2000 } else { 100 };
                total_power += power;
                services.push((path.clone(), id.clone(), power));
            }
        }
        // Per template: order the validators by dependency depth; a wave (same depth) holds
        // at most a tenth of the power unless it is one validator, and each validator beyond
        // the first wave depends on every validator of the wave before.
        let templates: BTreeSet<&String> = services.iter().map(|s| &s.0).collect();
        for path in templates {
            let res = resources(&all[path]);
            let mine: Vec<&(String, String, u128)> =
                services.iter().filter(|s| &s.0 == path).collect();
            let ids: BTreeSet<&str> = mine.iter().map(|s| s.1.as_str()).collect();
            let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
            let mut left: Vec<&str> = ids.iter().copied().collect();
            while !left.is_empty() {
                let before = left.len();
                left.retain(|id| {
                    let deps: Vec<String> = depends(res, id)
                        .into_iter()
                        .filter(|d| ids.contains(d.as_str()))
                        .collect();
                    if deps.iter().all(|d| depth.contains_key(d.as_str())) {
                        let d = deps
                            .iter()
                            .map(|d| depth[d.as_str()] + 1)
                            .max()
                            .unwrap_or(0);
                        depth.insert(id, d);
                        false
                    } else {
                        true
                    }
                });
                assert!(left.len() < before, "{path}: dependency cycle");
            }
            let waves = depth.values().max().map_or(0, |m| m + 1);
            for w in 0..waves {
                let wave: Vec<&&(String, String, u128)> =
                    mine.iter().filter(|s| depth[s.1.as_str()] == w).collect();
                let power: u128 = wave.iter().map(|s| s.2).sum();
                assert!(
                    wave.len() == 1 || power * 10 <= total_power,
                    "{path}: wave {w} restarts {power} of {total_power} power at once"
                );
                if w > 0 {
                    chained += 1;
                    let prev: BTreeSet<String> = mine
                        .iter()
                        .filter(|s| depth[s.1.as_str()] == w - 1)
                        .map(|s| s.1.clone())
                        .collect();
                    for s in wave {
                        assert!(
                            depends(res, &s.1).is_superset(&prev),
                            "{path}: {} does not wait for the whole wave before",
                            s.1
                        );
                    }
                }
            }
            if mine.len() > 1 {
                assert!(waves > 1, "{path}: every validator restarts at once");
            }
        }
    }
    assert!(chained > 0, "no validator waits for another");
}

/// Issue 13 item 9: with a certificate the URL outputs name the load balancer's Route 53
/// record (`api-<region>.<zone>`, which a `*.<zone>` certificate matches), never the ALB's
/// own DNS name, for which no certificate can exist; the record is an alias of the ALB.
#[test]
fn https_urls_name_a_record_the_certificate_can_match() {
    let spec = example("cosmos-testnet-aws.yaml").replace(
        "vpc: { cidr: 10.42.0.0/16 }",
        "vpc: { cidr: 10.42.0.0/16 }\n    certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/0e5c5f1e-1111-2222-3333-444455556666",
    );
    let mut urls = 0;
    for (path, t) in templates_of(&spec) {
        let Some(outputs) = t["Outputs"].as_object() else {
            continue;
        };
        for (id, o) in outputs.iter().filter(|(id, _)| id.starts_with("Url")) {
            urls += 1;
            let region = path.trim_end_matches(".yaml");
            let v = o["Value"].to_string();
            assert!(
                v.contains(&format!(
                    "\"https://\",\"api-{region}.testnet.example.com\""
                )),
                "{path}: {id} = {v}"
            );
            let rec = &resources(&t)["AlbRecord"]["Properties"];
            assert_eq!(rec["Name"], format!("api-{region}.testnet.example.com."));
            assert_eq!(target(&rec["AliasTarget"]["DNSName"]), "Alb");
        }
    }
    assert!(urls > 0, "no URL output");
}

/// Issue 13 item 8: on EC2 a node shares its instance's network (host mode), so the IMDS hop
/// limit does not keep it from the instance role's credentials. The instance drops metadata
/// traffic from every user but root, at every boot, and the instance role grants nothing a
/// node could use: no managed policy (their `ssm:GetParameter`, `ecr:*`, `logs:*` are
/// account-wide), ECS actions only on this cluster.
#[test]
fn ec2_nodes_get_nothing_from_the_instance_role() {
    let (mut instances, mut roles) = (0, 0);
    for (path, t) in templates_of(&example("mina-testnet.yaml")) {
        for (id, r) in resources(&t) {
            match r["Type"].as_str().unwrap() {
                "AWS::IAM::Role" if id.ends_with("InstanceRole") => {
                    roles += 1;
                    let p = &r["Properties"];
                    assert!(
                        p.get("ManagedPolicyArns").is_none(),
                        "{path}: managed policies on the instance role"
                    );
                    for s in p["Policies"][0]["PolicyDocument"]["Statement"]
                        .as_array()
                        .unwrap()
                    {
                        let actions = s["Action"].to_string();
                        for bad in ["ssm:Get", "ecr:", "logs:", "secretsmanager:", "s3:", "*\""] {
                            assert!(
                                !actions.contains(bad),
                                "{path}: the instance role allows {bad}: {actions}"
                            );
                        }
                        if actions.contains("ecs:Register") {
                            assert!(s["Resource"].to_string().contains(":cluster/"));
                        }
                    }
                }
                "AWS::EC2::Instance" => {
                    instances += 1;
                    let ud = r["Properties"]["UserData"].to_string();
                    assert!(
                        ud.contains(
                            "iptables -I OUTPUT 1 -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j DROP"
                        ) && ud.contains("systemctl enable --now chainfleet-imds-block.service")
                            && ud.contains("Before=ecs.service"),
                        "{path}: {id} lets its tasks reach IMDS: {ud}"
                    );
                }
                _ => {}
            }
        }
    }
    assert!(instances > 0, "no EC2 instance in the EC2 example");
    assert_eq!(roles, instances, "an instance role per instance");
}

/// Issue 13 item 4: the AMI of EC2 container instances is an explicit ID that changes only
/// when the operator changes it. A public SSM parameter type would be resolved again by
/// CloudFormation on every deploy and replace every instance when AWS publishes a new AMI;
/// instead deploy.sh pins the recommended AMI once and then passes the stack's current value.
#[test]
fn ec2_ami_is_resolved_once() {
    for (path, t) in templates_of(&example("mina-testnet.yaml")) {
        let Some(p) = t["Parameters"].get("EcsAmi") else {
            continue;
        };
        assert_eq!(p["Type"], "AWS::EC2::Image::Id", "{path}");
        assert!(p.get("Default").is_none(), "{path}: a default AMI");
    }
    let (_d, out, _s) = common::generate_example("mina-testnet.yaml");
    let script = std::fs::read_to_string(out.join("cloudformation/deploy.sh")).unwrap();
    assert!(!script.contains("AWS::SSM::Parameter::Value"));
    let body = &script[script.find("ecs_ami() {").expect("ecs_ami")..];
    let pinned = body.find("\"$pinned\"").unwrap();
    let current = body.find("describe-stacks").unwrap();
    let fresh = body.find("ssm get-parameter").unwrap();
    assert!(
        pinned < current && current < fresh,
        "the operator's AMI, else the stack's, else SSM"
    );
    assert!(
        script.contains("\"EcsAmi=$(ecs_ami "),
        "deploy passes no EcsAmi"
    );
}

/// The Duality-style example, which has every alert receiver: e-mail, a webhook, Slack,
/// Telegram and PagerDuty.
fn with_receivers() -> String {
    let text = example("cosmos-testnet-aws.yaml");
    for r in [
        "    webhooks: [\"https://hooks.example.com/chain-alerts\"]\n",
        "    slack: { channel: \"#chain-ops\" }\n",
        "    telegram: { chat_id: -1001234567890 }\n",
        "    pagerduty: true\n",
    ] {
        assert!(text.contains(r), "the AWS example lost `{r}`");
    }
    text
}

/// The alert receivers' credential files in the secrets tree, with their export names.
const ALERT_SECRETS: [(&str, &str); 3] = [
    (
        "alerts/slack-webhook-url",
        "duality-testnet-alerts-slack-webhook-url-arn",
    ),
    (
        "alerts/telegram-bot-token",
        "duality-testnet-alerts-telegram-bot-token-arn",
    ),
    (
        "alerts/pagerduty-routing-key",
        "duality-testnet-alerts-pagerduty-routing-key-arn",
    ),
];

/// Issue 13 item 10: Slack, Telegram and PagerDuty arrive on AWS too, and their credentials
/// are secrets. `network.yaml` holds a Secrets Manager secret per credential (in every
/// region), deploy.sh pushes each from the secrets tree (after checking all are there, before
/// any stack), and each region's delivery function gets only their ARNs in its environment and
/// `secretsmanager:GetSecretValue` on exactly those ARNs. Every alarm description opens with
/// `<Alert> (<severity>):`, which the function maps to PagerDuty's severity.
#[test]
fn alert_receivers_read_their_credentials_from_secrets_manager_only() {
    let all = templates_of(&with_receivers());
    let net = &all["network.yaml"];
    let exports: BTreeSet<String> = ALERT_SECRETS.iter().map(|(_, e)| e.to_string()).collect();
    let mut exported = BTreeSet::new();
    for (id, o) in net["Outputs"].as_object().unwrap() {
        let name = o["Export"]["Name"].as_str().unwrap_or_default();
        if exports.contains(name) {
            let secret = &resources(net)[&target(&o["Value"])];
            assert_eq!(secret["Type"], "AWS::SecretsManager::Secret", "{id}");
            assert!(
                secret.get("Condition").is_none() && o.get("Condition").is_none(),
                "{id}: an alert credential exists in every region"
            );
            assert!(secret["Properties"].get("SecretString").is_none());
            exported.insert(name.to_string());
        }
    }
    assert_eq!(exported, exports, "network.yaml exports");
    let imports: BTreeSet<String> = exports
        .iter()
        .map(|e| serde_json::json!({ "Fn::ImportValue": e }).to_string())
        .collect();
    let mut regions = 0;
    for (path, t) in &all {
        if path.contains('/') || path == "network.yaml" {
            continue;
        }
        regions += 1;
        let res = resources(t);
        let sub = &res["AlertWebhooks"]["Properties"];
        assert_eq!(sub["Protocol"], "lambda", "{path}");
        assert_eq!(target(&sub["Endpoint"]), "AlertWebhooksFunction");
        let f = &res["AlertWebhooksFunction"]["Properties"];
        let env = f["Environment"]["Variables"].as_object().unwrap();
        assert_eq!(env["CHAINFLEET_SLACK_CHANNEL"], "#chain-ops", "{path}");
        assert_eq!(
            env["CHAINFLEET_TELEGRAM_CHAT_ID"], "-1001234567890",
            "{path}"
        );
        let secret_env: BTreeSet<String> = [
            "CHAINFLEET_SLACK_WEBHOOK_SECRET",
            "CHAINFLEET_TELEGRAM_TOKEN_SECRET",
            "CHAINFLEET_PAGERDUTY_KEY_SECRET",
        ]
        .iter()
        .map(|k| env[*k].to_string())
        .collect();
        assert_eq!(
            secret_env, imports,
            "{path}: the environment names the ARNs"
        );
        assert!(
            !env.contains_key("CHAINFLEET_TEST_API_BASES"),
            "{path}: the test-only API override is set"
        );
        // The role: its own log group, and exactly the alert secrets.
        let role = &res[&target(&f["Role"])]["Properties"];
        let mut readable = BTreeSet::new();
        for st in role["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        {
            let actions = st["Action"].to_string();
            assert!(!actions.contains('*'), "{path}: wildcard action {actions}");
            if actions.contains("secretsmanager") {
                assert_eq!(st["Action"], "secretsmanager:GetSecretValue", "{path}");
                readable.extend(
                    st["Resource"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(Value::to_string),
                );
            } else {
                assert_eq!(target(&st["Resource"]), "AlertWebhooksLogGroup", "{path}");
            }
        }
        assert_eq!(
            readable, imports,
            "{path}: GetSecretValue beyond the alert secrets"
        );
        for (id, r) in res {
            if r["Type"] == "AWS::CloudWatch::Alarm" {
                let d = r["Properties"]["AlarmDescription"].as_str().unwrap();
                let head = d.split(':').next().unwrap();
                assert!(
                    head.ends_with(" (critical)") || head.ends_with(" (warning)"),
                    "{path}: {id}: `{d}` names no severity"
                );
            }
        }
    }
    assert_eq!(regions, 3);
    // deploy.sh: refuses to start without the credentials, then pushes each in every region.
    let (dir, out, _s) = common::generate_text("receivers.yaml", &with_receivers());
    let script = std::fs::read_to_string(out.join("cloudformation/deploy.sh")).unwrap();
    let check = script
        .find("if [ ! -s \"$secrets/$f\" ]")
        .expect("credential check");
    assert!(
        check < script.find("\"$aws\" ").unwrap(),
        "checked after a deploy"
    );
    for (file, _) in ALERT_SECRETS {
        assert!(script[..check].contains(file), "{file} not checked");
        let name = format!("duality-testnet/{}", file);
        let push = format!("--secret-id {name} \\\n  --secret-string \"file://$secrets/{file}\"");
        assert_eq!(script.matches(&push).count(), 3, "{file} pushed per region");
    }
    // Without the files deploy.sh stops before calling AWS (a fake CLI would record a call).
    let calls = dir.path().join("aws-calls");
    let fake = dir.path().join("fake-aws");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", calls.display()),
    )
    .unwrap();
    let o = run_deploy_sh(&out, &fake, |_| {});
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("put the credential alerts/slack-webhook-url in the secrets tree"),
        "{err}"
    );
    assert!(
        !calls.exists(),
        "deploy.sh called AWS without the credentials"
    );
}

/// A request a stand-in HTTP server received.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

type Log = std::sync::Arc<std::sync::Mutex<Vec<Req>>>;

/// A stand-in HTTP server on loopback: every request is recorded and answered by `respond`
/// (status, JSON body), one request per connection. Returns its port and the log.
fn stand_in(respond: impl Fn(&Req) -> (u16, String) + Send + 'static) -> (u16, Log) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: Log = Default::default();
    let mine = log.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            if r.read_line(&mut first).unwrap_or(0) == 0 {
                continue;
            }
            let mut parts = first.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let mut headers = BTreeMap::new();
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len = headers
                .get("content-length")
                .map_or(0, |v| v.parse().unwrap());
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let req = Req {
                method,
                path,
                headers,
                body: String::from_utf8(body).unwrap(),
            };
            let (status, answer) = respond(&req);
            mine.lock().unwrap().push(req);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (port, log)
}

/// Issue 13 item 10: webhooks are not raw SNS http(s) subscriptions (which Slack, Telegram
/// and most webhooks never confirm) but a Lambda subscribed to the alert topic. Its inline
/// code is run here for real (the tools' Python, with boto3 as in the Lambda runtime), with
/// the environment the template gives it, on a CloudWatch alarm's SNS event (ALARM, then OK)
/// against stand-ins on loopback: a webhook, Slack's incoming webhook, Telegram's Bot API,
/// PagerDuty's Events API v2 (reached through the test-only `CHAINFLEET_TEST_API_BASES`) and
/// Secrets Manager (through boto3's own `AWS_ENDPOINT_URL_SECRETS_MANAGER`). Every request
/// body is asserted exactly, the credentials are read once per container, and no credential
/// appears in the function's output, also when receivers fail.
#[test]
fn alerts_are_delivered_by_a_lambda() {
    let all = templates_of(&with_receivers());
    let t = &all["us-east-1.yaml"];
    let res = resources(t);
    for (id, r) in res {
        if r["Type"] == "AWS::SNS::Subscription" {
            let proto = r["Properties"]["Protocol"].as_str().unwrap();
            assert!(
                proto != "http" && proto != "https",
                "{id}: a raw {proto} subscription"
            );
        }
    }
    let sub = &res["AlertWebhooks"]["Properties"];
    assert_eq!(sub["Protocol"], "lambda");
    assert_eq!(target(&sub["Endpoint"]), "AlertWebhooksFunction");
    assert_eq!(target(&sub["TopicArn"]), "AlertTopic");
    let perm = &res["AlertWebhooksPermission"]["Properties"];
    assert_eq!(perm["Principal"], "sns.amazonaws.com");
    assert_eq!(target(&perm["SourceArn"]), "AlertTopic");
    let f = &res["AlertWebhooksFunction"]["Properties"];
    assert_eq!(
        f["Environment"]["Variables"]["CHAINFLEET_WEBHOOKS"],
        "[\"https://hooks.example.com/chain-alerts\"]"
    );
    let code = f["Code"]["ZipFile"].as_str().unwrap();
    // The example's validator-0 NodeDown alarm, as CloudWatch publishes it to SNS.
    let (alarm_name, description) = res
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| &r["Properties"])
        .find(|p| p["AlarmName"] == "duality-testnet-validator-0-NodeDown")
        .map(|p| {
            (
                p["AlarmName"].as_str().unwrap().to_string(),
                p["AlarmDescription"].as_str().unwrap().to_string(),
            )
        })
        .expect("validator-0's NodeDown alarm in us-east-1");
    assert!(description.starts_with("NodeDown (critical): "));

    let Some(cfn_lint) = common::tool("CFN_LINT") else {
        return;
    };
    let python = cfn_lint.parent().unwrap().join("python");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.py"), code).unwrap();

    let ok = |_: &Req| (200, "{\"ok\":true}".to_string());
    let (hook_port, hooks) = stand_in(ok);
    let (slack_port, slack) = stand_in(ok);
    let (tg_port, telegram) = stand_in(ok);
    let (pd_port, pagerduty) = stand_in(|_| {
        (
            202,
            "{\"status\":\"success\",\"message\":\"Event processed\"}".to_string(),
        )
    });
    let slack_url =
        format!("http://127.0.0.1:{slack_port}/services/T0CHAIN/B0ALERTS/slackSecretXyz123");
    let tg_token = "7000000001:telegramSecretAbc";
    let pd_key = "pdRoutingSecret0123456789abcdef";
    let arn = |file: &str| {
        format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:duality-testnet/{file}-AbCdEf"
        )
    };
    let values: BTreeMap<String, String> = BTreeMap::from([
        // deploy.sh pushes the file as it is: a trailing newline included.
        (arn("alerts/slack-webhook-url"), format!("{slack_url}\n")),
        (arn("alerts/telegram-bot-token"), tg_token.to_string()),
        (arn("alerts/pagerduty-routing-key"), pd_key.to_string()),
    ]);
    let secret_values = values.clone();
    let (sm_port, sm) = stand_in(move |req| {
        let id = serde_json::from_str::<Value>(&req.body).unwrap()["SecretId"]
            .as_str()
            .unwrap()
            .to_string();
        match secret_values.get(&id) {
            Some(v) => (200, serde_json::json!({ "ARN": id, "Name": "n", "SecretString": v, "VersionId": "v1", "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7e9 }).to_string()),
            None => (400, "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"no such secret\"}".to_string()),
        }
    });
    // The function's environment exactly as the template gives it, the imports resolved.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in f["Environment"]["Variables"].as_object().unwrap() {
        let v = match v.get("Fn::ImportValue").and_then(Value::as_str) {
            Some(export) => {
                let (file, _) = ALERT_SECRETS.iter().find(|(_, e)| *e == export).unwrap();
                arn(file)
            }
            None => v.as_str().unwrap().to_string(),
        };
        env.insert(k.clone(), v);
    }
    env.insert(
        "CHAINFLEET_WEBHOOKS".into(),
        format!("[\"http://127.0.0.1:{hook_port}/hook?token=s3cret\"]"),
    );
    let bases = serde_json::json!({
        "telegram": format!("http://127.0.0.1:{tg_port}"),
        "pagerduty": format!("http://127.0.0.1:{pd_port}"),
    })
    .to_string();
    let alarm_arn = format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm_name}");
    let notification = |state: &str, old: &str, reason: &str| {
        let alarm = serde_json::json!({
            "AlarmName": alarm_name,
            "AlarmDescription": description,
            "AWSAccountId": "123456789012",
            "NewStateValue": state,
            "NewStateReason": reason,
            "StateChangeTime": "2026-12-01T10:00:00.000+0000",
            "Region": "US East (N. Virginia)",
            "AlarmArn": alarm_arn,
            "OldStateValue": old,
            "Trigger": { "MetricName": "RunningTaskCount", "Namespace": "ECS/ContainerInsights", "Statistic": "MINIMUM", "Period": 60, "EvaluationPeriods": 2, "ComparisonOperator": "LessThanThreshold", "Threshold": 1.0, "TreatMissingData": "breaching" },
        });
        serde_json::json!({ "Records": [{ "EventSource": "aws:sns", "Sns": {
            "Type": "Notification",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:duality-testnet-alerts",
            "Subject": format!("{state}: \"{alarm_name}\" in US East (N. Virginia)"),
            "Message": alarm.to_string(),
        }}]})
    };
    let fire = "Threshold Crossed: 2 datapoints [0.0, 0.0] were less than the threshold (1.0).";
    let clear = "Threshold Crossed: 1 datapoint [1.0] was not less than the threshold (1.0).";
    let events = [
        notification("ALARM", "OK", fire),
        notification("OK", "ALARM", clear),
    ];
    let invoke = |env: &BTreeMap<String, String>, events: &[Value]| {
        let mut c = std::process::Command::new(&python);
        c.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .envs(env)
            .env("CHAINFLEET_TEST_API_BASES", &bases)
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", format!("http://127.0.0.1:{sm_port}"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("-c")
            // One process, like one warm container: both notifications, one after the other.
            .arg("import json, sys, index\nfor e in sys.argv[1:]:\n    print(json.dumps(index.handler(json.loads(e), None)))")
            .args(events.iter().map(Value::to_string));
        common::run(&mut c)
    };
    let secrets_in = |o: &std::process::Output| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        for s in ["slackSecretXyz123", "telegramSecretAbc", pd_key, "s3cret"] {
            assert!(
                !text.contains(s),
                "a credential ({s}) in the function's output:\n{text}"
            );
        }
        text
    };
    let started = std::time::Instant::now();
    let o = invoke(&env, &events);
    common::assert_ok(&o, "the alert function");
    eprintln!(
        "alert function: ALARM and OK to a webhook, Slack, Telegram and PagerDuty in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let out = secrets_in(&o);
    assert!(out.contains("{\"delivered\": 4}"), "{out}");
    let bodies = |log: &Log| -> Vec<Value> {
        log.lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect()
    };
    let first = format!("[ALARM] {alarm_name} (us-east-1): {fire}");
    let second = format!("[OK] {alarm_name} (us-east-1): {clear}");
    // The webhook: the alarm as JSON, at its URL with the query.
    let got = hooks.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].method.as_str(), got[0].path.as_str()),
        ("POST", "/hook?token=s3cret")
    );
    assert_eq!(got[0].headers["content-type"], "application/json");
    let b = bodies(&hooks);
    assert_eq!(b[0]["alarm"]["AlarmName"], alarm_name.as_str());
    assert_eq!(
        b[0]["text"],
        format!("ALARM: \"{alarm_name}\" in US East (N. Virginia): {fire}")
    );
    // Slack: an incoming-webhook message at the secret URL.
    let got = slack.lock().unwrap().clone();
    assert!(got
        .iter()
        .all(|r| r.method == "POST" && r.path == "/services/T0CHAIN/B0ALERTS/slackSecretXyz123"));
    assert_eq!(
        bodies(&slack),
        [
            serde_json::json!({ "channel": "#chain-ops", "text": first }),
            serde_json::json!({ "channel": "#chain-ops", "text": second })
        ]
    );
    // Telegram: sendMessage with the bot token in the path.
    let got = telegram.lock().unwrap().clone();
    assert!(
        got.iter()
            .all(|r| r.method == "POST" && r.path == format!("/bot{tg_token}/sendMessage")),
        "{got:?}"
    );
    assert_eq!(
        bodies(&telegram),
        [
            serde_json::json!({ "chat_id": -1001234567890i64, "text": first }),
            serde_json::json!({ "chat_id": -1001234567890i64, "text": second })
        ]
    );
    // PagerDuty: trigger, then resolve of the same incident.
    let got = pagerduty.lock().unwrap().clone();
    assert!(
        got.iter()
            .all(|r| r.method == "POST" && r.path == "/v2/enqueue"),
        "{got:?}"
    );
    assert_eq!(
        bodies(&pagerduty),
        [
            serde_json::json!({
                "routing_key": pd_key,
                "event_action": "trigger",
                "dedup_key": alarm_name,
                "payload": {
                    "summary": format!("{alarm_name}: {fire}"),
                    "source": alarm_arn,
                    "severity": "critical",
                    "custom_details": { "description": description, "region": "us-east-1", "state": "ALARM" },
                },
            }),
            serde_json::json!({ "routing_key": pd_key, "event_action": "resolve", "dedup_key": alarm_name }),
        ]
    );
    // Secrets Manager: each credential read once (cached by the container), by its ARN.
    let reads: Vec<String> = sm
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r.headers["x-amz-target"], "secretsmanager.GetSecretValue");
            serde_json::from_str::<Value>(&r.body).unwrap()["SecretId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        reads.iter().cloned().collect::<BTreeSet<_>>(),
        values.keys().cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(reads.len(), 3, "credentials read again: {reads:?}");

    // Receivers that fail fail the invocation (Lambda retries it): each named, with no URL
    // query, token, webhook URL or routing key in the error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let (down_port, _down) = stand_in(|_| (500, "{\"ok\":false}".to_string()));
    let mut broken = env.clone();
    broken.insert(
        "CHAINFLEET_WEBHOOKS".into(),
        format!("[\"http://127.0.0.1:{dead}/x?token=s3cret\"]"),
    );
    let slack_dead = arn("alerts/slack-webhook-url");
    let o = {
        // Slack's URL points at the dead port; Telegram and PagerDuty answer 500.
        let sm_dead = stand_in(move |req| {
            let id = serde_json::from_str::<Value>(&req.body).unwrap()["SecretId"]
                .as_str()
                .unwrap()
                .to_string();
            let v = if id == slack_dead {
                format!("http://127.0.0.1:{dead}/services/T0CHAIN/B0ALERTS/slackSecretXyz123")
            } else if id.contains("telegram") {
                tg_token.to_string()
            } else {
                pd_key.to_string()
            };
            (
                200,
                serde_json::json!({ "ARN": id, "Name": "n", "SecretString": v }).to_string(),
            )
        });
        let mut c = std::process::Command::new(&python);
        c.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .envs(&broken)
            .env("CHAINFLEET_TEST_API_BASES", serde_json::json!({
                "telegram": format!("http://127.0.0.1:{down_port}"),
                "pagerduty": format!("http://127.0.0.1:{down_port}"),
            }).to_string())
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", format!("http://127.0.0.1:{}", sm_dead.0))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("-c")
            .arg("import json, sys, index\nprint(json.dumps(index.handler(json.loads(sys.argv[1]), None)))")
            .arg(events[0].to_string());
        common::run(&mut c)
    };
    assert!(!o.status.success());
    let err = secrets_in(&o);
    for want in [
        format!("http://127.0.0.1:{dead}/x: URLError (ConnectionRefusedError)"),
        "slack: URLError (ConnectionRefusedError)".to_string(),
        "telegram: HTTP 500".to_string(),
        "pagerduty (trigger): HTTP 500".to_string(),
    ] {
        assert!(err.contains(&want), "no `{want}` in\n{err}");
    }
}

/// The UserData of an EC2 instance as the shell script it is, each `Ref` replaced by a
/// sample value (`eni-…` for the node's interface, the region for `AWS::Region`).
fn user_data_script(instance: &Value) -> String {
    instance["Properties"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
        .as_array()
        .expect("UserData is a Fn::Join")
        .iter()
        .map(|part| match part {
            Value::String(s) => s.clone(),
            other => match other.get("Ref").and_then(Value::as_str) {
                Some("AWS::Region") => "us-east-1".to_string(),
                Some(id) if id.ends_with("Eni") => "eni-0123456789abcdef0".to_string(),
                Some(_) => "sample-value".to_string(),
                None => panic!("unexpected UserData part {other}"),
            },
        })
        .collect()
}

/// Issue 13 item 4: an EC2 node's instance can be replaced (a new AMI) while the old one
/// still runs. No instance takes a pre-made interface as its primary one (CloudFormation
/// creates the replacement first, and the old instance would hold it: InvalidNetworkInterface.
/// InUse, rollback); each has a primary interface of its own in the node's AZ, and a unit of
/// its UserData, ordered before the ECS agent, attaches the node's own interface (the Cloud
/// Map address, the Elastic IP) as device 1, detaching it from a previous instance first. The
/// instance's role is the node's own and may attach and detach only that interface, on
/// instances with the node's tag. The UserData and the attach program pass ShellCheck.
#[test]
fn ec2_interfaces_are_handed_over_to_a_replacement() {
    let spec =
        example("cosmos-testnet-aws.yaml").replace("launch_type: fargate", "launch_type: ec2");
    let mut instances = 0;
    let mut scripts = Vec::new();
    for text in [example("mina-testnet.yaml"), spec] {
        for (path, t) in templates_of(&text) {
            let res = resources(&t);
            for (id, r) in res {
                if r["Type"] != "AWS::EC2::Instance" {
                    continue;
                }
                instances += 1;
                let p = &r["Properties"];
                let nics = p["NetworkInterfaces"].as_array().unwrap();
                assert_eq!(nics.len(), 1, "{path}: {id}");
                assert_eq!(nics[0]["DeviceIndex"], "0");
                assert!(
                    nics[0].get("NetworkInterfaceId").is_none(),
                    "{path}: {id} takes a pre-made interface as its primary one"
                );
                assert_eq!(nics[0]["AssociatePublicIpAddress"], false, "{path}: {id}");
                let node = p["Tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["Key"] == "chainfleet:node")
                    .unwrap_or_else(|| panic!("{path}: {id} has no node tag"))["Value"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let eni = format!("{}Eni", chainfleet::emit::cloudformation::lid(&node));
                let e = &res[&eni]["Properties"];
                assert!(
                    e["Tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|t| t["Key"] == "chainfleet:node" && t["Value"] == node.as_str()),
                    "{path}: {eni} has no node tag"
                );
                // Same AZ: the node's interface can only be attached there.
                let az = |s: &Value| s.to_string().replace("Public", "").replace("Private", "");
                assert_eq!(
                    az(&nics[0]["SubnetId"]),
                    az(&e["SubnetId"]),
                    "{path}: {id} in another AZ than {eni}"
                );
                // The hand-over, before the ECS agent, for this node's interface.
                let parts = p["UserData"]["Fn::Base64"]["Fn::Join"][1]
                    .as_array()
                    .unwrap();
                assert!(
                    parts.contains(&serde_json::json!({ "Ref": eni })),
                    "{path}: {id} attaches another interface"
                );
                let script = user_data_script(r);
                for needle in [
                    "Before=ecs.service",
                    "RequiredBy=ecs.service",
                    "ExecStart=/usr/local/sbin/chainfleet-attach-eni eni-0123456789abcdef0 us-east-1",
                    "systemctl enable chainfleet-eni.service",
                    "--device-index 1",
                    "detach-network-interface --attachment-id",
                    "(--force)",
                ] {
                    assert!(script.contains(needle), "{path}: {id}: no `{needle}` in its UserData");
                }
                // Its role: its own, attach/detach only the node's interface and instances.
                let profile = &res[&target(&p["IamInstanceProfile"])]["Properties"];
                let role = &res[&target(&profile["Roles"][0])]["Properties"];
                let mut handover = 0;
                for st in role["Policies"][0]["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap()
                {
                    let actions = st["Action"].to_string();
                    if !actions.contains("ec2:") {
                        continue;
                    }
                    if actions.contains("Describe") {
                        assert_eq!(st["Action"], "ec2:DescribeNetworkInterfaces", "{path}");
                        continue;
                    }
                    handover += 1;
                    assert_eq!(
                        st["Action"],
                        serde_json::json!([
                            "ec2:AttachNetworkInterface",
                            "ec2:DetachNetworkInterface"
                        ])
                    );
                    let resources = st["Resource"].as_array().unwrap();
                    let interfaces: Vec<&Value> = resources
                        .iter()
                        .filter(|r| r.to_string().contains("network-interface"))
                        .collect();
                    assert_eq!(
                        interfaces,
                        [
                            &serde_json::json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:network-interface/${{{eni}}}") })
                        ],
                        "{path}: {id}'s role reaches other interfaces"
                    );
                    assert_eq!(
                        st["Condition"],
                        serde_json::json!({ "StringEquals": { "aws:ResourceTag/chainfleet:node": node } }),
                        "{path}: {id}'s role is not limited to its node's instances"
                    );
                }
                assert_eq!(
                    handover, 1,
                    "{path}: {id}'s role cannot attach its interface"
                );
                scripts.push(script);
            }
            // One role per instance: no instance may take another node's interface.
            let profiles: BTreeSet<String> = res
                .values()
                .filter(|r| r["Type"] == "AWS::EC2::Instance")
                .map(|r| target(&r["Properties"]["IamInstanceProfile"]))
                .collect();
            let count = res
                .values()
                .filter(|r| r["Type"] == "AWS::EC2::Instance")
                .count();
            assert_eq!(profiles.len(), count, "{path}: instances share a role");
        }
    }
    assert!(instances > 0, "no EC2 instance");
    let Some(shellcheck) = common::tool("SHELLCHECK") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = &scripts[0];
    let program =
        &script[script.find("<<'SCRIPT'\n").unwrap() + 11..script.find("\nSCRIPT\n").unwrap() + 1];
    assert!(program.starts_with("#!/bin/bash\n"));
    for (name, text) in [
        ("user-data.sh", script.as_str()),
        ("chainfleet-attach-eni", program),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let o = common::run(
            std::process::Command::new(&shellcheck)
                .args(["-s", "bash"])
                .arg(&f),
        );
        common::assert_ok(&o, &format!("shellcheck {name}"));
    }
}

/// Issue 13 item 4: the attach program of an EC2 node's UserData, run for real (bash) with
/// stand-ins for `aws`, `curl` (the metadata service), `ip` and `sleep` that model the
/// interface: held by an old instance as device 1, it is detached there and attached here,
/// and the program returns once the address is configured; held as an old instance's primary
/// interface (the layout before this change, which cannot be detached), it keeps trying,
/// forces the detach after two minutes, and attaches once the old instance is gone.
#[test]
fn ec2_attach_program_takes_the_interface_from_an_old_instance() {
    let spec =
        example("cosmos-testnet-aws.yaml").replace("launch_type: fargate", "launch_type: ec2");
    let all = templates_of(&spec);
    let instance = resources(&all["us-east-1.yaml"])
        .values()
        .find(|r| r["Type"] == "AWS::EC2::Instance")
        .expect("an instance")
        .clone();
    let script = user_data_script(&instance);
    let program = script
        [script.find("<<'SCRIPT'\n").unwrap() + 11..script.find("\nSCRIPT\n").unwrap() + 1]
        .to_string();
    let run = |initial: &str, detach_frees_after: u32| {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let state = dir.path().join("state");
        let calls = dir.path().join("calls");
        std::fs::write(&state, initial).unwrap();
        let stubs = [
            ("sleep", "#!/bin/sh\nexit 0\n".to_string()),
            ("curl", "#!/bin/sh\ncase \"$*\" in *api/token*) echo tok ;; *instance-id*) echo i-new ;; *) exit 22 ;; esac\n".to_string()),
            ("ip", format!("#!/bin/sh\nset -- $(cat {s})\n[ \"$2\" = i-new ] && echo \"3: ens6    inet $4/24 brd 10.42.3.255 scope global ens6\"\nexit 0\n", s = state.display())),
            ("aws", format!(
                "#!/bin/sh\necho \"$*\" >> {c}\nop=$4\ncase \"$op\" in\n  describe-network-interfaces) tr ' ' '\\t' < {s} ;;\n  detach-network-interface)\n    n=$(grep -c detach-network-interface {c})\n    if [ \"$n\" -ge {free} ]; then echo 'available None None 10.42.3.7' > {s}; else echo 'An error occurred (OperationNotPermitted)' >&2; exit 254; fi ;;\n  attach-network-interface) echo 'in-use i-new eni-attach-new 10.42.3.7' > {s} ;;\nesac\n",
                c = calls.display(), s = state.display(), free = detach_frees_after
            )),
        ];
        use std::os::unix::fs::PermissionsExt;
        for (name, text) in stubs {
            let f = bin.join(name);
            std::fs::write(&f, text).unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let prog = dir.path().join("chainfleet-attach-eni");
        std::fs::write(&prog, &program).unwrap();
        let o = common::run(
            std::process::Command::new("timeout")
                .arg("60")
                .arg("bash")
                .arg(&prog)
                .args(["eni-0123456789abcdef0", "us-east-1"])
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display())),
        );
        common::assert_ok(&o, "the attach program");
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let calls = std::fs::read_to_string(&calls).unwrap();
        (out, calls.lines().map(String::from).collect::<Vec<_>>())
    };
    // A replaced instance of the new layout: device 1 of i-old, detached at the first try.
    let (out, calls) = run("in-use i-old eni-attach-old 10.42.3.7", 1);
    assert!(
        out.contains("chainfleet: eni-0123456789abcdef0 (10.42.3.7) is attached to i-new"),
        "{out}"
    );
    // `--region us-east-1 ec2 <operation> …`
    let ops: Vec<&str> = calls
        .iter()
        .map(|c| c.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "describe-network-interfaces",
            "detach-network-interface",
            "describe-network-interfaces",
            "attach-network-interface",
            "describe-network-interfaces"
        ],
        "{calls:#?}"
    );
    assert!(
        calls[1].contains("--attachment-id eni-attach-old") && !calls[1].contains("--force"),
        "{calls:#?}"
    );
    assert!(
        calls[3].contains("--instance-id i-new --device-index 1"),
        "{calls:#?}"
    );
    // The old layout: the interface is i-old's primary one and cannot be detached until that
    // instance is gone (here: the 20th attempt); the program keeps trying, forcing after 12.
    let (out, calls) = run("in-use i-old eni-attach-old 10.42.3.7", 20);
    assert!(out.contains("is attached to i-new"), "{out}");
    let detaches: Vec<&String> = calls
        .iter()
        .filter(|c| c.contains("detach-network-interface"))
        .collect();
    assert_eq!(detaches.len(), 20);
    assert!(
        detaches[..12].iter().all(|c| !c.contains("--force")),
        "{detaches:#?}"
    );
    assert!(
        detaches[12..].iter().all(|c| c.contains("--force")),
        "{detaches:#?}"
    );
    // First boot: the interface is free.
    let (_, calls) = run("available None None 10.42.3.7", 1);
    assert!(calls.iter().all(|c| !c.contains("detach")), "{calls:#?}");
}

/// Issue 13 items 5 and 12: deploy.sh puts up every region's node stack at once on a first
/// deploy (a node waits for peers' names that other regions' stacks create), and on an
/// update (every region's stack exists) deploys region after region, so that with each
/// stack's validator waves at most one validator restarts at a time in the whole network.
/// Run against a fake AWS CLI that records when each region stack's deploy starts and ends.
#[test]
fn deploy_sh_updates_region_after_region_and_first_deploys_at_once() {
    let (dir, out, secrets) = common::generate_example("cosmos-testnet-aws.yaml");
    for (file, _) in ALERT_SECRETS {
        let path = secrets.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "credential").unwrap();
    }
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-1"];
    for (exists, sequential) in [(true, true), (false, false)] {
        let calls = dir.path().join(format!("calls-{exists}"));
        let fake = dir.path().join("fake-aws");
        // Region stacks' deploys take a while; describe-stacks answers as told.
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nlog={calls}\ncase \"$*\" in\n  \
                 *'cloudformation describe-stacks'*) {answer} ;;\n  \
                 *'cloudformation deploy'*' --stack-name duality-testnet-network '*) ;;\n  \
                 *'cloudformation deploy'*)\n    \
                 s=$(printf '%s\\n' \"$@\" | sed -n 's/^duality-testnet-//p' | head -n 1)\n    \
                 echo \"start $s\" >>\"$log\"; sleep 0.4; echo \"end $s\" >>\"$log\" ;;\n\
                 esac\nexit 0\n",
                calls = calls.display(),
                answer = if exists { "exit 0" } else { "exit 254" },
            ),
        )
        .unwrap();
        let o = run_deploy_sh(&out, &fake, |c| {
            c.env("CHAINFLEET_SECRETS_DIR", &secrets);
        });
        common::assert_ok(&o, "deploy.sh with a fake AWS CLI");
        let log = std::fs::read_to_string(&calls).unwrap();
        let events: Vec<&str> = log.lines().collect();
        // The first pass: one start and one end per region stack.
        let first: Vec<&str> = events[..2 * regions.len()].to_vec();
        for r in regions {
            assert!(first.contains(&format!("start {r}").as_str()), "{log}");
        }
        let starts_before_first_end = first.iter().take_while(|e| e.starts_with("start")).count();
        if sequential {
            assert_eq!(
                starts_before_first_end, 1,
                "an update deploys one region at a time:\n{log}"
            );
            for pair in first.chunks(2) {
                assert_eq!(pair[0].replace("start", "end"), pair[1], "{log}");
            }
        } else {
            assert_eq!(
                starts_before_first_end,
                regions.len(),
                "a first deploy puts up every region at once:\n{log}"
            );
        }
    }
}

/// `bash cloudformation/deploy.sh` of the network in `out` with the fake AWS CLI `fake` (a
/// script, made executable here), an image and a bucket prefix; `more` adds to the command.
fn run_deploy_sh(
    out: &std::path::Path,
    fake: &std::path::Path,
    more: impl FnOnce(&mut std::process::Command),
) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = std::process::Command::new("bash");
    c.arg(out.join("cloudformation/deploy.sh"))
        .env("AWS_CLI", fake)
        .env("CHAINFLEET_IMAGE", "example.org/node:1")
        .env("CHAINFLEET_ARTIFACT_BUCKET_PREFIX", "p");
    more(&mut c);
    common::run(&mut c)
}
