//! Least-privilege policies from observed flows, proved by replaying the flows against them.
//!
//! Learned: forwarded and audit-mode requests. Never learned: replies and L7 responses (their
//! ports are ephemeral), drops for reasons other than policy, drops by policy (explicit deny
//! or default deny: an attempted connection is not an intended one). Every namespace with a
//! learned workload gets a default deny, so what was not observed stays closed; every such
//! workload keeps DNS egress to kube-dns. Selectors use each workload's stable labels (never
//! `pod-template-hash`); internet egress with `destination_names` becomes `toFQDNs`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::{BTreeMap, BTreeSet};

use netfence_engine::eval::Evaluator;
use netfence_engine::flows::{self, End, Kind, Resolved, UNSTABLE_LABELS};
use netfence_engine::verdict::Outcome;
use netfence_engine::Profile;
use netfence_model::cilium::POD_NAMESPACE_LABEL;
use netfence_model::cluster::{CLUSTER_DNS_LABEL, NAMESPACE_NAME_LABEL};
use netfence_model::flow::ObservedFlow;
use netfence_model::PolicyRef;
use netfence_model::{Cluster, Endpoint, EndpointId, L7Request, Labels, Protocol};
use serde_json::{json, Map, Value};

/// The policy dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Kubernetes NetworkPolicy (L3/L4 only).
    NetworkPolicy,
    /// CiliumNetworkPolicy (L7 and FQDN rules available).
    Cilium,
}

/// Options of `generate from-flows`.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The dialect.
    pub dialect: Dialect,
    /// Write L7 rules (HTTP method/path, Kafka key/topic) from observed requests (Cilium).
    pub l7: bool,
    /// Write `toFQDNs` for internet egress with known names (Cilium).
    pub fqdn: bool,
}

/// Why a flow was not learned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Excluded {
    /// The flow's connection key.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// The replay of the input flows against the generated policies.
#[derive(Debug, Clone, Default)]
pub struct Proof {
    /// Learned connections allowed / total.
    pub kept: (usize, usize),
    /// Policy-dropped connections still denied / total.
    pub dropped: (usize, usize),
    /// Every connection the policies get wrong.
    pub failures: Vec<String>,
    /// Requests the cluster refused at L7 that L4 policies cannot refuse (NetworkPolicy, or
    /// Cilium without `--l7`): allowed, and said so.
    pub widened: Vec<String>,
}

impl Proof {
    /// Whether the policies allow every learned connection and none of the dropped ones.
    pub fn holds(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The result of `generate from-flows`.
#[derive(Debug, Clone)]
pub struct FromFlows {
    /// The policies, as one multi-document YAML stream.
    pub yaml: String,
    /// The number of policies.
    pub policies: usize,
    /// Learned connections (deduplicated).
    pub learned: Vec<String>,
    /// Flows not learned, with the reason (deduplicated).
    pub excluded: Vec<Excluded>,
    /// The replay.
    pub proof: Proof,
}

/// A peer of a rule, as the dialects write it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RulePeer {
    /// Pods: namespace (`None`: the subject's) and stable labels.
    Pods(Option<String>, Labels),
    Fqdn(String),
    Cidr(String),
    Entity(String),
}

/// Ports and L7 requests learned for one peer.
#[derive(Debug, Default)]
struct Learned {
    ports: BTreeSet<(Protocol, u16)>,
    /// Requests observed per port.
    requests: BTreeMap<(Protocol, u16), BTreeSet<L7Key>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum L7Key {
    Http(String, String),
    Kafka(String, String),
}

fn stable(labels: &Labels) -> Labels {
    labels
        .iter()
        .filter(|(k, _)| !UNSTABLE_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Learns least-privilege policies from `flows` (resolved against the inventory), then
/// replays the flows against them under the dialect's CNI.
pub fn from_flows(resolved: &Resolved, flows_in: &[ObservedFlow], opts: Options) -> FromFlows {
    let c = &resolved.cluster;
    let mut excluded: BTreeSet<Excluded> = BTreeSet::new();
    let mut learned_keys: BTreeSet<String> = BTreeSet::new();
    let mut kept: Vec<usize> = Vec::new();
    let mut dropped: Vec<usize> = Vec::new();
    // subject -> direction (true = ingress) -> peer -> learned
    let mut rules: BTreeMap<EndpointId, BTreeMap<(bool, RulePeer), Learned>> = BTreeMap::new();
    let mut egress_subjects: BTreeSet<EndpointId> = BTreeSet::new();
    for (i, f) in flows_in.iter().enumerate() {
        let Some(ends) = &resolved.ends[i] else {
            excluded.insert(Excluded {
                key: format!("{} => {}", f.src.display(), f.dst.display()),
                reason: "an end could not be resolved".into(),
            });
            continue;
        };
        let key = flows::key(c, f, ends);
        let reason = match flows::kind(f) {
            Kind::Reply => Some("reply or response: its port is ephemeral".to_string()),
            Kind::NonPolicyDrop => Some(format!(
                "dropped for a reason that is not policy ({})",
                f.drop_reason.as_deref().unwrap_or("unknown")
            )),
            Kind::PolicyDrop => {
                dropped.push(i);
                Some(if f.explicit_deny() {
                    "dropped by an explicit deny rule: stays denied".into()
                } else {
                    "dropped by policy: an attempt is not an intent, stays denied".into()
                })
            }
            Kind::Other => Some("verdict is neither forwarded nor audit".into()),
            Kind::Forwarded | Kind::Audit => None,
        };
        if let Some(reason) = reason {
            excluded.insert(Excluded { key, reason });
            continue;
        }
        let (Some(protocol), Some(port)) = (f.protocol, f.port) else {
            excluded.insert(Excluded {
                key,
                reason: "the record names no protocol or port".into(),
            });
            continue;
        };
        if protocol.is_icmp() && opts.dialect == Dialect::NetworkPolicy {
            excluded.insert(Excluded {
                key,
                reason: "a NetworkPolicy cannot allow ICMP by type (use --dialect cilium, which writes `icmps`)".into(),
            });
            continue;
        }
        // Cluster DNS is covered by the DNS allowance every learned workload gets.
        let to_dns = matches!(&ends.1, End::Endpoint(d) if c.endpoints[*d].is_cluster_dns())
            && port == 53
            && !protocol.is_icmp();
        let src_peer = peer_of(c, &ends.0, &ends.1, f, opts);
        let dst_peer = peer_of(c, &ends.1, &ends.0, f, opts);
        if opts.dialect == Dialect::NetworkPolicy {
            let unexpressible = [(&ends.0, &src_peer), (&ends.1, &dst_peer)]
                .into_iter()
                .find(|(_, p)| matches!(p, Some(RulePeer::Entity(_))));
            if let Some((e, _)) = unexpressible {
                excluded.insert(Excluded {
                    key,
                    reason: format!(
                        "{} cannot be written in a NetworkPolicy (use --dialect cilium)",
                        e.name(c)
                    ),
                });
                continue;
            }
        }
        kept.push(i);
        learned_keys.insert(key);
        if let (End::Endpoint(s), Some(peer)) = (&ends.0, dst_peer) {
            egress_subjects.insert(*s);
            if !to_dns {
                let l = rules
                    .entry(*s)
                    .or_default()
                    .entry((false, peer))
                    .or_default();
                l.ports.insert((protocol, port));
            }
        }
        if let (End::Endpoint(d), Some(peer)) = (&ends.1, src_peer) {
            if c.endpoints[*d].is_cluster_dns() {
                continue;
            }
            let l = rules
                .entry(*d)
                .or_default()
                .entry((true, peer))
                .or_default();
            l.ports.insert((protocol, port));
            match &f.l7 {
                Some(L7Request::Http { method, path, .. }) => {
                    let p = path.split('?').next().unwrap_or(path);
                    l.requests
                        .entry((protocol, port))
                        .or_default()
                        .insert(L7Key::Http(method.clone(), p.to_string()));
                }
                Some(L7Request::Kafka {
                    api_key, topics, ..
                }) => {
                    for t in topics {
                        l.requests
                            .entry((protocol, port))
                            .or_default()
                            .insert(L7Key::Kafka(api_key.clone(), t.clone()));
                    }
                }
                _ => {}
            }
        }
    }
    for s in &egress_subjects {
        rules.entry(*s).or_default();
    }
    let docs = write(c, &rules, &egress_subjects, opts);
    let yaml = docs
        .iter()
        .map(|d| serde_saphyr::to_string(d).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n");
    let proof = prove(resolved, flows_in, &yaml, &kept, &dropped, opts);
    FromFlows {
        yaml,
        policies: docs.len(),
        learned: learned_keys.into_iter().collect(),
        excluded: excluded.into_iter().collect(),
        proof,
    }
}

fn peer_of(
    c: &Cluster,
    end: &End,
    subject: &End,
    f: &ObservedFlow,
    opts: Options,
) -> Option<RulePeer> {
    Some(match end {
        End::Endpoint(i) => {
            let e = &c.endpoints[*i];
            let same_ns =
                matches!(subject, End::Endpoint(s) if c.endpoints[*s].namespace == e.namespace);
            RulePeer::Pods((!same_ns).then(|| e.namespace.clone()), stable(&e.labels))
        }
        End::Fqdn(name, ip) => {
            if opts.fqdn && opts.dialect == Dialect::Cilium {
                RulePeer::Fqdn(name.clone())
            } else {
                RulePeer::Cidr(format!("{}/32", ip.or(f.dst.ip)?))
            }
        }
        End::Ip(r) => RulePeer::Cidr(format!("{}/32", r.first())),
        End::Entity(e) => RulePeer::Entity(e.to_string()),
    })
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(l.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn policy_name(e: &Endpoint) -> String {
    format!("netfence-{}", e.name)
}

fn write(
    c: &Cluster,
    rules: &BTreeMap<EndpointId, BTreeMap<(bool, RulePeer), Learned>>,
    egress_subjects: &BTreeSet<EndpointId>,
    opts: Options,
) -> Vec<Value> {
    let mut docs = Vec::new();
    let namespaces: BTreeSet<&str> = rules
        .keys()
        .map(|i| c.endpoints[*i].namespace.as_str())
        .collect();
    for ns in &namespaces {
        docs.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-all", "namespace": ns,
                          "labels": {"app.kubernetes.io/managed-by": "netfence"}},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }));
    }
    for (id, by_peer) in rules {
        let e = &c.endpoints[*id];
        let dns_egress = egress_subjects.contains(id);
        docs.push(match opts.dialect {
            Dialect::Cilium => cilium_policy(e, by_peer, dns_egress, opts),
            Dialect::NetworkPolicy => network_policy(e, by_peer, dns_egress),
        });
    }
    docs
}

fn cilium_policy(
    e: &Endpoint,
    by_peer: &BTreeMap<(bool, RulePeer), Learned>,
    dns: bool,
    opts: Options,
) -> Value {
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    for ((is_ingress, peer), l) in by_peer {
        let mut rule = Map::new();
        let (endpoints, entities, cidr, fqdns) = if *is_ingress {
            ("fromEndpoints", "fromEntities", "fromCIDR", "")
        } else {
            ("toEndpoints", "toEntities", "toCIDR", "toFQDNs")
        };
        match peer {
            RulePeer::Pods(ns, labels) => {
                let mut labels = labels.clone();
                if let Some(ns) = ns {
                    labels.insert(format!("k8s:{POD_NAMESPACE_LABEL}"), ns.clone());
                }
                rule.insert(
                    endpoints.into(),
                    json!([{"matchLabels": labels_json(&labels)}]),
                );
            }
            RulePeer::Entity(x) => {
                rule.insert(entities.into(), json!([x]));
            }
            RulePeer::Cidr(x) => {
                rule.insert(cidr.into(), json!([x]));
            }
            RulePeer::Fqdn(x) => {
                rule.insert(fqdns.into(), json!([{"matchName": x}]));
            }
        }
        // ICMP types go in a rule of their own (`icmps`), so the peer's ports stay as learned
        let icmps: Vec<Value> = l
            .ports
            .iter()
            .filter(|(proto, _)| proto.is_icmp())
            .map(|(proto, t)| {
                let family = if *proto == Protocol::IcmpV6 {
                    "IPv6"
                } else {
                    "IPv4"
                };
                json!({"type": t, "family": family})
            })
            .collect();
        if !icmps.is_empty() {
            let mut r = rule.clone();
            r.insert("icmps".into(), json!([{"fields": icmps}]));
            if *is_ingress {
                ingress.push(Value::Object(r));
            } else {
                egress.push(Value::Object(r));
            }
            if l.ports.iter().all(|(proto, _)| proto.is_icmp()) {
                continue;
            }
        }
        let mut to_ports = Vec::new();
        for (proto, port) in l.ports.iter().filter(|(proto, _)| !proto.is_icmp()) {
            let mut pr = Map::new();
            pr.insert(
                "ports".into(),
                json!([{"port": port.to_string(), "protocol": proto.as_str()}]),
            );
            let reqs = l.requests.get(&(*proto, *port));
            // A port with observed requests gets L7 rules: its L3/L4 records are the same
            // connections seen at the packet level, not other traffic.
            if let (true, Some(reqs)) = (opts.l7, reqs) {
                let http: Vec<Value> = reqs
                    .iter()
                    .filter_map(|r| match r {
                        L7Key::Http(m, p) => Some(
                            json!({"method": m, "path": format!("{}(\\?.*)?", regex_escape(p))}),
                        ),
                        _ => None,
                    })
                    .collect();
                let kafka: Vec<Value> = reqs
                    .iter()
                    .filter_map(|r| match r {
                        L7Key::Kafka(k, t) => Some(json!({"apiKey": k, "topic": t})),
                        _ => None,
                    })
                    .collect();
                if !http.is_empty() && kafka.is_empty() {
                    pr.insert("rules".into(), json!({"http": http}));
                } else if !kafka.is_empty() && http.is_empty() {
                    pr.insert("rules".into(), json!({"kafka": kafka}));
                }
            }
            to_ports.push(Value::Object(pr));
        }
        rule.insert("toPorts".into(), Value::Array(to_ports));
        if *is_ingress {
            ingress.push(Value::Object(rule));
        } else {
            egress.push(Value::Object(rule));
        }
    }
    if dns {
        let mut port = json!({"ports": [{"port": "53", "protocol": "ANY"}]});
        if opts.fqdn {
            // toFQDNs learns addresses only from lookups the DNS proxy sees.
            port["rules"] = json!({"dns": [{"matchPattern": "*"}]});
        }
        egress.push(json!({
            "toEndpoints": [{"matchLabels": {
                format!("k8s:{POD_NAMESPACE_LABEL}"): "kube-system",
                format!("k8s:{}", CLUSTER_DNS_LABEL.0): CLUSTER_DNS_LABEL.1,
            }}],
            "toPorts": [port],
        }));
    }
    let mut spec = Map::new();
    spec.insert(
        "endpointSelector".into(),
        json!({"matchLabels": labels_json(&stable(&e.labels))}),
    );
    if !ingress.is_empty() {
        spec.insert("ingress".into(), Value::Array(ingress));
    }
    if !egress.is_empty() {
        spec.insert("egress".into(), Value::Array(egress));
    }
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": {"name": policy_name(e), "namespace": e.namespace,
                      "labels": {"app.kubernetes.io/managed-by": "netfence"}},
        "spec": spec,
    })
}

fn network_policy(e: &Endpoint, by_peer: &BTreeMap<(bool, RulePeer), Learned>, dns: bool) -> Value {
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    for ((is_ingress, peer), l) in by_peer {
        let p = match peer {
            RulePeer::Pods(ns, labels) => {
                let mut v = json!({"podSelector": {"matchLabels": labels_json(labels)}});
                if let Some(ns) = ns {
                    v["namespaceSelector"] = json!({"matchLabels": {NAMESPACE_NAME_LABEL: ns}});
                }
                v
            }
            RulePeer::Cidr(x) => json!({"ipBlock": {"cidr": x}}),
            RulePeer::Fqdn(_) | RulePeer::Entity(_) => continue,
        };
        let ports: Vec<Value> = l
            .ports
            .iter()
            .map(|(proto, port)| json!({"protocol": proto.as_str(), "port": port}))
            .collect();
        if *is_ingress {
            ingress.push(json!({"from": [p], "ports": ports}));
        } else {
            egress.push(json!({"to": [p], "ports": ports}));
        }
    }
    if dns {
        egress.push(json!({
            "to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
                    "podSelector": {"matchLabels": {CLUSTER_DNS_LABEL.0: CLUSTER_DNS_LABEL.1}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }));
    }
    let mut types = Vec::new();
    let mut spec = Map::new();
    spec.insert(
        "podSelector".into(),
        json!({"matchLabels": labels_json(&stable(&e.labels))}),
    );
    if !ingress.is_empty() {
        types.push("Ingress");
        spec.insert("ingress".into(), Value::Array(ingress));
    }
    if !egress.is_empty() {
        types.push("Egress");
        spec.insert("egress".into(), Value::Array(egress));
    }
    spec.insert("policyTypes".into(), json!(types));
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": policy_name(e), "namespace": e.namespace,
                      "labels": {"app.kubernetes.io/managed-by": "netfence"}},
        "spec": spec,
    })
}

/// The flows replayed against `yaml` alone (the inventory's own policies removed).
fn prove(
    resolved: &Resolved,
    flows_in: &[ObservedFlow],
    yaml: &str,
    kept: &[usize],
    dropped: &[usize],
    opts: Options,
) -> Proof {
    let mut proof = Proof::default();
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "<generated>".into(),
        text: yaml.to_string(),
    }]);
    for e in &loaded.errors {
        proof
            .failures
            .push(format!("generated policy does not load: {e}"));
    }
    let mut c = resolved.cluster.clone();
    // the generated policies instead of the NetworkPolicies, Cilium policies and the
    // AdminNetworkPolicy tiers (v1alpha1) the cluster had
    c.policies.retain(|p| match p {
        PolicyRef::Kubernetes(_) | PolicyRef::Cilium(_) => false,
        PolicyRef::Admin(a) => a.kind.is_cluster_network_policy(),
        _ => true,
    });
    if c.policies.extend(loaded.cluster.policies).is_err() {
        proof
            .failures
            .push("generated policies hold a second BaselineAdminNetworkPolicy".into());
    }
    let profile = match opts.dialect {
        Dialect::Cilium => Profile::Cilium,
        Dialect::NetworkPolicy => Profile::Generic,
    };
    let ev = Evaluator::new(&c, profile);
    let mut seen = BTreeSet::new();
    let cases: Vec<(usize, bool)> = kept
        .iter()
        .map(|&i| (i, true))
        .chain(dropped.iter().map(|&i| (i, false)))
        .collect();
    for (i, keep) in cases {
        let f = &flows_in[i];
        let Some(ends) = &resolved.ends[i] else {
            continue;
        };
        let key = flows::key(&c, f, ends);
        if !seen.insert((key.clone(), keep)) {
            continue;
        }
        // Without --l7 the policies are L4: judge the connection, not the request.
        let mut f2 = f.clone();
        if !opts.l7 || opts.dialect == Dialect::NetworkPolicy {
            f2.l7 = None;
        }
        let Some(v) = flows::judge(&ev, &f2, ends) else {
            continue;
        };
        let allowed = v.outcome == Outcome::Allow;
        if keep {
            proof.kept.1 += 1;
            if allowed {
                proof.kept.0 += 1;
            } else {
                proof.failures.push(format!("learned but denied: {key}"));
            }
        } else {
            proof.dropped.1 += 1;
            if allowed && f.l7.is_some() && f2.l7.is_none() {
                proof.dropped.1 -= 1;
                proof.widened.push(format!(
                    "{key}: refused at L7 in the cluster; L4 policies allow the connection (use --dialect cilium --l7 to keep refusing it)"
                ));
            } else if allowed {
                proof
                    .failures
                    .push(format!("dropped in the cluster but allowed: {key}"));
            } else {
                proof.dropped.0 += 1;
            }
        }
    }
    proof
}

/// The smallest policy that allows flow `index` on side `side` (the destination's ingress,
/// or the source's egress): one rule for that peer and port, in the dialect of `profile`.
/// Returns the YAML and whether adding it to the inventory's policies lets the flow through
/// that side.
pub fn smallest_allow(
    resolved: &Resolved,
    flows_in: &[ObservedFlow],
    index: usize,
    side: netfence_engine::Direction,
    profile: Profile,
) -> Option<(String, bool)> {
    let ingress = side == netfence_engine::Direction::Ingress;
    let c = &resolved.cluster;
    let f = flows_in.get(index)?;
    let ends = resolved.ends.get(index)?.as_ref()?;
    let (protocol, port) = (f.protocol?, f.port?);
    let opts = Options {
        dialect: if profile == Profile::Cilium {
            Dialect::Cilium
        } else {
            Dialect::NetworkPolicy
        },
        l7: f.l7.is_some(),
        fqdn: true,
    };
    if protocol.is_icmp() && opts.dialect == Dialect::NetworkPolicy {
        return None; // a NetworkPolicy cannot allow ICMP by type
    }
    let (subject, other) = if ingress {
        (&ends.1, &ends.0)
    } else {
        (&ends.0, &ends.1)
    };
    let End::Endpoint(id) = subject else {
        return None;
    };
    let peer = peer_of(c, other, subject, f, opts)?;
    let mut learned = Learned::default();
    learned.ports.insert((protocol, port));
    if let Some(L7Request::Http { method, path, .. }) = &f.l7 {
        let p = path.split('?').next().unwrap_or(path);
        learned
            .requests
            .entry((protocol, port))
            .or_default()
            .insert(L7Key::Http(method.clone(), p.to_string()));
    }
    let by_peer = BTreeMap::from([((ingress, peer), learned)]);
    let e = &c.endpoints[*id];
    let mut doc = match opts.dialect {
        Dialect::Cilium => cilium_policy(e, &by_peer, false, opts),
        Dialect::NetworkPolicy => network_policy(e, &by_peer, false),
    };
    let dir = if ingress { "from" } else { "to" };
    let peer_name = match other {
        End::Endpoint(i) => c.endpoints[*i].name.clone(),
        End::Ip(r) => format!("ip-{}", r.first()),
        End::Fqdn(n, _) => n.clone(),
        End::Entity(x) => x.to_string(),
    }
    .replace(['.', '*', ':'], "-");
    doc["metadata"]["name"] = json!(format!("allow-{}-{dir}-{peer_name}", e.name));
    let yaml = serde_saphyr::to_string(&doc).ok()?;
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "<fix>".into(),
        text: yaml.clone(),
    }]);
    let mut c2 = c.clone();
    c2.policies.extend(loaded.cluster.policies).ok()?;
    let ev = Evaluator::new(&c2, profile);
    let dir = side;
    let verified = flows::judge(&ev, f, ends).is_some_and(|v| {
        !v.steps.iter().any(|(d, s)| {
            *d == dir
                && matches!(
                    s.verdict,
                    netfence_engine::eval::LayerVerdict::Deny
                        | netfence_engine::eval::LayerVerdict::L7Deny
                )
        })
    });
    Some((yaml, loaded.errors.is_empty() && verified))
}
