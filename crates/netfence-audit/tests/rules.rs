//! Every rule fires on its fixture (`resources/test/fixtures/CODE.yaml`) and stays silent on
//! the fixed one (`CODE.fixed.yaml`); the rendered findings are snapshots.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(clippy::disallowed_methods, reason = "the test reads its fixtures")]

use std::path::PathBuf;

use netfence_audit::{run, AuditConfig, AuditCtx, Selection, RULES};
use netfence_engine::Profile;

fn fixture(name: &str) -> netfence_model::Cluster {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("resources/test/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing fixture {}", path.display()));
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: name.into(),
        text,
    }]);
    assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
    loaded.cluster
}

/// The profile a fixture asks for on its first line (`# profile: cilium`), generic otherwise.
fn fixture_profile(name: &str) -> Profile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("resources/test/fixtures")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# profile: "))
        .map(|p| Profile::parse(p.trim()).unwrap())
        .unwrap_or(Profile::Generic)
}

fn findings(code: &str, file: &str) -> Vec<String> {
    let cluster = fixture(file);
    let ctx = AuditCtx::new(&cluster, fixture_profile(file), AuditConfig::default());
    let result = run(
        &ctx,
        &Selection {
            select: vec![code.to_string()],
            ignore: vec![],
        },
    );
    result
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.code, code);
            let at = d.origin.as_ref().map(|o| o.to_string()).unwrap_or_default();
            format!(
                "{at}: {} [{}] {}\n  = help: {}",
                d.code, d.severity, d.message, d.help
            )
        })
        .collect()
}

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_fix() {
    for rule in RULES {
        let bad = findings(rule.code, &format!("{}.yaml", rule.code));
        assert!(!bad.is_empty(), "{} did not fire on its fixture", rule.code);
        insta::assert_snapshot!(rule.code, bad.join("\n"));
        let fixed = findings(rule.code, &format!("{}.fixed.yaml", rule.code));
        assert!(
            fixed.is_empty(),
            "{} fired on the fixed fixture: {fixed:?}",
            rule.code
        );
    }
}

#[test]
fn suppression_annotation_silences_a_finding() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("resources/test/fixtures/NP101.yaml"),
    )
    .unwrap()
    .replace(
        "metadata: {name: app, labels: {env: production}}",
        "metadata: {name: app, labels: {env: production}, annotations: {netfence.dev/ignore: \"NP10\"}}",
    );
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "s.yaml".into(),
        text,
    }]);
    let ctx = AuditCtx::new(&loaded.cluster, Profile::Generic, AuditConfig::default());
    let r = run(
        &ctx,
        &Selection {
            select: vec!["NP101".into()],
            ignore: vec![],
        },
    );
    assert!(r.diagnostics.is_empty());
    assert_eq!(r.suppressed, 1);
}

#[test]
fn selection_by_prefix() {
    let s = Selection {
        select: vec!["NP1".into()],
        ignore: vec!["NP103".into()],
    };
    assert!(s.runs("NP101") && s.runs("NP105"));
    assert!(!s.runs("NP103") && !s.runs("NP001"));
}

#[test]
fn a_namespace_wide_default_deny_is_not_a_deny_pitfall() {
    // default-deny-all next to allow-dns is the zero-trust pattern itself.
    assert!(findings("NP005", "NP001.fixed.yaml").is_empty());
}

/// NP101 and score pattern 1 credit a namespace-wide default deny in every dialect, under the
/// profile that enforces it, and not under one that does not.
#[test]
fn default_deny_counts_in_every_dialect() {
    let inventory = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: api}}\nspec: {containers: [{name: c, image: x}]}\n---\n";
    let cases = [
        (
            "cilium",
            Profile::Cilium,
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n  egress: [{}]\n",
        ),
        (
            "calico",
            Profile::Calico,
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: deny}\nspec:\n  selector: all()\n  types: [Ingress, Egress]\n",
        ),
        (
            "cluster-network-policy",
            Profile::Generic,
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: deny}\nspec:\n  tier: Baseline\n  priority: 0\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n  egress: [{action: Deny, to: [{namespaces: {}}]}]\n",
        ),
    ];
    for (name, profile, policy) in cases {
        let loaded = netfence_load::load(&[netfence_load::Source {
            name: format!("{name}.yaml"),
            text: format!("{inventory}{policy}"),
        }]);
        assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
        let np101 = |profile: Profile| {
            let ctx = AuditCtx::new(&loaded.cluster, profile, AuditConfig::default());
            let r = run(
                &ctx,
                &Selection {
                    select: vec!["NP101".into()],
                    ignore: vec![],
                },
            );
            let score = netfence_audit::score::score(&ctx);
            (r.diagnostics.len(), score)
        };
        let (found, score) = np101(profile);
        assert_eq!(found, 0, "{name}: NP101 fired under {profile}");
        let shop = score
            .namespaces
            .iter()
            .find(|n| n.namespace == "shop")
            .unwrap();
        assert!(
            !shop.patterns[0].note.contains("no default deny"),
            "{name}: {:?}",
            shop.patterns[0]
        );
        // a profile that does not enforce the dialect does not credit it
        let (found, _) = np101(Profile::Flannel);
        assert_eq!(found, 1, "{name}: credited under flannel");
    }
}

/// CIL101 on a generated cluster: 2,000 pods of distinct labels (2,000 identities) allowed into
/// one database on 9 ports is about 18,000 policy map entries, over the default 16,384; with
/// `bpf-policy-map-max` raised to 65,536 it is not reported.
#[test]
fn cil101_on_a_generated_cluster_over_the_default_map_size() {
    let mut text = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    for i in 0..2000 {
        text.push_str(&format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: shop, labels: {{app: p{i}}}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"));
    }
    text.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n  - fromEndpoints: [{}]\n    toPorts: [{ports: [");
    let ports: Vec<String> = (0..9)
        .map(|i| format!("{{port: \"{}\", protocol: TCP}}", 5432 + i))
        .collect();
    text.push_str(&ports.join(", "));
    text.push_str("]}]\n");
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "gen.yaml".into(),
        text,
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
    let run_with = |max: usize| {
        let config = AuditConfig {
            policy_map_max: max,
            ..AuditConfig::default()
        };
        let ctx = AuditCtx::new(&loaded.cluster, Profile::Cilium, config);
        run(
            &ctx,
            &Selection {
                select: vec!["CIL101".into()],
                ignore: vec![],
            },
        )
        .diagnostics
    };
    let found = run_with(16_384);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .message
            .contains("shop/db[Pod]: an estimated 18009 policy map entries"),
        "{}",
        found[0].message
    );
    assert!(run_with(65_536).is_empty());
}

/// The README's rule count is the registry's.
#[test]
fn the_readme_counts_the_rules_of_the_registry() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let claim = format!("{} rules with", RULES.len());
    assert!(readme.contains(&claim), "the README should say `{claim}`");
}

/// The suppression annotation works on every object a finding names: for each rule whose
/// findings are about a policy object of some dialect (Calico, Istio, admin tiers), the
/// annotation on that object silences them.
#[test]
fn suppression_works_on_policy_objects_of_every_dialect() {
    let mut checked = 0;
    for rule in RULES {
        let file = format!("{}.yaml", rule.code);
        let mut cluster = fixture(&file);
        let profile = fixture_profile(&file);
        let select = Selection {
            select: vec![rule.code.to_string()],
            ignore: vec![],
        };
        let before = {
            let ctx = AuditCtx::new(&cluster, profile, AuditConfig::default());
            run(&ctx, &select).diagnostics
        };
        let keys: Vec<_> = before
            .iter()
            .filter_map(|d| match &d.subject {
                netfence_audit::Subject::Object(k) => Some(k.clone()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            continue;
        }
        for k in keys {
            cluster.object_annotations.insert(
                k,
                [("netfence.dev/ignore".to_string(), rule.code.to_string())].into(),
            );
        }
        let ctx = AuditCtx::new(&cluster, profile, AuditConfig::default());
        let after = run(&ctx, &select);
        assert!(
            after.diagnostics.is_empty(),
            "{}: {:?}",
            rule.code,
            after.diagnostics
        );
        assert_eq!(after.suppressed, before.len(), "{}", rule.code);
        checked += 1;
    }
    assert!(
        checked >= 4,
        "Calico, Istio and admin-tier rules name objects ({checked})"
    );
}

/// The loader keeps the annotation of a Calico policy, so the YAML form works end to end.
#[test]
fn a_calico_policy_annotation_suppresses_its_finding() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("resources/test/fixtures/CAL001.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "c.yaml".into(),
        text: text.clone(),
    }]);
    let keys: Vec<String> = {
        let ctx = AuditCtx::new(&loaded.cluster, Profile::Calico, AuditConfig::default());
        run(
            &ctx,
            &Selection {
                select: vec!["CAL001".into()],
                ignore: vec![],
            },
        )
        .diagnostics
        .iter()
        .filter_map(|d| match &d.subject {
            netfence_audit::Subject::Object(k) => Some(k.2.clone()),
            _ => None,
        })
        .collect()
    };
    assert!(!keys.is_empty());
    let mut annotated = text.clone();
    for name in &keys {
        annotated = annotated.replacen(
            &format!("name: {name}"),
            &format!("name: {name}, annotations: {{netfence.dev/ignore: CAL001}}"),
            1,
        );
    }
    assert_ne!(
        annotated, text,
        "the fixture names the policy in flow style"
    );
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "c.yaml".into(),
        text: annotated,
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let ctx = AuditCtx::new(&loaded.cluster, Profile::Calico, AuditConfig::default());
    let r = run(
        &ctx,
        &Selection {
            select: vec!["CAL001".into()],
            ignore: vec![],
        },
    );
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert!(r.suppressed > 0);
}

/// XP101: toFQDNs rules with the L7 proxy off in cilium-config match nothing.
#[test]
fn fqdn_rules_without_the_dns_proxy_are_reported() {
    let text = |proxy: &str| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: kube-system}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cilium-config, namespace: kube-system}}\ndata: {{enable-l7-proxy: \"{proxy}\", enable-hubble: \"true\"}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: out, namespace: shop}}\nspec:\n  endpointSelector: {{}}\n  egress:\n  - toFQDNs: [{{matchName: api.example.com}}]\n  - toEndpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}}}]\n    toPorts: [{{ports: [{{port: \"53\", protocol: ANY}}], rules: {{dns: [{{matchPattern: \"*\"}}]}}}}]\n")
    };
    for (proxy, want) in [("false", 1), ("true", 0)] {
        let loaded = netfence_load::load(&[netfence_load::Source {
            name: "x.yaml".into(),
            text: text(proxy),
        }]);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let ctx = AuditCtx::new(&loaded.cluster, Profile::Cilium, AuditConfig::default());
        let r = run(
            &ctx,
            &Selection {
                select: vec!["XP101".into()],
                ignore: vec![],
            },
        );
        assert_eq!(r.diagnostics.len(), want, "{proxy}: {:?}", r.diagnostics);
        if want == 1 {
            assert!(r.diagnostics[0].message.contains("enable-l7-proxy"));
        }
    }
}

/// IST101 with a clock: an expired certificate and one expiring within 14 days are reported,
/// one valid for longer is not; without a clock (`now: None`) expiry is not checked.
#[test]
fn certificates_expiring_or_expired_are_reported_against_the_clock() {
    let cert = |name: &str, not_after: &str| {
        format!("---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {{name: {name}, namespace: istio-system}}\nspec: {{secretName: {name}}}\nstatus:\n  conditions: [{{type: Ready, status: \"True\"}}]\n  notAfter: \"{not_after}\"\n")
    };
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: istio-system}}\n{}{}{}",
        cert("old", "2026-11-30T00:00:00Z"),
        cert("soon", "2026-12-10T00:00:00Z"),
        cert("fine", "2027-06-01T00:00:00Z")
    );
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "c.yaml".into(),
        text,
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let audit = |now: Option<i64>| {
        let config = AuditConfig {
            now,
            ..AuditConfig::default()
        };
        let ctx = AuditCtx::new(&loaded.cluster, Profile::Generic, config);
        run(
            &ctx,
            &Selection {
                select: vec!["IST101".into()],
                ignore: vec![],
            },
        )
        .diagnostics
        .into_iter()
        .map(|d| d.message)
        .collect::<Vec<_>>()
    };
    // 2026-12-02T00:00:00Z
    let found = audit(Some(1_796_169_600));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("old expired at 2026-11-30"), "{found:?}");
    assert!(
        found[1].contains("soon expires at 2026-12-10T00:00:00Z, in 8 days"),
        "{found:?}"
    );
    assert!(audit(None).is_empty());
}

/// A self-signed CA certificate (PEM) valid until `y-m-d`.
fn ca_pem(y: i32, m: u8, d: u8) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

/// IST101 on Istio's CA secrets: the earliest `notAfter` of the certificates they hold decides;
/// the keys are never read; other secrets are skipped; a key that holds no certificate is a
/// located error.
#[test]
fn istio_ca_secrets_expiring_are_reported() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let soon = ca_pem(2026, 12, 10);
    let later = ca_pem(2030, 1, 1);
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: istio-system}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: cacerts, namespace: istio-system}}\ntype: Opaque\ndata:\n  ca-cert.pem: {}\n  root-cert.pem: {}\n  ca-key.pem: {}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: istio-ca-secret, namespace: istio-system}}\ntype: istio.io/ca-root\ndata:\n  ca-cert.pem: {}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: cacerts, namespace: default}}\ndata:\n  ca-cert.pem: {}\n",
        b64(&later),
        b64(&soon),
        b64("not a key"),
        b64(&later),
        b64(&soon),
    );
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "istio.yaml".into(),
        text,
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(
        loaded.cluster.certificates.len(),
        2,
        "default/cacerts is not Istio's"
    );
    let config = AuditConfig {
        // 2026-12-02T00:00:00Z
        now: Some(1_796_169_600),
        ..AuditConfig::default()
    };
    let ctx = AuditCtx::new(&loaded.cluster, Profile::Generic, config);
    let found = run(
        &ctx,
        &Selection {
            select: vec!["IST101".into()],
            ignore: vec![],
        },
    )
    .diagnostics;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains(
            "the CA certificate of Istio's Secret istio-system/cacerts expires at 2026-12-10T00:00:00Z, in 8 days"
        ),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].object, "Secret istio-system/cacerts");

    // a certificate key without a certificate: an error naming the key
    let bad = netfence_load::load(&[netfence_load::Source {
        name: "bad.yaml".into(),
        text: format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: istio-ca-secret, namespace: istio-system}}\ndata:\n  ca-cert.pem: {}\n",
            b64("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        ),
    }]);
    assert_eq!(bad.errors.len(), 1, "{:?}", bad.errors);
    let e = bad.errors[0].to_string();
    assert!(
        e.contains("bad.yaml")
            && e.contains("data.ca-cert.pem")
            && e.contains("holds no PEM certificate"),
        "{e}"
    );
}
