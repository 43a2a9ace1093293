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

/// A kind netfence reads: the API versions it is served as (preferred first), its resource
/// (plural) and kind.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// `v1`, `apps/v1`, `cilium.io/v2`, ..., preferred first: the first one discovery finds
    /// served is listed (Calico's CRDs without its API server, Istio before v1).
    pub versions: &'static [&'static str],
    /// The plural resource name.
    pub plural: &'static str,
    /// The kind of its objects.
    pub kind: &'static str,
}

const fn r(
    versions: &'static [&'static str],
    plural: &'static str,
    kind: &'static str,
) -> Resource {
    Resource {
        versions,
        plural,
        kind,
    }
}

const CALICO: &[&str] = &["projectcalico.org/v3", "crd.projectcalico.org/v1"];
const CILIUM: &[&str] = &["cilium.io/v2"];
const ISTIO: &[&str] = &["security.istio.io/v1", "security.istio.io/v1beta1"];
const NPAPI_V1ALPHA1: &[&str] = &["policy.networking.k8s.io/v1alpha1"];

/// Every kind netfence models, as the API serves them (what `deploy/rbac.yaml` grants).
pub const RESOURCES: &[Resource] = &[
    r(&["v1"], "namespaces", "Namespace"),
    r(&["v1"], "nodes", "Node"),
    r(&["v1"], "pods", "Pod"),
    r(&["v1"], "services", "Service"),
    r(&["v1"], "replicationcontrollers", "ReplicationController"),
    r(&["apps/v1"], "deployments", "Deployment"),
    r(&["apps/v1"], "replicasets", "ReplicaSet"),
    r(&["apps/v1"], "statefulsets", "StatefulSet"),
    r(&["apps/v1"], "daemonsets", "DaemonSet"),
    r(&["batch/v1"], "jobs", "Job"),
    r(&["batch/v1"], "cronjobs", "CronJob"),
    r(
        &["networking.k8s.io/v1"],
        "networkpolicies",
        "NetworkPolicy",
    ),
    r(&["networking.k8s.io/v1"], "ingresses", "Ingress"),
    r(NPAPI_V1ALPHA1, "adminnetworkpolicies", "AdminNetworkPolicy"),
    r(
        NPAPI_V1ALPHA1,
        "baselineadminnetworkpolicies",
        "BaselineAdminNetworkPolicy",
    ),
    // v1beta1 is the storage version from network-policy-api v0.3.0 (same schema); CNIs that
    // pin v0.2 serve v1alpha2 only
    r(
        &[
            "policy.networking.k8s.io/v1beta1",
            "policy.networking.k8s.io/v1alpha2",
        ],
        "clusternetworkpolicies",
        "ClusterNetworkPolicy",
    ),
    r(CILIUM, "ciliumnetworkpolicies", "CiliumNetworkPolicy"),
    r(
        CILIUM,
        "ciliumclusterwidenetworkpolicies",
        "CiliumClusterwideNetworkPolicy",
    ),
    r(
        &["cilium.io/v2", "cilium.io/v2alpha1"],
        "ciliumcidrgroups",
        "CiliumCIDRGroup",
    ),
    r(CALICO, "networkpolicies", "NetworkPolicy"),
    r(CALICO, "globalnetworkpolicies", "GlobalNetworkPolicy"),
    r(CALICO, "tiers", "Tier"),
    r(CALICO, "networksets", "NetworkSet"),
    r(CALICO, "globalnetworksets", "GlobalNetworkSet"),
    r(ISTIO, "peerauthentications", "PeerAuthentication"),
    r(ISTIO, "authorizationpolicies", "AuthorizationPolicy"),
    r(&["route.openshift.io/v1"], "routes", "Route"),
    r(&["cert-manager.io/v1"], "certificates", "Certificate"),
];

/// One object netfence reads by name (get, not list): what an audit rule needs from a kind it
/// does not otherwise read. Granted by a Role in its namespace, with `resourceNames`.
#[derive(Debug, Clone, Copy)]
pub struct Named {
    /// The plural resource name (core group, `v1`).
    pub plural: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The namespace.
    pub namespace: &'static str,
    /// The name.
    pub name: &'static str,
    /// What it is for (said when it cannot be read).
    pub purpose: &'static str,
}

/// The objects read by name: the Cilium agent's configuration (XP101, XP103) and Istio's CA
/// certificates (IST101: the self-signed CA's secret and the plug-in CA's).
pub const NAMED: &[Named] = &[
    Named {
        plural: "configmaps",
        kind: "ConfigMap",
        namespace: "kube-system",
        name: "cilium-config",
        purpose: "Hubble and L7 proxy settings (XP101, XP103)",
    },
    Named {
        plural: "secrets",
        kind: "Secret",
        namespace: "istio-system",
        name: "istio-ca-secret",
        purpose: "the expiry of Istio's CA certificate (IST101)",
    },
    Named {
        plural: "secrets",
        kind: "Secret",
        namespace: "istio-system",
        name: "cacerts",
        purpose: "the expiry of Istio's plug-in CA certificate (IST101)",
    },
];

/// The data keys of a Secret that are certificates (public); private keys are dropped as soon
/// as the Secret is read, so they are never held, loaded or written by `snapshot`.
pub const SECRET_CERTIFICATE_KEYS: &[&str] = &["ca-cert.pem", "root-cert.pem", "cert-chain.pem"];

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
    let mut config = config;
    // netfence's own bounded retries (ATTEMPTS, doubling backoff) decide: kube's default policy
    // retries 429/503/504 up to 15 times with delays up to 1000 s
    config.default_retry = false;
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

    fn page(&self, what: &str, n: usize) {
        let total = self
            .objects
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
            + n;
        self.say(&format!("{what}: {total} objects"));
    }

    fn say(&self, text: &str) {
        if self.on {
            eprint!("\r\x1b[2K{text}");
        }
    }

    fn done(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

/// What the API server serves, from its discovery documents: for each group/version netfence
/// reads, its resources and whether each is namespaced.
#[derive(Debug, Default)]
struct Served {
    resources: std::collections::BTreeMap<String, std::collections::BTreeMap<String, bool>>,
    /// Group/versions the server registers but cannot answer for (an aggregated API down).
    unavailable: Vec<String>,
}

impl Served {
    /// The first of `res`'s versions served with its resource, and whether it is namespaced.
    fn pick(&self, res: &Resource) -> Option<(&'static str, bool)> {
        res.versions.iter().find_map(|v| {
            self.resources
                .get(*v)
                .and_then(|r| r.get(res.plural))
                .map(|ns| (*v, *ns))
        })
    }
}

/// The discovery path of a group/version.
fn discovery_path(gv: &str) -> String {
    if gv.contains('/') {
        format!("/apis/{gv}")
    } else {
        format!("/api/{gv}")
    }
}

/// Reads `/api` and `/apis`, then the resource list of each group/version netfence reads that
/// the server registers.
async fn discover(client: &kube::Client, url: &str, progress: &Progress) -> Result<Served> {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        APIGroupList, APIResourceList, APIVersions,
    };
    progress.say("discovering the served API groups");
    let mut registered: std::collections::BTreeSet<String> = Default::default();
    if let Some(core) = get(client, url, "get the core API versions (/api)", "/api").await? {
        let v: APIVersions = serde_json::from_str(&core)
            .context("the API server sent an invalid discovery document for /api")?;
        registered.extend(v.versions);
    }
    if let Some(groups) = get(client, url, "get the API groups (/apis)", "/apis").await? {
        let v: APIGroupList = serde_json::from_str(&groups)
            .context("the API server sent an invalid discovery document for /apis")?;
        registered.extend(
            v.groups
                .into_iter()
                .flat_map(|g| g.versions.into_iter().map(|v| v.group_version)),
        );
    }
    let wanted: std::collections::BTreeSet<&str> = RESOURCES
        .iter()
        .flat_map(|r| r.versions.iter().copied())
        .filter(|gv| registered.contains(*gv))
        .collect();
    let lists: Vec<(&str, Result<Option<String>>)> = futures::stream::iter(wanted)
        .map(|gv| async move {
            let what = format!("get the resources of {gv}");
            (gv, get(client, url, &what, &discovery_path(gv)).await)
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut served = Served::default();
    for (gv, answer) in lists {
        let text = match answer {
            Ok(Some(text)) => text,
            Ok(None) => continue,
            // an aggregated API registered but down (503): that dialect cannot be read
            Err(e) if status_of(&e) == Some(503) => {
                served.unavailable.push(gv.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        let v: APIResourceList = serde_json::from_str(&text).with_context(|| {
            format!("the API server sent an invalid discovery document for {gv}")
        })?;
        let entry = served.resources.entry(gv.to_string()).or_default();
        for res in v.resources {
            // subresources (`pods/status`) are not objects
            if !res.name.contains('/') && res.verbs.iter().any(|v| v == "list") {
                entry.insert(res.name, res.namespaced);
            }
        }
    }
    Ok(served)
}

async fn read(target: &Target) -> Result<Vec<netfence_load::Source>> {
    let (client, url) = client(target).await?;
    let progress = Progress::new();
    let served = discover(&client, &url, &progress).await?;
    let chosen: Vec<(Resource, &'static str, bool)> = RESOURCES
        .iter()
        .filter_map(|res| served.pick(res).map(|(v, ns)| (*res, v, ns)))
        .collect();
    let listed: Vec<Option<netfence_load::Source>> = futures::stream::iter(&chosen)
        .map(|(res, version, namespaced)| {
            let scopes: Vec<Option<&str>> = if *namespaced && !target.namespaces.is_empty() {
                target.namespaces.iter().map(|n| Some(n.as_str())).collect()
            } else {
                vec![None]
            };
            list(&client, &url, *res, version, scopes, &progress)
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    let mut out: Vec<netfence_load::Source> = listed.into_iter().flatten().collect();
    for named in NAMED {
        if !target.namespaces.is_empty() && !target.namespaces.iter().any(|n| n == named.namespace)
        {
            continue;
        }
        if let Some(src) = get_named(&client, &url, named).await? {
            out.push(src);
        }
    }
    progress.done();
    let read: std::collections::BTreeSet<&str> = out
        .iter()
        .filter_map(|s| s.name.strip_prefix("cluster:"))
        .collect();
    let absent: Vec<String> = RESOURCES
        .iter()
        .filter(|res| {
            !res.versions
                .iter()
                .any(|v| read.contains(format!("{v}/{}", res.plural).as_str()))
        })
        .map(|res| format!("{} ({})", res.kind, res.versions.join(" or ")))
        .collect();
    if !served.unavailable.is_empty() {
        eprintln!(
            "note: the API server registers {} but does not answer for it (503: its aggregated API server is down); read what else serves those kinds",
            served.unavailable.join(", ")
        );
    }
    if !absent.is_empty() {
        eprintln!(
            "note: the cluster does not serve {}: those dialects are absent",
            absent.join(", ")
        );
    }
    Ok(out)
}

/// The path of `res`'s list as `version`, in namespace `ns` or across all.
fn path(res: Resource, version: &str, ns: Option<&str>) -> String {
    let root = discovery_path(version);
    match ns {
        Some(ns) => format!("{root}/namespaces/{}/{}", encode(ns), res.plural),
        None => format!("{root}/{}", res.plural),
    }
}

/// Every object of `res` served as `version` in `scopes`, page by page, as one typed list;
/// `None` when it is not served after all (removed since discovery).
async fn list(
    client: &kube::Client,
    url: &str,
    res: Resource,
    version: &'static str,
    scopes: Vec<Option<&str>>,
    progress: &Progress,
) -> Result<Option<netfence_load::Source>> {
    let mut items: Vec<serde_json::Value> = Vec::new();
    for scope in scopes {
        if !list_into(client, url, res, version, scope, progress, &mut items).await? {
            return Ok(None);
        }
    }
    let doc = serde_json::json!({
        "apiVersion": version,
        "kind": format!("{}List", res.kind),
        "items": items,
    });
    Ok(Some(netfence_load::Source {
        name: format!("cluster:{version}/{}", res.plural),
        text: serde_json::to_string(&doc)?,
    }))
}

/// One object read by name, as a source; `None` (with a note when forbidden) when it is absent
/// or may not be read: these serve audit rules, and the rest of the answer stands without them.
async fn get_named(
    client: &kube::Client,
    url: &str,
    named: &Named,
) -> Result<Option<netfence_load::Source>> {
    let uri = format!(
        "/api/v1/namespaces/{}/{}/{}",
        named.namespace, named.plural, named.name
    );
    let what = format!("get {} {}/{}", named.plural, named.namespace, named.name);
    let text = match get(client, url, &what, &uri).await {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(None),
        Err(e) if status_of(&e) == Some(403) => {
            eprintln!(
                "note: may not get {} {}/{}: not checked: {} (deploy/rbac.yaml's Role `netfence-reader` in {} grants it)",
                named.kind, named.namespace, named.name, named.purpose, named.namespace
            );
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let mut object: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the API server sent invalid JSON for {what}"))?;
    if let Some(data) = object.get_mut("data").and_then(|d| d.as_object_mut()) {
        if named.kind == "Secret" {
            // keep the certificates, never the keys
            data.retain(|k, _| SECRET_CERTIFICATE_KEYS.contains(&k.as_str()));
        }
    }
    if let Some(o) = object.as_object_mut() {
        o.insert("apiVersion".into(), "v1".into());
        o.insert("kind".into(), named.kind.into());
        o.remove("stringData");
    }
    Ok(Some(netfence_load::Source {
        name: format!(
            "cluster:v1/{}/{}/{}",
            named.plural, named.namespace, named.name
        ),
        text: serde_json::to_string(&object)?,
    }))
}

/// Every page of `res` in `scope` into `items`; false when the kind is not served.
async fn list_into(
    client: &kube::Client,
    url: &str,
    res: Resource,
    version: &str,
    scope: Option<&str>,
    progress: &Progress,
    items: &mut Vec<serde_json::Value>,
) -> Result<bool> {
    let mut token: Option<String> = None;
    loop {
        let mut uri = format!("{}?limit={PAGE}", path(res, version, scope));
        if let Some(t) = &token {
            uri.push_str("&continue=");
            uri.push_str(&encode(t));
        }
        let what = format!("list {} ({version})", res.plural);
        let Some(page) = get(client, url, &what, &uri).await? else {
            return Ok(false);
        };
        let page: serde_json::Value = serde_json::from_str(&page)
            .with_context(|| format!("the API server sent invalid JSON for {}", res.plural))?;
        if let Some(list) = page.get("items").and_then(|v| v.as_array()) {
            progress.page(&what, list.len());
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
/// An API status code some callers handle (403 on an object read by name, 503 on a
/// discovery document), carried under the message that explains it.
#[derive(Debug)]
struct ApiStatus(u16);

impl std::fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.0)
    }
}

impl std::error::Error for ApiStatus {}

/// The API status code behind `e`, if that is what it is.
fn status_of(e: &anyhow::Error) -> Option<u16> {
    e.downcast_ref::<ApiStatus>().map(|s| s.0)
}

/// `what` names the request in messages (`pods (v1)`).
async fn get(client: &kube::Client, url: &str, what: &str, uri: &str) -> Result<Option<String>> {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        let req = http::Request::get(uri)
            .body(Vec::new())
            .map_err(|e| anyhow!("bad request for {what}: {e}"))?;
        let outcome = tokio::time::timeout(request_timeout(), client.request_text(req)).await;
        let err = match outcome {
            Err(_) => bail!(
                "the API server at {url} did not answer `{what}` within {:?}",
                request_timeout()
            ),
            Ok(Ok(text)) => return Ok(Some(text)),
            Ok(Err(kube::Error::Api(status))) => match status.code {
                404 => return Ok(None),
                401 => bail!(
                    "the API server at {url} does not accept your credentials (401) to {what}: they expired or are wrong; log in again (your provider's `get-credentials`, or `kubectl config view` to check the user)"
                ),
                403 => return Err(anyhow::Error::new(ApiStatus(403)).context(format!(
                    "forbidden (403): your user may not {what}; grant it (deploy/rbac.yaml has a ClusterRole with exactly what netfence reads): {}",
                    status.message
                ))),
                429 | 500..=599 => anyhow::Error::new(ApiStatus(status.code)).context(format!(
                    "the API server answered {} to `{what}`: {}",
                    status.code, status.message
                )),
                code => bail!(
                    "the API server answered {code} to `{what}`: {}",
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

    /// The documents of a YAML stream, as JSON values.
    fn documents(text: &str) -> Vec<serde_json::Value> {
        text.split("\n---")
            .map(|d| serde_saphyr::from_str(d).unwrap_or_default())
            .collect()
    }

    /// (group, resource) -> verbs granted, and resource names when limited, by the rules of
    /// `doc` (a ClusterRole or Role).
    fn grants(
        doc: &serde_json::Value,
    ) -> std::collections::BTreeMap<(String, String), (Vec<String>, Vec<String>)> {
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        };
        let mut out = std::collections::BTreeMap::new();
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for g in strings(&rule["apiGroups"]) {
                for r in strings(&rule["resources"]) {
                    let prev = out.insert(
                        (g.clone(), r),
                        (strings(&rule["verbs"]), strings(&rule["resourceNames"])),
                    );
                    assert!(prev.is_none(), "one rule per resource");
                }
            }
        }
        out
    }

    /// `deploy/rbac.yaml` grants get and list on exactly the resources listed here (in every
    /// version read), and `deploy/rbac.yaml` and `deploy/rbac-istio.yaml` grant get on exactly
    /// the objects read by name, in their namespaces.
    #[test]
    fn the_rbac_manifests_grant_exactly_what_is_read() {
        use std::collections::{BTreeMap, BTreeSet};
        let mut docs = documents(include_str!("../../../deploy/rbac.yaml"));
        docs.extend(documents(include_str!("../../../deploy/rbac-istio.yaml")));
        let cluster_role = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRole")
            .expect("a ClusterRole");
        let mut read = BTreeMap::new();
        for res in RESOURCES {
            for v in res.versions {
                let group = v.rsplit_once('/').map_or("", |(g, _)| g);
                read.insert(
                    (group.to_string(), res.plural.to_string()),
                    (vec!["get".to_string(), "list".to_string()], Vec::new()),
                );
            }
        }
        assert_eq!(grants(cluster_role), read);
        // Roles by namespace: resource -> (verbs, names)
        let mut roles = BTreeMap::new();
        for d in docs.iter().filter(|d| d["kind"] == "Role") {
            let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
            for ((g, r), (verbs, names)) in grants(d) {
                assert_eq!(g, "", "core group");
                assert_eq!(verbs, ["get"], "get by name only");
                roles.insert(
                    (ns.to_string(), r),
                    names.into_iter().collect::<BTreeSet<_>>(),
                );
            }
        }
        let mut named: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for n in NAMED {
            named
                .entry((n.namespace.to_string(), n.plural.to_string()))
                .or_default()
                .insert(n.name.to_string());
        }
        assert_eq!(roles, named);
        // every Role is bound to the ServiceAccount
        for d in docs.iter().filter(|d| d["kind"] == "Role") {
            let ns = &d["metadata"]["namespace"];
            assert!(
                docs.iter().any(|b| b["kind"] == "RoleBinding"
                    && &b["metadata"]["namespace"] == ns
                    && b["roleRef"]["name"] == d["metadata"]["name"]
                    && b["subjects"][0]["name"] == "netfence"),
                "a RoleBinding for the Role in {ns}"
            );
        }
    }

    #[test]
    fn paths_and_tokens() {
        assert_eq!(path(RESOURCES[0], "v1", None), "/api/v1/namespaces");
        let cnp = RESOURCES
            .iter()
            .find(|r| r.kind == "CiliumNetworkPolicy")
            .copied()
            .unwrap();
        assert_eq!(
            path(cnp, "cilium.io/v2", None),
            "/apis/cilium.io/v2/ciliumnetworkpolicies"
        );
        assert_eq!(
            path(cnp, "cilium.io/v2", Some("shop")),
            "/apis/cilium.io/v2/namespaces/shop/ciliumnetworkpolicies"
        );
        assert_eq!(encode("a b/c=="), "a%20b%2Fc%3D%3D");
    }

    #[test]
    fn discovery_picks_the_first_served_version() {
        let calico = RESOURCES
            .iter()
            .find(|r| r.kind == "GlobalNetworkPolicy")
            .copied()
            .unwrap();
        let mut served = Served::default();
        assert_eq!(served.pick(&calico), None);
        served
            .resources
            .entry("crd.projectcalico.org/v1".into())
            .or_default()
            .insert("globalnetworkpolicies".into(), false);
        assert_eq!(
            served.pick(&calico),
            Some(("crd.projectcalico.org/v1", false))
        );
        served
            .resources
            .entry("projectcalico.org/v3".into())
            .or_default()
            .insert("globalnetworkpolicies".into(), false);
        assert_eq!(served.pick(&calico), Some(("projectcalico.org/v3", false)));
        // a group/version that serves other resources does not serve this one
        served
            .resources
            .entry("projectcalico.org/v3".into())
            .or_default()
            .remove("globalnetworkpolicies");
        assert_eq!(
            served.pick(&calico),
            Some(("crd.projectcalico.org/v1", false))
        );
    }
}
