//! `--cluster`: the objects netfence models, listed from a live cluster through the Kubernetes
//! API, handed to the loader as one JSON list per kind (the same loader as files, so the same
//! strictness and the same answers).
//!
//! Each kind is listed with pagination (`limit`/`continue`), a few kinds at a time, each request
//! with a timeout and retried with backoff on 429 and 5xx. A kind the server does not serve (a
//! CRD not installed) means that dialect is absent, said once on standard error. 401, 403, an
//! unreachable server and TLS failures are errors that say what to do.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures::{StreamExt, TryStreamExt};

/// Where to read the cluster from.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A kubeconfig file (default: `KUBECONFIG`, then `~/.kube/config`, then in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// A kubeconfig context (default: the current one).
    pub context: Option<String>,
    /// Only these namespaces' objects (cluster-scoped kinds are always read whole); empty: all.
    pub namespaces: Vec<String>,
}

/// A kind netfence reads: API group/version, resource (plural) and kind.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// `v1`, `apps/v1`, `cilium.io/v2`, ...
    pub api_version: &'static str,
    /// The plural resource name.
    pub plural: &'static str,
    /// The kind of its objects.
    pub kind: &'static str,
}

/// Kinds whose objects are cluster-scoped.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "CiliumCIDRGroup",
    "GlobalNetworkPolicy",
    "Tier",
    "GlobalNetworkSet",
];

impl Resource {
    /// Whether its objects live in namespaces.
    pub fn namespaced(&self) -> bool {
        !CLUSTER_SCOPED.contains(&self.kind)
    }
}

const fn r(api_version: &'static str, plural: &'static str, kind: &'static str) -> Resource {
    Resource {
        api_version,
        plural,
        kind,
    }
}

/// Every kind netfence models, as the API serves them (what `deploy/rbac.yaml` grants).
pub const RESOURCES: &[Resource] = &[
    r("v1", "namespaces", "Namespace"),
    r("v1", "nodes", "Node"),
    r("v1", "pods", "Pod"),
    r("v1", "services", "Service"),
    r("v1", "replicationcontrollers", "ReplicationController"),
    r("apps/v1", "deployments", "Deployment"),
    r("apps/v1", "replicasets", "ReplicaSet"),
    r("apps/v1", "statefulsets", "StatefulSet"),
    r("apps/v1", "daemonsets", "DaemonSet"),
    r("batch/v1", "jobs", "Job"),
    r("batch/v1", "cronjobs", "CronJob"),
    r("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy"),
    r("networking.k8s.io/v1", "ingresses", "Ingress"),
    r(
        "policy.networking.k8s.io/v1alpha1",
        "adminnetworkpolicies",
        "AdminNetworkPolicy",
    ),
    r(
        "policy.networking.k8s.io/v1alpha1",
        "baselineadminnetworkpolicies",
        "BaselineAdminNetworkPolicy",
    ),
    r(
        "policy.networking.k8s.io/v1alpha2",
        "clusternetworkpolicies",
        "ClusterNetworkPolicy",
    ),
    r(
        "cilium.io/v2",
        "ciliumnetworkpolicies",
        "CiliumNetworkPolicy",
    ),
    r(
        "cilium.io/v2",
        "ciliumclusterwidenetworkpolicies",
        "CiliumClusterwideNetworkPolicy",
    ),
    r("cilium.io/v2", "ciliumcidrgroups", "CiliumCIDRGroup"),
    r("projectcalico.org/v3", "networkpolicies", "NetworkPolicy"),
    r(
        "projectcalico.org/v3",
        "globalnetworkpolicies",
        "GlobalNetworkPolicy",
    ),
    r("projectcalico.org/v3", "tiers", "Tier"),
    r("projectcalico.org/v3", "networksets", "NetworkSet"),
    r(
        "projectcalico.org/v3",
        "globalnetworksets",
        "GlobalNetworkSet",
    ),
    r(
        "security.istio.io/v1",
        "peerauthentications",
        "PeerAuthentication",
    ),
    r(
        "security.istio.io/v1",
        "authorizationpolicies",
        "AuthorizationPolicy",
    ),
    r("route.openshift.io/v1", "routes", "Route"),
    r("cert-manager.io/v1", "certificates", "Certificate"),
];

/// Objects per page.
const PAGE: usize = 500;
/// Kinds listed at once.
const IN_FLIGHT: usize = 4;
/// Attempts per request on 429 and 5xx.
const ATTEMPTS: u32 = 5;

/// The per-request timeout (`NETFENCE_REQUEST_TIMEOUT_MS` overrides it, for tests).
fn request_timeout() -> Duration {
    std::env::var("NETFENCE_REQUEST_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_millis)
}

/// The objects of every served kind, as loader sources (`cluster:KIND` names), with the kinds
/// the server does not serve.
pub fn sources(target: &Target) -> Result<Vec<netfence_load::Source>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client runtime")?;
    rt.block_on(read(target))
}

async fn client(target: &Target) -> Result<(kube::Client, String)> {
    let options = kube::config::KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let config = match &target.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig `{}`", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .with_context(|| format!("kubeconfig `{}`", path.display()))?
        }
        None if target.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .context("cannot load the kubeconfig context")?,
        None => kube::Config::infer().await.context(
            "no cluster configuration: set KUBECONFIG, pass --kubeconfig, or run in a pod",
        )?,
    };
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).context("cannot build the API client")?;
    Ok((client, url))
}

/// Progress on standard error when it is a terminal: the kind listed and the objects so far.
struct Progress {
    on: bool,
    objects: std::sync::atomic::AtomicUsize,
}

impl Progress {
    fn new() -> Self {
        use std::io::IsTerminal;
        Self {
            on: std::io::stderr().is_terminal(),
            objects: Default::default(),
        }
    }

    fn page(&self, res: Resource, n: usize) {
        let total = self
            .objects
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
            + n;
        if self.on {
            eprint!(
                "\r\x1b[2Klisting {} ({}): {total} objects",
                res.plural, res.api_version
            );
        }
    }

    fn done(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

async fn read(target: &Target) -> Result<Vec<netfence_load::Source>> {
    let (client, url) = client(target).await?;
    let progress = Progress::new();
    let listed: Vec<Option<netfence_load::Source>> = futures::stream::iter(RESOURCES)
        .map(|res| list(&client, &url, *res, &target.namespaces, &progress))
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    progress.done();
    let mut out = Vec::new();
    let mut absent = Vec::new();
    for (res, src) in RESOURCES.iter().zip(listed) {
        match src {
            Some(s) => out.push(s),
            None => absent.push(format!("{} ({})", res.kind, res.api_version)),
        }
    }
    if !absent.is_empty() {
        eprintln!(
            "note: the cluster does not serve {}: those dialects are absent",
            absent.join(", ")
        );
    }
    Ok(out)
}

/// The path of `res`'s list, in namespace `ns` or across all.
fn path(res: Resource, ns: Option<&str>) -> String {
    let root = if res.api_version.contains('/') {
        format!("/apis/{}", res.api_version)
    } else {
        format!("/api/{}", res.api_version)
    };
    match ns {
        Some(ns) => format!("{root}/namespaces/{}/{}", encode(ns), res.plural),
        None => format!("{root}/{}", res.plural),
    }
}

/// Every object of `res`, page by page, as one typed list; `None` when it is not served.
async fn list(
    client: &kube::Client,
    url: &str,
    res: Resource,
    namespaces: &[String],
    progress: &Progress,
) -> Result<Option<netfence_load::Source>> {
    let scopes: Vec<Option<&str>> = if res.namespaced() && !namespaces.is_empty() {
        namespaces.iter().map(|n| Some(n.as_str())).collect()
    } else {
        vec![None]
    };
    let mut items: Vec<serde_json::Value> = Vec::new();
    for scope in scopes {
        if !list_into(client, url, res, scope, progress, &mut items).await? {
            return Ok(None);
        }
    }
    let doc = serde_json::json!({
        "apiVersion": res.api_version,
        "kind": format!("{}List", res.kind),
        "items": items,
    });
    Ok(Some(netfence_load::Source {
        name: format!("cluster:{}/{}", res.api_version, res.plural),
        text: serde_json::to_string(&doc)?,
    }))
}

/// Every page of `res` in `scope` into `items`; false when the kind is not served.
async fn list_into(
    client: &kube::Client,
    url: &str,
    res: Resource,
    scope: Option<&str>,
    progress: &Progress,
    items: &mut Vec<serde_json::Value>,
) -> Result<bool> {
    let mut token: Option<String> = None;
    loop {
        let mut uri = format!("{}?limit={PAGE}", path(res, scope));
        if let Some(t) = &token {
            uri.push_str("&continue=");
            uri.push_str(&encode(t));
        }
        let Some(page) = get(client, url, res, &uri).await? else {
            return Ok(false);
        };
        let page: serde_json::Value = serde_json::from_str(&page)
            .with_context(|| format!("the API server sent invalid JSON for {}", res.plural))?;
        if let Some(list) = page.get("items").and_then(|v| v.as_array()) {
            progress.page(res, list.len());
            for item in list {
                let mut item = item.clone();
                if let Some(o) = item.as_object_mut() {
                    // list items carry no apiVersion/kind; the typed list gives them
                    o.remove("apiVersion");
                    o.remove("kind");
                }
                items.push(item);
            }
        }
        token = page
            .pointer("/metadata/continue")
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return Ok(true);
        }
    }
}

/// Percent-encodes a continue token for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One GET with timeout and retries; `None` when the resource is not served (404).
async fn get(client: &kube::Client, url: &str, res: Resource, uri: &str) -> Result<Option<String>> {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        let req = http::Request::get(uri)
            .body(Vec::new())
            .map_err(|e| anyhow!("bad request for {}: {e}", res.plural))?;
        let outcome = tokio::time::timeout(request_timeout(), client.request_text(req)).await;
        let err = match outcome {
            Err(_) => bail!(
                "the API server at {url} did not answer listing {} within {:?}",
                res.plural,
                request_timeout()
            ),
            Ok(Ok(text)) => return Ok(Some(text)),
            Ok(Err(kube::Error::Api(status))) => match status.code {
                404 => return Ok(None),
                401 => bail!(
                    "the API server at {url} does not accept your credentials (401): they expired or are wrong; log in again (your provider's `get-credentials`, or `kubectl config view` to check the user)"
                ),
                403 => bail!(
                    "forbidden (403): your user may not list {} ({}); grant get and list on it (deploy/rbac.yaml has a ClusterRole with exactly what netfence reads): {}",
                    res.plural,
                    res.api_version,
                    status.message
                ),
                429 | 500..=599 => anyhow!(
                    "the API server answered {} listing {}: {}",
                    status.code,
                    res.plural,
                    status.message
                ),
                code => bail!(
                    "the API server answered {code} listing {}: {}",
                    res.plural,
                    status.message
                ),
            },
            Ok(Err(e)) => {
                // the whole chain: a TLS failure is a source of a connect error
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                if ["certificate", "tls", "TLS", "UnknownIssuer"]
                    .iter()
                    .any(|w| text.contains(w))
                {
                    bail!("TLS failure talking to {url}: {text}; check the kubeconfig's certificate-authority")
                }
                bail!("cannot reach the API server at {url}: {text}")
            }
        };
        if attempt == ATTEMPTS {
            return Err(err.context(format!("after {ATTEMPTS} attempts")));
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    bail!("unreachable")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `deploy/rbac.yaml` grants get and list on exactly the resources listed here.
    #[test]
    fn the_rbac_manifest_grants_exactly_what_is_read() {
        use std::collections::{BTreeMap, BTreeSet};
        let text = include_str!("../../../deploy/rbac.yaml");
        let role = text.split("\n---").next().unwrap_or_default();
        let v: serde_json::Value = serde_saphyr::from_str(role).unwrap_or_default();
        let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for rule in v["rules"].as_array().into_iter().flatten() {
            let verbs: Vec<&str> = rule["verbs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
                .collect();
            assert_eq!(verbs, ["get", "list"], "read-only");
            for g in rule["apiGroups"].as_array().into_iter().flatten() {
                for r in rule["resources"].as_array().into_iter().flatten() {
                    granted
                        .entry(g.as_str().unwrap_or_default().to_string())
                        .or_default()
                        .insert(r.as_str().unwrap_or_default().to_string());
                }
            }
        }
        let mut read: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for res in RESOURCES {
            let group = res.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            read.entry(group.to_string())
                .or_default()
                .insert(res.plural.to_string());
        }
        assert_eq!(granted, read);
    }

    #[test]
    fn paths_and_tokens() {
        assert_eq!(path(RESOURCES[0], None), "/api/v1/namespaces");
        let cnp = r(
            "cilium.io/v2",
            "ciliumnetworkpolicies",
            "CiliumNetworkPolicy",
        );
        assert_eq!(path(cnp, None), "/apis/cilium.io/v2/ciliumnetworkpolicies");
        assert_eq!(
            path(cnp, Some("shop")),
            "/apis/cilium.io/v2/namespaces/shop/ciliumnetworkpolicies"
        );
        assert!(cnp.namespaced() && !RESOURCES[0].namespaced());
        assert_eq!(encode("a b/c=="), "a%20b%2Fc%3D%3D");
    }
}
