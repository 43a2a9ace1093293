//! The JSON every command writes with `-o json`, as types: each is serialized as is, and its
//! JSON Schema (generated from the same types) is published under `docs/schema/` (see
//! [`schemas`]), so scripts can rely on the shape and a test keeps both in step.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// `netfence audit -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditOutput {
    /// The findings, in rule order.
    pub findings: Vec<Finding>,
    /// How many findings suppression annotations silenced.
    pub suppressed: usize,
    /// The zero-trust score.
    pub score: ScoreOutput,
    /// The data path the findings were judged on (`calico@3.32`, `generic`).
    pub data_path: String,
}

/// One audit finding.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The rule's code (`NP101`).
    pub code: String,
    /// The rule's name (`missing-default-deny`).
    pub rule: String,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// The object the finding is about.
    pub object: String,
    /// The file declaring it, when known.
    pub file: Option<String>,
    /// The line, when known.
    pub line: Option<usize>,
    /// What to do.
    pub help: String,
}

/// The zero-trust score of `audit`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreOutput {
    /// The cluster's score, 0-100.
    pub cluster: f64,
    /// The cluster's maturity level, 0-6.
    pub maturity: u8,
    /// Per namespace.
    pub namespaces: Vec<NamespaceScore>,
}

/// One namespace's score.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceScore {
    /// The namespace.
    pub namespace: String,
    /// Its score, 0-100.
    pub score: f64,
    /// Its maturity level, 0-6.
    pub maturity: u8,
    /// Each defence pattern's points.
    pub patterns: Vec<PatternScore>,
}

/// One defence pattern's points.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternScore {
    /// The pattern number, 1-6.
    pub pattern: u8,
    /// The pattern's name.
    pub name: String,
    /// Points earned.
    pub points: f64,
    /// Points possible.
    pub weight: f64,
    /// What is missing, if anything.
    pub note: String,
}

/// `netfence diff -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffOutput {
    /// Pairs that could not connect before and can now.
    pub added: Vec<PairChange>,
    /// Pairs that could connect before and cannot now.
    pub removed: Vec<PairChange>,
    /// Pairs whose allowed connections changed.
    pub changed: Vec<PairChange>,
    /// Workloads only in the new input.
    pub workloads_added: Vec<String>,
    /// Workloads only in the old input.
    pub workloads_removed: Vec<String>,
    /// Workloads that could resolve names before and cannot now.
    pub dns_lost: Vec<String>,
}

/// One pair whose connections changed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PairChange {
    /// Source.
    pub src: String,
    /// Destination.
    pub dst: String,
    /// Allowed before.
    pub before: String,
    /// Allowed after.
    pub after: String,
    /// Newly allowed.
    pub opened: String,
    /// No longer allowed.
    pub closed: String,
}

/// `netfence query -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryOutput {
    /// Source.
    pub from: String,
    /// Destination.
    pub to: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// Destination port.
    pub port: u16,
    /// The application-layer request, when one was given.
    pub request: Option<String>,
    /// `allow`, `deny` or `l7-deny` (connection allowed, request refused).
    pub verdict: String,
    /// Whether the flow, request included, gets through.
    pub allowed: bool,
    /// Whether the connection is allowed (the request may still be refused).
    pub connection_allowed: bool,
    /// Every layer's say, egress at the source first.
    pub layers: Vec<LayerOutput>,
    /// Likely causes of a denial.
    pub likely_causes: Vec<CauseOutput>,
    /// When the CNI in the input enforces no policy: why.
    pub cni_not_enforcing: Option<String>,
    /// Proposed fixes, each checked by the engine.
    pub fixes: Vec<FixOutput>,
    /// The data path the verdict was judged on (`cilium@1.20`, `generic`).
    pub data_path: String,
}

/// One layer's say about a flow.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerOutput {
    /// `egress`, `ingress` or `mesh`.
    pub direction: String,
    /// The layer (`NetworkPolicy`, `ClusterNetworkPolicy (Admin)`, `Cilium`, ...).
    pub layer: String,
    /// `allow`, `deny`, `pass`, `no-match` or `l7-deny`.
    pub verdict: String,
    /// The deciding policy.
    pub policy: Option<String>,
    /// The deciding rule.
    pub rule: Option<String>,
    /// Where the policy (or rule) is declared.
    pub location: Option<String>,
    /// Why.
    pub detail: String,
}

/// A likely cause of a denial.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseOutput {
    /// What is probably wrong.
    pub cause: String,
    /// What to do.
    pub fix: String,
}

/// A proposed fix.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixOutput {
    /// What to change.
    pub summary: String,
    /// The policy to apply, when one does it.
    pub yaml: Option<String>,
    /// Whether the engine proved it allows the flow.
    pub verified: bool,
}

/// `netfence blast-radius --from W -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastOutput {
    /// The compromised workload.
    pub from: String,
    /// Every workload it reaches, nearest first.
    pub reachable: Vec<Reachable>,
    /// The targets it reaches, with a shortest path.
    pub targets: Vec<TargetPath>,
    /// Targets it cannot reach.
    pub unreachable_targets: Vec<String>,
}

/// A workload reached, and how.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reachable {
    /// The workload.
    pub workload: String,
    /// Hops from the start.
    pub hops: usize,
    /// A shortest path.
    pub path: Vec<Hop>,
}

/// A target reached, and how.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetPath {
    /// The target.
    pub workload: String,
    /// A shortest path.
    pub path: Vec<Hop>,
}

/// One hop of a path.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// What the hop allows.
    pub conn: String,
}

/// `netfence blast-radius -o json` without `--from`: the cluster-wide view.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastClusterOutput {
    /// Workloads exposed to the outside, and how much each reaches.
    pub exposed: Vec<Exposed>,
    /// Per namespace, 0 (isolated) to 100 (reaches everything).
    pub namespace_lateral_movement: BTreeMap<String, f64>,
}

/// An exposed workload.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exposed {
    /// The workload.
    pub workload: String,
    /// How many other workloads it reaches.
    pub reaches: usize,
    /// Of how many.
    pub of: usize,
}

/// `netfence cni -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CniOutput {
    /// What each profile enforces.
    pub profiles: Vec<CniProfile>,
    /// What the input runs, when manifests were given.
    pub detected: Option<CniDetected>,
    /// The data path resolved from `--cni`, `--cni-setting` and the input, when manifests or
    /// `--cni` were given.
    pub data_path: Option<DataPathOut>,
}

/// A resolved data path: the CNI, its release and settings, where each came from, and what
/// it enforces.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPathOut {
    /// `cilium@1.20` (the CNI alone when its release does not matter).
    pub data_path: String,
    /// The CNI profile.
    pub cni: String,
    /// The release the semantics follow (`1.20`), when the CNI has one.
    pub release: Option<String>,
    /// The Kubernetes release, when known.
    pub kubernetes: Option<String>,
    /// Each fact and its source.
    pub facts: Vec<DataPathFact>,
    /// Whether it enforces AdminNetworkPolicy and BaselineAdminNetworkPolicy.
    pub admin_network_policy: bool,
    /// Whether it enforces ClusterNetworkPolicy.
    pub cluster_network_policy: bool,
    /// Why it does not enforce ClusterNetworkPolicy, when it does not.
    pub cluster_network_policy_gap: Option<String>,
}

/// One fact of a data path.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPathFact {
    /// What it is.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Where it came from.
    pub source: String,
}

/// One profile's capabilities.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CniProfile {
    /// The profile (`--cni` value).
    pub profile: String,
    /// Kubernetes NetworkPolicy.
    pub network_policy: bool,
    /// AdminNetworkPolicy and BaselineAdminNetworkPolicy.
    pub admin_network_policy: bool,
    /// ClusterNetworkPolicy (v1alpha2).
    pub cluster_network_policy: bool,
    /// The CNI's own policy kinds.
    pub own_policies: String,
    /// Layer-7 rules.
    pub l7: String,
    /// DNS name rules.
    pub fqdn: String,
    /// Host policies.
    pub host_policies: bool,
    /// Whether CIDR rules match pod addresses.
    pub cidr_matches_pods: bool,
    /// A note.
    pub note: String,
}

/// What the input runs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CniDetected {
    /// CNI agents found (`cilium (kube-system/cilium[DaemonSet])`).
    pub workloads: Vec<String>,
    /// The profile `--cni auto` picks.
    pub auto: String,
    /// Policies of the input that profile does not enforce.
    pub not_enforced: Vec<KindCount>,
    /// Under `--cni cilium`: the largest estimated policy maps.
    pub policy_maps: Vec<PolicyMap>,
}

/// A kind and how many objects of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// How many.
    pub count: usize,
}

/// An endpoint's estimated Cilium policy map entries.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyMap {
    /// The workload.
    pub workload: String,
    /// Ingress entries.
    pub ingress: usize,
    /// Egress entries.
    pub egress: usize,
    /// The map size compared with.
    pub max: usize,
}

/// `netfence flows explain -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowsExplainOutput {
    /// The profile the flows were judged under.
    pub profile: String,
    /// Connections the cluster dropped by policy.
    pub policy_drops: Vec<FlowGroup>,
    /// Connections the cluster forwarded that the manifests deny.
    pub drift: Vec<FlowGroup>,
    /// Connections in audit mode.
    pub audit: Vec<FlowGroup>,
    /// Drops that are not policy decisions.
    pub non_policy_drops: Vec<NonPolicyDrop>,
}

/// Observed flows of one connection.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowGroup {
    /// The connection (`src -> dst PROTO/port`).
    pub connection: String,
    /// The lines of the log.
    pub lines: Vec<usize>,
    /// What the manifests decide.
    pub offline: String,
    /// Whether the manifests deny it.
    pub offline_denies: bool,
    /// Whether an explicit deny rule decided it.
    pub explicit_deny: bool,
    /// The policies the cluster named.
    pub cluster_named: Vec<String>,
    /// Smallest rules that would allow it, each checked.
    pub fixes: Vec<FlowFix>,
}

/// A rule that would allow a dropped flow.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowFix {
    /// The policy.
    pub yaml: String,
    /// Whether replaying the flow against it allows it.
    pub verified: bool,
}

/// A drop that is not a policy decision.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NonPolicyDrop {
    /// The connection.
    pub connection: String,
    /// The line of the log.
    pub line: usize,
    /// Hubble's drop reason.
    pub reason: Option<String>,
}

/// `netfence flows replay -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowsReplayOutput {
    /// The profile.
    pub profile: String,
    /// Distinct connections observed.
    pub observed_connections: usize,
    /// Connections not evaluated (records naming no protocol or port).
    pub not_evaluated: usize,
    /// Connections the proposed policies would drop.
    pub would_break: Vec<Breaks>,
}

/// A connection the proposed policies would drop.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Breaks {
    /// The connection.
    pub connection: String,
    /// The lines of the log.
    pub lines: Vec<usize>,
    /// What denies it.
    pub by: String,
}

/// `netfence generate from-flows -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FromFlowsOutput {
    /// How many policies.
    pub policies: usize,
    /// The policies, as one YAML stream.
    pub yaml: String,
    /// Learned connections.
    pub learned: Vec<String>,
    /// Connections not learned, and why.
    pub excluded: Vec<Excluded>,
    /// The replay proof.
    pub proof: Proof,
}

/// A connection not learned.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// The connection.
    pub connection: String,
    /// Why.
    pub reason: String,
}

/// The proof of generated policies.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Whether every check holds.
    pub holds: bool,
    /// Learned connections the policies allow.
    pub learned_allowed: usize,
    /// Learned connections.
    pub learned_total: usize,
    /// Policy-dropped connections the policies still deny.
    pub dropped_denied: usize,
    /// Policy-dropped connections.
    pub dropped_total: usize,
    /// Every connection the policies get wrong.
    pub failures: Vec<String>,
    /// Connections allowed more widely than observed.
    pub widened: Vec<String>,
}

/// One connection of `connectivity -o json` (an array of these, or with `--exposure` an
/// object of `connlist_results` and `exposure_results`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionOutput {
    /// Source.
    pub src: String,
    /// Destination.
    pub dst: String,
    /// Allowed connections (absent under `--focus-conn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn: Option<String>,
    /// L7 rules requests must match, when some apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l7: Option<String>,
}

/// `netfence connectivity --exposure -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectivityExposureOutput {
    /// The connections.
    pub connlist_results: Vec<ConnectionOutput>,
    /// What each workload is exposed to beyond the inventory.
    pub exposure_results: ExposureOutput,
}

/// The exposure section.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureOutput {
    /// Egress exposure (`null` when empty, as netpol-analyzer writes it).
    pub egress_exposure: Option<Vec<ConnectionOutput>>,
    /// Ingress exposure (`null` when empty).
    pub ingress_exposure: Option<Vec<ConnectionOutput>>,
}

/// `netfence connectivity -o json`: the array, or with `--exposure` the object.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ConnectivityOutput {
    /// Without `--exposure`.
    Connections(Vec<ConnectionOutput>),
    /// With `--exposure`.
    WithExposure(ConnectivityExposureOutput),
}

/// `netfence test -o json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestOutput {
    /// The spec file.
    pub spec: String,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Each case, in spec order.
    pub cases: Vec<TestCase>,
}

/// One test case's result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// The case's name.
    pub name: String,
    /// Whether every pair got the expected verdict.
    pub passed: bool,
    /// How many workload pairs were checked.
    pub pairs: usize,
    /// One line per pair that did not get the expected verdict.
    pub failures: Vec<String>,
    /// Notes (facts the loaded dialects cannot use).
    pub notes: Vec<String>,
}

/// Every command output's schema, by file stem (`docs/schema/STEM.schema.json`).
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn s<T: JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    vec![
        ("audit", s::<AuditOutput>()),
        ("blast-radius", s::<BlastOutput>()),
        ("blast-radius-cluster", s::<BlastClusterOutput>()),
        ("cni", s::<CniOutput>()),
        ("connectivity", s::<ConnectivityOutput>()),
        ("diff", s::<DiffOutput>()),
        ("flows-explain", s::<FlowsExplainOutput>()),
        ("flows-replay", s::<FlowsReplayOutput>()),
        ("generate-from-flows", s::<FromFlowsOutput>()),
        ("query", s::<QueryOutput>()),
        ("test", s::<TestOutput>()),
    ]
}

/// `value` as pretty JSON with a final newline.
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}
