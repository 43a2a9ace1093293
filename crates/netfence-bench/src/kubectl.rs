//! The generated cluster as `kubectl get -o yaml|json` prints it: one `kind: List` whose items
//! carry what the API server adds (uid, resourceVersion, managedFields, status, owner
//! references, the projected service-account volume), about 8 KB of YAML per pod.

use serde_json::{json, Value};

/// The output format of `kubectl get -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `-o yaml`: block-style YAML.
    Yaml,
    /// `-o json`: pretty-printed JSON.
    Json,
}

/// One `kind: List` of every object of the generated files, decorated as the API server
/// returns them.
pub fn list(files: &[(String, String)], format: Format) -> String {
    let mut items = Vec::new();
    let mut n = 0u64;
    for (_, text) in files {
        let docs: Vec<Value> = serde_saphyr::from_str_multiple(text).unwrap_or_default();
        for mut obj in docs.into_iter().filter(|d| !d.is_null()) {
            n += 1;
            decorate(&mut obj, n);
            items.push(obj);
        }
    }
    let list = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
        "metadata": {"resourceVersion": ""},
    });
    match format {
        Format::Json => serde_json::to_string_pretty(&list).unwrap_or_default(),
        Format::Yaml => serde_saphyr::to_string(&list).unwrap_or_default(),
    }
}

fn decorate(obj: &mut Value, n: u64) {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        n * 2_654_435_761 % (1 << 32),
        n % 65_536,
        n % 4096,
        (n * 7) % 4096,
        n * 97
    );
    let time = "2026-11-02T08:15:30Z";
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("uid".into(), json!(uid));
        meta.insert(
            "resourceVersion".into(),
            json!(format!("{}", 1_000_000 + n)),
        );
        meta.insert("creationTimestamp".into(), json!(time));
        if kind != "Pod" {
            meta.insert("generation".into(), json!(1));
        }
        meta.insert(
            "annotations".into(),
            json!({"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"Object\"}\n"}),
        );
        meta.insert("managedFields".into(), managed_fields(&kind, time));
        if let Some(owners) = meta
            .get_mut("ownerReferences")
            .and_then(Value::as_array_mut)
        {
            for o in owners {
                o["uid"] = json!(format!("{:08x}-0000-4000-8000-{:012x}", n % (1 << 32), n));
                o["blockOwnerDeletion"] = json!(true);
            }
        }
    }
    if kind == "Pod" {
        pod(obj, n);
    }
}

fn managed_fields(kind: &str, time: &str) -> Value {
    let spec = if kind == "Pod" {
        json!({"f:containers": {"k:{\"name\":\"main\"}": {".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:ports": {".": {}, "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}, "k:{\"containerPort\":9090,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}}, "f:resources": {".": {}, "f:limits": {".": {}, "f:memory": {}}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}}, "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}})
    } else {
        json!({"f:podSelector": {}, "f:policyTypes": {}})
    };
    let mut out = vec![json!({
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}, "f:tier": {}}, "f:ownerReferences": {".": {}, "k:{\"uid\":\"0\"}": {}}}, "f:spec": spec},
        "manager": "kube-controller-manager",
        "operation": "Update",
        "time": time,
    })];
    if kind == "Pod" {
        out.push(json!({
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:status": {"f:conditions": {"k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}, "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}, "k:{\"type\":\"PodReadyToStartContainers\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}, "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}}, "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {}, "f:podIPs": {".": {}, "k:{\"ip\":\"10.0.0.1\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}}},
            "manager": "kubelet",
            "operation": "Update",
            "subresource": "status",
            "time": time,
        }));
    }
    Value::Array(out)
}

fn pod(obj: &mut Value, n: u64) {
    let ip = format!("10.{}.{}.{}", 64 + (n >> 16) % 64, (n >> 8) % 256, n % 256);
    if let Some(c) = obj["spec"]["containers"][0].as_object_mut() {
        c.insert(
            "image".into(),
            json!("registry.example.com/shop/main:1.4.2"),
        );
        c.insert("imagePullPolicy".into(), json!("IfNotPresent"));
        c.insert(
            "resources".into(),
            json!({"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}),
        );
        c.insert(
            "terminationMessagePath".into(),
            json!("/dev/termination-log"),
        );
        c.insert("terminationMessagePolicy".into(), json!("File"));
        c.insert("env".into(), json!([{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}, {"name": "LOG_LEVEL", "value": "info"}]));
        c.insert("volumeMounts".into(), json!([{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-x7k2p", "readOnly": true}]));
        c.insert("readinessProbe".into(), json!({"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}));
    }
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        for (k, v) in [
            ("dnsPolicy", json!("ClusterFirst")),
            ("enableServiceLinks", json!(true)),
            ("nodeName", json!(format!("node-{}", n % 50))),
            ("preemptionPolicy", json!("PreemptLowerPriority")),
            ("priority", json!(0)),
            ("restartPolicy", json!("Always")),
            ("schedulerName", json!("default-scheduler")),
            ("securityContext", json!({})),
            ("serviceAccount", json!("default")),
            ("serviceAccountName", json!("default")),
            ("terminationGracePeriodSeconds", json!(30)),
            (
                "tolerations",
                json!([{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}, {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}]),
            ),
            (
                "volumes",
                json!([{"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}, {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}}, {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}]}}]),
            ),
        ] {
            spec.insert(k.into(), v);
        }
    }
    let cond = |t: &str| json!({"lastProbeTime": null, "lastTransitionTime": "2026-11-02T08:15:34Z", "status": "True", "type": t});
    obj["status"] = json!({
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "containerStatuses": [{"containerID": format!("containerd://{:064x}", n), "image": "registry.example.com/shop/main:1.4.2", "imageID": format!("registry.example.com/shop/main@sha256:{:064x}", n * 31), "lastState": {}, "name": "main", "ready": true, "restartCount": 0, "started": true, "state": {"running": {"startedAt": "2026-11-02T08:15:33Z"}}, "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-x7k2p", "readOnly": true, "recursiveReadOnly": "Disabled"}]}],
        "hostIP": format!("192.168.{}.{}", n % 50 / 256, n % 50 + 10),
        "hostIPs": [{"ip": format!("192.168.0.{}", n % 50 + 10)}],
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "qosClass": "Burstable",
        "startTime": "2026-11-02T08:15:30Z",
    });
}
