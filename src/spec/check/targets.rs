//! Per-target rules on what the user wrote: at least one target; AWS regions, VPC, DNS
//! zone and certificate; the Kubernetes namespace, storage class and cluster domain. Compose and local settings are checked
//! on the resolved network (`model::check::host_ports`), where ports are allocated.

use super::names::is_dns_label;
use super::Checker;
use crate::spec::parse::parse_cidr;
use crate::spec::{AwsTarget, Spec};

/// Check `targets`.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    let t = &spec.targets;
    if t.aws.is_none()
        && t.kubernetes.is_none()
        && t.compose.is_none()
        && t.local.is_none()
        && t.hosts.is_none()
    {
        c.error(
            "/targets",
            "no deployment target is set",
            "{}",
            "add at least one of `aws`, `kubernetes`, `compose`, `local`, `hosts`",
        );
    }
    if let Some(aws) = &t.aws {
        aws_regions(c, spec);
        aws_settings(c, aws);
    }
    if let Some(k) = &t.kubernetes {
        c.dns_name(
            "/targets/kubernetes/namespace",
            "namespace",
            &k.namespace,
            63,
        );
        // Both reach the chart as YAML values and Kubernetes names: a DNS subdomain needs no
        // quoting anywhere and is what the API server accepts.
        let fields = [
            ("storage_class", "storage class", k.storage_class.as_deref()),
            (
                "cluster_domain",
                "cluster domain",
                Some(k.cluster_domain.as_str()),
            ),
        ];
        for (field, what, value) in fields {
            if let Some(v) = value.filter(|v| !is_dns_subdomain(v)) {
                c.error(
                    &format!("/targets/kubernetes/{field}"),
                    format!("{what} `{v}` is not a DNS subdomain"),
                    v,
                    "use 1–253 lowercase letters, digits, `-` and `.`, e.g. `standard` or `cluster.local`",
                );
            }
        }
    }
    if let Some(hosts) = &t.hosts {
        super::hosts::check(c, spec, hosts);
    }
    if let Some(h) = t.compose.as_ref().and_then(|c| c.host_ip.as_ref()) {
        if h.parse::<std::net::Ipv4Addr>().is_err() {
            c.error(
                "/targets/compose/host_ip",
                format!("`{h}` is not an IPv4 address"),
                h.as_str(),
                "write e.g. `127.0.0.1`, or leave it out to publish on every interface",
            );
        }
    }
}

/// `arn:<partition>:<service>:<region>:<12-digit account>:<resource>`, the resource judged
/// by `resource_ok`. ARNs reach CloudFormation and the SNS/ACM APIs as they are.
pub(crate) fn is_arn(arn: &str, service: &str, resource_ok: impl Fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, svc, region, account, resource] = parts[..] else {
        return false;
    };
    scheme == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && svc == service
        && !region.is_empty()
        && region
            .chars()
            .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '-')
        && account.len() == 12
        && account.chars().all(|x| x.is_ascii_digit())
        && resource_ok(resource)
}

/// A Kubernetes DNS subdomain (RFC 1123): dot-separated labels of lowercase letters, digits
/// and `-`, each starting and ending with a letter or digit, 253 characters at most.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The AWS target deploys one stack per region: regions are listed and are AWS names.
fn aws_regions(c: &mut Checker<'_>, spec: &Spec) {
    if spec.regions.is_empty() {
        c.error(
            "/targets/aws",
            "the aws target needs the top-level `regions`",
            "",
            "list AWS regions, e.g. `regions: [us-east-1]`",
        );
    }
    for (i, r) in spec.regions.iter().enumerate() {
        if AWS_REGIONS.contains(&r.as_str()) {
            continue;
        }
        let at = format!("/regions/{i}");
        let parts: Vec<&str> = r.split('-').collect();
        let shaped = parts.len() >= 3 && parts.last().is_some_and(|p| p.parse::<u8>().is_ok());
        match crate::diag::did_you_mean(r, AWS_REGIONS.iter().copied()) {
            Some(near) => c.error(
                &at,
                format!("`{r}` is not an AWS region"),
                r.as_str(),
                format!("did you mean `{near}`?"),
            ),
            None if !shaped => c.error(
                &at,
                format!("`{r}` is not an AWS region name"),
                r.as_str(),
                "AWS regions look like `us-east-1`, `eu-west-1`",
            ),
            // Shaped like a region and far from every known one: perhaps opened after this
            // release. Say so, but do not refuse it.
            None => c.warn(
                &at,
                format!("`{r}` is not an AWS region chainfleet knows"),
                "check the name; if AWS opened this region recently, the stacks still work there",
            ),
        }
    }
}

/// AWS regions (commercial, GovCloud and China partitions), as of November 2026.
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// VPC, Route 53 zone and ACM certificate.
fn aws_settings(c: &mut Checker<'_>, aws: &AwsTarget) {
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
        if aws.dns_zone.is_none() {
            // HTTPS needs a name the certificate matches; an ALB's DNS name never can.
            c.error(
                "/targets/aws/certificate_arn",
                "`certificate_arn` is set but `dns_zone` is not: the HTTPS load balancer would have no name its certificate matches",
                arn.as_str(),
                "add `dns_zone: { name: <zone>, hosted_zone_id: <id> }`; the load balancer is then `api-<region>.<zone>`, which a `*.<zone>` certificate covers",
            );
        }
        if !is_arn(arn, "acm", |r| {
            r.strip_prefix("certificate/").is_some_and(|id| {
                !id.is_empty() && id.chars().all(|x| x.is_ascii_alphanumeric() || x == '-')
            })
        }) {
            c.error(
                "/targets/aws/certificate_arn",
                format!("`{arn}` is not an ACM certificate ARN"),
                arn.as_str(),
                "ARNs look like `arn:aws:acm:us-east-1:123456789012:certificate/…`",
            );
        }
    }
}
