//! The template builder: `Tpl` (a CloudFormation template under construction) and the
//! intrinsic-function and metadata helpers every stack uses (`Ref`, `Fn::GetAtt`, `Fn::Sub`,
//! tags, checkov skips, nested-stack metadata).

use serde_json::{json, Map, Value};

use crate::model::Network;

/// `{ "Ref": x }`.
pub(super) fn r(x: &str) -> Value {
    json!({ "Ref": x })
}

/// `{ "Fn::GetAtt": [x, attr] }`.
pub(super) fn ga(x: &str, attr: &str) -> Value {
    json!({ "Fn::GetAtt": [x, attr] })
}

/// `{ "Fn::Sub": s }`.
pub(super) fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

/// The tags of every taggable resource: its name and the network it belongs to.
pub(super) fn tags(net: &Network, name: &str) -> Value {
    json!([
        { "Key": "Name", "Value": name },
        { "Key": "chainfleet:network", "Value": net.name },
    ])
}

/// Keep a resource that holds what cannot be recreated (chain data, a public address peers
/// know) when its stack is deleted or it is replaced, unless the spec says the network is
/// throwaway (`targets.aws.retain_on_delete: false`).
pub(super) fn keep_on_delete(res: &mut Map<String, Value>, net: &Network) {
    let retain = net.targets.aws.as_ref().is_none_or(|a| a.retain_on_delete);
    let policy = if retain { "Retain" } else { "Delete" };
    res.insert("DeletionPolicy".into(), json!(policy));
    res.insert("UpdateReplacePolicy".into(), json!(policy));
}

/// Resource metadata telling checkov which checks are skipped, each with its reason.
pub(super) fn skip(checks: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = checks
        .iter()
        .map(|(id, comment)| json!({ "id": id, "comment": comment }))
        .collect();
    json!({ "checkov": { "skip": list } })
}

/// Nested stacks name their child by a local path that `aws cloudformation package` (run
/// by deploy.sh) uploads and rewrites to an S3 URL; cfn-lint's W3002 says exactly that.
pub(super) fn nested_stack_metadata() -> Value {
    json!({ "cfn-lint": { "config": { "ignore_checks": ["W3002"] } },
            "comment": "TemplateURL is a local path; deploy.sh runs `aws cloudformation package` first" })
}

/// A trust policy letting one AWS service assume a role.
pub(super) fn assumed_by(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
}

/// A CloudFormation template under construction.
#[derive(Default)]
pub(super) struct Tpl {
    pub(super) description: String,
    pub(super) params: Map<String, Value>,
    param_groups: Vec<(String, Vec<String>)>,
    pub(super) conditions: Map<String, Value>,
    pub(super) resources: Map<String, Value>,
    pub(super) outputs: Map<String, Value>,
}

impl Tpl {
    /// An empty template with this description.
    pub(super) fn new(description: String) -> Tpl {
        Tpl {
            description,
            ..Tpl::default()
        }
    }

    /// Add resource `id` of type `ty`; the returned map takes `Condition`, `Metadata`, ...
    pub(super) fn res(&mut self, id: &str, ty: &str, props: Value) -> &mut Map<String, Value> {
        self.resources
            .insert(id.into(), json!({ "Type": ty, "Properties": props }));
        self.resources[id].as_object_mut().expect("object")
    }

    /// Add parameter `id`, listed under `group` in the console.
    pub(super) fn param(&mut self, group: &str, id: &str, spec: Value) {
        self.params.insert(id.into(), spec);
        match self.param_groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, ids)) => ids.push(id.into()),
            None => self.param_groups.push((group.into(), vec![id.into()])),
        }
    }

    /// Add output `id`, exported under `export` when given.
    pub(super) fn output(&mut self, id: &str, desc: &str, value: Value, export: Option<String>) {
        let mut o = json!({ "Description": desc, "Value": value });
        if let Some(e) = export {
            o["Export"] = json!({ "Name": e });
        }
        self.outputs.insert(id.into(), o);
    }

    /// The template so far, to measure its size.
    pub(super) fn size_probe(&self) -> Value {
        json!({ "Resources": self.resources, "Parameters": self.params, "Outputs": self.outputs })
    }

    /// The finished template.
    pub(super) fn build(self) -> Value {
        let mut t = Map::new();
        t.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        t.insert("Description".into(), json!(self.description));
        if !self.params.is_empty() {
            let groups: Vec<Value> = self
                .param_groups
                .iter()
                .map(|(g, ids)| json!({ "Label": { "default": g }, "Parameters": ids }))
                .collect();
            let labels: Map<String, Value> = self
                .params
                .iter()
                .map(|(id, p)| {
                    let d = p["Description"].as_str().unwrap_or(id).to_string();
                    (id.clone(), json!({ "default": d }))
                })
                .collect();
            t.insert(
                "Metadata".into(),
                json!({ "AWS::CloudFormation::Interface": {
                    "ParameterGroups": groups, "ParameterLabels": labels } }),
            );
            t.insert("Parameters".into(), Value::Object(self.params));
        }
        if !self.conditions.is_empty() {
            t.insert("Conditions".into(), Value::Object(self.conditions));
        }
        t.insert("Resources".into(), Value::Object(self.resources));
        if !self.outputs.is_empty() {
            t.insert("Outputs".into(), Value::Object(self.outputs));
        }
        Value::Object(t)
    }
}
