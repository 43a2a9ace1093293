//! The fast engine (classes, interned sets, layered ANP/NP/BANP) against the naive reference
//! evaluator, one flow at a time, on random clusters.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod support;

use netfence_engine::connectivity::{compute_full, external_ranges, Node};
use netfence_engine::reference::{allowed, End};
use netfence_engine::{DataPath, Profile, Release};
use netfence_model::*;
use proptest::prelude::*;
use support::*;

const KEYS: [&str; 2] = ["app", "tier"];
const VALUES: [&str; 3] = ["a", "b", "c"];
const PROBE_PORTS: [u16; 9] = [1, 52, 53, 54, 80, 443, 8080, 8081, 65535];

fn arb_labels() -> impl Strategy<Value = Vec<(usize, usize)>> {
    proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..3)
}

fn to_labels(v: &[(usize, usize)]) -> Vec<(&'static str, &'static str)> {
    v.iter().map(|&(k, x)| (KEYS[k], VALUES[x])).collect()
}

fn arb_selector() -> impl Strategy<Value = LabelSelector> {
    (
        arb_labels(),
        proptest::option::of((
            0..KEYS.len(),
            0..4usize,
            proptest::collection::vec(0..VALUES.len(), 1..3),
        )),
    )
        .prop_map(|(ml, expr)| {
            let mut s = sel(&to_labels(&ml));
            if let Some((k, op, vals)) = expr {
                let operator = [
                    Operator::In,
                    Operator::NotIn,
                    Operator::Exists,
                    Operator::DoesNotExist,
                ][op];
                let values = match operator {
                    Operator::In | Operator::NotIn => {
                        vals.iter().map(|&v| VALUES[v].to_string()).collect()
                    }
                    _ => Vec::new(),
                };
                s.match_expressions.push(Requirement {
                    key: KEYS[k].into(),
                    operator,
                    values,
                });
            }
            s
        })
}

fn arb_port() -> impl Strategy<Value = NpPort> {
    prop_oneof![
        (0..3usize, prop::sample::select(vec![53u16, 80, 443, 8080])).prop_map(|(p, n)| port(
            Protocol::PORTS[p],
            Some(PortRef::Number(n)),
            None
        )),
        Just(port(Protocol::Tcp, Some(PortRef::Number(80)), Some(8080))),
        Just(port(Protocol::Udp, None, None)),
        Just(port(
            Protocol::Tcp,
            Some(PortRef::Name("http".into())),
            None
        )),
        Just(port(Protocol::Udp, Some(PortRef::Name("dns".into())), None)),
    ]
}

fn arb_peer() -> impl Strategy<Value = NpPeer> {
    prop_oneof![
        (
            proptest::option::of(arb_selector()),
            proptest::option::of(arb_selector())
        )
            .prop_filter("a peer sets a field", |(n, p)| n.is_some() || p.is_some())
            .prop_map(|(n, p)| pods(n, p)),
        Just(ipblock("0.0.0.0/0", &["10.0.0.0/8"])),
        Just(ipblock("10.0.0.0/8", &[])),
        // blocks that cut between pod addresses (see POD_IPS)
        Just(ipblock("10.0.0.0/30", &[])),
        Just(ipblock("10.0.0.0/8", &["10.0.0.2/32"])),
    ]
}

fn arb_rule() -> impl Strategy<Value = NpRule> {
    (
        proptest::option::of(proptest::collection::vec(arb_peer(), 1..3)),
        proptest::option::of(proptest::collection::vec(arb_port(), 1..3)),
    )
        .prop_map(|(peers, ports)| rule(peers, ports))
}

/// (namespace, labels, named ports, address: an index into POD_IPS)
type PodSpec = (usize, Vec<(usize, usize)>, bool, usize);
type PolicySpec = (
    usize,
    LabelSelector,
    Option<Vec<NpRule>>,
    Option<Vec<NpRule>>,
);
type AdminSpec = (
    i32,
    LabelSelector,
    Vec<(usize, LabelSelector, Option<u16>)>,
    bool,
);

#[derive(Debug, Clone)]
struct Spec {
    ns_labels: Vec<Vec<(usize, usize)>>,
    pods: Vec<PodSpec>,
    policies: Vec<PolicySpec>,
    admin: Vec<AdminSpec>,
    baseline: Option<Vec<(bool, LabelSelector)>>,
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        proptest::collection::vec(arb_labels(), 1..3),
        proptest::collection::vec(
            (0..3usize, arb_labels(), any::<bool>(), 0..POD_IPS.len() + 1),
            1..6,
        ),
        proptest::collection::vec(
            (
                0..3usize,
                arb_selector(),
                proptest::option::of(proptest::collection::vec(arb_rule(), 0..3)),
                proptest::option::of(proptest::collection::vec(arb_rule(), 0..3)),
            ),
            0..4,
        ),
        proptest::collection::vec(
            (
                0..20i32,
                arb_selector(),
                proptest::collection::vec(
                    (
                        0..3usize,
                        arb_selector(),
                        proptest::option::of(prop::sample::select(vec![53u16, 80])),
                    ),
                    1..3,
                ),
                any::<bool>(),
            ),
            0..3,
        ),
        proptest::option::of(proptest::collection::vec(
            (any::<bool>(), arb_selector()),
            1..3,
        )),
    )
        .prop_map(|(ns_labels, pods, policies, admin, baseline)| Spec {
            ns_labels,
            pods,
            policies,
            admin,
            baseline,
        })
}

/// Pod addresses: pods whose addresses no block tells apart share a class, the others must not.
const POD_IPS: [&str; 4] = ["10.0.0.1", "10.0.0.2", "10.0.0.9", "192.168.0.5"];

fn build(spec: &Spec) -> Cluster {
    let mut c = Cluster::default();
    let n_ns = spec.ns_labels.len();
    for (i, l) in spec.ns_labels.iter().enumerate() {
        mk_ns(&mut c, &format!("ns{i}"), &to_labels(l));
    }
    for (i, (ns, l, with_ports, ip)) in spec.pods.iter().enumerate() {
        let ports: Vec<(&str, u16, Protocol)> = if *with_ports {
            vec![("http", 8080, Protocol::Tcp), ("dns", 53, Protocol::Udp)]
        } else {
            vec![("http", 80, Protocol::Tcp)]
        };
        let pod = mk_pod(
            &mut c,
            &format!("ns{}", ns % n_ns),
            &format!("p{i}"),
            &to_labels(l),
            &ports,
        );
        // (an index past the pool: no address, as a pod not yet scheduled)
        c.endpoints[pod].ips = POD_IPS
            .get(*ip)
            .map(|a| a.parse().unwrap())
            .into_iter()
            .collect();
    }
    for (i, (ns, s, ing, eg)) in spec.policies.iter().enumerate() {
        mk_np(
            &mut c,
            &format!("ns{}", ns % n_ns),
            &format!("np{i}"),
            s.clone(),
            ing.clone(),
            eg.clone(),
        );
    }
    let to_rules = |rules: &[(usize, LabelSelector, Option<u16>)]| -> Vec<AdminRule> {
        rules
            .iter()
            .enumerate()
            .map(|(i, (a, s, p))| AdminRule {
                name: format!("r{i}"),
                action: [AdminAction::Allow, AdminAction::Deny, AdminAction::Pass][*a],
                peers: vec![AdminPeer::Namespaces(s.clone())],
                ports: p.map(|p| {
                    vec![AdminPort::Number {
                        protocol: Protocol::Tcp,
                        port: p,
                    }]
                }),
            })
            .collect()
    };
    for (i, (prio, subj, rules, ingress)) in spec.admin.iter().enumerate() {
        let rules = to_rules(rules);
        let _ = c.policies.add(AdminPolicy {
            kind: netfence_model::AdminKind::AdminNetworkPolicy,
            name: format!("anp{i}"),
            priority: Some(*prio),
            subject: AdminSubject::Namespaces(subj.clone()),
            ingress: if *ingress { rules.clone() } else { Vec::new() },
            egress: if *ingress { Vec::new() } else { rules },
            origin: Origin::default(),
        });
    }
    if let Some(b) = &spec.baseline {
        let rules: Vec<AdminRule> = b
            .iter()
            .enumerate()
            .map(|(i, (allow, s))| AdminRule {
                name: format!("b{i}"),
                action: if *allow {
                    AdminAction::Allow
                } else {
                    AdminAction::Deny
                },
                peers: vec![AdminPeer::Namespaces(s.clone())],
                ports: None,
            })
            .collect();
        let _ = c.policies.add(AdminPolicy {
            kind: netfence_model::AdminKind::BaselineAdminNetworkPolicy,
            name: "default".into(),
            priority: None,
            subject: AdminSubject::Namespaces(LabelSelector::everything()),
            ingress: rules.clone(),
            egress: rules,
            origin: Origin::default(),
        });
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Every (pair, protocol, probe port) verdict of the connectivity map equals the reference's.
    #[test]
    fn connectivity_agrees_with_reference(spec in arb_spec()) {
        check(&build(&spec))?;
    }

    /// The same with NetworkPolicy only (no admin tiers to mask a NetworkPolicy mistake).
    #[test]
    fn compiled_path_agrees_with_reference(spec in arb_spec()) {
        let mut spec = spec;
        spec.admin.clear();
        spec.baseline = None;
        check(&build(&spec))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// Without Cilium policies, Cilium's rule repository (NetworkPolicies translated) decides
    /// every pair as upstream NetworkPolicy does.
    #[test]
    fn cilium_repository_equals_networkpolicy_without_cilium_policies(spec in arb_spec()) {
        let mut spec = spec;
        spec.admin.clear();
        spec.baseline = None;
        let c = build(&spec);
        let generic = netfence_engine::eval::Evaluator::new(&c, Profile::Generic);
        let cilium = netfence_engine::eval::Evaluator::new(&c, Profile::Cilium);
        let (src_ranges, dst_ranges) = netfence_engine::connectivity::external_ranges(&c);
        for a in &c.endpoints {
            let mut peers: Vec<(netfence_engine::Peer<'_>, netfence_engine::Peer<'_>)> = Vec::new();
            for b in &c.endpoints {
                peers.push((netfence_engine::Peer::Endpoint(a), netfence_engine::Peer::Endpoint(b)));
            }
            for r in &src_ranges {
                peers.push((netfence_engine::Peer::Ip(r), netfence_engine::Peer::Endpoint(a)));
            }
            for r in &dst_ranges {
                peers.push((netfence_engine::Peer::Endpoint(a), netfence_engine::Peer::Ip(r)));
            }
            for (s, d) in peers {
                prop_assert_eq!(cilium.pair_allowed(s, d), generic.pair_allowed(s, d));
            }
        }
    }
}

fn check(c: &Cluster) -> Result<(), TestCaseError> {
    let c = c.clone();
    {
        // weave enforces no admin tier: map, explained verdict and reference must all leave it out
        let calico = |minor| DataPath::new(Profile::Calico, Some(Release::new(3, minor)));
        // Cilium 1.20 with ClusterNetworkPolicy on: its repository (NetworkPolicies translated)
        // between the two ClusterNetworkPolicy tiers, and no ANP/BANP
        let mut cilium = DataPath::new(Profile::Cilium, Some(Release::new(1, 20)));
        cilium
            .settings
            .set("enable-k8s-cluster-network-policy", "true")
            .unwrap();
        for profile in [
            DataPath::from(Profile::Generic),
            calico(31),
            calico(32),
            cilium,
            DataPath::from(Profile::Weave),
        ] {
            // the map as computed, ICMP included (what `connectivity` prints describes the
            // port protocols only when no policy names ICMP: see `compute_with_ranges`)
            let (src, dst) = external_ranges(&c);
            let map = compute_full(&c, profile, src, dst);
            let ev = netfence_engine::eval::Evaluator::new(&c, profile);
            // the verdict `netfence query` explains: each pod side's layers, none denying
            fn peer<'x>(e: End<'x>) -> netfence_engine::Peer<'x> {
                match e {
                    End::Pod(p) => netfence_engine::Peer::Endpoint(p),
                    End::External(r) => netfence_engine::Peer::Ip(r),
                }
            }
            let explained = |se: End<'_>, de: End<'_>, proto: Protocol, port: u16| {
                use netfence_engine::verdict::Outcome;
                use netfence_engine::Direction;
                let side = |subject: End<'_>, far: End<'_>, dir: Direction| match subject {
                    End::Pod(p) => {
                        ev.explain_request(p, peer(far), dir, proto, port, None).0 != Outcome::Deny
                    }
                    End::External(_) => true,
                };
                side(se, de, Direction::Egress) && side(de, se, Direction::Ingress)
            };
            fn end<'x>(c: &'x Cluster, n: &'x Node) -> Option<End<'x>> {
                match n {
                    Node::Endpoint(i) => Some(End::Pod(&c.endpoints[*i])),
                    Node::External(r) => Some(End::External(r)),
                    Node::IngressController | Node::Fqdn(_) => None,
                }
            }
            // Every pair of distinct endpoints, and endpoints with every external range.
            let mut pairs: Vec<(Node, Node)> = Vec::new();
            for a in 0..c.endpoints.len() {
                for b in 0..c.endpoints.len() {
                    if a != b {
                        pairs.push((Node::Endpoint(a), Node::Endpoint(b)));
                    }
                }
                for r in &map.src_ranges {
                    pairs.push((Node::External(*r), Node::Endpoint(a)));
                }
                for r in &map.dst_ranges {
                    pairs.push((Node::Endpoint(a), Node::External(*r)));
                }
            }
            for (s, d) in pairs {
                let got = map
                    .edges()
                    .find(|e| e.src == s && e.dst == d)
                    .map(|e| e.conn.clone())
                    .unwrap_or_default();
                let (Some(se), Some(de)) = (end(&c, &s), end(&c, &d)) else {
                    continue;
                };
                for proto in Protocol::ALL {
                    for port in PROBE_PORTS {
                        let want = allowed(&c, profile, se, de, proto, port);
                        prop_assert_eq!(
                            explained(se, de, proto, port),
                            want,
                            "{:?} -> {:?} {} {} under {}: the explained verdict differs from the reference",
                            s,
                            d,
                            proto,
                            port,
                            profile
                        );
                        prop_assert_eq!(
                            got.contains(proto, port),
                            want,
                            "{:?} -> {:?} {} {} under {}: engine says {}",
                            s,
                            d,
                            proto,
                            port,
                            profile,
                            got
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
