//! Test vectors C1–C32 of `docs/semantics.md` §2.12 (Cilium), written from the specification:
//! pods `a/fe{role=frontend}`, `a/be{role=backend}` (port 80 named `http`), `b/fe{role=frontend}`,
//! external `1.1.1.1`, DNS cache `api.example.com -> 2.2.2.2`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use std::net::IpAddr;

use netfence_engine::cilium::CiliumOptions;
use netfence_engine::eval::{Evaluator, Peer};
use netfence_engine::verdict::Outcome;
use netfence_engine::{DataPath, Profile, Release};
use netfence_model::{Cluster, Entity, IpSet, L7Request, Protocol};

const PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: fe, namespace: a, labels: {role: frontend}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: be, namespace: a, labels: {role: backend}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.1.2.3}
---
apiVersion: v1
kind: Pod
metadata: {name: fe, namespace: b, labels: {role: frontend}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c, image: x}]}
"#;

fn cluster(policies: &str) -> Cluster {
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{policies}"),
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.cluster
}

fn cnp(name: &str, ns: &str, selector: &str, body: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  endpointSelector: {selector}\n{body}\n"
    )
}

const BE: &str = "{matchLabels: {role: backend}}";
const FE: &str = "{matchLabels: {role: frontend}}";

enum End {
    Pod(&'static str),
    Ip(&'static str),
    Entity(Entity),
    Fqdn(&'static str, &'static str),
}

struct Case<'a> {
    policies: &'a str,
    options: CiliumOptions,
    data_path: DataPath,
}

impl<'a> Case<'a> {
    fn new(policies: &'a str) -> Self {
        Self {
            policies,
            options: CiliumOptions::default(),
            data_path: DataPath::from(Profile::Cilium),
        }
    }

    /// The same case on Cilium 1.`minor`.
    fn on(mut self, minor: u16) -> Self {
        self.data_path = DataPath::new(Profile::Cilium, Some(Release::new(1, minor)));
        self
    }

    fn verdict(
        &self,
        src: End,
        dst: End,
        port: u16,
        proto: Protocol,
        req: Option<L7Request>,
    ) -> Outcome {
        let c = cluster(self.policies);
        let ev = Evaluator::new(&c, self.data_path).with_cilium(self.options.clone());
        let ranges: Vec<_> = [&src, &dst]
            .iter()
            .map(|e| match e {
                End::Ip(ip) => Some(IpSet::from_ip(ip.parse().unwrap()).ranges()[0]),
                _ => None,
            })
            .collect();
        let s = peer_static(&src, &ranges[0], &c);
        let d = peer_static(&dst, &ranges[1], &c);
        ev.flow(s, d, proto, port, req.as_ref()).outcome
    }
}

fn peer_static<'x>(e: &'x End, r: &'x Option<netfence_model::IpRange>, c: &'x Cluster) -> Peer<'x> {
    match e {
        End::Pod(p) => Peer::Endpoint(&c.endpoints[c.find_endpoint(p)[0]]),
        End::Ip(_) => Peer::Ip(r.as_ref().unwrap()),
        End::Entity(x) => Peer::Entity(*x),
        End::Fqdn(name, ip) => Peer::Fqdn {
            name,
            ip: Some(ip.parse::<IpAddr>().unwrap()),
        },
    }
}

use End::*;
use Outcome::{Allow, Deny, L7Deny};
const TCP: Protocol = Protocol::Tcp;

fn get(path: &str) -> Option<L7Request> {
    http("GET", path)
}

fn http(method: &str, path: &str) -> Option<L7Request> {
    Some(L7Request::Http {
        method: method.into(),
        path: path.into(),
        host: None,
        headers: Vec::new(),
    })
}

#[test]
fn c1_c2_endpoint_selectors_are_namespace_local_unless_they_name_one() {
    let p = cnp(
        "p",
        "a",
        BE,
        &format!("  ingress:\n  - fromEndpoints: [{FE}]"),
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C1"
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Allow
    );
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend, k8s:io.kubernetes.pod.namespace: b}}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, None),
        Allow,
        "C2"
    );
}

#[test]
fn c3_clusterwide_empty_selector_excludes_reserved_identities() {
    let p = format!(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: p}}\nspec:\n  endpointSelector: {BE}\n  ingress:\n  - fromEndpoints: [{{}}]\n"
    );
    let mut case = Case::new(&p);
    case.options.allow_localhost_policy = true;
    assert_eq!(
        case.verdict(Entity(Entity::Host), Pod("a/be"), 80, TCP, None),
        Deny,
        "C3"
    );
    assert_eq!(case.verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, None), Allow);
    // With allow-localhost=auto the host is always let in.
    assert_eq!(
        Case::new(&p).verdict(Entity(Entity::Host), Pod("a/be"), 80, TCP, None),
        Allow
    );
}

#[test]
fn c4_c6_entities() {
    let world = cnp("p", "a", BE, "  ingress:\n  - fromEntities: [world]");
    assert_eq!(
        Case::new(&world).verdict(Ip("1.1.1.1"), Pod("a/be"), 80, TCP, None),
        Allow,
        "C4"
    );
    assert_eq!(
        Case::new(&world).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C5"
    );
    let cluster = cnp("p", "a", BE, "  ingress:\n  - fromEntities: [cluster]");
    assert_eq!(
        Case::new(&cluster).verdict(Entity(Entity::RemoteNode), Pod("a/be"), 80, TCP, None),
        Allow,
        "C6"
    );
    assert_eq!(
        Case::new(&cluster).verdict(Ip("1.1.1.1"), Pod("a/be"), 80, TCP, None),
        Deny
    );
}

#[test]
fn c7_cidr_never_matches_pods() {
    let p = cnp("p", "a", FE, "  egress:\n  - toCIDR: [10.0.0.0/8]");
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C7"
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Ip("10.9.9.9"), 80, TCP, None),
        Allow
    );
}

#[test]
fn c8_c10_empty_lists_empty_rules_empty_sections() {
    let p = cnp("p", "a", BE, "  ingress:\n  - fromEntities: []");
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C8"
    );
    // the empty rule is Cilium's default-deny idiom (cilium-cli all-ingress-deny and
    // all-egress-deny: `endpointSelector: {}` with `- {}`, pod traffic dropped)
    let p = cnp("p", "a", BE, "  ingress:\n  - {}");
    for src in [Ip("1.1.1.1"), Pod("a/fe"), Pod("b/fe")] {
        assert_eq!(
            Case::new(&p).verdict(src, Pod("a/be"), 80, TCP, None),
            Deny,
            "C9"
        );
    }
    let p = cnp("p", "a", "{}", "  egress:\n  - {}");
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C9 egress"
    );
    // toPorts alone: every peer, on those ports only
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: TCP}]}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Ip("1.1.1.1"), Pod("a/be"), 80, TCP, None),
        Allow,
        "toPorts only"
    );
    assert_eq!(
        Case::new(&p).verdict(Ip("1.1.1.1"), Pod("a/be"), 81, TCP, None),
        Deny,
        "toPorts only, another port"
    );
    let p = cnp("p", "a", BE, "  ingress: []");
    assert_eq!(
        Case::new(&p).verdict(Ip("1.1.1.1"), Pod("a/be"), 80, TCP, None),
        Allow,
        "C10"
    );
}

#[test]
fn every_endpoint_carries_the_cluster_label() {
    // cilium-cli's allow-all-ingress: endpoints of cluster `default` (the agent's default name)
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: default}}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Allow
    );
    // a deny rule on it holds for every pod, not for none
    let p = format!(
        "{}---\n{}",
        cnp("allow", "a", BE, "  ingress:\n  - fromEntities: [all]"),
        cnp(
            "deny",
            "a",
            BE,
            "  ingressDeny:\n  - fromEndpoints: [{matchLabels: {k8s:io.cilium.k8s.policy.cluster: default, io.kubernetes.pod.namespace: b}}]"
        )
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, None),
        Deny
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Allow
    );
    // another cluster's name matches no local pod
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: east}}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny
    );
}

#[test]
fn a_rule_of_icmps_only_opens_no_port() {
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: 8, family: IPv4}]}]",
    );
    for proto in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
        assert_eq!(
            Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, proto, None),
            Deny
        );
    }
    // with toPorts too, those ports are allowed
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: 8}]}]\n    toPorts: [{ports: [{port: '80', protocol: TCP}]}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Allow
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 81, TCP, None),
        Deny
    );
}

/// `icmps` allows those ICMP types (numbers or Cilium's names, IPv4 by default); a rule
/// without L4 allows every ICMP type; `toPorts` alone allows no ICMP.
#[test]
fn icmp_types_are_a_protocol_of_their_own() {
    use netfence_model::PortSet;
    let ping = |t: u8| PortSet::icmp_probe(t);
    for ty in ["8", "EchoRequest"] {
        let p = cnp(
            "p",
            "a",
            BE,
            &format!("  ingress:\n  - fromEndpoints: [{{matchLabels: {{role: frontend}}}}]\n    icmps: [{{fields: [{{type: {ty}, family: IPv4}}]}}]"),
        );
        let case = Case::new(&p);
        assert_eq!(
            case.verdict(Pod("a/fe"), Pod("a/be"), ping(8), Protocol::Icmp, None),
            Allow,
            "{ty}"
        );
        assert_eq!(
            case.verdict(Pod("a/fe"), Pod("a/be"), ping(0), Protocol::Icmp, None),
            Deny
        );
        assert_eq!(
            case.verdict(Pod("a/fe"), Pod("a/be"), ping(128), Protocol::IcmpV6, None),
            Deny
        );
        assert_eq!(
            case.verdict(Pod("b/fe"), Pod("a/be"), ping(8), Protocol::Icmp, None),
            Deny
        );
        // the map says which type
        let c = cluster(&p);
        let map = netfence_engine::connectivity::compute(&c, Profile::Cilium);
        let fe = c.find_endpoint("a/fe")[0];
        let be = c.find_endpoint("a/be")[0];
        let edge = map
            .edges()
            .find(|e| {
                e.src == netfence_engine::connectivity::Node::Endpoint(fe)
                    && e.dst == netfence_engine::connectivity::Node::Endpoint(be)
            })
            .map(|e| e.conn.to_string());
        assert_eq!(edge.as_deref(), Some("ICMP type 8"));
    }
    // no L4 part: every ICMP type of both families; toPorts only: none
    let all = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]",
    );
    assert_eq!(
        Case::new(&all).verdict(Pod("a/fe"), Pod("a/be"), ping(0), Protocol::Icmp, None),
        Allow
    );
    assert_eq!(
        Case::new(&all).verdict(Pod("a/fe"), Pod("a/be"), ping(129), Protocol::IcmpV6, None),
        Allow
    );
    let tcp = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: '80', protocol: ANY}]}]",
    );
    assert_eq!(
        Case::new(&tcp).verdict(Pod("a/fe"), Pod("a/be"), ping(8), Protocol::Icmp, None),
        Deny
    );
    // a deny of ICMP echo wins over an allow of everything
    let deny = format!(
        "{all}---\n{}",
        cnp("d", "a", BE, "  ingressDeny:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: EchoRequest}]}]")
    );
    assert_eq!(
        Case::new(&deny).verdict(Pod("a/fe"), Pod("a/be"), ping(8), Protocol::Icmp, None),
        Deny
    );
    assert_eq!(
        Case::new(&deny).verdict(Pod("a/fe"), Pod("a/be"), ping(0), Protocol::Icmp, None),
        Allow
    );
    assert_eq!(
        Case::new(&deny).verdict(Pod("a/fe"), Pod("a/be"), 80, Protocol::Tcp, None),
        Allow
    );
}

#[test]
fn l7_rules_on_a_port_range() {
    // valid since Cilium 1.17 (cilium-cli runs such tests)
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    toPorts: [{ports: [{port: '80', endPort: 90, protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 85, TCP, get("/public")),
        Allow
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 85, TCP, http("POST", "/public")),
        L7Deny
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 91, TCP, get("/public")),
        Deny
    );
}

#[test]
fn cidr_groups_are_labelled_sets_of_cidrs() {
    // cilium-cli's client-egress-to-cidrgroup tests: `toCIDRSet: [{cidrGroupRef: ...}]`
    let group = "apiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\nmetadata: {name: ext, labels: {team: net}}\nspec:\n  externalCIDRs: [192.0.2.0/24]\n---\n";
    let by = |peer: &str| {
        format!(
            "{group}{}",
            cnp("p", "a", FE, &format!("  egress:\n  - toCIDRSet: [{peer}]"))
        )
    };
    let named = by("{cidrGroupRef: ext, except: [192.0.2.128/25]}");
    assert_eq!(
        Case::new(&named).verdict(Pod("a/fe"), Ip("192.0.2.1"), 443, TCP, None),
        Allow
    );
    assert_eq!(
        Case::new(&named).verdict(Pod("a/fe"), Ip("192.0.2.200"), 443, TCP, None),
        Deny,
        "except"
    );
    assert_eq!(
        Case::new(&named).verdict(Pod("a/fe"), Ip("198.51.100.1"), 443, TCP, None),
        Deny
    );
    let selected = by("{cidrGroupSelector: {matchLabels: {team: net}}}");
    assert_eq!(
        Case::new(&selected).verdict(Pod("a/fe"), Ip("192.0.2.200"), 443, TCP, None),
        Allow
    );
    let other = by("{cidrGroupSelector: {matchLabels: {team: other}}}");
    assert_eq!(
        Case::new(&other).verdict(Pod("a/fe"), Ip("192.0.2.1"), 443, TCP, None),
        Deny
    );
    // a group not in the input: the rule matches nothing, and the load says so
    let missing = cnp(
        "p",
        "a",
        FE,
        "  egress:\n  - toCIDRSet: [{cidrGroupRef: nowhere}]",
    );
    assert_eq!(
        Case::new(&missing).verdict(Pod("a/fe"), Ip("192.0.2.1"), 443, TCP, None),
        Deny
    );
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{missing}"),
    }]);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("CiliumCIDRGroup `nowhere`")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn header_matches_refuse_a_mismatch_unless_an_action_rewrites_it() {
    let rule = |matches: &str| {
        cnp(
            "p",
            "a",
            BE,
            &format!("  ingress:\n  - fromEndpoints: [{FE}]\n    toPorts: [{{ports: [{{port: '80', protocol: TCP}}], rules: {{http: [{{method: GET, headerMatches: [{matches}]}}]}}}}]"),
        )
    };
    let with = |v: &str| {
        Some(L7Request::Http {
            method: "GET".into(),
            path: "/".into(),
            host: None,
            headers: vec![("X-Token".into(), v.into())],
        })
    };
    let strict = rule("{name: x-token, value: s3cret}");
    assert_eq!(
        Case::new(&strict).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, with("s3cret")),
        Allow
    );
    assert_eq!(
        Case::new(&strict).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, with("guess")),
        L7Deny
    );
    assert_eq!(
        Case::new(&strict).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, get("/")),
        L7Deny
    );
    // with a mismatch action the proxy rewrites (or logs) the header and lets the request pass
    let lenient = rule("{name: x-token, value: s3cret, mismatch: REPLACE}");
    assert_eq!(
        Case::new(&lenient).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, with("guess")),
        Allow
    );
    // a value from a Secret cannot be known offline: refused, not guessed
    let secret = rule("{name: x-token, secret: {namespace: a, name: token}}");
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{secret}"),
    }]);
    assert!(
        loaded.errors.iter().any(|e| e
            .field
            .as_deref()
            .is_some_and(|f| f.ends_with("headerMatches[0].secret"))),
        "{:?}",
        loaded.errors
    );
}

#[test]
fn server_names_admit_tls_connections_presenting_them() {
    let p = cnp(
        "p",
        "a",
        FE,
        "  egress:\n  - toCIDRSet: [{cidr: 2.2.2.0/24}]\n    toPorts: [{ports: [{port: '443', protocol: TCP}], serverNames: [api.example.com]}]",
    );
    let sni = |n: &str| Some(L7Request::Tls { sni: n.into() });
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Ip("2.2.2.2"), 443, TCP, sni("api.example.com")),
        Allow
    );
    assert_eq!(
        Case::new(&p).verdict(
            Pod("a/fe"),
            Ip("2.2.2.2"),
            443,
            TCP,
            sni("API.example.com.")
        ),
        Allow
    );
    assert_eq!(
        Case::new(&p).verdict(
            Pod("a/fe"),
            Ip("2.2.2.2"),
            443,
            TCP,
            sni("evil.example.com")
        ),
        L7Deny
    );
    // an HTTP request is not a TLS handshake with a listed name
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Ip("2.2.2.2"), 443, TCP, get("/")),
        L7Deny
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Ip("2.2.2.2"), 80, TCP, None),
        Deny
    );
    // a DNS name destination presents its own name
    let fqdn = cnp(
        "p",
        "a",
        FE,
        "  egress:\n  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]\n    toPorts: [{ports: [{port: '53', protocol: ANY}], rules: {dns: [{matchPattern: '*'}]}}]\n  - toFQDNs: [{matchPattern: '*.example.com'}]\n    toPorts: [{ports: [{port: '443', protocol: TCP}], serverNames: [api.example.com]}]",
    );
    let mut case = Case::new(&fqdn);
    case.options
        .dns_cache
        .insert("2.2.2.2".parse().unwrap(), vec!["api.example.com".into()]);
    assert_eq!(
        case.verdict(
            Pod("a/fe"),
            Fqdn("api.example.com", "2.2.2.2"),
            443,
            TCP,
            None
        ),
        Allow
    );
    case.options
        .dns_cache
        .insert("2.2.2.3".parse().unwrap(), vec!["www.example.com".into()]);
    assert_eq!(
        case.verdict(
            Pod("a/fe"),
            Fqdn("www.example.com", "2.2.2.3"),
            443,
            TCP,
            None
        ),
        L7Deny
    );
}

#[test]
fn c11_c12_enable_default_deny() {
    let c11 = cnp(
        "p",
        "a",
        BE,
        &format!("  enableDefaultDeny: {{ingress: false}}\n  ingress:\n  - fromEndpoints: [{FE}]"),
    );
    assert_eq!(
        Case::new(&c11).verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, None),
        Allow,
        "C11"
    );
    let c12 = format!(
        "{c11}---\n{}",
        cnp("q", "a", BE, "  ingress:\n  - fromEntities: [world]")
    );
    assert_eq!(
        Case::new(&c12).verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C12"
    );
}

fn c13() -> String {
    cnp(
        "l7",
        "a",
        BE,
        &format!("  ingress:\n  - fromEndpoints: [{FE}]\n    toPorts:\n    - ports: [{{port: '80'}}]\n      rules:\n        http: [{{method: GET, path: /public}}]"),
    )
}

#[test]
fn c13_c19_http_rules() {
    let p = c13();
    let case = Case::new(&p);
    assert_eq!(
        case.verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, get("/public")),
        Allow,
        "C13"
    );
    assert_eq!(
        case.verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, get("/public?x=1")),
        L7Deny,
        "C14"
    );
    assert_eq!(
        case.verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, get("/public/x")),
        L7Deny,
        "C15"
    );
    assert_eq!(
        case.verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, http("POST", "/public")),
        L7Deny,
        "C16"
    );
    assert_eq!(
        case.verdict(Pod("a/fe"), Pod("a/be"), 81, TCP, None),
        Deny,
        "C19"
    );
    let c17 = format!(
        "{p}---\n{}",
        cnp(
            "l4",
            "a",
            BE,
            &format!(
                "  ingress:\n  - fromEndpoints: [{FE}]\n    toPorts: [{{ports: [{{port: '80'}}]}}]"
            )
        )
    );
    assert_eq!(
        Case::new(&c17).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, http("POST", "/x")),
        Allow,
        "C17"
    );
    let c18 = format!("{p}---\n{}", cnp("l4", "a", BE, "  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend, k8s:io.kubernetes.pod.namespace: b}}]\n    toPorts: [{ports: [{port: '80'}]}]"));
    assert_eq!(
        Case::new(&c18).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, http("POST", "/x")),
        L7Deny,
        "C18"
    );
    assert_eq!(
        Case::new(&c18).verdict(Pod("b/fe"), Pod("a/be"), 80, TCP, http("POST", "/x")),
        Allow
    );
}

#[test]
fn c20_c22_deny_beats_every_allow() {
    let p = cnp(
        "p",
        "a",
        BE,
        &format!("  ingress:\n  - fromEntities: [all]\n  ingressDeny:\n  - fromEndpoints: [{FE}]\n    toPorts: [{{ports: [{{port: '80'}}]}}]"),
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C20"
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 81, TCP, None),
        Allow,
        "C21"
    );
    let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: a}\nspec:\n  podSelector: {matchLabels: {role: backend}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {role: frontend}}}]\n";
    let c22 = format!(
        "{np}---\n{}",
        cnp(
            "d",
            "a",
            BE,
            &format!("  ingressDeny:\n  - fromEndpoints: [{FE}]")
        )
    );
    assert_eq!(
        Case::new(&c22).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Deny,
        "C22"
    );
    assert_eq!(
        Case::new(np).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Allow
    );
}

fn fqdn_policy(pattern: &str, with_dns: bool) -> String {
    let dns = if with_dns {
        "  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]\n    toPorts:\n    - ports: [{port: '53', protocol: ANY}]\n      rules:\n        dns: [{matchPattern: '*'}]\n"
    } else {
        ""
    };
    cnp(
        "p",
        "a",
        FE,
        &format!("  egress:\n{dns}  - toFQDNs: [{pattern}]"),
    )
}

#[test]
fn c23_c26_fqdn() {
    let to = || Fqdn("api.example.com", "2.2.2.2");
    let p = fqdn_policy("{matchPattern: '*.example.com'}", true);
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), to(), 443, TCP, None),
        Allow,
        "C23"
    );
    let p = fqdn_policy("{matchPattern: '*.com'}", true);
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), to(), 443, TCP, None),
        Deny,
        "C24"
    );
    let p = fqdn_policy("{matchPattern: '**.com'}", true);
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), to(), 443, TCP, None),
        Allow,
        "C25"
    );
    let mut old = Case::new(&p);
    old.options.fqdn_multilabel = false;
    assert_eq!(
        old.verdict(Pod("a/fe"), to(), 443, TCP, None),
        Deny,
        "C25 older agents"
    );
    let p = fqdn_policy("{matchName: api.example.com}", false);
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), to(), 443, TCP, None),
        Deny,
        "C26"
    );
    assert_eq!(
        Case::new(&p).verdict(
            Pod("a/fe"),
            Pod("kube-system/coredns"),
            53,
            Protocol::Udp,
            None
        ),
        Deny,
        "C26: DNS itself is denied"
    );
    // The DNS cache maps a bare address to its name.
    let p = fqdn_policy("{matchPattern: '*.example.com'}", true);
    let mut cached = Case::new(&p);
    cached
        .options
        .dns_cache
        .insert("2.2.2.2".parse().unwrap(), vec!["api.example.com".into()]);
    assert_eq!(
        cached.verdict(Pod("a/fe"), Ip("2.2.2.2"), 443, TCP, None),
        Allow
    );
    assert_eq!(
        cached.verdict(Pod("a/fe"), Ip("3.3.3.3"), 443, TCP, None),
        Deny
    );
}

fn kafka(key: &str, topics: &[&str]) -> Option<L7Request> {
    Some(L7Request::Kafka {
        api_key: key.into(),
        api_version: None,
        client_id: None,
        topics: topics.iter().map(|t| t.to_string()).collect(),
    })
}

#[test]
fn c27_c29_kafka() {
    let p = cnp(
        "k",
        "a",
        BE,
        &format!("  ingress:\n  - fromEndpoints: [{FE}]\n    toPorts:\n    - ports: [{{port: '9092', protocol: TCP}}]\n      rules:\n        kafka: [{{role: produce, topic: t1}}]"),
    );
    // Kafka rules are enforced up to 1.19 (1.20 removed them: see tests/data_path.rs)
    let case = Case::new(&p).on(19);
    let v = |req| case.verdict(Pod("a/fe"), Pod("a/be"), 9092, TCP, req);
    assert_eq!(v(kafka("produce", &["t1", "t2"])), L7Deny, "C27");
    assert_eq!(v(kafka("metadata", &["t1"])), Allow, "C28");
    assert_eq!(v(kafka("metadata", &["t2"])), L7Deny, "C28");
    assert_eq!(v(kafka("fetch", &["t1"])), L7Deny, "C29");
    assert_eq!(v(kafka("produce", &["t1"])), Allow);
}

#[test]
fn c30_c31_ports() {
    let p = cnp(
        "p",
        "a",
        BE,
        &format!(
            "  ingress:\n  - fromEndpoints: [{FE}]\n    toPorts: [{{ports: [{{port: http}}]}}]"
        ),
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 80, TCP, None),
        Allow,
        "C30"
    );
    let p = cnp(
        "p",
        "a",
        BE,
        "  ingress:\n  - toPorts: [{ports: [{port: '8000', endPort: 8100, protocol: TCP}]}]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 8080, Protocol::Udp, None),
        Deny,
        "C31"
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("a/be"), 8080, TCP, None),
        Allow
    );
}

#[test]
fn c32_endpoint_selector_namespace_is_forced() {
    let p = cnp(
        "p",
        "a",
        "{matchLabels: {k8s:io.kubernetes.pod.namespace: b}}",
        "  ingress:\n  - fromEntities: [world]",
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("a/fe"), Pod("b/fe"), 80, TCP, None),
        Allow,
        "C32"
    );
    assert_eq!(
        Case::new(&p).verdict(Pod("b/fe"), Pod("a/fe"), 80, TCP, None),
        Deny
    );
}
