//! Synthetic clusters for benchmarks: deterministic (seeded) manifests shaped like a real
//! multi-tenant cluster, written as YAML text so any tool can be run on the same input.
//!
//! Every workload has its own `app` label, so there are as many endpoint classes as workloads:
//! the benchmark is not kinder than a real cluster. Policies mix podSelector,
//! namespaceSelector, matchExpressions, ipBlock with except, named ports and endPort.

#![expect(
    clippy::indexing_slicing,
    reason = "a development tool over generated data it builds itself"
)]
#![forbid(unsafe_code)]

pub mod kubectl;

use std::fmt::Write as _;

/// Generator parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Namespaces (besides kube-system).
    pub namespaces: usize,
    /// Workloads per namespace.
    pub workloads_per_namespace: usize,
    /// Pods per workload.
    pub replicas: usize,
    /// Seed for the pseudo-random choices.
    pub seed: u64,
    /// The dialect the from-previous and to-next policies, and every other workload's metrics
    /// policy, are written in: about half of the policies (same intent, so the map is the same
    /// under the CNI that enforces the dialect).
    pub dialect: Dialect,
}

/// A policy dialect for part of the generated policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// Kubernetes NetworkPolicy only.
    #[default]
    NetworkPolicy,
    /// CiliumNetworkPolicy.
    Cilium,
    /// Calico NetworkPolicy.
    Calico,
}

impl Params {
    /// 10,000 pods in 100 namespaces: 50 workloads of 2 pods each per namespace, which with
    /// 5 policies per workload and 2 per namespace gives about 25,000 NetworkPolicies.
    pub fn reference() -> Self {
        Self {
            namespaces: 100,
            workloads_per_namespace: 50,
            replicas: 2,
            seed: 7,
            dialect: Dialect::NetworkPolicy,
        }
    }
}

/// A tiny deterministic PRNG (SplitMix64): no dependency, same output everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TIERS: [&str; 4] = ["web", "api", "db", "cache"];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];

/// The peer of a one-rule policy: ingress from the workload, or egress to it.
enum Side<'a> {
    From(&'a str),
    To(&'a str),
}

/// A policy of `app` in `ns` allowing TCP `port` (to `end`) from or to the pods of one other
/// workload, in `dialect`; the three writings mean the same under the CNI that enforces them.
fn pod_to_pod(
    dialect: Dialect,
    app: &str,
    ns: &str,
    side: Side<'_>,
    port: (u16, Option<u16>),
) -> String {
    let (peer, suffix, dir, np_peer, cil_peer, cal_side, types) = match side {
        Side::From(p) => (
            p,
            "from-prev",
            "ingress",
            "from",
            "fromEndpoints",
            "source",
            "Ingress",
        ),
        Side::To(p) => (
            p,
            "to-next",
            "egress",
            "to",
            "toEndpoints",
            "destination",
            "Egress",
        ),
    };
    let (lo, end) = port;
    match dialect {
        Dialect::NetworkPolicy => {
            let end = end.map(|e| format!(", endPort: {e}")).unwrap_or_default();
            format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}-{suffix}\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  policyTypes: [{types}]\n  {dir}:\n  - {np_peer}:\n    - podSelector:\n        matchLabels: {{app: {peer}}}\n    ports:\n    - {{protocol: TCP, port: {lo}{end}}}\n---")
        }
        Dialect::Cilium => {
            let end = end.map(|e| format!(", endPort: {e}")).unwrap_or_default();
            format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: {app}-{suffix}\n  namespace: {ns}\nspec:\n  endpointSelector:\n    matchLabels: {{app: {app}}}\n  {dir}:\n  - {cil_peer}:\n    - matchLabels: {{app: {peer}}}\n    toPorts:\n    - ports: [{{port: '{lo}'{end}, protocol: TCP}}]\n---")
        }
        Dialect::Calico => {
            let ports = match end {
                Some(e) => format!("['{lo}:{e}']"),
                None => format!("[{lo}]"),
            };
            let rule = match cal_side {
                "source" => format!(
                    "source: {{selector: app == '{peer}'}}\n    destination: {{ports: {ports}}}"
                ),
                _ => format!("destination: {{selector: app == '{peer}', ports: {ports}}}"),
            };
            format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: {app}-{suffix}\n  namespace: {ns}\nspec:\n  selector: app == '{app}'\n  types: [{types}]\n  {dir}:\n  - action: Allow\n    protocol: TCP\n    {rule}\n---")
        }
    }
}

/// A policy of `app` in `ns` allowing its named port `metrics` from every pod of every
/// namespace not labelled `env: dev`, in `dialect`.
fn metrics_policy(dialect: Dialect, app: &str, ns: &str) -> String {
    match dialect {
        Dialect::NetworkPolicy => format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}-metrics\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchExpressions:\n        - {{key: env, operator: NotIn, values: [dev]}}\n    ports:\n    - {{protocol: TCP, port: metrics}}\n---"),
        // a peer selector naming no namespace is the policy's namespace: `Exists` lifts that
        Dialect::Cilium => format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: {app}-metrics\n  namespace: {ns}\nspec:\n  endpointSelector:\n    matchLabels: {{app: {app}}}\n  ingress:\n  - fromEndpoints:\n    - matchExpressions:\n      - {{key: io.kubernetes.pod.namespace, operator: Exists}}\n      - {{key: io.cilium.k8s.namespace.labels.env, operator: NotIn, values: [dev]}}\n    toPorts:\n    - ports: [{{port: metrics, protocol: TCP}}]\n---"),
        Dialect::Calico => format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: {app}-metrics\n  namespace: {ns}\nspec:\n  selector: app == '{app}'\n  types: [Ingress]\n  ingress:\n  - action: Allow\n    protocol: TCP\n    source: {{namespaceSelector: \"env not in {{'dev'}}\"}}\n    destination: {{ports: [metrics]}}\n---"),
    }
}

/// Generated files: `(relative path, YAML text)`.
pub fn generate(p: Params) -> Vec<(String, String)> {
    let mut rng = Rng(p.seed);
    let mut files = Vec::new();
    let mut ns_yaml = String::new();
    let _ = writeln!(
        ns_yaml,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n---"
    );
    let _ = writeln!(
        ns_yaml,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: coredns-1\n  namespace: kube-system\n  labels: {{k8s-app: kube-dns}}\nspec:\n  containers:\n  - name: coredns\n    ports:\n    - {{name: dns, containerPort: 53, protocol: UDP}}\n    - {{name: dns-tcp, containerPort: 53, protocol: TCP}}\n---"
    );
    for i in 0..p.namespaces {
        let _ = writeln!(
            ns_yaml,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{i:03}\n  labels: {{team: team-{}, env: {}}}\n---",
            i % 10,
            ENVS[i % 3]
        );
    }
    files.push(("namespaces.yaml".to_string(), ns_yaml));
    for i in 0..p.namespaces {
        let ns = format!("ns-{i:03}");
        // One namespace in five has no default deny, and half its workloads no egress policy.
        let open = i % 5 == 4;
        let mut pods = String::new();
        let mut pols = String::new();
        if !open {
            let _ = writeln!(
                pols,
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-all\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n---"
            );
        }
        // Open namespaces have no namespace-wide egress policy either.
        if !open {
            let _ = writeln!(
            pols,
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels: {{kubernetes.io/metadata.name: kube-system}}\n      podSelector:\n        matchLabels: {{k8s-app: kube-dns}}\n    ports:\n    - {{protocol: UDP, port: 53}}\n    - {{protocol: TCP, port: 53}}\n---"
            );
        }
        let n = p.workloads_per_namespace;
        for j in 0..n {
            let app = format!("{ns}-w{j:02}");
            let tier = TIERS[j % 4];
            let hash = format!("{:08x}", rng.next() as u32);
            for r in 0..p.replicas {
                let db_port = if tier == "db" {
                    "\n    - {name: sql, containerPort: 5432}"
                } else {
                    ""
                };
                let _ = writeln!(
                    pods,
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {app}-{hash}-{r}\n  namespace: {ns}\n  labels: {{app: {app}, tier: {tier}, pod-template-hash: \"{hash}\"}}\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: ReplicaSet, name: {app}-{hash}, controller: true}}\nspec:\n  containers:\n  - name: main\n    ports:\n    - {{name: http, containerPort: 8080}}\n    - {{name: metrics, containerPort: 9090}}{db_port}\n---"
                );
            }
            let prev = format!("{ns}-w{:02}", (j + n - 1) % n);
            let next = format!("{ns}-w{:02}", (j + 1) % n);
            let other_team = (i + 1 + rng.below(9)) % 10;
            // 1. ingress from the previous workload, numbered port
            let dialect = p.dialect;
            let _ = writeln!(
                pols,
                "{}",
                pod_to_pod(dialect, &app, &ns, Side::From(&prev), (8080, None))
            );
            // 2. ingress from web/api tiers of another team's namespaces, named port
            let _ = writeln!(
                pols,
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}-from-team\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels: {{team: team-{other_team}}}\n      podSelector:\n        matchExpressions:\n        - {{key: tier, operator: In, values: [web, api]}}\n    ports:\n    - {{protocol: TCP, port: http}}\n---"
            );
            // 5. metrics from every non-dev namespace (every other workload's in the dialect)
            let metrics_dialect = if j % 2 == 1 {
                p.dialect
            } else {
                Dialect::NetworkPolicy
            };
            let _ = writeln!(pols, "{}", metrics_policy(metrics_dialect, &app, &ns));
            if open && j % 2 == 0 {
                // Egress-unrestricted workloads: two more ingress policies instead.
                let _ = writeln!(
                    pols,
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}-from-team-range\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels: {{team: team-{}}}\n    ports:\n    - {{protocol: TCP, port: 7000, endPort: 7100}}\n---",
                    (other_team + 3) % 10
                );
                let _ = writeln!(
                    pols,
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}-from-partners\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 203.0.{}.0/24\n        except: [203.0.{}.128/25]\n    ports:\n    - {{protocol: TCP, port: 443}}\n---",
                    i % 256,
                    i % 256
                );
            } else {
                // 3. egress to the next workload on a port range
                let _ = writeln!(
                    pols,
                    "{}",
                    pod_to_pod(dialect, &app, &ns, Side::To(&next), (8000, Some(8100)))
                );
                // 4. internet egress except private ranges, and a partner range
                let _ = writeln!(
                    pols,
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}-internet\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n    ports:\n    - {{protocol: TCP, port: 443}}\n  - to:\n    - ipBlock:\n        cidr: 10.{}.0.0/16\n    ports:\n    - {{protocol: UDP, port: 5000, endPort: 6000}}\n---",
                    i % 256
                );
            }
        }
        files.push((format!("{ns}/pods.yaml"), pods));
        files.push((format!("{ns}/policies.yaml"), pols));
    }
    files
}

/// Memory as the `netfence` binary sets it up: transparent huge pages off for the process (see
/// its `no_huge_pages`), so figures taken here match it. Callers also use mimalloc, as it does.
pub fn memory_as_the_cli() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The map of a generated cluster, as sorted text.
    fn map(p: Params, profile: netfence_engine::Profile) -> Vec<String> {
        let sources: Vec<netfence_load::Source> = generate(p)
            .into_iter()
            .map(|(name, text)| netfence_load::Source { name, text })
            .collect();
        let loaded = netfence_load::load(&sources);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
        let c = &loaded.cluster;
        let mut out: Vec<String> = netfence_engine::connectivity::compute(c, profile)
            .edges()
            .map(|e| format!("{:?} {:?} {}", e.src, e.dst, e.conn))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_dialect_writings_keep_the_map() {
        let p = Params {
            namespaces: 3,
            workloads_per_namespace: 6,
            replicas: 1,
            seed: 3,
            dialect: Dialect::NetworkPolicy,
        };
        for (dialect, profile, kind) in [
            (
                Dialect::Cilium,
                netfence_engine::Profile::Cilium,
                "kind: CiliumNetworkPolicy",
            ),
            (
                Dialect::Calico,
                netfence_engine::Profile::Calico,
                "apiVersion: projectcalico.org/v3",
            ),
        ] {
            let mixed = Params { dialect, ..p };
            let text: String = generate(mixed).iter().map(|(_, t)| t.as_str()).collect();
            assert!(text.contains(kind), "{dialect:?} policies are written");
            assert_eq!(map(mixed, profile), map(p, profile), "{dialect:?}");
        }
    }

    #[test]
    fn generation_is_deterministic_and_sized() {
        let p = Params {
            namespaces: 5,
            workloads_per_namespace: 4,
            replicas: 2,
            seed: 1,
            dialect: Dialect::NetworkPolicy,
        };
        let a = generate(p);
        assert_eq!(a, generate(p));
        let text: String = a.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(text.matches("kind: Pod\n").count(), 5 * 4 * 2 + 1);
        assert!(text.matches("kind: NetworkPolicy\n").count() >= 5 * 4 * 5);
    }
}
