//! The mesh in the map and in `query` against the naive Istio reference (`reference::
//! mesh_allowed`), on random meshes: sidecars or not, PeerAuthentications at mesh, namespace,
//! workload and port level, ALLOW and DENY AuthorizationPolicies on principals, namespaces,
//! ports and methods, on an HTTP port and a plain-TCP one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_engine::connectivity::{compute_full, external_ranges, Node};
use netfence_engine::eval::Evaluator;
use netfence_engine::reference::{mesh_allowed, End};
use netfence_engine::verdict::Outcome;
use netfence_engine::{Peer, Profile};
use netfence_model::Protocol;
use proptest::prelude::*;

const MODES: [Option<&str>; 4] = [None, Some("STRICT"), Some("PERMISSIVE"), Some("DISABLE")];

#[derive(Debug, Clone)]
struct Pod {
    ns: usize,
    app: usize,
    sa: usize,
    opt_out: bool,
}

#[derive(Debug, Clone)]
struct Rule {
    /// 0: any; 1: a principal; 2: a namespace; 3: not a principal.
    from: (usize, usize, usize),
    /// 0: any; 1: a port; 2: GET; 3: a port and GET.
    to: (usize, usize),
}

#[derive(Debug, Clone)]
struct Ap {
    ns: usize,
    deny: bool,
    app: Option<usize>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Mesh {
    ns1_injected: bool,
    pods: Vec<Pod>,
    mesh_mode: usize,
    ns0_mode: usize,
    workload: Option<(usize, usize)>,
    aps: Vec<Ap>,
}

fn arb_mesh() -> impl Strategy<Value = Mesh> {
    let pod = (0..2usize, 0..2usize, 0..2usize, prop::bool::weighted(0.2)).prop_map(
        |(ns, app, sa, opt_out)| Pod {
            ns,
            app,
            sa,
            opt_out,
        },
    );
    let rule = ((0..4usize, 0..2usize, 0..2usize), (0..4usize, 0..2usize))
        .prop_map(|(from, to)| Rule { from, to });
    let ap = (
        0..3usize,
        any::<bool>(),
        proptest::option::of(0..2usize),
        proptest::collection::vec(rule, 0..3),
    )
        .prop_map(|(ns, deny, app, rules)| Ap {
            ns,
            deny,
            app,
            rules,
        });
    (
        any::<bool>(),
        proptest::collection::vec(pod, 2..5),
        0..4usize,
        0..4usize,
        proptest::option::of((0..4usize, 0..4usize)),
        proptest::collection::vec(ap, 0..4),
    )
        .prop_map(
            |(ns1_injected, pods, mesh_mode, ns0_mode, workload, aps)| Mesh {
                ns1_injected,
                pods,
                mesh_mode,
                ns0_mode,
                workload,
                aps,
            },
        )
}

fn yaml(m: &Mesh) -> String {
    let mut out = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns0, labels: {istio-injection: enabled}}\n---\n",
    );
    out.push_str(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns1, labels: {{istio-injection: {}}}}}\n---\n",
        if m.ns1_injected { "enabled" } else { "disabled" }
    ));
    for (i, p) in m.pods.iter().enumerate() {
        let opt = if p.opt_out {
            ", sidecar.istio.io/inject: 'false'"
        } else {
            ""
        };
        out.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns{}, labels: {{app: a{}{opt}}}}}\nspec: {{serviceAccountName: sa{}, containers: [{{name: c, image: x, ports: [{{name: http, containerPort: 8080}}, {{name: tcp-echo, containerPort: 9000}}]}}]}}\n---\n",
            p.ns, p.app, p.sa
        ));
    }
    let pa = |name: &str, ns: &str, body: &str| {
        format!("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{{body}}}\n---\n")
    };
    if let Some(mode) = MODES[m.mesh_mode] {
        out.push_str(&pa(
            "default",
            "istio-system",
            &format!("mtls: {{mode: {mode}}}"),
        ));
    }
    if let Some(mode) = MODES[m.ns0_mode] {
        out.push_str(&pa("default", "ns0", &format!("mtls: {{mode: {mode}}}")));
    }
    if let Some((mode, port_mode)) = m.workload {
        let mut body = "selector: {matchLabels: {app: a0}}".to_string();
        if let Some(mode) = MODES[mode] {
            body.push_str(&format!(", mtls: {{mode: {mode}}}"));
        }
        if let Some(pm) = MODES[port_mode] {
            body.push_str(&format!(", portLevelMtls: {{9000: {{mode: {pm}}}}}"));
        }
        out.push_str(&pa("wl", "ns0", &body));
    }
    let nss = ["ns0", "ns1", "istio-system"];
    for (i, ap) in m.aps.iter().enumerate() {
        let mut spec = format!("  action: {}\n", if ap.deny { "DENY" } else { "ALLOW" });
        if let Some(app) = ap.app {
            spec.push_str(&format!("  selector: {{matchLabels: {{app: a{app}}}}}\n"));
        }
        spec.push_str("  rules:\n");
        if ap.rules.is_empty() {
            spec = spec.replace("  rules:\n", "  rules: []\n");
        }
        for r in &ap.rules {
            let (kind, ns, sa) = r.from;
            let principal = format!("cluster.local/ns/ns{ns}/sa/sa{sa}");
            let from = match kind {
                1 => format!("from: [{{source: {{principals: ['{principal}']}}}}]"),
                2 => format!("from: [{{source: {{namespaces: [ns{ns}]}}}}]"),
                3 => format!("from: [{{source: {{notPrincipals: ['{principal}']}}}}]"),
                _ => String::new(),
            };
            let port = if r.to.1 == 0 { "'8080'" } else { "'9000'" };
            let to = match r.to.0 {
                1 => format!("to: [{{operation: {{ports: [{port}]}}}}]"),
                2 => "to: [{operation: {methods: [GET]}}]".to_string(),
                3 => format!("to: [{{operation: {{ports: [{port}], methods: [GET]}}}}]"),
                _ => String::new(),
            };
            let fields: Vec<String> = [from, to].into_iter().filter(|f| !f.is_empty()).collect();
            spec.push_str(&format!("  - {{{}}}\n", fields.join(", ")));
        }
        out.push_str(&format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: ap{i}, namespace: {}}}\nspec:\n{spec}---\n",
            nss[ap.ns]
        ));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// For every pair (and an outside caller) on the HTTP port, the plain-TCP port and an
    /// undeclared one: the map, the mesh's one-flow answer and the naive reference agree.
    #[test]
    fn the_mesh_agrees_with_the_naive_istio_reference(m in arb_mesh()) {
        let text = yaml(&m);
        let loaded = netfence_load::load(&[netfence_load::Source { name: "m.yaml".into(), text: text.clone() }]);
        prop_assert!(loaded.errors.is_empty(), "{:?}\n{}", loaded.errors, text);
        let c = &loaded.cluster;
        let (src, dst) = external_ranges(c);
        let map = compute_full(c, Profile::Generic, src.clone(), dst);
        let ev = Evaluator::new(c, Profile::Generic);
        let mut callers: Vec<(Node, End<'_>)> = (0..c.endpoints.len())
            .map(|i| (Node::Endpoint(i), End::Pod(&c.endpoints[i])))
            .collect();
        callers.extend(src.iter().map(|r| (Node::External(*r), End::External(r))));
        for d in 0..c.endpoints.len() {
            let dst_ep = &c.endpoints[d];
            for (sn, se) in &callers {
                if *sn == Node::Endpoint(d) {
                    continue;
                }
                let edge = map
                    .edges()
                    .find(|e| e.src == *sn && e.dst == Node::Endpoint(d))
                    .map(|e| (*e.conn).clone())
                    .unwrap_or_default();
                let peer = match se {
                    End::Pod(p) => Peer::Endpoint(p),
                    End::External(r) => Peer::Ip(r),
                };
                for port in [8080u16, 9000, 443] {
                    let want = mesh_allowed(c, *se, dst_ep, port);
                    let (said, _) = ev.mesh_explain_flow(dst_ep, peer, Protocol::Tcp, port, None);
                    prop_assert_eq!(said == Outcome::Allow, want, "query {:?} -> p{} TCP {}\n{}", sn, d, port, text);
                    prop_assert_eq!(edge.contains(Protocol::Tcp, port), want, "map {:?} -> p{} TCP {}: {}\n{}", sn, d, port, edge, text);
                }
            }
        }
    }
}
