//! The same intent written as Kubernetes NetworkPolicy, as CiliumNetworkPolicy and as Calico
//! NetworkPolicy yields the same connectivity map under the CNI that enforces each dialect:
//! random clusters and policies, each written three ways and read by the loader.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_engine::connectivity::compute;
use netfence_engine::Profile;
use proptest::prelude::*;

const KEYS: [&str; 2] = ["app", "tier"];
const VALUES: [&str; 2] = ["a", "b"];

/// matchLabels as (key, value) indexes; empty selects everything.
type Sel = Vec<(usize, usize)>;

#[derive(Debug, Clone)]
enum Peer {
    /// podSelector in the policy's namespace.
    Pods(Sel),
    /// namespaceSelector (and a podSelector when given).
    Namespaces(Sel, Option<Sel>),
}

#[derive(Debug, Clone)]
struct Rule {
    /// `None`: every peer.
    peers: Option<Vec<Peer>>,
    /// `(port, udp)`; `None`: every port.
    ports: Option<Vec<(u16, bool)>>,
}

#[derive(Debug, Clone)]
struct Policy {
    ns: usize,
    selector: Sel,
    /// `None`: the direction is not in policyTypes.
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
}

#[derive(Debug, Clone)]
struct Spec {
    ns_labels: Vec<Sel>,
    pods: Vec<(usize, Sel)>,
    policies: Vec<Policy>,
}

fn arb_sel() -> impl Strategy<Value = Sel> {
    proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..2).prop_map(|mut v| {
        v.sort();
        v.dedup_by_key(|x| x.0);
        v
    })
}

fn arb_peer() -> impl Strategy<Value = Peer> {
    prop_oneof![
        arb_sel().prop_map(Peer::Pods),
        (arb_sel(), proptest::option::of(arb_sel())).prop_map(|(n, p)| Peer::Namespaces(n, p)),
    ]
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    (
        proptest::option::of(proptest::collection::vec(arb_peer(), 1..3)),
        proptest::option::of(proptest::collection::vec(
            (prop::sample::select(vec![53u16, 80, 443]), any::<bool>()),
            1..3,
        )),
    )
        .prop_map(|(peers, ports)| Rule { peers, ports })
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        proptest::collection::vec(arb_sel(), 1..3),
        proptest::collection::vec((0..3usize, arb_sel()), 1..5),
        proptest::collection::vec(
            (
                0..3usize,
                arb_sel(),
                proptest::option::of(proptest::collection::vec(arb_rule(), 0..3)),
                proptest::option::of(proptest::collection::vec(arb_rule(), 0..3)),
            )
                .prop_map(|(ns, selector, ingress, egress)| Policy {
                    ns,
                    selector,
                    // an empty policyTypes defaults to Ingress (the API server's defaulting)
                    ingress: if ingress.is_none() && egress.is_none() {
                        Some(Vec::new())
                    } else {
                        ingress
                    },
                    egress,
                }),
            1..4,
        ),
    )
        .prop_map(|(ns_labels, pods, policies)| Spec {
            ns_labels,
            pods,
            policies,
        })
}

fn match_labels(s: &Sel) -> String {
    let items: Vec<String> = s
        .iter()
        .map(|(k, v)| format!("{}: {}", KEYS[*k], VALUES[*v]))
        .collect();
    format!("{{matchLabels: {{{}}}}}", items.join(", "))
}

/// The inventory, shared by the three writings.
fn inventory(spec: &Spec) -> String {
    let n = spec.ns_labels.len();
    let mut out = String::new();
    for (i, l) in spec.ns_labels.iter().enumerate() {
        let labels: Vec<String> = l
            .iter()
            .map(|(k, v)| format!("{}: {}", KEYS[*k], VALUES[*v]))
            .collect();
        out.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{i}, labels: {{{}}}}}\n---\n",
            labels.join(", ")
        ));
    }
    for (i, (ns, l)) in spec.pods.iter().enumerate() {
        let labels: Vec<String> = l
            .iter()
            .map(|(k, v)| format!("{}: {}", KEYS[*k], VALUES[*v]))
            .collect();
        out.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns{}, labels: {{{}}}}}\nspec: {{containers: [{{name: c, image: x, ports: [{{containerPort: 80}}, {{containerPort: 53, protocol: UDP}}]}}]}}\n---\n",
            ns % n,
            labels.join(", ")
        ));
    }
    out
}

fn ports_yaml(ports: &[(u16, bool)], cilium: bool) -> String {
    let items: Vec<String> = ports
        .iter()
        .map(|(p, udp)| {
            let proto = if *udp { "UDP" } else { "TCP" };
            if cilium {
                format!("{{port: '{p}', protocol: {proto}}}")
            } else {
                format!("{{port: {p}, protocol: {proto}}}")
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// As Kubernetes NetworkPolicies.
fn as_networkpolicy(spec: &Spec) -> String {
    let n = spec.ns_labels.len();
    let mut out = String::new();
    for (i, p) in spec.policies.iter().enumerate() {
        let mut types = Vec::new();
        let mut body = String::new();
        for (dir, key, peer_key, rules) in [
            ("Ingress", "ingress", "from", &p.ingress),
            ("Egress", "egress", "to", &p.egress),
        ] {
            let Some(rules) = rules else { continue };
            types.push(dir);
            if rules.is_empty() {
                body.push_str(&format!("  {key}: []\n"));
            } else {
                body.push_str(&format!("  {key}:\n"));
            }
            for r in rules {
                let mut fields = Vec::new();
                if let Some(peers) = &r.peers {
                    let items: Vec<String> = peers
                        .iter()
                        .map(|x| match x {
                            Peer::Pods(s) => format!("{{podSelector: {}}}", match_labels(s)),
                            Peer::Namespaces(ns, pods) => match pods {
                                None => format!("{{namespaceSelector: {}}}", match_labels(ns)),
                                Some(ps) => format!(
                                    "{{namespaceSelector: {}, podSelector: {}}}",
                                    match_labels(ns),
                                    match_labels(ps)
                                ),
                            },
                        })
                        .collect();
                    fields.push(format!("{peer_key}: [{}]", items.join(", ")));
                }
                if let Some(ports) = &r.ports {
                    fields.push(format!("ports: {}", ports_yaml(ports, false)));
                }
                body.push_str(&format!("  - {{{}}}\n", fields.join(", ")));
            }
        }
        out.push_str(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np{i}, namespace: ns{}}}\nspec:\n  podSelector: {}\n  policyTypes: [{}]\n{body}---\n",
            p.ns % n,
            match_labels(&p.selector),
            types.join(", ")
        ));
    }
    out
}

/// A Cilium endpoint selector for a NetworkPolicy peer.
fn cilium_peer(x: &Peer) -> String {
    let label = |(k, v): &(usize, usize)| format!("{}: {}", KEYS[*k], VALUES[*v]);
    match x {
        Peer::Pods(s) => match_labels(s),
        Peer::Namespaces(ns, pods) => {
            let mut items: Vec<String> = ns
                .iter()
                .map(|(k, v)| {
                    format!(
                        "io.cilium.k8s.namespace.labels.{}: {}",
                        KEYS[*k], VALUES[*v]
                    )
                })
                .collect();
            items.extend(pods.iter().flatten().map(label));
            // every namespace: the namespace label exists
            format!(
                "{{matchLabels: {{{}}}, matchExpressions: [{{key: io.kubernetes.pod.namespace, operator: Exists}}]}}",
                items.join(", ")
            )
        }
    }
}

/// As CiliumNetworkPolicies with the same meaning.
fn as_cilium(spec: &Spec) -> String {
    let n = spec.ns_labels.len();
    let mut out = String::new();
    for (i, p) in spec.policies.iter().enumerate() {
        let mut body = String::new();
        for (key, peer_key, rules) in [
            ("ingress", "fromEndpoints", &p.ingress),
            ("egress", "toEndpoints", &p.egress),
        ] {
            let Some(rules) = rules else { continue };
            body.push_str(&format!("  {key}:\n"));
            // no rule: default deny, written as the empty rule
            if rules.is_empty() {
                body.push_str("  - {}\n");
            }
            let all = if key == "ingress" {
                "fromEntities: [all]"
            } else {
                "toEntities: [all]"
            };
            for r in rules {
                let mut fields = Vec::new();
                match &r.peers {
                    Some(peers) => {
                        let items: Vec<String> = peers.iter().map(cilium_peer).collect();
                        fields.push(format!("{peer_key}: [{}]", items.join(", ")));
                    }
                    None if r.ports.is_none() => fields.push(all.to_string()),
                    None => {}
                }
                if let Some(ports) = &r.ports {
                    fields.push(format!("toPorts: [{{ports: {}}}]", ports_yaml(ports, true)));
                }
                body.push_str(&format!("  - {{{}}}\n", fields.join(", ")));
            }
        }
        out.push_str(&format!(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: cnp{i}, namespace: ns{}}}\nspec:\n  endpointSelector: {}\n{body}---\n",
            p.ns % n,
            match_labels(&p.selector)
        ));
    }
    out
}

fn calico_selector(s: &Sel) -> String {
    if s.is_empty() {
        return "all()".into();
    }
    let parts: Vec<String> = s
        .iter()
        .map(|(k, v)| format!("{} == '{}'", KEYS[*k], VALUES[*v]))
        .collect();
    parts.join(" && ")
}

/// As Calico NetworkPolicies with the same meaning (a rule per peer and protocol).
fn as_calico(spec: &Spec) -> String {
    let n = spec.ns_labels.len();
    let mut out = String::new();
    for (i, p) in spec.policies.iter().enumerate() {
        let mut types = Vec::new();
        let mut body = String::new();
        for (dir, key, side, rules) in [
            ("Ingress", "ingress", "source", &p.ingress),
            ("Egress", "egress", "destination", &p.egress),
        ] {
            let Some(rules) = rules else { continue };
            types.push(dir);
            let mut items = Vec::new();
            for r in rules {
                let peers: Vec<Option<String>> = match &r.peers {
                    None => vec![None],
                    Some(ps) => ps
                        .iter()
                        .map(|x| {
                            Some(match x {
                                Peer::Pods(s) => format!("selector: \"{}\"", calico_selector(s)),
                                Peer::Namespaces(ns, pods) => format!(
                                    "namespaceSelector: \"{}\", selector: \"{}\"",
                                    calico_selector(ns),
                                    calico_selector(pods.as_ref().unwrap_or(&Vec::new()))
                                ),
                            })
                        })
                        .collect(),
                };
                let protocols: Vec<(Option<&str>, Vec<u16>)> = match &r.ports {
                    None => vec![(None, Vec::new())],
                    Some(ports) => ["TCP", "UDP"]
                        .into_iter()
                        .map(|pr| {
                            let ps: Vec<u16> = ports
                                .iter()
                                .filter(|(_, udp)| *udp == (pr == "UDP"))
                                .map(|(p, _)| *p)
                                .collect();
                            (Some(pr), ps)
                        })
                        .filter(|(_, ps)| !ps.is_empty())
                        .collect(),
                };
                for peer in &peers {
                    for (proto, ports) in &protocols {
                        let mut fields = vec!["action: Allow".to_string()];
                        if let Some(pr) = proto {
                            fields.push(format!("protocol: {pr}"));
                        }
                        let mut dst = Vec::new();
                        let mut src = Vec::new();
                        if let Some(peer) = peer {
                            if side == "source" {
                                src.push(peer.clone());
                            } else {
                                dst.push(peer.clone());
                            }
                        }
                        if !ports.is_empty() {
                            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                            dst.push(format!("ports: [{}]", list.join(", ")));
                        }
                        if !src.is_empty() {
                            fields.push(format!("source: {{{}}}", src.join(", ")));
                        }
                        if !dst.is_empty() {
                            fields.push(format!("destination: {{{}}}", dst.join(", ")));
                        }
                        items.push(format!("  - {{{}}}\n", fields.join(", ")));
                    }
                }
            }
            if items.is_empty() {
                body.push_str(&format!("  {key}: []\n"));
            } else {
                body.push_str(&format!("  {key}:\n{}", items.concat()));
            }
        }
        out.push_str(&format!(
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: cal{i}, namespace: ns{}}}\nspec:\n  selector: \"{}\"\n  types: [{}]\n{body}---\n",
            p.ns % n,
            calico_selector(&p.selector),
            types.join(", ")
        ));
    }
    out
}

/// Every edge of the map as text, sorted.
fn map_text(yaml: &str, profile: Profile) -> Result<Vec<String>, String> {
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: yaml.to_string(),
    }]);
    if !loaded.errors.is_empty() {
        return Err(format!("{:?}\n{yaml}", loaded.errors));
    }
    let c = &loaded.cluster;
    let map = compute(c, profile);
    let name = |n: &netfence_engine::connectivity::Node| match n {
        netfence_engine::connectivity::Node::Endpoint(i) => c.endpoints[*i].display_name(),
        other => format!("{other:?}"),
    };
    let mut out: Vec<String> = map
        .edges()
        .map(|e| format!("{} => {} : {}", name(&e.src), name(&e.dst), e.conn))
        .collect();
    out.sort();
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// NetworkPolicy and its Cilium writing give one map under `cilium`; NetworkPolicy and its
    /// Calico writing give one map under `calico`.
    #[test]
    fn one_intent_three_dialects_one_map(spec in arb_spec()) {
        let inv = inventory(&spec);
        let np = format!("{inv}{}", as_networkpolicy(&spec));
        let cnp = format!("{inv}{}", as_cilium(&spec));
        let cal = format!("{inv}{}", as_calico(&spec));
        let np_cilium = map_text(&np, Profile::Cilium).map_err(TestCaseError::fail)?;
        let cnp_cilium = map_text(&cnp, Profile::Cilium).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&np_cilium, &cnp_cilium, "NetworkPolicy vs Cilium:\n{}\n{}", np, cnp);
        let np_calico = map_text(&np, Profile::Calico).map_err(TestCaseError::fail)?;
        let cal_calico = map_text(&cal, Profile::Calico).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&np_calico, &cal_calico, "NetworkPolicy vs Calico:\n{}\n{}", np, cal);
    }
}

/// The map as (source, destination) -> connection set.
fn map_sets(
    yaml: &str,
    profile: Profile,
) -> std::collections::BTreeMap<(String, String), netfence_model::ConnSet> {
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: yaml.to_string(),
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let c = &loaded.cluster;
    let name = |n: &netfence_engine::connectivity::Node| match n {
        netfence_engine::connectivity::Node::Endpoint(i) => c.endpoints[*i].display_name(),
        other => format!("{other:?}"),
    };
    compute(c, profile)
        .edges()
        .map(|e| ((name(&e.src), name(&e.dst)), (*e.conn).clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Monotonicity: an allow rule added to a direction a policy already governs never removes
    /// a connection, in any of the three dialects.
    #[test]
    fn an_added_allow_rule_removes_no_connection(spec in arb_spec(), extra in arb_rule(), to_egress in any::<bool>()) {
        let mut more = spec.clone();
        let p = &mut more.policies[0];
        let rules = if to_egress && p.egress.is_some() { &mut p.egress } else { &mut p.ingress };
        let Some(rules) = rules.as_mut() else { return Ok(()) };
        rules.push(extra);
        let inv = inventory(&spec);
        for (write, profile) in [
            (as_networkpolicy as fn(&Spec) -> String, Profile::Generic),
            (as_cilium, Profile::Cilium),
            (as_calico, Profile::Calico),
        ] {
            let before = map_sets(&format!("{inv}{}", write(&spec)), profile);
            let after = map_sets(&format!("{inv}{}", write(&more)), profile);
            for (pair, conn) in &before {
                let now = after.get(pair).cloned().unwrap_or_default();
                prop_assert!(conn.is_subset(&now), "{:?} under {}: {} became {}", pair, profile, conn, now);
            }
        }
    }
}

/// The spec's policies written in three dialects at once: the first in NetworkPolicy, the
/// second as CiliumNetworkPolicy, the third as Calico NetworkPolicy, and so on.
fn mixed(spec: &Spec) -> String {
    let part = |k: usize| Spec {
        policies: spec
            .policies
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == k)
            .map(|(_, p)| p.clone())
            .collect(),
        ..spec.clone()
    };
    format!(
        "{}{}{}{}",
        inventory(spec),
        as_networkpolicy(&part(0)),
        as_cilium(&part(1)),
        as_calico(&part(2))
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// On clusters mixing every dialect, under every profile, each edge of the map (and each
    /// missing edge) is the verdict `query` explains for every probe: both come from one
    /// evaluation, so they cannot diverge.
    #[test]
    fn the_map_is_the_explained_verdict_in_every_dialect_and_profile(spec in arb_spec()) {
        use netfence_engine::connectivity::Node;
        use netfence_model::Protocol;
        let yaml = mixed(&spec);
        let loaded = netfence_load::load(&[netfence_load::Source {
            name: "t.yaml".into(),
            text: yaml.clone(),
        }]);
        prop_assert!(loaded.errors.is_empty(), "{:?}\n{}", loaded.errors, yaml);
        let c = &loaded.cluster;
        for profile in [Profile::Generic, Profile::Cilium, Profile::Calico, Profile::Weave] {
            let map = compute(c, profile);
            let ev = netfence_engine::eval::Evaluator::new(c, profile);
            let mut got: std::collections::HashMap<(Node, Node), netfence_model::ConnSet> =
                std::collections::HashMap::new();
            for e in map.edges() {
                got.insert((e.src, e.dst), (*e.conn).clone());
            }
            fn peer<'x>(c: &'x netfence_model::Cluster, n: &'x Node) -> netfence_engine::Peer<'x> {
                match n {
                    Node::Endpoint(i) => netfence_engine::Peer::Endpoint(&c.endpoints[*i]),
                    Node::External(r) => netfence_engine::Peer::Ip(r),
                    _ => unreachable!("only endpoints and ranges are probed"),
                }
            }
            let mut pairs: Vec<(Node, Node)> = Vec::new();
            for a in 0..c.endpoints.len() {
                for b in 0..c.endpoints.len() {
                    if c.endpoints[a].qualified_name() != c.endpoints[b].qualified_name() {
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
                let conn = got.get(&(s, d)).cloned().unwrap_or_default();
                for proto in [Protocol::Tcp, Protocol::Udp] {
                    for port in [53u16, 80, 443, 8080] {
                        let explained = ev.flow(peer(c, &s), peer(c, &d), proto, port, None).outcome
                            != netfence_engine::verdict::Outcome::Deny;
                        prop_assert_eq!(
                            conn.contains(proto, port),
                            explained,
                            "{:?} -> {:?} {} {} under {}: map {} \n{}",
                            s, d, proto, port, profile, conn, yaml
                        );
                    }
                }
            }
        }
    }
}

/// Every pair of `yaml`'s cluster (pods and the outside ranges) on `probes`: the map as computed
/// under `profile` against `reference`.
fn map_against_reference(
    yaml: &str,
    profile: Profile,
    probes: &[(netfence_model::Protocol, u16)],
    reference: fn(
        &netfence_model::Cluster,
        netfence_engine::reference::End<'_>,
        netfence_engine::reference::End<'_>,
        netfence_model::Protocol,
        u16,
    ) -> bool,
) -> Result<(), TestCaseError> {
    use netfence_engine::connectivity::{compute_full, external_ranges, Node};
    use netfence_engine::reference::End;
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: yaml.to_string(),
    }]);
    prop_assert!(loaded.errors.is_empty(), "{:?}\n{}", loaded.errors, yaml);
    let c = &loaded.cluster;
    let (src, dst) = external_ranges(c);
    let map = compute_full(c, profile, src.clone(), dst);
    let mut ends: Vec<(Node, End<'_>)> = (0..c.endpoints.len())
        .map(|i| (Node::Endpoint(i), End::Pod(&c.endpoints[i])))
        .collect();
    ends.extend(src.iter().map(|r| (Node::External(*r), End::External(r))));
    for (sn, se) in &ends {
        for (dn, de) in &ends {
            if sn == dn || matches!((se, de), (End::External(_), End::External(_))) {
                continue;
            }
            let edge = map
                .edges()
                .find(|e| e.src == *sn && e.dst == *dn)
                .map(|e| (*e.conn).clone())
                .unwrap_or_default();
            for &(proto, port) in probes {
                let want = reference(c, *se, *de, proto, port);
                prop_assert_eq!(
                    edge.contains(proto, port),
                    want,
                    "{:?} -> {:?} {} {}: map says {}\n{}",
                    sn,
                    dn,
                    proto,
                    port,
                    edge,
                    yaml
                );
            }
        }
    }
    Ok(())
}

/// An extra CiliumNetworkPolicy for `p`'s subject: `rule` as a deny (ingress or egress), and an
/// allow of ICMP echo from/to the same peers.
fn cilium_extras(spec: &Spec, rule: &Rule, egress: bool, icmp: bool) -> String {
    let n = spec.ns_labels.len();
    let p = &spec.policies[0];
    let (deny_key, allow_key, peer_key, all) = if egress {
        ("egressDeny", "egress", "toEndpoints", "toEntities: [all]")
    } else {
        (
            "ingressDeny",
            "ingress",
            "fromEndpoints",
            "fromEntities: [all]",
        )
    };
    let peers = match &rule.peers {
        Some(peers) => {
            let items: Vec<String> = peers.iter().map(cilium_peer).collect();
            format!("{peer_key}: [{}]", items.join(", "))
        }
        None => all.to_string(),
    };
    let ports = rule
        .ports
        .as_ref()
        .map(|ports| format!(", toPorts: [{{ports: {}}}]", ports_yaml(ports, true)))
        .unwrap_or_default();
    let mut body = format!("  {deny_key}:\n  - {{{peers}{ports}}}\n");
    if icmp {
        body.push_str(&format!(
            "  {allow_key}:\n  - {{{peers}, icmps: [{{fields: [{{type: EchoRequest}}]}}]}}\n"
        ));
    }
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: extra, namespace: ns{}}}\nspec:\n  endpointSelector: {}\n{body}---\n",
        p.ns % n,
        match_labels(&p.selector)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// The Cilium map (every pair, TCP/UDP ports and ICMP types) equals the naive Cilium
    /// reference evaluator's verdicts, with random allow rules, a deny rule and ICMP rules.
    #[test]
    fn the_cilium_map_agrees_with_the_naive_cilium_reference(
        spec in arb_spec(),
        deny in arb_rule(),
        egress in any::<bool>(),
        icmp in any::<bool>(),
    ) {
        use netfence_model::{PortSet, Protocol};
        let yaml = format!(
            "{}{}{}",
            inventory(&spec),
            as_cilium(&spec),
            cilium_extras(&spec, &deny, egress, icmp)
        );
        let probes = [
            (Protocol::Tcp, 53),
            (Protocol::Tcp, 80),
            (Protocol::Tcp, 443),
            (Protocol::Tcp, 8080),
            (Protocol::Udp, 53),
            (Protocol::Udp, 80),
            (Protocol::Icmp, PortSet::icmp_probe(8)),
            (Protocol::Icmp, PortSet::icmp_probe(0)),
            (Protocol::IcmpV6, PortSet::icmp_probe(128)),
        ];
        map_against_reference(&yaml, Profile::Cilium, &probes, netfence_engine::reference::cilium_allowed)?;
    }
}

/// A tier `security` (order 100, default action Deny or Pass) holding a GlobalNetworkPolicy for
/// policy 0's subject: `rule` with `action`, and an allow of ICMP echo.
fn calico_extras(
    spec: &Spec,
    rule: &Rule,
    egress: bool,
    action: &str,
    pass: bool,
    icmp: bool,
) -> String {
    let (types, key, side) = if egress {
        ("Egress", "egress", "destination")
    } else {
        ("Ingress", "ingress", "source")
    };
    let mut peer = match rule.peers.as_ref().and_then(|p| p.first()) {
        Some(Peer::Pods(s)) => vec![format!("selector: \"{}\"", calico_selector(s))],
        Some(Peer::Namespaces(ns, pods)) => vec![format!(
            "namespaceSelector: \"{}\", selector: \"{}\"",
            calico_selector(ns),
            calico_selector(pods.as_ref().unwrap_or(&Vec::new()))
        )],
        None => Vec::new(),
    };
    let (proto, ports) = match rule.ports.as_ref().and_then(|p| p.first()) {
        Some((port, udp)) => (Some(if *udp { "UDP" } else { "TCP" }), vec![*port]),
        None => (None, Vec::new()),
    };
    let mut fields = vec![format!("action: {action}")];
    if let Some(pr) = proto {
        fields.push(format!("protocol: {pr}"));
    }
    let entity = |extra: Option<String>| -> Vec<String> {
        let mut v = peer.clone();
        v.extend(extra);
        v
    };
    let port_field = (!ports.is_empty()).then(|| format!("ports: [{}]", ports[0]));
    let (src, dst) = if side == "source" {
        (entity(None), port_field.into_iter().collect::<Vec<_>>())
    } else {
        (Vec::new(), entity(port_field))
    };
    if !src.is_empty() {
        fields.push(format!("source: {{{}}}", src.join(", ")));
    }
    if !dst.is_empty() {
        fields.push(format!("destination: {{{}}}", dst.join(", ")));
    }
    let mut rules = format!("  - {{{}}}\n", fields.join(", "));
    if icmp {
        peer.truncate(1);
        let at = if side == "source" {
            format!(", source: {{{}}}", peer.join(", "))
        } else {
            format!(", destination: {{{}}}", peer.join(", "))
        };
        let at = if peer.is_empty() { String::new() } else { at };
        rules.push_str(&format!(
            "  - {{action: Allow, protocol: ICMP, icmp: {{type: 8}}{at}}}\n"
        ));
    }
    let p = &spec.policies[0];
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: security}}\nspec: {{order: 100, defaultAction: {}}}\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: security.extra}}\nspec:\n  tier: security\n  selector: \"{}\"\n  types: [{types}]\n  {key}:\n{rules}---\n",
        if pass { "Pass" } else { "Deny" },
        calico_selector(&p.selector)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// The Calico map (every pair, TCP/UDP ports and ICMP types) equals the naive Calico
    /// reference evaluator's verdicts: Calico policies in the default tier, and a tier before it
    /// with an Allow, Deny or Pass rule, an ICMP rule, and a Deny or Pass default action.
    #[test]
    fn the_calico_map_agrees_with_the_naive_calico_reference(
        spec in arb_spec(),
        extra in arb_rule(),
        egress in any::<bool>(),
        action in prop::sample::select(vec!["Allow", "Deny", "Pass"]),
        pass in any::<bool>(),
        icmp in any::<bool>(),
    ) {
        use netfence_model::{PortSet, Protocol};
        let yaml = format!(
            "{}{}{}",
            inventory(&spec),
            as_calico(&spec),
            calico_extras(&spec, &extra, egress, action, pass, icmp)
        );
        let probes = [
            (Protocol::Tcp, 53),
            (Protocol::Tcp, 80),
            (Protocol::Tcp, 443),
            (Protocol::Udp, 53),
            (Protocol::Udp, 443),
            (Protocol::Icmp, PortSet::icmp_probe(8)),
            (Protocol::Icmp, PortSet::icmp_probe(0)),
            (Protocol::IcmpV6, PortSet::icmp_probe(128)),
        ];
        map_against_reference(&yaml, Profile::Calico, &probes, netfence_engine::reference::calico_allowed)?;
    }
}
