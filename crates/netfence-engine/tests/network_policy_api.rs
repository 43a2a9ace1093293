//! network-policy-api's ClusterNetworkPolicy conformance tests, as data: every `PokeServer`
//! probe of every subtest, in the state the test has mutated the objects into, must get the
//! verdict upstream expects. The data is generated from upstream's Go code by
//! `tests/network-policy-api/convert.py`; probes netfence cannot model yet are listed, with the
//! reason, in `KNOWN_GAPS.md`, and this test fails when a listed probe starts to pass too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test reads its data files; the engine under test does no I/O"
)]

use std::path::PathBuf;

use netfence_engine::eval::Evaluator;
use netfence_engine::{DataPath, Peer, Profile, Release};
use netfence_model::Protocol;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    test: String,
    subtests: Vec<Subtest>,
}

#[derive(Deserialize)]
struct Subtest {
    name: String,
    phases: Vec<Phase>,
}

#[derive(Deserialize)]
struct Phase {
    objects: String,
    probes: Vec<Probe>,
}

#[derive(Deserialize)]
struct Probe {
    from: String,
    to: String,
    protocol: String,
    port: u16,
    connect: bool,
}

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/network-policy-api")
}

/// The probes `KNOWN_GAPS.md` lists as failing, as `Test: from -> to PROTO/port`.
fn known_gaps() -> Vec<String> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../KNOWN_GAPS.md"),
    )
    .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("- probe `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// The data paths that enforce ClusterNetworkPolicy: upstream semantics, Calico 3.32's
/// tiers, Cilium 1.20 with its flag, Antrea with its feature gate.
fn enforcing_data_paths() -> Vec<DataPath> {
    let mut cilium = DataPath::new(Profile::Cilium, Some(Release::new(1, 20)));
    cilium
        .settings
        .set("enable-k8s-cluster-network-policy", "true")
        .unwrap();
    let mut antrea = DataPath::from(Profile::Antrea);
    antrea.settings.set("ClusterNetworkPolicy", "true").unwrap();
    vec![
        DataPath::from(Profile::Generic),
        DataPath::new(Profile::Calico, Some(Release::new(3, 32))),
        cilium,
        antrea,
    ]
}

/// Whether `dp` is Calico's, which converts no `nodes` peer, and `test` one of upstream's
/// node-peer tests.
fn converts_no_node_peers(dp: DataPath, test: &str) -> bool {
    dp.cni == Profile::Calico && test.ends_with("NodePeers")
}

#[test]
fn cluster_network_policy_conformance_probes() {
    // the data is v1alpha2, as upstream's tests write it; v1beta1 (v0.3.0's storage version)
    // has the same schema and must give the same answers
    for api in ["v1alpha2", "v1beta1"] {
        for dp in enforcing_data_paths() {
            conformance_probes(api, dp);
        }
    }
}

fn conformance_probes(api: &str, dp: DataPath) {
    let base = std::fs::read_to_string(data().join("base.yaml")).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        24,
        "every upstream ClusterNetworkPolicy test is in the data"
    );
    let (mut passed, mut failed) = (0, Vec::new());
    let mut calico_node_peers = 0;
    for file in files {
        let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for sub in &case.subtests {
            for phase in &sub.phases {
                let loaded = netfence_load::load(&[
                    netfence_load::Source {
                        name: "base.yaml".into(),
                        text: base.clone(),
                    },
                    netfence_load::Source {
                        name: format!("{}.yaml", case.test),
                        text: phase.objects.replace(
                            "policy.networking.k8s.io/v1alpha2",
                            &format!("policy.networking.k8s.io/{api}"),
                        ),
                    },
                ]);
                assert!(
                    loaded.errors.is_empty(),
                    "{} / {}: {:?}",
                    case.test,
                    sub.name,
                    loaded.errors
                );
                let c = &loaded.cluster;
                let ev = Evaluator::new(c, dp);
                let pod = |name: &str| {
                    let found = c.find_endpoint(name);
                    assert_eq!(found.len(), 1, "{name}");
                    &c.endpoints[found[0]]
                };
                for p in &phase.probes {
                    let proto = Protocol::parse(&p.protocol).unwrap();
                    let verdict = ev.flow(
                        Peer::Endpoint(pod(&p.from)),
                        Peer::Endpoint(pod(&p.to)),
                        proto,
                        p.port,
                        None,
                    );
                    let got = verdict.outcome == netfence_engine::verdict::Outcome::Allow;
                    if got == p.connect {
                        passed += 1;
                    } else if converts_no_node_peers(dp, &case.test) {
                        // Calico converts no `nodes` peer (an Accept rule with one is
                        // dropped, a Deny/Pass rule denies everything): upstream's answer is
                        // not Calico's here
                        calico_node_peers += 1;
                    } else {
                        failed.push(format!(
                            "{}: {} -> {} {}/{}",
                            case.test, p.from, p.to, p.protocol, p.port
                        ));
                        eprintln!("{api} {dp}: {}", failed.last().unwrap());
                    }
                }
            }
        }
    }
    let known = known_gaps();
    let unexpected: Vec<&String> = failed.iter().filter(|f| !known.contains(f)).collect();
    let fixed: Vec<&String> = known
        .iter()
        .filter(|k| k.starts_with("CNP") && !failed.contains(k))
        .collect();
    eprintln!(
        "network-policy-api conformance ({api}, {dp}): {passed} probes pass, {} known gaps",
        failed.len()
    );
    assert_eq!(
        passed + failed.len() + calico_node_peers,
        301,
        "every probe of the data ran"
    );
    if dp.cni == Profile::Calico {
        assert!(
            calico_node_peers > 0,
            "Calico's dropped node peers change some answers"
        );
    }
    assert!(unexpected.is_empty(), "probes failing: {unexpected:#?}");
    assert!(
        fixed.is_empty(),
        "listed in KNOWN_GAPS.md but passing now: {fixed:#?}"
    );
}
