//! Test vectors CA1–CA22 of `docs/semantics.md` §3.10 (Calico), written from the specification:
//! pods `a/web{app=web}` (port 8080), `a/cli{app=cli}` (service account `cli-sa`),
//! `b/cli{app=cli}` (IP 10.244.3.3); namespace `b{team=y}`; external 1.1.1.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_engine::eval::{Evaluator, Peer};
use netfence_engine::Profile;
use netfence_model::{Cluster, IpSet, Protocol};

const PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: 'y'}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cli, namespace: a, labels: {app: cli}}
spec: {serviceAccountName: cli-sa, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cli, namespace: b, labels: {app: cli}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.244.3.3}
"#;

fn load(policies: &str) -> netfence_load::Loaded {
    netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{policies}"),
    }])
}

fn cluster(policies: &str) -> Cluster {
    let l = load(policies);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    l.cluster
}

/// `src -> dst:port/TCP` under the calico profile; `src` is a pod or an IPv4 address.
fn allowed(policies: &str, src: &str, dst: &str, port: u16) -> bool {
    let c = cluster(policies);
    let ev = Evaluator::new(&c, Profile::Calico);
    let d = Peer::Endpoint(&c.endpoints[c.find_endpoint(dst)[0]]);
    match src.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            let r = IpSet::from_ip(ip).ranges()[0];
            ev.pair_allowed(Peer::Ip(&r), d)
                .contains(Protocol::Tcp, port)
        }
        Err(_) => {
            let s = Peer::Endpoint(&c.endpoints[c.find_endpoint(src)[0]]);
            ev.pair_allowed(s, d).contains(Protocol::Tcp, port)
        }
    }
}

fn np(name: &str, extra: &str, rules: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: a}}\nspec:\n  selector: app == 'web'\n{extra}{rules}\n")
}

fn gnp(name: &str, extra: &str, rules: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  selector: app == 'web'\n{extra}{rules}\n")
}

const K8S_ALLOW_CLI: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: knp, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: cli}}}]\n";
const K8S_ALLOW_ALL: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: knp, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - {}\n";
const SEC_TIER: &str =
    "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: sec}\nspec: {order: 100}\n";

#[test]
fn ca1_no_policy_is_the_profile_allow() {
    assert!(allowed("", "b/cli", "a/web", 8080));
}

#[test]
fn ca2_ca4_selector_scope() {
    let ca2 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {selector: app == 'cli'}",
    );
    assert!(!allowed(&ca2, "b/cli", "a/web", 8080), "CA2");
    assert!(allowed(&ca2, "a/cli", "a/web", 8080));
    let ca3 = np("p", "", "  ingress:\n  - action: Allow\n    source: {selector: app == 'cli', namespaceSelector: team == 'y'}");
    assert!(allowed(&ca3, "b/cli", "a/web", 8080), "CA3");
    let ca4 = gnp(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {selector: app == 'cli'}",
    );
    assert!(allowed(&ca4, "b/cli", "a/web", 8080), "CA4");
}

#[test]
fn ca5_ca8_tiers() {
    let ca5 = format!(
        "{SEC_TIER}---\n{}---\n{K8S_ALLOW_ALL}",
        gnp(
            "deny-cli",
            "  tier: sec\n",
            "  ingress:\n  - action: Deny\n    source: {selector: app == 'cli'}"
        )
    );
    assert!(!allowed(&ca5, "a/cli", "a/web", 8080), "CA5");
    let ca6 = format!(
        "{SEC_TIER}---\n{}---\n{K8S_ALLOW_CLI}",
        gnp("pass", "  tier: sec\n", "  ingress:\n  - action: Pass")
    );
    assert!(allowed(&ca6, "a/cli", "a/web", 8080), "CA6");
    let ca7 = format!(
        "{SEC_TIER}---\n{}",
        gnp(
            "only-x",
            "  tier: sec\n",
            "  ingress:\n  - action: Allow\n    source: {selector: app == 'x'}"
        )
    );
    assert!(!allowed(&ca7, "a/cli", "a/web", 8080), "CA7");
    let ca8 = ca7.replace(
        "spec: {order: 100}",
        "spec: {order: 100, defaultAction: Pass}",
    );
    assert!(allowed(&ca8, "a/cli", "a/web", 8080), "CA8");
}

#[test]
fn ca9_ca11_first_terminal_match_and_order() {
    let ca9 = np(
        "p",
        "",
        "  ingress:\n  - action: Log\n  - action: Deny\n    protocol: TCP\n  - action: Allow",
    );
    assert!(!allowed(&ca9, "a/cli", "a/web", 8080), "CA9");
    let ca10 = format!(
        "{}---\n{}",
        np(
            "deny",
            "  order: 10\n",
            "  ingress:\n  - action: Deny\n    source: {selector: app == 'cli'}"
        ),
        np(
            "allow",
            "  order: 5\n",
            "  ingress:\n  - action: Allow\n    source: {selector: app == 'cli'}"
        )
    );
    assert!(allowed(&ca10, "a/cli", "a/web", 8080), "CA10");
    let ca11 = format!(
        "{}---\n{K8S_ALLOW_CLI}",
        np(
            "deny",
            "",
            "  ingress:\n  - action: Deny\n    source: {selector: app == 'cli'}"
        )
    );
    assert!(allowed(&ca11, "a/cli", "a/web", 8080), "CA11");
}

#[test]
fn ca12_ca13_egress_only_types() {
    let p = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  selector: app == 'cli'\n  egress:\n  - action: Allow\n    protocol: UDP\n    destination: {ports: [53]}\n";
    let c = cluster(p);
    let ev = Evaluator::new(&c, Profile::Calico);
    let web = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/web")[0]]);
    let cli = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/cli")[0]]);
    assert!(
        ev.pair_allowed(web, cli).contains(Protocol::Tcp, 80),
        "CA12"
    );
    assert!(
        !ev.pair_allowed(cli, web).contains(Protocol::Tcp, 8080),
        "CA13"
    );
}

#[test]
fn ca14_ca17_nets_and_not_selector() {
    let ca14 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {nets: [10.244.0.0/16]}",
    );
    assert!(allowed(&ca14, "b/cli", "a/web", 8080), "CA14");
    let ca15 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {selector: all()}",
    );
    assert!(!allowed(&ca15, "1.1.1.1", "a/web", 8080), "CA15");
    let ca16 = gnp(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {notSelector: app == 'cli'}",
    );
    assert!(allowed(&ca16, "1.1.1.1", "a/web", 8080), "CA16");
    assert!(!allowed(&ca16, "a/cli", "a/web", 8080));
    let ca17 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {notSelector: app == 'cli'}",
    );
    assert!(!allowed(&ca17, "1.1.1.1", "a/web", 8080), "CA17");
}

#[test]
fn ca18_ca21_ports_service_accounts_global() {
    let ca18 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    protocol: TCP\n    destination: {ports: ['8000:8100']}",
    );
    assert!(allowed(&ca18, "a/cli", "a/web", 8080), "CA18");
    let ca19 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    destination: {ports: [8080]}",
    );
    let l = load(&ca19);
    assert_eq!(l.errors.len(), 1, "CA19 is invalid");
    assert_eq!(
        l.errors[0].field.as_deref(),
        Some("spec.ingress[0].protocol")
    );
    let ca20 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {serviceAccounts: {names: [cli-sa]}}",
    );
    assert!(allowed(&ca20, "a/cli", "a/web", 8080), "CA20");
    assert!(!allowed(&ca20, "b/cli", "a/web", 8080));
    let ca21 = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {namespaceSelector: global()}",
    );
    assert!(!allowed(&ca21, "a/cli", "a/web", 8080), "CA21");
}

#[test]
fn ca22_http_match_without_alp_is_reported_as_l4_only() {
    let p = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    http: {methods: [GET], paths: [{prefix: /api}]}",
    );
    let c = cluster(&p);
    let ev = Evaluator::new(&c, Profile::Calico);
    let web = &c.endpoints[c.find_endpoint("a/web")[0]];
    let cli = &c.endpoints[c.find_endpoint("a/cli")[0]];
    let (ok, steps) = ev.explain(
        web,
        Peer::Endpoint(cli),
        netfence_engine::Direction::Ingress,
        Protocol::Tcp,
        8080,
    );
    assert!(ok, "IMPL: without ALP Calico enforces the L3/L4 part");
    assert!(
        steps
            .last()
            .unwrap()
            .detail
            .contains("application layer policy"),
        "{steps:?}"
    );
}

#[test]
fn a_named_port_without_protocol_is_the_pods_port_of_that_name() {
    // Calico's validator needs a protocol for numeric ports only; `http` is TCP 8080 on a/web
    let p = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    source: {selector: app == 'cli'}\n    destination: {ports: [http]}",
    );
    let c = cluster(&p);
    let ev = Evaluator::new(&c, Profile::Calico);
    let web = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/web")[0]]);
    let cli = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/cli")[0]]);
    let conn = ev.pair_allowed(cli, web);
    assert!(conn.contains(Protocol::Tcp, 8080));
    assert!(!conn.contains(Protocol::Udp, 8080));
    assert!(!conn.contains(Protocol::Tcp, 8081));
}

#[test]
fn the_map_tells_service_accounts_apart_as_query_does() {
    // two pods with the same labels and service accounts `good` and `bad`
    let pods = "apiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: a, labels: {app: client}}\nspec: {serviceAccountName: good, containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: a, labels: {app: client}}\nspec: {serviceAccountName: bad, containers: [{name: c, image: x}]}\n---\n";
    let p = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    protocol: TCP\n    source: {serviceAccounts: {names: [good]}}",
    );
    map_and_query_agree(
        &cluster(&format!("{pods}{p}")),
        &[("a/good", true), ("a/bad", false)],
    );
}

/// What `a/cli` may open to `ip` on TCP `port` under the calico profile, in the query's answer
/// and in the map (which must agree).
fn egress_to_ip(policies: &str, ip: &str, port: u16) -> bool {
    let c = cluster(policies);
    let ev = Evaluator::new(&c, Profile::Calico);
    let cli = c.find_endpoint("a/cli")[0];
    let ip: std::net::IpAddr = ip.parse().unwrap();
    let r = IpSet::from_ip(ip).ranges()[0];
    let query = ev
        .pair_allowed(Peer::Endpoint(&c.endpoints[cli]), Peer::Ip(&r))
        .contains(Protocol::Tcp, port);
    let map = netfence_engine::connectivity::compute(&c, Profile::Calico);
    let edge = map.edges().any(|e| {
        e.src == netfence_engine::connectivity::Node::Endpoint(cli)
            && matches!(e.dst, netfence_engine::connectivity::Node::External(x) if x.to_set().contains(ip))
            && e.conn.contains(Protocol::Tcp, port)
    });
    assert_eq!(
        query, edge,
        "map and query disagree on a/cli -> {ip}:{port}"
    );
    query
}

#[test]
fn network_sets_give_addresses_labels_that_selectors_match() {
    // Calico's documented pattern: a GlobalNetworkSet labelled role=external-database and a
    // GlobalNetworkPolicy allowing egress to `selector: role == 'external-database'`
    let gns = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: ext-db, labels: {role: external-database}}\nspec: {nets: [198.51.100.0/28]}\n---\n";
    let egress = "  types: [Egress]\n  egress:\n  - action: Allow\n    protocol: TCP\n    destination: {selector: role == 'external-database', ports: [5432]}\n";
    let gnp = format!("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: db}}\nspec:\n  selector: app == 'cli'\n{egress}");
    let with_set = format!("{gns}{gnp}");
    assert!(
        egress_to_ip(&with_set, "198.51.100.5", 5432),
        "inside the set"
    );
    assert!(
        !egress_to_ip(&with_set, "198.51.100.20", 5432),
        "outside the set"
    );
    assert!(
        !egress_to_ip(&with_set, "198.51.100.5", 5433),
        "another port"
    );
    assert!(
        !egress_to_ip(&gnp, "198.51.100.5", 5432),
        "no set: the selector names no address"
    );
    // a namespaced NetworkSet is seen by a NetworkPolicy of its namespace only
    let ns_set = "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: ext-db, namespace: a, labels: {role: external-database}}\nspec: {nets: [198.51.100.0/28]}\n---\n";
    let np_in = |ns: &str| {
        format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: db, namespace: {ns}}}\nspec:\n  selector: app == 'cli'\n{egress}")
    };
    assert!(egress_to_ip(
        &format!("{ns_set}{}", np_in("a")),
        "198.51.100.5",
        5432
    ));
    assert!(
        !egress_to_ip(&format!("{gns}{}", np_in("a")), "198.51.100.5", 5432),
        "a global set needs namespaceSelector: global()"
    );
    let global_sel = np_in("a").replace(
        "destination: {selector:",
        "destination: {namespaceSelector: global(), selector:",
    );
    assert!(egress_to_ip(
        &format!("{gns}{global_sel}"),
        "198.51.100.5",
        5432
    ));
}

#[test]
fn the_map_tells_host_network_pods_apart_by_their_node_address() {
    // two host-network pods with the same labels on two nodes: Calico sees each as its node's
    // address, and a rule admitting one node's address admits one of them only
    let pods = "apiVersion: v1\nkind: Pod\nmetadata: {name: agent-1, namespace: a, labels: {app: agent}}\nspec: {hostNetwork: true, containers: [{name: c, image: x}]}\nstatus: {hostIP: 192.168.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent-2, namespace: a, labels: {app: agent}}\nspec: {hostNetwork: true, containers: [{name: c, image: x}]}\nstatus: {hostIP: 192.168.0.2}\n---\n";
    let p = np(
        "p",
        "",
        "  ingress:\n  - action: Allow\n    protocol: TCP\n    source: {nets: [192.168.0.1/32]}",
    );
    map_and_query_agree(
        &cluster(&format!("{pods}{p}")),
        &[("a/agent-1", true), ("a/agent-2", false)],
    );
}

/// `query` and the map agree, and say `want`, for each source's TCP 8080 to `a/web`.
fn map_and_query_agree(c: &Cluster, want: &[(&str, bool)]) {
    let ev = Evaluator::new(c, Profile::Calico);
    let map = netfence_engine::connectivity::compute(c, Profile::Calico);
    let web = c.find_endpoint("a/web")[0];
    for &(name, want) in want {
        let src = c.find_endpoint(name)[0];
        let query = ev
            .pair_allowed(
                Peer::Endpoint(&c.endpoints[src]),
                Peer::Endpoint(&c.endpoints[web]),
            )
            .contains(Protocol::Tcp, 8080);
        let edge = map
            .edges()
            .find(|e| {
                e.src == netfence_engine::connectivity::Node::Endpoint(src)
                    && e.dst == netfence_engine::connectivity::Node::Endpoint(web)
            })
            .is_some_and(|e| e.conn.contains(Protocol::Tcp, 8080));
        assert_eq!(query, want, "{name}");
        assert_eq!(edge, want, "the map: {name}");
    }
}

/// Calico's `protocol: ICMP` with `icmp`/`notICMP` types: a protocol of its own in the one-flow
/// answer and the map; a code is read as every code of its type, with a warning; an ICMP match
/// without the ICMP protocol is refused as the API server refuses it.
#[test]
fn icmp_rules_match_their_types() {
    use netfence_model::PortSet;
    let echo = np(
        "ping",
        "",
        "  ingress:\n  - action: Allow\n    protocol: ICMP\n    icmp: {type: 8}\n    source: {selector: app == 'cli'}",
    );
    let c = cluster(&echo);
    let ev = Evaluator::new(&c, Profile::Calico);
    let web = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/web")[0]]);
    let cli = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/cli")[0]]);
    let conn = ev.pair_allowed(cli, web);
    assert!(conn.contains(Protocol::Icmp, PortSet::icmp_probe(8)));
    assert!(!conn.contains(Protocol::Icmp, PortSet::icmp_probe(0)));
    assert!(!conn.contains(Protocol::IcmpV6, PortSet::icmp_probe(128)));
    assert!(!conn.contains(Protocol::Tcp, 8080));
    assert_eq!(conn.to_string(), "ICMP type 8");
    // notICMP: every ICMP type but echo replies
    let not_reply = np(
        "icmp",
        "",
        "  ingress:\n  - action: Allow\n    protocol: ICMP\n    notICMP: {type: 0}",
    );
    let c = cluster(&not_reply);
    let ev = Evaluator::new(&c, Profile::Calico);
    let web = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/web")[0]]);
    let cli = Peer::Endpoint(&c.endpoints[c.find_endpoint("a/cli")[0]]);
    assert_eq!(ev.pair_allowed(cli, web).to_string(), "ICMP type 1-255");
    // a code: read as the whole type, said
    let coded = np(
        "c",
        "",
        "  ingress:\n  - action: Allow\n    protocol: ICMP\n    icmp: {type: 3, code: 4}",
    );
    let l = load(&coded);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.to_string().contains("ICMP codes are not modelled")),
        "{:?}",
        l.warnings
    );
    // `icmp` without `protocol: ICMP`: refused
    let wrong = np(
        "w",
        "",
        "  ingress:\n  - action: Allow\n    protocol: TCP\n    icmp: {type: 8}",
    );
    let l = load(&wrong);
    assert!(
        l.errors
            .iter()
            .any(|e| e.to_string().contains("needs `protocol: ICMP`")),
        "{:?}",
        l.errors
    );
}
