//! Test vectors I1–I22 of `docs/semantics.md` §4.3 (Istio), written from the specification:
//! `foo/httpbin{app=httpbin}` (sidecar, port 8000), `bar/curl` (service account `curl`, sidecar,
//! mTLS), `legacy/curl` (no sidecar: plaintext); root namespace `istio-system`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_engine::eval::{Evaluator, Peer};
use netfence_engine::mesh::Traffic;
use netfence_engine::verdict::Outcome;
use netfence_engine::Profile;
use netfence_model::istio::MtlsMode;
use netfence_model::{Cluster, L7Request, Protocol};

const PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: bar, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin, namespace: foo, labels: {app: httpbin}}
spec: {serviceAccountName: httpbin, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8000}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: curl, namespace: bar, labels: {app: curl}}
spec: {serviceAccountName: curl, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: curl, namespace: legacy, labels: {app: curl}}
spec: {containers: [{name: c, image: x}]}
"#;

fn cluster(policies: &str) -> Cluster {
    let l = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{policies}"),
    }]);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    l.cluster
}

fn get(path: &str) -> L7Request {
    req("GET", path, None, &[])
}

fn req(method: &str, path: &str, host: Option<&str>, headers: &[(&str, &str)]) -> L7Request {
    L7Request::Http {
        method: method.into(),
        path: path.into(),
        host: host.map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// The mesh's verdict for `src -> foo/httpbin:port`.
fn mesh(policies: &str, src: &str, port: u16, traffic: Traffic<'_>) -> Outcome {
    let c = cluster(policies);
    let ev = Evaluator::new(&c, Profile::Generic);
    let dst = &c.endpoints[c.find_endpoint("foo/httpbin")[0]];
    let s = &c.endpoints[c.find_endpoint(src)[0]];
    ev.mesh_explain(dst, Peer::Endpoint(s), Protocol::Tcp, port, traffic)
        .0
}

fn ap(body: &str) -> String {
    format!("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: ap, namespace: foo}}\nspec:\n{body}\n")
}

fn pa(ns: &str, name: &str, body: &str) -> String {
    format!("apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{body}\n")
}

use Outcome::{Allow, Deny, L7Deny};

#[test]
fn i1_i5_empty_policies_and_rules() {
    let nothing = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: foo}\n";
    assert_eq!(
        mesh(nothing, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "I1"
    );
    assert_eq!(
        mesh(&ap("  {}"), "bar/curl", 8000, Traffic::Request(&get("/"))),
        L7Deny,
        "I2"
    );
    assert_eq!(
        mesh(
            &ap("  action: DENY"),
            "bar/curl",
            8000,
            Traffic::Request(&get("/"))
        ),
        Allow,
        "I3"
    );
    assert_eq!(
        mesh(
            &ap("  rules: [{}]"),
            "legacy/curl",
            8000,
            Traffic::Request(&get("/"))
        ),
        Allow,
        "I4"
    );
    let deny_all = ap("  action: DENY\n  rules: [{}]");
    assert_eq!(
        mesh(&deny_all, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Deny,
        "I5"
    );
    assert_eq!(
        mesh(&deny_all, "legacy/curl", 8000, Traffic::Tcp),
        Deny,
        "I5"
    );
}

#[test]
fn i6_i8_principals_and_strict() {
    let p = ap("  rules:\n  - from: [{source: {principals: [cluster.local/ns/bar/sa/curl]}}]");
    assert_eq!(
        mesh(&p, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "I6"
    );
    assert_eq!(
        mesh(&p, "legacy/curl", 8000, Traffic::Request(&get("/"))),
        L7Deny,
        "I7"
    );
    let strict = pa("foo", "default", "  mtls: {mode: STRICT}");
    assert_eq!(
        mesh(&strict, "legacy/curl", 8000, Traffic::Request(&get("/"))),
        Deny,
        "I8"
    );
    assert_eq!(
        mesh(&strict, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow
    );
}

#[test]
fn i9_i10_peer_authentication_resolution() {
    let p = [
        pa("istio-system", "mesh", "  mtls: {mode: STRICT}"),
        pa("foo", "ns", "  mtls: {mode: PERMISSIVE}"),
        pa("foo", "wl", "  selector: {matchLabels: {app: httpbin}}\n  mtls: {mode: UNSET}\n  portLevelMtls:\n    8000: {mode: DISABLE}"),
    ]
    .join("---\n");
    let c = cluster(&p);
    let ev = Evaluator::new(&c, Profile::Generic);
    let httpbin = &c.endpoints[c.find_endpoint("foo/httpbin")[0]];
    assert_eq!(ev.mtls_mode(httpbin, 8000).0, MtlsMode::Disable, "I9");
    assert_eq!(ev.mtls_mode(httpbin, 9000).0, MtlsMode::Permissive, "I9");
    let root_selector = pa(
        "istio-system",
        "sel",
        "  selector: {matchLabels: {app: httpbin}}\n  mtls: {mode: STRICT}",
    );
    assert_eq!(
        mesh(
            &root_selector,
            "legacy/curl",
            8000,
            Traffic::Request(&get("/"))
        ),
        Allow,
        "I10"
    );
}

#[test]
fn i11_i14_paths_and_hosts() {
    let prefix = ap("  rules:\n  - to: [{operation: {paths: ['/info*']}}]");
    assert_eq!(
        mesh(
            &prefix,
            "bar/curl",
            8000,
            Traffic::Request(&get("/info/x?y=1"))
        ),
        Allow,
        "I11"
    );
    let exact = ap("  rules:\n  - to: [{operation: {paths: ['/info']}}]");
    assert_eq!(
        mesh(
            &exact,
            "bar/curl",
            8000,
            Traffic::Request(&get("/info?y=1"))
        ),
        Allow,
        "I12"
    );
    let any = ap("  rules:\n  - to: [{operation: {paths: ['*']}}]");
    assert_eq!(
        mesh(&any, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "I13"
    );
    let hosts = ap("  rules:\n  - to: [{operation: {hosts: [httpbin.foo]}}]");
    let with_host = |h: &str| req("GET", "/", Some(h), &[]);
    assert_eq!(
        mesh(
            &hosts,
            "bar/curl",
            8000,
            Traffic::Request(&with_host("HTTPBIN.foo"))
        ),
        Allow,
        "I14"
    );
    assert_eq!(
        mesh(
            &hosts,
            "bar/curl",
            8000,
            Traffic::Request(&with_host("httpbin.foo:8000"))
        ),
        L7Deny,
        "I14"
    );
}

#[test]
fn i15_deny_before_allow() {
    let p = format!(
        "{}---\n{}",
        ap("  rules:\n  - from: [{source: {namespaces: [bar]}}]"),
        ap("  action: DENY\n  rules:\n  - to: [{operation: {methods: [DELETE]}}]")
            .replace("name: ap,", "name: deny,")
    );
    assert_eq!(
        mesh(
            &p,
            "bar/curl",
            8000,
            Traffic::Request(&req("DELETE", "/", None, &[]))
        ),
        Deny,
        "I15"
    );
    assert_eq!(
        mesh(&p, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow
    );
}

#[test]
fn i16_i17_http_fields_on_plain_tcp() {
    let allow_get = ap("  rules:\n  - to: [{operation: {methods: [GET]}}]");
    assert_eq!(
        mesh(&allow_get, "bar/curl", 8000, Traffic::Tcp),
        Deny,
        "I16"
    );
    let deny_post =
        ap("  action: DENY\n  rules:\n  - to: [{operation: {methods: [POST], ports: ['8000']}}]");
    assert_eq!(
        mesh(&deny_post, "bar/curl", 8000, Traffic::Tcp),
        Deny,
        "I17"
    );
    assert_eq!(mesh(&deny_post, "bar/curl", 9000, Traffic::Tcp), Allow);
    // For connectivity (some HTTP request), the DENY about POST leaves the connection open.
    assert_eq!(mesh(&deny_post, "bar/curl", 8000, Traffic::AnyHttp), Allow);
}

#[test]
fn i18_root_namespace_policy_spans_namespaces() {
    let p = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: root, namespace: istio-system}\nspec:\n  selector: {matchLabels: {app: httpbin}}\n  rules:\n  - from: [{source: {namespaces: [bar]}}]\n";
    assert_eq!(
        mesh(p, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "I18"
    );
    assert_eq!(
        mesh(p, "legacy/curl", 8000, Traffic::Request(&get("/"))),
        L7Deny
    );
}

#[test]
fn i19_i20_fields_and_sources() {
    let anded = ap("  rules:\n  - from: [{source: {principals: [a], namespaces: [bar]}}]");
    assert_eq!(
        mesh(&anded, "bar/curl", 8000, Traffic::Request(&get("/"))),
        L7Deny,
        "I19"
    );
    let ored =
        ap("  rules:\n  - from: [{source: {principals: [a]}}, {source: {namespaces: [bar]}}]");
    assert_eq!(
        mesh(&ored, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "I20"
    );
}

#[test]
fn i21_i22_conditions_and_audit() {
    let when = ap("  rules:\n  - when: [{key: 'request.headers[x-id]', values: ['abc*']}]");
    let with = req("GET", "/", None, &[("x-id", "abcd")]);
    assert_eq!(
        mesh(&when, "bar/curl", 8000, Traffic::Request(&with)),
        Allow,
        "I21"
    );
    assert_eq!(
        mesh(&when, "bar/curl", 8000, Traffic::Request(&get("/"))),
        L7Deny
    );
    let audit = ap("  action: AUDIT\n  rules: [{}]");
    assert_eq!(
        mesh(&audit, "legacy/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "I22"
    );
}

#[test]
fn unknown_condition_keys_are_load_errors() {
    let l = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: ap("  rules:\n  - when: [{key: request.bogus, values: [x]}]"),
    }]);
    assert_eq!(l.errors.len(), 1);
    assert_eq!(
        l.errors[0].field.as_deref(),
        Some("spec.rules[0].when[0].key")
    );
}

#[test]
fn conditions_that_cannot_be_decided_offline_are_named() {
    let p = ap("  rules:\n  - when: [{key: 'request.auth.claims[groups]', values: [admins]}]");
    let c = cluster(&p);
    let ev = Evaluator::new(&c, Profile::Generic);
    let dst = &c.endpoints[c.find_endpoint("foo/httpbin")[0]];
    let src = &c.endpoints[c.find_endpoint("bar/curl")[0]];
    let (o, steps) = ev.mesh_explain(
        dst,
        Peer::Endpoint(src),
        Protocol::Tcp,
        8000,
        Traffic::Request(&get("/")),
    );
    assert_eq!(o, L7Deny);
    let last = &steps.last().unwrap().detail;
    assert!(
        last.contains("unknown offline") && last.contains("request.auth.claims[groups]"),
        "{last}"
    );
}

#[test]
fn not_values_match_a_request_without_the_attribute() {
    // Istio renders notValues as a negated matcher: a request without the header matches
    let deny = ap("  action: DENY\n  rules:\n  - when: [{key: 'request.headers[x-token]', notValues: [admin]}]");
    let admin = req("GET", "/", None, &[("x-token", "admin")]);
    let other = req("GET", "/", None, &[("x-token", "guest")]);
    assert_eq!(
        mesh(&deny, "bar/curl", 8000, Traffic::Request(&admin)),
        Allow
    );
    assert_ne!(
        mesh(&deny, "bar/curl", 8000, Traffic::Request(&other)),
        Allow
    );
    assert_ne!(
        mesh(&deny, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow,
        "no header: denied"
    );
    // values still need the attribute
    let allow = ap("  rules:\n  - when: [{key: 'request.headers[x-token]', values: ['*']}]");
    assert_ne!(
        mesh(&allow, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow
    );
    // a plaintext caller has no principal: `notValues` on it matches (the classic
    // "deny unless principal X", which also denies plaintext)
    let deny = ap("  action: DENY\n  rules:\n  - when: [{key: source.principal, notValues: ['cluster.local/ns/bar/sa/curl']}]");
    assert_eq!(
        mesh(&deny, "bar/curl", 8000, Traffic::Request(&get("/"))),
        Allow
    );
    assert_ne!(
        mesh(&deny, "legacy/curl", 8000, Traffic::Request(&get("/"))),
        Allow
    );
}

#[test]
fn the_map_judges_a_plain_tcp_port_as_query_does() {
    // istio.io's tcp-echo task: a DENY on `methods` broadens to every TCP connection of a port
    // declared plain TCP; an ALLOW with only HTTP fields is dropped there
    let tcp_echo = "apiVersion: v1\nkind: Pod\nmetadata: {name: echo, namespace: foo, labels: {app: echo}}\nspec: {containers: [{name: c, image: x, ports: [{name: tcp-echo, containerPort: 9000}]}]}\n";
    for (policy, want) in [
        ("  selector: {matchLabels: {app: echo}}\n  action: DENY\n  rules:\n  - to: [{operation: {methods: [GET]}}]", false),
        ("  selector: {matchLabels: {app: echo}}\n  rules:\n  - to: [{operation: {methods: [GET]}}]", false),
        ("  selector: {matchLabels: {app: echo}}\n  rules:\n  - to: [{operation: {ports: ['9000']}}]", true),
    ] {
        let c = cluster(&format!("{tcp_echo}---\n{}", ap(policy)));
        let ev = Evaluator::new(&c, Profile::Generic);
        let echo = &c.endpoints[c.find_endpoint("foo/echo")[0]];
        let curl = &c.endpoints[c.find_endpoint("bar/curl")[0]];
        let (query, _) = ev.mesh_explain_flow(echo, Peer::Endpoint(curl), Protocol::Tcp, 9000, None);
        let map = netfence_engine::connectivity::compute(&c, Profile::Generic);
        let edge = map
            .edges()
            .find(|e| {
                e.src == netfence_engine::connectivity::Node::Endpoint(c.find_endpoint("bar/curl")[0])
                    && e.dst == netfence_engine::connectivity::Node::Endpoint(c.find_endpoint("foo/echo")[0])
            })
            .map(|e| e.conn.contains(Protocol::Tcp, 9000))
            .unwrap_or(false);
        assert_eq!(query == Allow, want, "{policy}");
        assert_eq!(edge, want, "the map: {policy}");
    }
}

#[test]
fn the_map_judges_a_port_a_service_declares_plain_tcp_as_query_does() {
    // the container declares no port; its Service names the target port `tcp-echo`, so the
    // proxy treats 9002 as plain TCP and the DENY on `methods` covers every connection to it
    let echo = "apiVersion: v1\nkind: Pod\nmetadata: {name: echo, namespace: foo, labels: {app: echo}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: echo, namespace: foo}\nspec: {selector: {app: echo}, ports: [{name: tcp-echo, port: 9000, targetPort: 9002}]}\n";
    let deny = "  selector: {matchLabels: {app: echo}}\n  action: DENY\n  rules:\n  - to: [{operation: {methods: [GET]}}]";
    let c = cluster(&format!("{echo}---\n{}", ap(deny)));
    let ev = Evaluator::new(&c, Profile::Generic);
    let dst = &c.endpoints[c.find_endpoint("foo/echo")[0]];
    let src = &c.endpoints[c.find_endpoint("bar/curl")[0]];
    let map = netfence_engine::connectivity::compute(&c, Profile::Generic);
    let edge = map
        .edges()
        .find(|e| {
            e.src == netfence_engine::connectivity::Node::Endpoint(c.find_endpoint("bar/curl")[0])
                && e.dst
                    == netfence_engine::connectivity::Node::Endpoint(c.find_endpoint("foo/echo")[0])
        })
        .map(|e| e.conn.clone());
    for port in [9002, 8080] {
        let (query, _) = ev.mesh_explain_flow(dst, Peer::Endpoint(src), Protocol::Tcp, port, None);
        let in_map = edge
            .as_ref()
            .is_some_and(|c| c.contains(Protocol::Tcp, port));
        assert_eq!(in_map, query == Allow, "port {port}: map and query agree");
    }
    let (plain, _) = ev.mesh_explain_flow(dst, Peer::Endpoint(src), Protocol::Tcp, 9002, None);
    assert_ne!(plain, Allow, "plain TCP: the DENY on methods covers it");
}

#[test]
fn the_map_tells_callers_apart_by_address_when_a_condition_reads_it() {
    // two callers the mesh tells apart only by address: a `source.ip` condition allows one
    let callers = "apiVersion: v1\nkind: Pod\nmetadata: {name: ca, namespace: bar, labels: {app: caller}}\nspec: {serviceAccountName: caller, containers: [{name: c, image: x}]}\nstatus: {podIP: 10.1.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: cb, namespace: bar, labels: {app: caller}}\nspec: {serviceAccountName: caller, containers: [{name: c, image: x}]}\nstatus: {podIP: 10.1.0.2}\n";
    for key in ["source.ip", "remote.ip"] {
        let allow = format!("  selector: {{matchLabels: {{app: httpbin}}}}\n  rules:\n  - when: [{{key: {key}, values: ['10.1.0.1']}}]");
        let c = cluster(&format!("{callers}---\n{}", ap(&allow)));
        let ev = Evaluator::new(&c, Profile::Generic);
        let map = netfence_engine::connectivity::compute(&c, Profile::Generic);
        let httpbin = c.find_endpoint("foo/httpbin")[0];
        for (caller, want) in [("bar/ca", true), ("bar/cb", false)] {
            let id = c.find_endpoint(caller)[0];
            let (query, _) = ev.mesh_explain_flow(
                &c.endpoints[httpbin],
                Peer::Endpoint(&c.endpoints[id]),
                Protocol::Tcp,
                8000,
                None,
            );
            let in_map = map.edges().any(|e| {
                e.src == netfence_engine::connectivity::Node::Endpoint(id)
                    && e.dst == netfence_engine::connectivity::Node::Endpoint(httpbin)
                    && e.conn.contains(Protocol::Tcp, 8000)
            });
            assert_eq!(query == Allow, want, "{key}: query for {caller}");
            assert_eq!(in_map, want, "{key}: the map for {caller}");
        }
    }
}
