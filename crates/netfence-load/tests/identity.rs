//! Every example and every conformance case loads to the same model however it is read: on
//! every core or on one, and as YAML or as the same objects in JSON.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test reads the example files"
)]

use std::path::{Path, PathBuf};

use netfence_load::{load, Loaded, Source};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            && p.file_name()
                .is_some_and(|n| n != "case.json" && !n.to_string_lossy().starts_with("expected"))
        {
            out.push(p);
        }
    }
}

/// Each example folder and each conformance case, as the sources of one cluster.
fn clusters() -> Vec<(String, Vec<Source>)> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for base in [
        root().join("examples"),
        root().join("examples/scenarios"),
        root().join("../shared/conformance/netpol-analyzer"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&base) {
            dirs.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_dir()));
        }
    }
    dirs.sort();
    dirs.into_iter()
        .filter(|d| !d.ends_with("scenarios") && !d.ends_with("tests"))
        .filter_map(|d| {
            let mut files = Vec::new();
            files_under(&d, &mut files);
            let sources: Vec<Source> = files
                .iter()
                .filter_map(|p| {
                    let bytes = std::fs::read(p).ok()?;
                    Source::from_bytes(&p.display().to_string(), bytes).ok()
                })
                .collect();
            (!sources.is_empty()).then(|| (d.display().to_string(), sources))
        })
        .collect()
}

/// The model, errors and warnings, as text.
fn text(l: &Loaded) -> String {
    format!("{:#?}\n{:#?}\n{:#?}", l.cluster, l.errors, l.warnings)
}

/// [`text`] without where things came from (file, document, line).
fn without_places(s: &str) -> String {
    let re = regex::Regex::new(
        r#"(file: "[^"]*"|document: \d+|line: Some\(\s*\d+,?\s*\)|line: None|line \d+|:\d+)"#,
    )
    .unwrap();
    re.replace_all(s, "_").into_owned()
}

#[test]
fn one_core_and_every_core_load_alike() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let all = clusters();
    assert!(all.len() >= 5, "the examples are there");
    for (name, sources) in &all {
        let parallel = load(sources);
        let sequential = one.install(|| load(sources));
        assert!(
            text(&parallel) == text(&sequential),
            "{name}: sequential and parallel loads differ"
        );
    }
}

#[test]
fn yaml_and_the_same_objects_in_json_load_alike() {
    let mut compared = 0;
    for (name, sources) in clusters() {
        let yaml = load(&sources);
        if !yaml.errors.is_empty() {
            continue; // error texts name YAML lines; the corpus of bad input has its own suite
        }
        let json: Option<Vec<Source>> = sources
            .iter()
            .map(|s| {
                if s.name.ends_with(".json") {
                    return Some(Source {
                        name: s.name.clone(),
                        text: s.text.clone(),
                    });
                }
                // (a file read only after its tabs were taken for spaces is left out)
                let docs = netfence_load::fuzzing::yaml_as_json(&s.text)?;
                // one document per line: JSON Lines
                let text = docs
                    .iter()
                    .map(|d| serde_json::to_string(d).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n");
                Some(Source {
                    name: format!("{}.json", s.name),
                    text,
                })
            })
            .collect();
        let Some(json) = json else { continue };
        let from_json = load(&json);
        assert!(
            from_json.errors.is_empty(),
            "{name}: {:?}",
            from_json.errors
        );
        let model = |l: &Loaded| without_places(&format!("{:#?}", l.cluster)).replace(".json", "");
        let (a, b) = (model(&yaml), model(&from_json));
        if a != b {
            let diff: Vec<(&str, &str)> = a
                .lines()
                .zip(b.lines())
                .filter(|(x, y)| x != y)
                .take(5)
                .collect();
            panic!("{name}: the YAML and JSON models differ: {diff:#?}");
        }
        compared += 1;
    }
    eprintln!("{compared} clusters compared");
    assert!(compared >= 5, "{compared} clusters compared");
}

#[test]
fn every_conformance_case_loads_but_the_known_refusals() {
    let gaps = std::fs::read_to_string(root().join("KNOWN_GAPS.md")).unwrap();
    for (name, sources) in clusters() {
        if !name.contains("conformance") {
            continue;
        }
        let l = load(&sources);
        let case = name.rsplit('/').next().unwrap();
        assert!(
            l.errors.is_empty() || gaps.contains(&format!("`{case}`")),
            "{case}: {:?}",
            l.errors.first()
        );
    }
}

/// A `kubectl get -o json` List big enough to be cut at its items (over 4 MB): namespaces,
/// pods with padding as kubectl's dumps carry, and a policy per namespace.
fn big_list_items() -> Vec<serde_json::Value> {
    use serde_json::json;
    let pad = "x".repeat(1500);
    let mut items = Vec::new();
    for n in 0..40 {
        let ns = format!("ns{n}");
        items.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"team": format!("t{}", n % 3)}}}));
        items.push(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "db", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "t1"}}}],
                    "ports": [{"port": 5432}]}]}}),
        );
        for p in 0..80 {
            items.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{p}"), "namespace": ns,
                    "labels": {"app": if p % 2 == 0 { "db" } else { "web" }},
                    "annotations": {"padding": pad},
                    "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {}}}]},
                "spec": {"containers": [{"name": "c", "image": "nginx",
                    "ports": [{"containerPort": 5432, "name": "pg"}]}]},
                "status": {"phase": "Running", "podIP": format!("10.{n}.{}.{}", p / 200, p % 200 + 1)}}));
        }
    }
    items
}

#[test]
fn a_large_json_list_loads_as_its_objects_one_by_one() {
    let items = big_list_items();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items,
        "metadata": {"resourceVersion": ""}});
    let text = serde_json::to_string_pretty(&list).unwrap();
    assert!(
        text.len() > 4 << 20,
        "{} bytes: large enough to be cut",
        text.len()
    );
    let split = load(&[Source {
        name: "cluster.json".into(),
        text: text.clone(),
    }]);
    assert!(split.errors.is_empty(), "{:?}", split.errors.first());
    assert_eq!(split.cluster.endpoints.len(), 40 * 80);
    // the same objects as JSON Lines are parsed one document at a time
    let lines = items
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let one_by_one = load(&[Source {
        name: "cluster.json".into(),
        text: lines,
    }]);
    let model = |l: &Loaded| without_places(&format!("{:#?}", l.cluster));
    assert!(model(&split) == model(&one_by_one), "the models differ");

    // An item that does not parse (a repeated key): the file is refused as a whole, at the
    // item's line, as when it is parsed in one pass.
    let broken_at = text.find("\"name\": \"p41\"").unwrap();
    let mut broken = text.clone();
    broken.insert_str(broken_at, "\"name\": \"again\", ");
    let line = 1 + broken[..broken_at].matches('\n').count();
    let l = load(&[Source {
        name: "cluster.json".into(),
        text: broken,
    }]);
    assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
    assert!(
        l.errors[0].message.contains("invalid JSON") && l.errors[0].message.contains("duplicate"),
        "{}",
        l.errors[0].message
    );
    assert_eq!(l.errors[0].line, Some(line));
    assert!(l.cluster.endpoints.is_empty());
}
