//! Flags every command shares, typed once: each is a `ValueEnum`, so clap rejects an unknown
//! value with the list of valid ones, and a flag means the same thing wherever it appears.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;

/// `-o/--format`: every command takes the formats it can write, from this one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text (`text` is accepted too).
    #[value(alias = "text")]
    Txt,
    /// JSON, described by a schema under `docs/schema/`.
    Json,
    /// A Markdown table or list (fits a pull-request comment).
    Md,
    /// Comma-separated values with a header.
    Csv,
    /// A Graphviz digraph.
    Dot,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML (CI test reports).
    Junit,
    /// YAML manifests.
    Yaml,
}

impl Format {
    /// The canonical name (`txt`, `json`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Json => "json",
            Format::Md => "md",
            Format::Csv => "csv",
            Format::Dot => "dot",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Yaml => "yaml",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--format` parser accepting `allowed` only (and their aliases), listing them on error.
pub fn formats(allowed: &'static [Format]) -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(allowed.iter().filter_map(ValueEnum::to_possible_value))
        .map(|s| Format::from_str(&s, true).unwrap_or(Format::Txt))
}

/// `--cni`: the CNI profile the analysis assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cni {
    /// Detected from the input (CNI agents, policy kinds).
    Auto,
    /// Upstream NetworkPolicy and admin-tier semantics, as netpol-analyzer.
    Generic,
    /// Calico: tiers, Calico policies, admin tiers.
    Calico,
    /// Cilium: NetworkPolicies and Cilium policies in one repository, L7 and FQDN rules.
    Cilium,
    /// Antrea: NetworkPolicy and the admin tiers.
    Antrea,
    /// flannel: no policy enforcement.
    Flannel,
    /// Weave Net: NetworkPolicy only.
    Weave,
}

impl Cni {
    /// The engine's profile (`None` for `auto`, which the input decides).
    pub fn profile(self) -> Option<netfence_engine::Profile> {
        use netfence_engine::Profile;
        match self {
            Cni::Auto => None,
            Cni::Generic => Some(Profile::Generic),
            Cni::Calico => Some(Profile::Calico),
            Cni::Cilium => Some(Profile::Cilium),
            Cni::Antrea => Some(Profile::Antrea),
            Cni::Flannel => Some(Profile::Flannel),
            Cni::Weave => Some(Profile::Weave),
        }
    }
}

/// `--cni NAME[@RELEASE]`: a CNI profile and, optionally, the release it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CniChoice {
    /// The CNI profile.
    pub cni: Cni,
    /// The release given after `@`.
    pub version: Option<netfence_engine::Release>,
}

/// Reads `cilium`, `cilium@1.19`, `calico@v3.31.2`.
fn parse_cni(text: &str) -> Result<CniChoice, String> {
    let (name, version) = match text.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    let cni = Cni::from_str(name, true).map_err(|_| {
        format!(
            "possible values: {}; a release may follow @ (cilium@1.19)",
            Cni::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|v| v.get_name().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let version = match version {
        None => None,
        Some(v) => {
            let r = netfence_engine::Release::parse(v).ok_or_else(|| {
                format!("{text}: the release after @ must read MAJOR.MINOR (cilium@1.19)")
            })?;
            if cni
                .profile()
                .is_none_or(|p| netfence_engine::DataPath::known_releases(p).is_empty())
            {
                return Err(format!(
                    "{text}: netfence models no release of {name} (releases are read for calico, cilium and antrea)"
                ));
            }
            Some(r)
        }
    };
    Ok(CniChoice { cni, version })
}

/// `--cni` and `--cni-setting`, declared once and flattened into every command that takes
/// them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CniArg {
    /// CNI profile, with its release after @ (auto, generic, calico, cilium, antrea, flannel,
    /// weave; `cilium@1.19`). Default generic (`flows` commands: cilium). Without a release,
    /// the agent image's tag in the input, else the newest release netfence models.
    #[arg(long, value_name = "CNI", value_parser = parse_cni)]
    pub cni: Option<CniChoice>,
    /// A data-path setting that changes semantics, as the CNI's configuration spells it
    /// (repeatable): `enable-k8s-cluster-network-policy=true` (Cilium), `ClusterNetworkPolicy=true`
    /// (Antrea's feature gate), `kubernetes=1.36` (the Kubernetes release). Overrides what
    /// the input's configuration says.
    #[arg(long = "cni-setting", value_name = "KEY=VALUE")]
    pub cni_settings: Vec<String>,
}

impl CniArg {
    /// The CNI named, if any.
    pub fn named(&self) -> Option<Cni> {
        self.cni.map(|c| c.cni)
    }
}

/// A finding severity (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl From<Severity> for netfence_audit::Severity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Info => netfence_audit::Severity::Info,
            Severity::Low => netfence_audit::Severity::Low,
            Severity::Medium => netfence_audit::Severity::Medium,
            Severity::High => netfence_audit::Severity::High,
            Severity::Critical => netfence_audit::Severity::Critical,
        }
    }
}

/// `--protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// ICMP (IPv4): `--icmp-type` instead of `--port`.
    Icmp,
    /// ICMPv6: `--icmp-type` instead of `--port`.
    Icmpv6,
}

impl From<Protocol> for netfence_model::Protocol {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Tcp => netfence_model::Protocol::Tcp,
            Protocol::Udp => netfence_model::Protocol::Udp,
            Protocol::Sctp => netfence_model::Protocol::Sctp,
            Protocol::Icmp => netfence_model::Protocol::Icmp,
            Protocol::Icmpv6 => netfence_model::Protocol::IcmpV6,
        }
    }
}

/// A traffic direction (`--focus-direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// Traffic arriving at the workload.
    Ingress,
    /// Traffic leaving the workload.
    Egress,
}

/// A policy dialect to write (`generate from-flows --dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Kubernetes NetworkPolicy.
    Networkpolicy,
    /// CiliumNetworkPolicy (L7 and FQDN rules).
    Cilium,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[arg(short = 'o', long, value_parser = formats(&[Format::Txt, Format::Json]))]
        format: Format,
        #[arg(long, value_enum, ignore_case = true)]
        protocol: Option<Protocol>,
    }

    #[test]
    fn formats_take_their_aliases_and_refuse_the_others_with_the_list() {
        let t = T::try_parse_from(["t", "-o", "text"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.format, Format::Txt);
        let e = T::try_parse_from(["t", "-o", "xml"])
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("txt") && e.contains("json") && !e.contains("sarif"),
            "{e}"
        );
        let t = T::try_parse_from(["t", "-o", "json", "--protocol", "udp"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.protocol, Some(Protocol::Udp));
    }
}
