//! The command-line contract (see the architecture note; extend, never break).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::flags::{formats, CniArg, Dialect, Direction, Format, Protocol, Severity};

/// Who can reach whom in a Kubernetes cluster, and why — from manifests.
#[derive(Debug, Parser)]
#[command(name = "netfence", version, about)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Inputs shared by every command.
#[derive(Debug, Args, Clone)]
pub struct Inputs {
    /// Files or directories of manifests (.yaml, .yml, .json), or `-` for standard input.
    #[arg(required_unless_present = "cluster")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub cni: CniArg,
    /// List skipped objects on standard error.
    #[arg(long, short)]
    pub verbose: bool,
}

/// A live cluster as input (with or without paths).
#[derive(Debug, Args, Clone, Default)]
pub struct LiveArgs {
    /// Also read the live cluster of the current kubeconfig context: every kind netfence
    /// models that the API server serves.
    #[arg(long)]
    pub cluster: bool,
    /// The kubeconfig file (default: `KUBECONFIG`, `~/.kube/config`, or in-cluster).
    #[arg(long, requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    #[arg(long, requires = "cluster")]
    pub context: Option<String>,
    /// With `--cluster`, list only these namespaces' objects (repeatable; cluster-scoped kinds
    /// are read whole, since selectors read every namespace's labels). `generate` also writes
    /// policies for these namespaces, with or without `--cluster`.
    #[arg(
        long = "namespace",
        short = 'n',
        value_name = "NS",
        visible_alias = "cluster-namespace",
        conflicts_with = "all_namespaces"
    )]
    pub namespaces: Vec<String>,
    /// Every namespace (the default for `--cluster`); `generate` writes policies for every
    /// namespace but kube-system and kube-public.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The allowed connections between all workloads and external ranges.
    Connectivity(ConnectivityArgs),
    /// One flow's verdict, with the decisive rule of each layer.
    Query(Box<QueryArgs>),
    /// Connections added, removed and changed between two policy sets.
    Diff(DiffArgs),
    /// What an attacker who controls one workload can reach, hop by hop.
    BlastRadius(BlastArgs),
    /// Declarative connectivity assertions, offline.
    Test(TestArgs),
    /// A self-contained HTML report to look at.
    Report(ReportArgs),
    /// Zero-trust findings with stable rule codes, and the zero-trust score.
    Audit(AuditArgs),
    /// Policies generated from the inventory, checked by the engine before they are printed.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// What each CNI profile enforces, and which CNI the input runs.
    Cni(CniArgs),
    /// Writes what the live cluster runs as manifests (one file per namespace and kind,
    /// server-managed fields stripped), to commit and analyse offline.
    Snapshot(SnapshotArgs),
    /// Observed Hubble flows against the manifests: why drops happen, what a change breaks.
    #[command(subcommand)]
    Flows(FlowsCommand),
    /// Shell completions for bash, zsh, fish, elvish or powershell, on standard output.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff), on standard output: `netfence man | man -l -`.
    Man,
    /// A rule's documentation (`netfence rule NP101`; no code lists the rules).
    Rule {
        /// The rule's code.
        code: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json, Format::Sarif, Format::Junit, Format::Md]))]
    pub format: Format,
    /// Exit 1 when a finding reaches this severity.
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
    /// Run only rules whose code starts with one of these (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip rules whose code starts with one of these (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Namespaces the namespace-level rules leave alone.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "kube-system,kube-public,kube-node-lease"
    )]
    pub system_namespaces: Vec<String>,
    /// Cilium's bpf-policy-map-max: the policy map entries an endpoint may hold (CIL101).
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub policy_map_max: u64,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Where to write the HTML file.
    #[arg(long)]
    pub out: PathBuf,
    /// The report's title.
    #[arg(long, default_value = "Cluster network policy report")]
    pub title: String,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Manifests, as for every command (not needed with --print-schema).
    pub paths: Vec<PathBuf>,
    /// The test spec (YAML or JSON; schema: `netfence test --print-schema`).
    #[arg(long, required_unless_present = "print_schema")]
    pub spec: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Junit, Format::Json]))]
    pub format: Format,
    #[command(flatten)]
    pub cni: CniArg,
    /// Print the spec's JSON schema and exit.
    #[arg(long)]
    pub print_schema: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// OLD and NEW (files or directories). With --git: paths in the repository (default `.`).
    pub paths: Vec<PathBuf>,
    /// Compare git revisions of the current repository: `BASE` (against the working tree) or
    /// `BASE..HEAD`.
    #[arg(long)]
    pub git: Option<String>,
    /// Output format (md fits a pull-request comment).
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json, Format::Md]))]
    pub format: Format,
    /// Exit 1 when anything changed.
    #[arg(long)]
    pub fail_on_change: bool,
    /// Manifests loaded on both sides (the inventory the policies apply to). Repeatable.
    #[arg(long = "with")]
    pub with: Vec<PathBuf>,
    #[command(flatten)]
    pub cni: CniArg,
    /// With --cluster: OLD is what the cluster runs, NEW the one PATH (drift).
    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, Args)]
pub struct BlastArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// The compromised workload (`namespace/name`, or a pod name). Without it: the cluster-wide
    /// view from every workload exposed to the outside.
    #[arg(long)]
    pub from: Option<String>,
    /// Stop after this many hops.
    #[arg(long)]
    pub max_hops: Option<usize>,
    /// Targets to find a shortest path to: labels `k=v[,k=v]` (a key alone means the label
    /// exists), or `namespace/name`. Repeatable.
    #[arg(long, value_parser = blast_target)]
    pub target: Vec<String>,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json, Format::Dot]))]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ConnectivityArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json, Format::Csv, Format::Md, Format::Dot]))]
    pub format: Format,
    /// Also show what each workload is exposed to beyond the inventory.
    #[arg(long)]
    pub exposure: bool,
    /// Only connections of these workloads (`name` or `namespace/name`).
    #[arg(long = "focus-workload")]
    pub focus_workload: Vec<String>,
    /// With --focus-workload: only connections with these peers.
    #[arg(long = "focus-workload-peer")]
    pub focus_workload_peer: Vec<String>,
    /// With --focus-workload: only ingress to or egress from the focus workloads.
    #[arg(long = "focus-direction", value_enum)]
    pub focus_direction: Option<Direction>,
    /// Only pairs that allow this connection, as PROTOCOL-PORT (e.g. `udp-53`).
    #[arg(long = "focus-conn")]
    pub focus_conn: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Source: `namespace/name` of a workload or pod, or an IP address.
    #[arg(long)]
    pub from: String,
    /// Destination: `namespace/name` of a workload or pod, or an IP address.
    #[arg(long)]
    pub to: String,
    /// Destination port (the backend port, after Service translation), 1-65535.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..), required_unless_present = "icmp_type")]
    pub port: Option<u16>,
    /// Protocol.
    #[arg(long, value_enum, ignore_case = true, default_value = "TCP")]
    pub protocol: Protocol,
    /// The ICMP type, with `--protocol ICMP` (8: echo request) or `ICMPv6` (128).
    #[arg(long, conflicts_with = "port")]
    pub icmp_type: Option<u8>,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json]))]
    pub format: Format,
    /// The application-layer request the flow carries (for L7 rules).
    #[command(flatten)]
    pub l7: L7Args,
}

/// An application-layer request: HTTP, Kafka or DNS.
#[derive(Debug, Args, Clone, Default)]
pub struct L7Args {
    /// HTTP method of the request (`GET`).
    #[arg(long)]
    pub http_method: Option<String>,
    /// HTTP request target, query string included (`/api/v1/users?id=1`).
    #[arg(long)]
    pub http_path: Option<String>,
    /// HTTP `Host` (`:authority`).
    #[arg(long)]
    pub http_host: Option<String>,
    /// HTTP header `Name: value` (repeatable).
    #[arg(long, value_parser = http_header)]
    pub http_header: Vec<String>,
    /// Kafka role of the request: produce or consume (a Produce or Fetch request).
    #[arg(long)]
    pub kafka_role: Option<String>,
    /// Kafka API key of the request (`produce`, `fetch`, `metadata`, ...).
    #[arg(long)]
    pub kafka_api_key: Option<String>,
    /// Kafka topic the request names (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub kafka_topic: Vec<String>,
    /// Kafka client id.
    #[arg(long)]
    pub kafka_client_id: Option<String>,
    /// DNS name queried (for DNS rules on port 53).
    #[arg(long)]
    pub dns_name: Option<String>,
    /// TLS server name (SNI) the connection presents (for Cilium `serverNames`; a `fqdn:`
    /// destination presents its own name).
    #[arg(long, value_name = "NAME")]
    pub tls_sni: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// `default-deny-all` (ingress and egress) for each namespace, proved before printing.
    DefaultDeny {
        #[command(flatten)]
        target: GenerateTarget,
        /// Also allow DNS egress to kube-dns on UDP and TCP 53.
        #[arg(long)]
        with_dns: bool,
    },
    /// `allow-dns-egress` (UDP and TCP 53 to kube-dns) for each namespace.
    Dns {
        #[command(flatten)]
        target: GenerateTarget,
    },
    /// Least-privilege policies from observed Hubble flows, proved by replaying the flows.
    FromFlows(FromFlowsArgs),
}

/// `generate from-flows`.
#[derive(Debug, Args)]
pub struct FromFlowsArgs {
    /// Hubble flow log (`hubble observe -o json`, one record per line).
    pub flows: PathBuf,
    /// Manifests of the workloads (optional: workloads are otherwise made from flow labels).
    pub paths: Vec<PathBuf>,
    /// Policy dialect to write.
    #[arg(long, value_enum, default_value = "cilium")]
    pub dialect: Dialect,
    /// Write L7 rules (HTTP method and path, Kafka API key and topic) from observed requests.
    #[arg(long)]
    pub l7: bool,
    /// Write toFQDNs rules for internet egress with known DNS names.
    #[arg(long)]
    pub fqdn: bool,
    /// Output format: yaml (the policies) or json (policies, learned flows, exclusions, proof).
    #[arg(long, short = 'o', default_value = "yaml", value_parser = formats(&[Format::Yaml, Format::Json]))]
    pub format: Format,
}

/// `netfence snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The cluster to read.
    #[command(flatten)]
    pub live: LiveArgs,
    /// The directory to write (created; files of the same names are replaced).
    #[arg(long, visible_alias = "out")]
    pub out_dir: PathBuf,
}

/// `netfence cni`.
#[derive(Debug, Args)]
pub struct CniArgs {
    /// Manifests to detect the CNI from (kube-system workloads, policy kinds); optional.
    pub paths: Vec<PathBuf>,
    /// With manifests and `cilium`: print the endpoints with the largest estimated Cilium
    /// policy maps.
    #[command(flatten)]
    pub cni: CniArg,
    /// The policy map size the estimates are compared with (Cilium's bpf-policy-map-max).
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub policy_map_max: u64,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json]))]
    pub format: Format,
}

/// `netfence flows ...`.
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// For each policy drop the rule that denied it and the smallest rule that would allow it;
    /// drift for forwarded flows the manifests deny; non-policy drops apart.
    Explain(FlowsArgs),
    /// Observed flows against a proposed policy set: what would now be dropped.
    Replay(FlowsArgs),
}

/// A flow log and the manifests to judge it against.
#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// Hubble flow log (`hubble observe -o json`, one record per line).
    pub flows: PathBuf,
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format.
    #[arg(long, short = 'o', default_value = "txt", value_parser = formats(&[Format::Txt, Format::Json]))]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct GenerateTarget {
    /// The inputs; their `--namespace`/`--all-namespaces` name the namespaces to generate for.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Namespaces to leave out (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Write one file per namespace (cluster-scoped policies in one file) into this directory
    /// instead of standard output.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// The resources to write: namespaced NetworkPolicies, or ClusterNetworkPolicies
    /// (network-policy-api v1alpha2: a Baseline default deny, an Admin DNS allowance).
    #[arg(long = "as", value_enum, default_value_t = GenerateForm::Networkpolicy)]
    pub form: GenerateForm,
}

/// `generate --as`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenerateForm {
    /// Kubernetes NetworkPolicies, per namespace.
    Networkpolicy,
    /// ClusterNetworkPolicies (policy.networking.k8s.io/v1alpha2).
    ClusterNetworkPolicy,
}

/// A `Name: value` header: a token name (RFC 9110 `tchar`s), a colon, a value.
fn http_header(s: &str) -> Result<String, String> {
    let (name, _) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not `Name: value`"))?;
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(tchar) {
        return Err(format!("`{name}` is not an HTTP header name"));
    }
    Ok(s.to_string())
}

/// A `--target`: `namespace/name`, or comma-separated `key=value` / `key` label terms.
fn blast_target(s: &str) -> Result<String, String> {
    if s.contains('/') && !s.contains('=') {
        let (ns, name) = s.split_once('/').unwrap_or_default();
        if ns.is_empty() || name.is_empty() {
            return Err(format!("`{s}` is not `namespace/name`"));
        }
        return Ok(s.to_string());
    }
    for part in s.split(',') {
        let key = part.split_once('=').map_or(part, |(k, _)| k).trim();
        let label_key = |k: &str| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        };
        if !label_key(key) {
            return Err(format!(
                "`{part}` is not a label term (`key=value` or `key`, comma-separated) in `{s}`"
            ));
        }
    }
    Ok(s.to_string())
}
