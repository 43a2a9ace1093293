//! Loading manifests: kinds, lists, defaulting, and every error located.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_load::{load, Source};
use netfence_model::{NpPeer, PortRef};

fn src(name: &str, text: &str) -> Source {
    Source {
        name: name.into(),
        text: text.into(),
    }
}

fn np(body: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: a\nspec:\n{body}"
    )
}

#[test]
fn policy_types_default_from_sections() {
    let l = load(&[src("p.yaml", &np("  podSelector: {}\n  egress: []\n"))]);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    let p = &l.cluster.policies.network_policies()[0];
    assert!(p.ingress.is_some(), "Ingress is always an effective type");
    assert!(
        p.egress.is_none(),
        "an empty egress list does not add Egress"
    );
    let l = load(&[src("p.yaml", &np("  podSelector: {}\n  egress:\n  - {}\n"))]);
    assert!(l.cluster.policies.network_policies()[0].egress.is_some());
}

#[test]
fn explicit_policy_types_drop_the_other_section() {
    let l = load(&[src(
        "p.yaml",
        &np(
            "  podSelector: {}\n  policyTypes: [Ingress]\n  egress:\n  - to: [{podSelector: {}}]\n",
        ),
    )]);
    assert!(l.cluster.policies.network_policies()[0].egress.is_none());
}

#[test]
fn empty_from_means_every_peer() {
    let l = load(&[src(
        "p.yaml",
        &np("  podSelector: {}\n  ingress:\n  - from: []\n"),
    )]);
    let rules = l.cluster.policies.network_policies()[0]
        .ingress
        .as_ref()
        .unwrap();
    assert!(rules[0].peers.is_none());
}

#[test]
fn referenced_namespaces_get_their_name_label() {
    let l = load(&[src("p.yaml", &np("  podSelector: {}\n"))]);
    let ns = &l.cluster.namespaces["a"];
    assert_eq!(
        ns.labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("a")
    );
}

fn one_error(text: &str) -> netfence_load::LoadError {
    let l = load(&[src("bad.yaml", text)]);
    assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
    assert!(
        l.cluster.policies.network_policies().is_empty(),
        "an invalid policy is never half-loaded"
    );
    l.errors[0].clone()
}

#[test]
fn a_peer_with_no_field_is_rejected_with_its_path() {
    let e = one_error(&np("  podSelector: {}\n  ingress:\n  - from:\n    - {}\n"));
    assert_eq!(e.field.as_deref(), Some("spec.ingress[0].from[0]"));
    assert!(e.message.contains("must set podSelector"), "{e}");
    assert!(e.help.is_some());
}

#[test]
fn ipblock_with_a_selector_is_rejected() {
    let e = one_error(&np(
        "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      podSelector: {}\n",
    ));
    assert!(e.message.contains("ipBlock cannot be combined"), "{e}");
}

#[test]
fn bad_cidr_and_except_outside_are_rejected() {
    let e = one_error(&np(
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/33}\n",
    ));
    assert_eq!(
        e.field.as_deref(),
        Some("spec.egress[0].to[0].ipBlock.cidr")
    );
    let e = one_error(&np(
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}\n",
    ));
    assert!(e.message.contains("strictly inside"), "{e}");
}

#[test]
fn unknown_operator_and_values_rules() {
    let e = one_error(&np(
        "  podSelector:\n    matchExpressions:\n    - {key: app, operator: Maybe, values: [x]}\n",
    ));
    assert!(e.message.contains("unknown operator `Maybe`"), "{e}");
    let e = one_error(&np(
        "  podSelector:\n    matchExpressions:\n    - {key: app, operator: In}\n",
    ));
    assert!(e.message.contains("at least one value"), "{e}");
}

#[test]
fn end_port_needs_a_numeric_port_not_below_it() {
    let e = one_error(&np(
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: http, endPort: 9000}\n",
    ));
    assert_eq!(e.field.as_deref(), Some("spec.ingress[0].ports[0].endPort"));
    let e = one_error(&np(
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 90, endPort: 80}\n",
    ));
    assert!(e.message.contains("between port 90"), "{e}");
}

#[test]
fn errors_name_file_document_and_line() {
    let text = format!(
        "{}\n---\n{}",
        np("  podSelector: {}\n"),
        np("  podSelector: {}\n  ingress:\n  - from: [{}]\n").replace("name: p", "name: q")
    );
    let l = load(&[src("multi.yaml", &text)]);
    assert_eq!(l.errors.len(), 1);
    let e = &l.errors[0];
    assert_eq!(
        (e.file.as_str(), e.document, e.line),
        ("multi.yaml", 2, Some(18))
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(
            "multi.yaml:18: document 2 (NetworkPolicy a/q), field `spec.ingress[0].from[0]`"
        ),
        "{shown}"
    );
}

#[test]
fn all_errors_are_collected() {
    let bad = np("  podSelector: {}\n  ingress:\n  - from: [{}]\n");
    let other = bad.replace("name: p", "name: q");
    let l = load(&[src(
        "x.yaml",
        &format!("{bad}\n---\n{other}\n---\nkind: [\n"),
    )]);
    assert_eq!(l.errors.len(), 3, "{:?}", l.errors);
}

#[test]
fn parallel_loading_equals_sequential_loading() {
    // one List of many items converts in parallel chunks; the same objects as separate
    // documents, and as separate files, load to the same model and the same errors
    let mut items = String::new();
    let mut docs = String::new();
    for i in 0..700 {
        let body = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: n{}, labels: {{app: a{}}}}}\nspec: {{containers: [{{name: c, image: i}}]}}\n", i % 7, i % 13);
        items.push_str(&format!("- {}", body.replace('\n', "\n  ").trim_end()));
        items.push('\n');
        docs.push_str(&body);
        docs.push_str("---\n");
    }
    let list = load(&[src(
        "l.yaml",
        &format!("apiVersion: v1\nkind: List\nitems:\n{items}"),
    )]);
    let split = load(&[src("d.yaml", &docs)]);
    assert!(list.errors.is_empty() && split.errors.is_empty());
    assert_eq!(list.cluster.endpoints.len(), 700);
    assert_eq!(split.cluster.endpoints.len(), 700);
    let names = |l: &netfence_load::Loaded| -> Vec<(String, Vec<String>)> {
        l.cluster
            .endpoints
            .iter()
            .map(|e| (e.display_name(), e.pods.clone()))
            .collect()
    };
    assert!(
        names(&list) == names(&split),
        "the List and the documents differ"
    );
    // a policy at the front and its duplicate far behind, in another chunk, then an invalid
    // object: the errors come in input order; a duplicate pod is a warning
    let policy = "- {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: d, namespace: n1}, spec: {podSelector: {}}}\n";
    let mut items = format!("{policy}{items}");
    items.push_str(policy);
    items.push_str("- {apiVersion: v1, kind: Pod, metadata: {name: x, namespace: n1, labels: {\"bad key!\": v}}}\n");
    items.push_str("- {apiVersion: v1, kind: Pod, metadata: {name: p3, namespace: n3}, spec: {containers: [{name: c, image: i}]}}\n");
    let list = load(&[src(
        "l.yaml",
        &format!("apiVersion: v1\nkind: List\nitems:\n{items}"),
    )]);
    let messages: Vec<&str> = list.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("NetworkPolicy `n1/d` is defined twice"),
        "{messages:?}"
    );
    assert!(messages[1].contains("label key"), "{messages:?}");
    assert!(
        list.warnings
            .iter()
            .any(|w| w.message.contains("Pod `n3/p3` is defined twice")),
        "{:?}",
        list.warnings
    );
    assert_eq!(list.errors[0].field, None);
    assert_eq!(
        list.errors[1].field.as_deref(),
        Some("items[702].metadata.labels.bad key!")
    );
    let files: Vec<Source> = docs
        .split("---\n")
        .filter(|d| !d.is_empty())
        .enumerate()
        .map(|(i, d)| src(&format!("f{i}.yaml"), d))
        .collect();
    assert!(
        names(&load(&files)) == names(&split),
        "files and documents differ"
    );
}

#[test]
fn kubectl_lists_and_typed_lists() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: n1, labels: {env: dev}}\n";
    let typed = r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"p","namespace":"n1","labels":{"app":"x"}},"spec":{"containers":[{"name":"c","ports":[{"name":"http","containerPort":80}]}]}}]}"#;
    let l = load(&[src("l.yaml", list), src("pods.json", typed)]);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.cluster.namespaces["n1"].labels["env"], "dev");
    let ep = &l.cluster.endpoints[0];
    assert_eq!(ep.display_name(), "n1/p[Pod]");
    assert_eq!(
        ep.resolve_named_port("http", netfence_model::Protocol::Tcp),
        Some(80)
    );
}

#[test]
fn workloads_are_named_by_owner() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: fe-1\n  namespace: d\n  ownerReferences:\n  - {kind: ReplicaSet, name: fe-99, controller: true}\nspec:\n  containers: [{name: c}]\n";
    let dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: c}]\n";
    let l = load(&[src("p.yaml", pod), src("d.yaml", dep)]);
    let names: Vec<String> = l
        .cluster
        .endpoints
        .iter()
        .map(|e| e.display_name())
        .collect();
    assert_eq!(names, ["d/fe-99[ReplicaSet]", "default/api[Deployment]"]);
}

#[test]
fn unknown_kinds_are_skipped_not_errors() {
    let l = load(&[src(
        "c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )]);
    assert!(l.errors.is_empty());
    assert_eq!(l.skipped.len(), 1);
}

#[test]
fn named_and_numbered_ports_and_ipblocks_convert() {
    let l = load(&[src(
        "p.yaml",
        &np("  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}\n    ports:\n    - {port: dns, protocol: UDP}\n    - {port: 8000, endPort: 8080}\n"),
    )]);
    let r = &l.cluster.policies.network_policies()[0]
        .egress
        .as_ref()
        .unwrap()[0];
    assert!(
        matches!(&r.peers.as_ref().unwrap()[0], NpPeer::IpBlock { set, .. } if !set.contains("10.1.1.1".parse().unwrap()))
    );
    let ports = r.ports.as_ref().unwrap();
    assert_eq!(ports[0].port, Some(PortRef::Name("dns".into())));
    assert_eq!(ports[1].end_port, Some(8080));
}

#[test]
fn anp_rules_and_validation() {
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: x}\nspec:\n  priority: 10\n  subject: {namespaces: {}}\n  ingress:\n  - {name: r, action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}\n";
    let l = load(&[src("a.yaml", anp)]);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.cluster.policies.admin_policies()[0].ingress.len(), 1);
    let e = one_error(&anp.replace("action: Deny", "action: Maybe"));
    assert!(e.message.contains("unknown action"), "{e}");
    let e = one_error(&anp.replace(
        "from: [{namespaces: {matchLabels: {env: dev}}}]",
        "from: []",
    ));
    assert!(e.message.contains("at least one peer"), "{e}");
    let banp = anp
        .replace("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")
        .replace("  priority: 10\n", "");
    let e = one_error(&banp);
    assert!(e.message.contains("must be named `default`"), "{e}");
}

#[test]
fn rules_carry_their_own_lines() {
    let text = "# leading comment\n\n".to_string()
        + &np("  podSelector: {}\n  ingress:\n  - from: [{podSelector: {}}]\n  - ports: [{port: 80}]\n  egress:\n  - {}\n");
    let l = load(&[src("r.yaml", &text)]);
    let p = &l.cluster.policies.network_policies()[0];
    assert_eq!(
        p.origin.line,
        Some(3),
        "the document's line skips the comment"
    );
    let ing: Vec<Option<usize>> = p.ingress.as_ref().unwrap().iter().map(|r| r.line).collect();
    assert_eq!(ing, [Some(11), Some(12)]);
    assert_eq!(p.egress.as_ref().unwrap()[0].line, Some(14));
}

#[test]
fn pods_join_their_workload() {
    let pod = |n: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {n}\n  namespace: d\n  ownerReferences:\n  - {{kind: ReplicaSet, name: fe-99, controller: true}}\nspec:\n  containers: [{{name: c}}]\n")
    };
    let l = load(&[src(
        "p.yaml",
        &format!("{}---\n{}", pod("fe-99-a"), pod("fe-99-b")),
    )]);
    assert_eq!(l.cluster.endpoints.len(), 1);
    assert_eq!(l.cluster.endpoints[0].pods, ["fe-99-a", "fe-99-b"]);
    assert_eq!(l.cluster.find_endpoint("d/fe-99-b"), [0]);
}

#[test]
fn port_names_and_protocols_follow_the_api_server() {
    let e = one_error(&np(
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: \"80\"}\n",
    ));
    assert!(
        e.message
            .contains("neither a port number nor a valid port name"),
        "{e}"
    );
    let e = one_error(&np(
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 80, protocol: tcp}\n",
    ));
    assert!(e.message.contains("unsupported protocol `tcp`"), "{e}");
    for ok in ["http", "dns-tcp", "h2c", "a1"] {
        let l = load(&[src(
            "p.yaml",
            &np(&format!(
                "  podSelector: {{}}\n  ingress:\n  - ports:\n    - {{port: {ok}}}\n"
            )),
        )]);
        assert!(l.errors.is_empty(), "{ok}: {:?}", l.errors);
    }
}

/// Every `docs/dialects/*.md` page a loader message points to exists.
#[test]
#[allow(
    clippy::disallowed_methods,
    reason = "the test reads the sources and docs"
)]
fn dialect_pages_named_in_messages_exist() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut named = 0;
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in text.match_indices("docs/dialects/") {
            let page: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect();
            let page = page.trim_end_matches('.');
            assert!(root.join("../..").join(page).is_file(), "{page} is missing");
            named += 1;
        }
    }
    assert!(named >= 5, "the loader points to the dialect pages");
}
