//! What the CloudFormation templates mean on AWS, asserted on the templates themselves (no
//! tool needed, so it runs everywhere in seconds): keys only their own node can read
//! (issue 13 item 2), validators rolled one wave at a time (item 12), HTTPS URLs that name
//! a record a certificate can match (item 9), EC2 instances whose role and metadata service
//! give a node nothing (item 8), the AMI pinned once (item 4), webhooks through a Lambda
//! (item 10; its code runs on the tools' Python).

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
    let mut instances = 0;
    for (path, t) in templates_of(&example("mina-testnet.yaml")) {
        for (id, r) in resources(&t) {
            match r["Type"].as_str().unwrap() {
                "AWS::IAM::Role" if id == "InstanceRole" => {
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

/// Issue 13 item 10: webhooks are not raw SNS http(s) subscriptions (which Slack, Telegram
/// and most webhooks never confirm) but a Lambda subscribed to the alert topic. Its inline
/// code is run here for real (the tools' Python) against a webhook on loopback: the alarm
/// arrives as JSON, and a dead webhook fails the invocation without logging the URL's query.
#[test]
fn webhooks_are_delivered_by_a_lambda() {
    use std::io::{BufRead, BufReader, Read, Write};
    let all = templates_of(&example("cosmos-testnet-aws.yaml"));
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

    let Some(cfn_lint) = common::tool("CFN_LINT") else {
        return;
    };
    let python = cfn_lint.parent().unwrap().join("python");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.py"), code).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        (head, String::from_utf8(body).unwrap())
    });
    let alarm = serde_json::json!({
        "AlarmName": "duality-testnet-validator-0-NodeDown",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: no running task",
    });
    let event = serde_json::json!({ "Records": [{ "Sns": {
        "Subject": "ALARM: duality-testnet-validator-0-NodeDown",
        "Message": alarm.to_string(),
    }}]});
    let invoke = |hooks: String| {
        common::run(
            std::process::Command::new(&python)
                .current_dir(dir.path())
                .env("CHAINFLEET_WEBHOOKS", hooks)
                .arg("-c")
                .arg("import json, sys, index\nprint(json.dumps(index.handler(json.loads(sys.argv[1]), None)))")
                .arg(event.to_string()),
        )
    };
    let o = invoke(format!("[\"http://127.0.0.1:{port}/hook?token=s3cret\"]"));
    common::assert_ok(&o, "the webhook function");
    let (head, body) = server.join().unwrap();
    assert!(head.starts_with("POST /hook?token=s3cret "), "{head}");
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got["alarm"]["AlarmName"], alarm["AlarmName"]);
    assert_eq!(
        got["text"],
        "ALARM: duality-testnet-validator-0-NodeDown: Threshold Crossed: no running task"
    );
    // A webhook that does not answer fails the invocation (Lambda retries it), and the
    // error names the URL without its query.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let o = invoke(format!("[\"http://127.0.0.1:{dead}/x?token=s3cret\"]"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("http://127.0.0.1:{dead}/x")), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
