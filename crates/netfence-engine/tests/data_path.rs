//! What changes with the data path's release and settings (`docs/dialects/versions.md`): each
//! case gives the same manifests on the releases where the answer differs, and the answer each
//! upstream project's own tests expect on it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_engine::eval::{Evaluator, Peer};
use netfence_engine::verdict::Outcome;
use netfence_engine::{DataPath, Profile, Release};
use netfence_model::{Cluster, L7Request, Protocol};

/// cilium-cli's `cilium-test` namespace: `client` (name=client), `client2` (name=client2),
/// `echo` (kind=echo, port 8080), in a namespace labelled `team: x`.
const PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: cilium-test, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: cilium-test, labels: {name: client, kind: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client2, namespace: cilium-test, labels: {name: client2, kind: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: cilium-test, labels: {kind: echo}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: outsider, namespace: other, labels: {name: client}}
spec: {containers: [{name: c, image: x}]}
"#;

fn load(policies: &str) -> Cluster {
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{policies}"),
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.cluster
}

fn load_errors(policies: &str) -> Vec<String> {
    netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: format!("{PODS}---\n{policies}"),
    }])
    .errors
    .iter()
    .map(ToString::to_string)
    .collect()
}

fn cilium(minor: u16) -> DataPath {
    DataPath::new(Profile::Cilium, Some(Release::new(1, minor)))
}

fn calico(minor: u16) -> DataPath {
    DataPath::new(Profile::Calico, Some(Release::new(3, minor)))
}

fn with_cnp_flag(mut dp: DataPath) -> DataPath {
    dp.settings
        .set("enable-k8s-cluster-network-policy", "true")
        .unwrap();
    dp
}

fn verdict(
    c: &Cluster,
    dp: DataPath,
    from: &str,
    to: &str,
    port: u16,
    request: Option<L7Request>,
) -> Outcome {
    let ev = Evaluator::new(c, dp);
    let ep = |n: &str| {
        let found = c.find_endpoint(n);
        assert_eq!(found.len(), 1, "{n}");
        &c.endpoints[found[0]]
    };
    ev.flow(
        Peer::Endpoint(ep(from)),
        Peer::Endpoint(ep(to)),
        Protocol::Tcp,
        port,
        request.as_ref(),
    )
    .outcome
}

fn get() -> Option<L7Request> {
    Some(L7Request::Http {
        method: "GET".into(),
        path: "/".into(),
        host: None,
        headers: Vec::new(),
    })
}

const ALLOW_GET: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: echo-get, namespace: cilium-test}
spec:
  endpointSelector: {matchLabels: {kind: echo}}
  ingress:
  - fromEndpoints: [{}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {http: [{method: GET}]}}]
"#;

/// cilium-cli `echo-ingress-from-client-tiered-wildcard-pass-l7`: an Admin
/// ClusterNetworkPolicy passes `name=client` and denies everything else, under a
/// CiliumNetworkPolicy that allows GET.
const TIERED_PASS: &str = r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: tiered-wildcard-pass}
spec:
  tier: Admin
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {kind: echo}}}}
  ingress:
  - name: pass-client
    action: Pass
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: client}}}}]
  - name: deny-rest
    action: Deny
    from: [{namespaces: {}}]
"#;

#[test]
fn cilium_1_20_enforces_cluster_network_policy_behind_its_flag() {
    let c = load(&format!("{ALLOW_GET}---\n{TIERED_PASS}"));
    let on = with_cnp_flag(cilium(20));
    assert_eq!(
        verdict(
            &c,
            on,
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            get()
        ),
        Outcome::Allow
    );
    assert_eq!(
        verdict(
            &c,
            on,
            "cilium-test/client2",
            "cilium-test/echo",
            8080,
            get()
        ),
        Outcome::Deny,
        "the admin tier denies what it does not pass"
    );
    // without the flag, and before 1.20, only the CiliumNetworkPolicy is enforced
    for dp in [cilium(20), with_cnp_flag(cilium(19))] {
        assert!(!dp.enforces_cluster_network_policies());
        assert_eq!(
            verdict(
                &c,
                dp,
                "cilium-test/client2",
                "cilium-test/echo",
                8080,
                get()
            ),
            Outcome::Allow,
            "{dp}"
        );
    }
}

const ANP_DENY: &str = r#"
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-client2}
spec:
  priority: 5
  subject: {namespaces: {}}
  ingress:
  - name: deny
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: client2}}}}]
"#;

const CNP_DENY: &str = r#"
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: deny-client}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  ingress:
  - name: deny
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: client}}}}]
"#;

#[test]
fn calico_3_32_enforces_cluster_network_policy_and_no_longer_admin_network_policy() {
    let c = load(&format!("{ANP_DENY}---\n{CNP_DENY}"));
    let (old, new) = (calico(31), calico(32));
    // 3.31: the AdminNetworkPolicy denies client2, the ClusterNetworkPolicy is not enforced
    assert_eq!(
        verdict(
            &c,
            old,
            "cilium-test/client2",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
    assert_eq!(
        verdict(
            &c,
            old,
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Allow
    );
    // 3.32 (calico#11144): the reverse
    assert_eq!(
        verdict(
            &c,
            new,
            "cilium-test/client2",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Allow
    );
    assert_eq!(
        verdict(
            &c,
            new,
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
    // an unknown release is the newest
    assert_eq!(
        verdict(
            &c,
            DataPath::from(Profile::Calico),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
}

#[test]
fn calico_converts_no_domain_names_or_nodes_peer_an_accept_is_dropped_a_deny_denies_all() {
    let cnp = |action: &str, peer: &str| {
        format!(
            r#"
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {{name: names}}
spec:
  tier: Admin
  priority: 5
  subject: {{pods: {{namespaceSelector: {{}}, podSelector: {{matchLabels: {{name: client}}}}}}}}
  egress:
  - name: names
    action: {action}
    to: [{peer}]
"#
        )
    };
    let names = r#"{domainNames: ["*.example.com"]}"#;
    let nodes = "{nodes: {matchLabels: {role: edge}}}";
    // Accept: dropped, the pod keeps its default allow
    let c = load(&cnp("Accept", names));
    assert_eq!(
        verdict(
            &c,
            calico(32),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Allow
    );
    // Deny (or Pass): a deny of everything under Calico; upstream, it matches no pod
    let c = load(&cnp("Deny", nodes));
    assert_eq!(
        verdict(
            &c,
            calico(32),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
    assert_eq!(
        verdict(
            &c,
            DataPath::from(Profile::Generic),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Allow
    );
}

#[test]
fn networkpolicy_under_cilium_sees_cilium_labels() {
    // cilium-cli `client-egress-knp`: a peer that requires the cluster label
    let knp = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress-knp, namespace: cilium-test}
spec:
  podSelector: {matchLabels: {kind: client}}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector:
        matchLabels: {kind: echo}
        matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: echo-ingress-knp, namespace: cilium-test}
spec:
  podSelector:
    matchLabels: {kind: echo, io.kubernetes.pod.namespace: cilium-test}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {io.cilium.k8s.namespace.labels.team: x, name: client}}
"#;
    let c = load(knp);
    for dp in [cilium(18), cilium(19), cilium(20)] {
        assert_eq!(
            verdict(&c, dp, "cilium-test/client", "cilium-test/echo", 8080, None),
            Outcome::Allow,
            "{dp}"
        );
        assert_eq!(
            verdict(
                &c,
                dp,
                "cilium-test/client2",
                "cilium-test/echo",
                8080,
                None
            ),
            Outcome::Deny,
            "{dp}"
        );
    }
    // upstream Kubernetes sees no such labels: the egress peer matches no pod
    assert_eq!(
        verdict(
            &c,
            DataPath::from(Profile::Generic),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
}

#[test]
fn cilium_namespace_label_selectors_select_the_namespace_pods() {
    let c = load(
        r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: from-team-x, namespace: cilium-test}
spec:
  endpointSelector: {matchLabels: {kind: echo}}
  ingress:
  - fromEndpoints:
    - matchLabels: {io.cilium.k8s.namespace.labels.team: x, io.kubernetes.pod.namespace: cilium-test}
    - matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: "y"}
"#,
    );
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Allow
    );
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "other/outsider",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
}

#[test]
fn cilium_authentication_modes_admit_nothing_offline() {
    let rule = |mode: &str| {
        format!(
            r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: auth, namespace: cilium-test}}
spec:
  endpointSelector: {{matchLabels: {{kind: echo}}}}
  ingress:
  - fromEndpoints: [{{matchLabels: {{name: client}}}}]
    authentication: {{mode: {mode}}}
"#
        )
    };
    // cilium-cli `echo-ingress-auth-always-fail`: dropped
    let c = load(&rule("test-always-fail"));
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
    // `required` is never a plain ALLOWED: netfence cannot see mutual authentication
    let c = load(&rule("required"));
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Deny
    );
    let c = load(&rule("disabled"));
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            None
        ),
        Outcome::Allow
    );
    let errors = load_errors(&rule("sometimes"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("authentication.mode") && e.contains("sometimes")),
        "{errors:?}"
    );
}

#[test]
fn cilium_1_19_server_names_take_wildcards() {
    let policy = |name: &str| {
        format!(
            r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: sni, namespace: cilium-test}}
spec:
  endpointSelector: {{matchLabels: {{kind: echo}}}}
  ingress:
  - fromEndpoints: [{{}}]
    toPorts: [{{ports: [{{port: "8080", protocol: TCP}}], serverNames: ["{name}"]}}]
"#
        )
    };
    let sni = |n: &str| Some(L7Request::Tls { sni: n.into() });
    for pattern in ["*.one.one.one", "**.one.one.one"] {
        let c = load(&policy(pattern));
        assert_eq!(
            verdict(
                &c,
                cilium(19),
                "cilium-test/client",
                "cilium-test/echo",
                8080,
                sni("one.one.one.one")
            ),
            Outcome::Allow,
            "{pattern}"
        );
        // 1.18 compared names exactly
        assert_ne!(
            verdict(
                &c,
                cilium(18),
                "cilium-test/client",
                "cilium-test/echo",
                8080,
                sni("one.one.one.one")
            ),
            Outcome::Allow,
            "{pattern}"
        );
    }
    let c = load(&policy("**.one.one.one"));
    assert_eq!(
        verdict(
            &c,
            cilium(19),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            sni("a.b.one.one.one")
        ),
        Outcome::Allow
    );
    let c = load(&policy("*.one.one.one"));
    assert_ne!(
        verdict(
            &c,
            cilium(19),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            sni("a.b.one.one.one")
        ),
        Outcome::Allow,
        "`*` is one label"
    );
}

#[test]
fn cilium_1_20_prunes_kafka_rules_and_the_port_is_allowed_whole() {
    let c = load(
        r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: kafka, namespace: cilium-test}
spec:
  endpointSelector: {matchLabels: {kind: echo}}
  ingress:
  - fromEndpoints: [{}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {kafka: [{role: produce, topic: orders}]}}]
"#,
    );
    let request = Some(L7Request::Kafka {
        api_key: "fetch".into(),
        topics: vec!["orders".into()],
        api_version: None,
        client_id: None,
    });
    assert_ne!(
        verdict(
            &c,
            cilium(19),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            request.clone()
        ),
        Outcome::Allow,
        "1.19 enforces the Kafka rule: a fetch is not a produce"
    );
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "cilium-test/client",
            "cilium-test/echo",
            8080,
            request
        ),
        Outcome::Allow
    );
    // the port only: other ports stay denied
    assert_eq!(
        verdict(
            &c,
            cilium(20),
            "cilium-test/client",
            "cilium-test/echo",
            9090,
            None
        ),
        Outcome::Deny
    );
}

#[test]
fn cluster_network_policy_networks_must_be_canonical() {
    let cnp = |net: &str| {
        format!(
            r#"
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {{name: nets}}
spec:
  tier: Admin
  priority: 5
  subject: {{namespaces: {{}}}}
  egress:
  - name: nets
    action: Deny
    to: [{{networks: ["{net}"]}}]
"#
        )
    };
    let errors = load_errors(&cnp("10.1.2.3/8"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("networks[0]") && e.contains("10.0.0.0/8")),
        "{errors:?}"
    );
    assert!(load_errors(&cnp("10.0.0.0/08"))
        .iter()
        .any(|e| e.contains("leading zero")));
    assert!(load_errors(&cnp("10.0.0.0/8")).is_empty());
}

#[test]
fn both_served_versions_of_cluster_network_policy_load_alike() {
    let beta = load(CNP_DENY);
    let alpha = load(&CNP_DENY.replace("v1beta1", "v1alpha2"));
    assert_eq!(
        beta.policies.cluster_network_policies(),
        alpha.policies.cluster_network_policies()
    );
    assert_eq!(beta.policies.cluster_network_policies().len(), 1);
}

#[test]
fn staged_kubernetes_network_policies_load_and_never_change_traffic() {
    let staged = |action: &str| {
        format!(
            r#"
apiVersion: projectcalico.org/v3
kind: StagedKubernetesNetworkPolicy
metadata: {{name: isolate-echo, namespace: cilium-test}}
spec:
  stagedAction: {action}
  podSelector: {{matchLabels: {{kind: echo}}}}
  policyTypes: [Ingress]
"#
        )
    };
    let c = load(&staged("Set"));
    assert_eq!(c.policies.staged_network_policies().len(), 1);
    assert!(c.policies.network_policies().is_empty());
    for dp in [calico(32), DataPath::from(Profile::Generic)] {
        assert_eq!(
            verdict(&c, dp, "cilium-test/client", "cilium-test/echo", 8080, None),
            Outcome::Allow,
            "{dp}"
        );
    }
    let errors = load_errors(&staged("Enforce"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("spec.stagedAction") && e.contains("Enforce")),
        "{errors:?}"
    );
    let errors = load_errors(&staged("Set").replace("policyTypes", "policyTypo"));
    assert!(
        errors.iter().any(|e| e.contains("policyTypo")),
        "{errors:?}"
    );
}
