//! One alert vocabulary on every target: for each example, the alert names in the compose
//! project's Prometheus rules, the Helm chart's PrometheusRule and the CloudFormation alarm
//! names are the network's vocabulary (`chain::alerts`), each target rendering all of it
//! that it can see (Prometheus reads no logs; CloudWatch reads node metrics through its agent).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use chainfleet::chain::alerts::{alerts, Condition};

/// `- alert: X` names in a Prometheus rules file (compose) or a PrometheusRule (Helm).
fn prometheus_alerts(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(|n| n.trim().to_string())
        .collect()
}

/// `(node or region, alert)` of every CloudWatch alarm in a region stack.
fn cloudwatch_alarms(text: &str, net: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("AlarmName: "))
        .filter_map(|n| n.trim().strip_prefix(&format!("{net}-")))
        .filter_map(|rest| {
            let (who, alert) = rest.rsplit_once('-')?;
            Some((who.to_string(), alert.to_string()))
        })
        .collect()
}

#[test]
fn every_target_names_alerts_from_the_one_vocabulary() {
    let root = common::root();
    let mut checked = 0;
    for entry in fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        let net = chainfleet::validate(&path.display().to_string(), &bytes, path.parent().unwrap())
            .expect("examples are valid")
            .network;
        let vocabulary = alerts(&net);
        let all: BTreeSet<String> = vocabulary.iter().map(|a| a.name.to_string()).collect();
        // What Prometheus can see: everything but logs.
        let metrics_only: BTreeSet<String> = vocabulary
            .iter()
            .filter(|a| !matches!(a.condition, Condition::FailureLogged { .. }))
            .map(|a| a.name.to_string())
            .collect();
        let out = root.join("generated").join(&net.name);

        let compose = out.join("compose/prometheus/alerts.yml");
        if compose.is_file() {
            let names = prometheus_alerts(&fs::read_to_string(&compose).unwrap());
            // Memory and CPU come from the node process there: only when it exports them.
            let expected: BTreeSet<String> = vocabulary
                .iter()
                .filter(|a| match a.condition {
                    Condition::FailureLogged { .. } => false,
                    Condition::MemoryHigh { process, .. } | Condition::CpuHigh { process, .. } => {
                        process.is_some()
                    }
                    _ => true,
                })
                .map(|a| a.name.to_string())
                .collect();
            assert_eq!(names, expected, "{}: compose rules", net.name);
            checked += 1;
        }

        let helm = out.join(format!("helm/{}/templates/monitoring.yaml", net.name));
        if helm.is_file() && net.monitoring.prometheus {
            let names = prometheus_alerts(&fs::read_to_string(&helm).unwrap());
            assert_eq!(names, metrics_only, "{}: Helm PrometheusRule", net.name);
            checked += 1;
        }

        let cfn = out.join("cloudformation");
        if cfn.is_dir() {
            let mut seen = BTreeSet::new();
            for region in &net.regions {
                let text = cloudformation_text(&cfn, region);
                for (who, alert) in cloudwatch_alarms(&text, &net.name) {
                    // EC2 only: recover a failed instance onto healthy hardware (not a
                    // chain condition, so not in the vocabulary).
                    if alert == "HostRecovery" {
                        continue;
                    }
                    assert!(
                        all.contains(&alert),
                        "{}: alarm {who}-{alert} is not in the vocabulary {all:?}",
                        net.name
                    );
                    seen.insert(alert);
                }
                // Every node of the region has its NodeDown alarm.
                for node in net.nodes.iter().filter(|n| n.region == *region) {
                    let needle = format!("AlarmName: {}-{}-NodeDown", net.name, node.name);
                    assert!(text.contains(&needle), "{}: no `{needle}`", net.name);
                }
            }
            assert_eq!(seen, all, "{}: CloudWatch alarms", net.name);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} target outputs checked");
}

/// The region stack and its nested node stacks, concatenated.
fn cloudformation_text(cfn: &Path, region: &str) -> String {
    let mut text = fs::read_to_string(cfn.join(format!("{region}.yaml"))).unwrap();
    let nested = cfn.join(region);
    if nested.is_dir() {
        let mut files: Vec<_> = fs::read_dir(&nested)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            text.push_str(&fs::read_to_string(f).unwrap());
        }
    }
    text
}
