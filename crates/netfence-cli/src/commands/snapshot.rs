//! `netfence snapshot --cluster --out-dir DIR`: what the cluster runs, as manifests to commit.
//!
//! One YAML file per namespace and kind (`DIR/NAMESPACE/KIND.yaml`, cluster-scoped objects in
//! `DIR/_cluster/`), objects sorted by name, without what the API server manages
//! (`managedFields`, `resourceVersion`, `uid`, `generation`, `creationTimestamp`, the
//! last-applied annotation, and `status` but for pod and node addresses), so that the
//! directory analysed offline gives the answers the cluster gives.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::cli::{Inputs, SnapshotArgs};
use crate::input;

/// Drops what the API server manages from one object.
fn strip(o: &mut Value, kind: &str) {
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(obj) = o.as_object_mut() {
        let keep: &[&str] = match kind {
            "Pod" => &["podIP", "podIPs", "hostIP", "hostIPs"],
            "Node" => &["addresses", "nodeInfo"],
            _ => &[],
        };
        match obj.get_mut("status").and_then(Value::as_object_mut) {
            Some(status) if !keep.is_empty() => {
                status.retain(|k, _| keep.contains(&k.as_str()));
            }
            _ => {
                obj.remove("status");
            }
        }
    }
}

pub fn run(args: &SnapshotArgs) -> Result<i32> {
    if !args.live.cluster {
        bail!("snapshot reads a live cluster: add --cluster");
    }
    let sources = input::sources(&Inputs {
        paths: Vec::new(),
        live: args.live.clone(),
        cni: crate::flags::CniArg::default(),
        verbose: false,
    })?;
    // (namespace dir, kind) -> objects by name
    let mut files: BTreeMap<(String, String), BTreeMap<String, Value>> = BTreeMap::new();
    for s in &sources {
        let list: Value =
            serde_json::from_str(&s.text).with_context(|| format!("{}: not JSON", s.name))?;
        let api = list
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = list
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end_matches("List")
            .to_string();
        // a list, or one object read by name
        let items: Vec<&Value> = match list.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None => vec![&list],
        };
        for item in items {
            let mut o = serde_json::Map::new();
            o.insert("apiVersion".into(), Value::String(api.clone()));
            o.insert("kind".into(), Value::String(kind.clone()));
            if let Some(fields) = item.as_object() {
                o.extend(fields.clone());
            }
            let mut o = Value::Object(o);
            strip(&mut o, &kind);
            let name = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let ns = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("_cluster")
                .to_string();
            // two groups may serve one kind name (Calico and Kubernetes NetworkPolicy)
            let file = if api.contains("projectcalico.org") {
                format!("calico-{kind}")
            } else {
                kind.clone()
            };
            files.entry((ns, file)).or_default().insert(name, o);
        }
    }
    let mut written = 0;
    for ((ns, kind), objects) in &files {
        let dir = args.out_dir.join(ns);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let mut text = String::new();
        for (i, o) in objects.values().enumerate() {
            if i > 0 {
                text.push_str("---\n");
            }
            text.push_str(&serde_saphyr::to_string(o).context("cannot write YAML")?);
        }
        let path = dir.join(format!("{kind}.yaml"));
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        written += objects.len();
    }
    eprintln!(
        "wrote {written} objects in {} files under {}",
        files.len(),
        args.out_dir.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_are_stripped_and_addresses_kept() {
        let mut pod = serde_json::json!({"metadata": {"name": "p", "uid": "1", "resourceVersion": "9",
            "managedFields": [{}], "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}});
        strip(&mut pod, "Pod");
        assert_eq!(
            pod,
            serde_json::json!({"metadata": {"name": "p"}, "status": {"podIP": "10.0.0.1"}})
        );
        let mut np = serde_json::json!({"metadata": {"name": "n"}, "status": {"conditions": []}});
        strip(&mut np, "NetworkPolicy");
        assert_eq!(np, serde_json::json!({"metadata": {"name": "n"}}));
    }
}
