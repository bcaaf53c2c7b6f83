//! EC2 instance types for the `ec2` launch type: the sizes of the families chainfleet knows,
//! the default type for a group's resources, and the CPU architecture of a type.

use super::Resources;

/// vCPUs and memory of an instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceSize {
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
}

/// The family whose sizes serve as defaults: general purpose, x86_64, 4 GiB per vCPU.
pub const DEFAULT_FAMILY: &str = "m6i";

/// Default sizes of [`DEFAULT_FAMILY`], smallest first.
const DEFAULT_SIZES: &[&str] = &[
    "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge",
    "32xlarge",
];

/// The size of `instance_type` when its family is one whose sizes follow the usual rule
/// (`large` = 2 vCPUs, `xlarge` = 4, `Nxlarge` = 4N, memory a fixed GiB per vCPU); `None`
/// for families chainfleet does not know (they are taken on trust).
pub fn size_of(instance_type: &str) -> Option<InstanceSize> {
    let (family, size) = instance_type.split_once('.')?;
    if matches!(family, "t3" | "t3a" | "t4g") {
        let (vcpus, gib) = match size {
            "nano" => (2, 0.5),
            "micro" => (2, 1.0),
            "small" => (2, 2.0),
            "medium" => (2, 4.0),
            "large" => (2, 8.0),
            "xlarge" => (4, 16.0),
            "2xlarge" => (8, 32.0),
            _ => return None,
        };
        return Some(InstanceSize {
            vcpus,
            memory_mib: (gib * 1024.0) as u64,
        });
    }
    if family == "c5n" {
        return None; // 5.25 GiB per vCPU, off the rule
    }
    // GiB per vCPU by family class: c compute, m general, r memory.
    let per_vcpu = match family.trim_end_matches(['a', 'i', 'n', 'd', 'g', 'e']) {
        "c5" | "c6" | "c7" | "c8" => 2,
        "m5" | "m6" | "m7" | "m8" => 4,
        "r5" | "r6" | "r7" | "r8" => 8,
        _ => return None,
    };
    let vcpus = match size {
        "large" => 2,
        "xlarge" => 4,
        s => 4 * s.strip_suffix("xlarge")?.parse::<u32>().ok()?,
    };
    Some(InstanceSize {
        vcpus,
        memory_mib: u64::from(vcpus) * per_vcpu * 1024,
    })
}

/// Memory ECS can give tasks on an instance: the operating system and the ECS agent keep
/// about a sixteenth (at least 256 MiB), as ECS registers, e.g. 7680 MiB of an 8 GiB host.
pub fn task_memory_mib(size: InstanceSize) -> u64 {
    size.memory_mib - (size.memory_mib / 16).max(256)
}

/// True when one task of `res` fits on an instance of `size`.
pub fn fits(size: InstanceSize, res: Resources) -> bool {
    u64::from(size.vcpus) * 1000 >= u64::from(res.cpu_millis)
        && task_memory_mib(size) >= res.memory_mib
}

/// The smallest [`DEFAULT_FAMILY`] type that holds `res`; the largest one if none does (the
/// spec check refuses such groups before this is asked).
pub fn default_for(res: Resources) -> String {
    let size = DEFAULT_SIZES
        .iter()
        .find(|s| size_of(&format!("{DEFAULT_FAMILY}.{s}")).is_some_and(|z| fits(z, res)))
        .unwrap_or(&DEFAULT_SIZES[DEFAULT_SIZES.len() - 1]);
    format!("{DEFAULT_FAMILY}.{size}")
}

/// True for AWS Graviton (arm64) types: `a1` and families with a `g` after the generation
/// digit (`t4g`, `m7g`, `c6gn`, `r8g`, `x2gd`, `is4gen`).
pub fn is_arm64(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    if family == "a1" {
        return true;
    }
    let bytes = family.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0].is_ascii_digit() && w[1] == b'g')
}

/// True when `text` has the shape of an instance type: `family.size`, lower case.
pub fn is_instance_type(text: &str) -> bool {
    text.split_once('.').is_some_and(|(f, s)| {
        !f.is_empty()
            && !s.is_empty()
            && f.starts_with(|c: char| c.is_ascii_lowercase())
            && f.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(cpu_millis: u32, memory_mib: u64) -> Resources {
        Resources {
            cpu_millis,
            memory_mib,
            storage_gib: 10,
        }
    }

    #[test]
    fn sizes_follow_the_published_tables() {
        let s = |t| size_of(t).map(|z| (z.vcpus, z.memory_mib / 1024));
        assert_eq!(s("m6i.large"), Some((2, 8)));
        assert_eq!(s("m6i.2xlarge"), Some((8, 32)));
        assert_eq!(s("m7a.xlarge"), Some((4, 16)));
        assert_eq!(s("c6i.4xlarge"), Some((16, 32)));
        assert_eq!(s("r6i.large"), Some((2, 16)));
        assert_eq!(s("m6gd.xlarge"), Some((4, 16)));
        assert_eq!(s("t3.medium"), Some((2, 4)));
        assert_eq!(s("t3.small"), Some((2, 2)));
        assert_eq!(s("x2iedn.xlarge"), None);
        assert_eq!(s("m6i.metal"), None);
    }

    #[test]
    fn the_default_is_the_smallest_m6i_that_holds_the_group() {
        assert_eq!(default_for(res(1000, 4096)), "m6i.large");
        assert_eq!(default_for(res(2000, 7680)), "m6i.large");
        // 8 GiB of tasks does not fit next to the agent on an 8 GiB host.
        assert_eq!(default_for(res(2000, 8192)), "m6i.xlarge");
        assert_eq!(default_for(res(6000, 4096)), "m6i.2xlarge");
        assert_eq!(default_for(res(1000, 1 << 30)), "m6i.32xlarge");
    }

    #[test]
    fn graviton_types_are_arm64() {
        for t in [
            "t4g.small",
            "m7g.large",
            "c6gn.xlarge",
            "x2gd.large",
            "is4gen.large",
            "a1.large",
        ] {
            assert!(is_arm64(t), "{t}");
        }
        for t in [
            "m6i.large",
            "g4dn.xlarge",
            "c5n.large",
            "t3.micro",
            "p4de.24xlarge",
        ] {
            assert!(!is_arm64(t), "{t}");
        }
    }

    #[test]
    fn instance_type_shape() {
        assert!(is_instance_type("m6i.large"));
        assert!(is_instance_type("u-6tb1.metal"));
        assert!(!is_instance_type("M6i.large"));
        assert!(!is_instance_type("m6i"));
        assert!(!is_instance_type("m6i."));
    }
}
