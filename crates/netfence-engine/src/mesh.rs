//! The Istio layer, after the CNI's: which pods have a proxy, the PeerAuthentication mode of
//! the destination port (STRICT rejects plaintext), then AuthorizationPolicy CUSTOM → DENY →
//! ALLOW with the caller's identity `cluster.local/ns/NS/sa/SA` when it speaks mTLS.

use std::collections::HashMap;
use std::net::IpAddr;

use netfence_model::istio::{
    string_match, AuthorizationPolicy, AuthzAction, AuthzRule, Condition, MtlsMode, Operation,
    PeerAuthentication, Source,
};
use netfence_model::labels::has_all;
use netfence_model::{ConnSet, Endpoint, IpSet, L7Request, PortRef, PortSet, Protocol};

use crate::eval::{Evaluator, LayerStep, LayerVerdict, Peer};
use crate::verdict::Outcome;

/// The namespace whose policies apply mesh-wide.
pub const ROOT_NAMESPACE: &str = "istio-system";
/// The trust domain of principals.
pub const TRUST_DOMAIN: &str = "cluster.local";

/// How much of the request is known.
#[derive(Debug, Clone, Copy)]
pub enum Traffic<'r> {
    /// This HTTP request.
    Request(&'r L7Request),
    /// Plain TCP (not HTTP): HTTP-only fields drop ALLOW rules and broaden DENY rules.
    Tcp,
    /// Some HTTP request, not known: whether any request could pass (connectivity).
    AnyHttp,
}

/// The data plane a pod has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// An Envoy sidecar.
    Sidecar,
    /// Ambient mode (ztunnel: L4 authorization only, without a waypoint).
    Ambient,
}

/// What the destination proxy knows of the caller.
struct Caller {
    principal: Option<String>,
    namespace: Option<String>,
    ip: Option<IpAddr>,
    name: String,
}

impl<'a> Evaluator<'a> {
    /// Whether the input has Istio policies (the mesh layer is then evaluated).
    pub fn has_mesh_policies(&self) -> bool {
        !self.cluster.policies.peer_authentications().is_empty()
            || !self.cluster.policies.authorization_policies().is_empty()
    }

    /// The proxy a pod runs: namespace `istio-injection`/`istio.io/rev`, pod
    /// `sidecar.istio.io/inject`, ambient `istio.io/dataplane-mode`.
    pub fn proxy(&self, ep: &Endpoint) -> Option<Proxy> {
        if ep.host_network {
            return None;
        }
        let ns = self.cluster.namespace_labels(&ep.namespace);
        let pod_inject = ep
            .labels
            .get("sidecar.istio.io/inject")
            .or_else(|| ep.annotations.get("sidecar.istio.io/inject"))
            .map(String::as_str);
        if pod_inject == Some("false") {
            return None;
        }
        let dataplane = ep
            .labels
            .get("istio.io/dataplane-mode")
            .or_else(|| ns.get("istio.io/dataplane-mode"))
            .map(String::as_str);
        if dataplane == Some("ambient") {
            return Some(Proxy::Ambient);
        }
        let ns_inject = ns.get("istio-injection").map(String::as_str);
        if ns_inject == Some("disabled") {
            return None;
        }
        if pod_inject == Some("true")
            || ns_inject == Some("enabled")
            || ns.contains_key("istio.io/rev")
            || ep.labels.contains_key("istio.io/rev")
        {
            return Some(Proxy::Sidecar);
        }
        None
    }

    /// The effective mTLS mode of `ep` on container `port`, and the policies that set it
    /// (mesh, namespace, workload), oldest first at each level.
    pub fn mtls_mode(&self, ep: &Endpoint, port: u16) -> (MtlsMode, Vec<&'a PeerAuthentication>) {
        let oldest = |mut v: Vec<&'a PeerAuthentication>| {
            v.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
            v.into_iter().next()
        };
        let pas = self.cluster.policies.peer_authentications();
        let mesh = oldest(
            pas.iter()
                .filter(|p| p.namespace == ROOT_NAMESPACE && p.selector.is_none())
                .collect(),
        );
        let ns = (ep.namespace != ROOT_NAMESPACE)
            .then(|| {
                oldest(
                    pas.iter()
                        .filter(|p| p.namespace == ep.namespace && p.selector.is_none())
                        .collect(),
                )
            })
            .flatten();
        // Selector policies in the root namespace are ignored (Istio's ComposePeerAuthentication).
        let wl = (ep.namespace != ROOT_NAMESPACE)
            .then(|| {
                oldest(
                    pas.iter()
                        .filter(|p| {
                            p.namespace == ep.namespace
                                && p.selector.as_ref().is_some_and(|s| has_all(&ep.labels, s))
                        })
                        .collect(),
                )
            })
            .flatten();
        let mut mode = MtlsMode::Permissive;
        let mut used = Vec::new();
        for p in [mesh, ns, wl].into_iter().flatten() {
            if p.mode != MtlsMode::Unset {
                mode = p.mode;
            }
            used.push(p);
        }
        if let Some(w) = wl {
            if let Some(m) = w.port_level.get(&port) {
                if *m != MtlsMode::Unset {
                    mode = *m;
                }
            }
        }
        (mode, used)
    }

    /// Whether AuthorizationPolicy `p` applies to `ep`'s proxy (namespace or root namespace,
    /// selector; `targetRefs` policies are for gateways and waypoints).
    pub fn authorization_applies(&self, p: &AuthorizationPolicy, ep: &Endpoint) -> bool {
        !p.target_refs
            && (p.namespace == ep.namespace || p.namespace == ROOT_NAMESPACE)
            && p.selector.as_ref().is_none_or(|s| has_all(&ep.labels, s))
    }

    fn caller(&self, src: Peer<'_>, mtls: bool) -> Caller {
        match src {
            Peer::Endpoint(s) => Caller {
                principal: mtls
                    .then(|| format!("{TRUST_DOMAIN}/ns/{}/sa/{}", s.namespace, s.service_account)),
                namespace: mtls.then(|| s.namespace.clone()),
                ip: s.ips.first().copied(),
                name: s.display_name(),
            },
            Peer::Ip(r) => Caller {
                principal: None,
                namespace: None,
                ip: Some(r.first()),
                name: format!("{r}"),
            },
            other => Caller {
                principal: None,
                namespace: None,
                ip: None,
                name: match other {
                    Peer::Entity(e) => e.to_string(),
                    _ => "peer".into(),
                },
            },
        }
    }

    /// [`Self::mesh_explain`] for a flow that carries `request` (or none): an HTTP request is
    /// judged as such, a port declared plain TCP as TCP, anything else as "some HTTP request".
    pub fn mesh_explain_flow(
        &self,
        dst: &'a Endpoint,
        src: Peer<'_>,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> (Outcome, Vec<LayerStep>) {
        let traffic = match request {
            Some(r @ L7Request::Http { .. }) => Traffic::Request(r),
            _ if self.plain_tcp_port(dst, port) => Traffic::Tcp,
            _ => Traffic::AnyHttp,
        };
        self.mesh_explain(dst, src, protocol, port, traffic)
    }

    /// The mesh's say about a request from `src` to `dst` on container `port`.
    pub fn mesh_explain(
        &self,
        dst: &'a Endpoint,
        src: Peer<'_>,
        protocol: Protocol,
        port: u16,
        traffic: Traffic<'_>,
    ) -> (Outcome, Vec<LayerStep>) {
        let mut steps = Vec::new();
        let step =
            |layer: &'static str, verdict, policy: Option<String>, origin, detail: String| {
                LayerStep {
                    layer,
                    verdict,
                    policy,
                    rule: None,
                    origin,
                    detail,
                }
            };
        if !self.has_mesh_policies() || protocol != Protocol::Tcp {
            return (Outcome::Allow, steps);
        }
        let Some(proxy) = self.proxy(dst) else {
            steps.push(step(
                "Istio",
                LayerVerdict::Allow,
                None,
                None,
                format!(
                    "{} has no Istio proxy: the mesh does not enforce here",
                    dst.display_name()
                ),
            ));
            return (Outcome::Allow, steps);
        };
        let (mode, pas) = self.mtls_mode(dst, port);
        let src_proxy = match src {
            Peer::Endpoint(s) => self.proxy(s).is_some(),
            _ => false,
        };
        let mtls = src_proxy && mode != MtlsMode::Disable;
        let by = pas.last().map(|p| format!("{}/{}", p.namespace, p.name));
        let origin = pas.last().map(|p| p.origin.clone());
        let caller = self.caller(src, mtls);
        if mode == MtlsMode::Strict && !mtls {
            steps.push(step(
                "PeerAuthentication",
                LayerVerdict::Deny,
                by,
                origin,
                format!("mTLS STRICT on port {port}: plaintext from {} (no sidecar) is rejected at connection", caller.name),
            ));
            return (Outcome::Deny, steps);
        }
        steps.push(step(
            "PeerAuthentication",
            LayerVerdict::Allow,
            by,
            origin,
            match &caller.principal {
                Some(p) => format!("mTLS {mode} on port {port}; caller identity {p}"),
                None => format!("mTLS {mode} on port {port}; plaintext caller, no identity"),
            },
        ));
        // Ambient without a waypoint: ztunnel enforces L4 attributes only.
        let traffic = if proxy == Proxy::Ambient {
            Traffic::Tcp
        } else {
            traffic
        };
        let traffic = match traffic {
            Traffic::Request(r) if !matches!(r, L7Request::Http { .. }) => Traffic::Tcp,
            t => t,
        };
        let policies: Vec<&AuthorizationPolicy> = self
            .cluster
            .policies
            .authorization_policies()
            .iter()
            .filter(|p| self.authorization_applies(p, dst))
            .collect();
        // Conditions that cannot be decided offline never match; say which ones were met.
        let unknown: Vec<String> = policies
            .iter()
            .flat_map(|p| {
                p.rules.iter().enumerate().flat_map(move |(i, r)| {
                    r.when
                        .iter()
                        .filter(|c| !condition_decidable(&c.key))
                        .map(move |c| format!("{} rules[{i}] on `{}`", p.qualified_name(), c.key))
                })
            })
            .collect();
        let unknown_note = if unknown.is_empty() {
            String::new()
        } else {
            format!(
                " (unknown offline, counted as not matching: {})",
                unknown.join(", ")
            )
        };
        let ap_step =
            |p: &AuthorizationPolicy, verdict, rule: Option<usize>, detail: String| LayerStep {
                layer: "AuthorizationPolicy",
                verdict,
                policy: Some(p.qualified_name()),
                rule: rule.map(|i| format!("rules[{i}]")),
                origin: Some(p.origin.clone()),
                detail,
            };
        for p in policies.iter().filter(|p| p.action == AuthzAction::Custom) {
            steps.push(ap_step(
                p,
                LayerVerdict::Pass,
                None,
                format!(
                    "CUSTOM: the external authorizer `{}` decides at run time; not evaluated offline",
                    p.provider.as_deref().unwrap_or("?")
                ),
            ));
        }
        for p in policies.iter().filter(|p| p.action == AuthzAction::Deny) {
            for (i, r) in p.rules.iter().enumerate() {
                if self.rule_matches(p, r, &caller, dst, port, traffic, true) {
                    steps.push(ap_step(
                        p,
                        LayerVerdict::Deny,
                        Some(i),
                        format!("DENY rule {i} matches: DENY is evaluated before ALLOW"),
                    ));
                    return (Outcome::Deny, steps);
                }
            }
        }
        let allows: Vec<&&AuthorizationPolicy> = policies
            .iter()
            .filter(|p| p.action == AuthzAction::Allow)
            .collect();
        if allows.is_empty() {
            steps.push(step(
                "AuthorizationPolicy",
                LayerVerdict::Allow,
                None,
                None,
                format!("no ALLOW policy selects the workload: allowed{unknown_note}"),
            ));
            return (Outcome::Allow, steps);
        }
        for p in &allows {
            for (i, r) in p.rules.iter().enumerate() {
                if self.rule_matches(p, r, &caller, dst, port, traffic, false) {
                    let what = match traffic {
                        Traffic::AnyHttp if r.has_http_fields() => {
                            " for some HTTP requests (its HTTP fields decide each request)"
                        }
                        _ => "",
                    };
                    steps.push(ap_step(
                        p,
                        LayerVerdict::Allow,
                        Some(i),
                        format!("ALLOW rule {i} matches{what}"),
                    ));
                    return (Outcome::Allow, steps);
                }
            }
        }
        let names: Vec<String> = allows.iter().map(|p| p.qualified_name()).collect();
        let tcp_note = match traffic {
            Traffic::Tcp if allows.iter().any(|p| p.rules.iter().any(AuthzRule::has_http_fields)) => {
                "; on plain TCP, ALLOW rules with HTTP fields (methods, paths, hosts, JWT) are dropped entirely"
            }
            _ => "",
        };
        let first = allows.first().copied().copied();
        steps.push(LayerStep {
            layer: "AuthorizationPolicy",
            verdict: if matches!(traffic, Traffic::Request(_)) { LayerVerdict::L7Deny } else { LayerVerdict::Deny },
            policy: first.map(|p| p.qualified_name()),
            rule: None,
            origin: first.map(|p| p.origin.clone()),
            detail: format!("ALLOW policies select the workload ({}) and none of their rules matches{tcp_note}{unknown_note}: denied (HTTP 403 / connection reset)", names.join(", ")),
        });
        (
            if matches!(traffic, Traffic::Request(_)) {
                Outcome::L7Deny
            } else {
                Outcome::Deny
            },
            steps,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn rule_matches(
        &self,
        p: &AuthorizationPolicy,
        r: &AuthzRule,
        caller: &Caller,
        dst: &Endpoint,
        port: u16,
        traffic: Traffic<'_>,
        deny: bool,
    ) -> bool {
        let http = match traffic {
            Traffic::Request(L7Request::Http {
                method,
                path,
                host,
                headers,
            }) => Some((method, path, host, headers)),
            _ => None,
        };
        if r.has_http_fields() {
            match (traffic, deny) {
                // Plain TCP: an ALLOW rule with HTTP fields is dropped.
                (Traffic::Tcp, false) => return false,
                // A DENY rule about some HTTP requests does not refuse the connection.
                (Traffic::AnyHttp, true) => return false,
                _ => {}
            }
        }
        let check_http = http.is_some();
        let src_ok = r.from.as_ref().is_none_or(|from| {
            from.iter()
                .any(|s| self.source_matches(p, s, caller, check_http))
        });
        let to_ok = r.to.as_ref().is_none_or(|to| {
            to.iter().any(|o| {
                operation_matches(
                    o,
                    port,
                    http.map(|h| (h.0.as_str(), h.1.as_str(), h.2.as_deref())),
                )
            })
        });
        let when_ok = r.when.iter().all(|c| {
            condition_matches(c, caller, dst, port, http.map(|h| h.3.as_slice()), traffic)
        });
        src_ok && to_ok && when_ok
    }

    fn source_matches(&self, p: &AuthorizationPolicy, s: &Source, c: &Caller, http: bool) -> bool {
        let principal = c.principal.as_deref();
        let any = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| string_match(x, v)))
        };
        let none = |list: &[String], v: Option<&str>| {
            v.is_none_or(|v| !list.iter().any(|x| string_match(x, v)))
        };
        let ns = c.namespace.as_deref();
        let sa_ok = s.service_accounts.is_empty()
            || principal.is_some_and(|pr| {
                s.service_accounts.iter().any(|sa| {
                    let full = if sa.contains('/') {
                        sa.clone()
                    } else {
                        format!("{}/{sa}", p.namespace)
                    };
                    let (n, a) = full.split_once('/').unwrap_or(("", ""));
                    pr == format!("{TRUST_DOMAIN}/ns/{n}/sa/{a}")
                })
            });
        let ip_in = |list: &[String]| {
            c.ip.is_some_and(|ip| {
                list.iter().any(|b| {
                    let cidr = if b.contains('/') {
                        b.clone()
                    } else if ip.is_ipv4() {
                        format!("{b}/32")
                    } else {
                        format!("{b}/128")
                    };
                    IpSet::parse_cidr(&cidr).is_ok_and(|set| set.contains(ip))
                })
            })
        };
        any(&s.principals, principal)
            && none(&s.not_principals, principal)
            && any(&s.namespaces, ns)
            && none(&s.not_namespaces, ns)
            && sa_ok
            && (s.ip_blocks.is_empty() || ip_in(&s.ip_blocks))
            && (s.not_ip_blocks.is_empty() || !ip_in(&s.not_ip_blocks))
            && (s.remote_ip_blocks.is_empty() || ip_in(&s.remote_ip_blocks))
            // JWT principals are not modelled: a rule that needs one never matches offline.
            && (!http || s.request_principals.is_empty())
    }
}

/// Whether an operation matches; HTTP fields are checked only when `http` is known (on plain
/// TCP the caller has already decided what HTTP fields mean).
fn operation_matches(o: &Operation, port: u16, http: Option<(&str, &str, Option<&str>)>) -> bool {
    let p = port.to_string();
    let ports_ok = (o.ports.is_empty() || o.ports.contains(&p)) && !o.not_ports.contains(&p);
    let Some((method, path, host)) = http else {
        return ports_ok;
    };
    let path = path.split('?').next().unwrap_or(path);
    let any = |list: &[String], v: &str, f: &dyn Fn(&str, &str) -> bool| {
        list.is_empty() || list.iter().any(|x| f(x, v))
    };
    let none =
        |list: &[String], v: &str, f: &dyn Fn(&str, &str) -> bool| !list.iter().any(|x| f(x, v));
    let host_match =
        |pat: &str, v: &str| string_match(&pat.to_ascii_lowercase(), &v.to_ascii_lowercase());
    let host = host.unwrap_or("");
    ports_ok
        && any(&o.methods, method, &|a, b| string_match(a, b))
        && none(&o.not_methods, method, &|a, b| string_match(a, b))
        && any(&o.paths, path, &path_match)
        && none(&o.not_paths, path, &path_match)
        && any(&o.hosts, host, &host_match)
        && none(&o.not_hosts, host, &host_match)
}

/// Istio path matching: string match forms plus Envoy URI templates `{*}` and `{**}`.
fn path_match(pattern: &str, path: &str) -> bool {
    if !pattern.contains('{') {
        return string_match(pattern, path);
    }
    let pat: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    for (i, p) in pat.iter().enumerate() {
        if *p == "{**}" {
            return segs.len() > i;
        }
        match segs.get(i) {
            None => return false,
            Some(s) if *p == "{*}" && s.is_empty() => return false,
            Some(s) if *p != "{*}" && s != p => return false,
            _ => {}
        }
    }
    segs.len() == pat.len()
}

fn header_value_match(pattern: &str, value: &str) -> bool {
    value.split(',').any(|v| string_match(pattern, v.trim()))
}

fn condition_matches(
    c: &Condition,
    caller: &Caller,
    dst: &Endpoint,
    port: u16,
    headers: Option<&[(String, String)]>,
    traffic: Traffic<'_>,
) -> bool {
    // Istio renders `values` as a matcher and `notValues` as a negated one: a request without
    // the attribute (no such header, no principal) fails the first and passes the second.
    let test = |v: Option<&str>, f: &dyn Fn(&str, &str) -> bool| {
        (c.values.is_empty() || v.is_some_and(|v| c.values.iter().any(|x| f(x, v))))
            && !v.is_some_and(|v| c.not_values.iter().any(|x| f(x, v)))
    };
    let key = c.key.as_str();
    if let Some(name) = key
        .strip_prefix("request.headers[")
        .and_then(|k| k.strip_suffix(']'))
    {
        return match (headers, traffic) {
            (Some(h), _) => {
                let v = h
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str());
                test(v, &header_value_match)
            }
            // Any HTTP request could carry the header.
            (None, Traffic::AnyHttp) => true,
            _ => false,
        };
    }
    let ip_test = |ip: Option<IpAddr>| {
        let inside = |b: &String| {
            let Some(ip) = ip else { return false };
            let cidr = if b.contains('/') {
                b.clone()
            } else {
                format!("{b}/32")
            };
            IpSet::parse_cidr(&cidr).is_ok_and(|s| s.contains(ip))
        };
        (c.values.is_empty() || c.values.iter().any(inside)) && !c.not_values.iter().any(inside)
    };
    match key {
        "source.ip" | "remote.ip" => ip_test(caller.ip),
        "destination.ip" => ip_test(dst.ips.first().copied()),
        "source.namespace" => test(caller.namespace.as_deref(), &|a, b| string_match(a, b)),
        "source.principal" => test(caller.principal.as_deref(), &|a, b| string_match(a, b)),
        "destination.port" => test(Some(&port.to_string()), &|a, b| a == b),
        // JWT claims, SNI and Envoy filter state are not known offline: such a condition is
        // reported as not decidable and never matches.
        _ => false,
    }
}

/// Whether a condition key can be decided offline.
pub fn condition_decidable(key: &str) -> bool {
    key.starts_with("request.headers[")
        || matches!(
            key,
            "source.ip"
                | "remote.ip"
                | "destination.ip"
                | "source.namespace"
                | "source.principal"
                | "destination.port"
        )
}

/// The mesh's say at one destination, for the connectivity map: the TCP ports its proxy can
/// tell apart (those its containers, its Services' target ports and the mesh policies name,
/// each alone, and every other port as one part) are decided once per part and caller, and a
/// connection set is then filtered by lookup. Built once per destination class; callers that
/// differ only in what the mesh does not read share an answer.
pub(crate) struct MeshAtDestination<'e, 'a> {
    ev: &'e Evaluator<'a>,
    dst: &'a Endpoint,
    /// The ports named by containers, Services and mesh policies, each alone with its probe.
    parts: Vec<(PortSet, u16)>,
    /// Every other port, and its probe (none when every port is named).
    rest: Option<(PortSet, u16)>,
    /// Whether any AuthorizationPolicy reads the caller's address.
    reads_ip: bool,
    /// Per caller: the TCP ports allowed, and whether the part of unnamed ports is.
    by_caller: HashMap<CallerKey, (PortSet, bool)>,
}

/// What the mesh reads of a caller: namespace, service account, whether it has a proxy, and
/// its address when a policy reads addresses (an external range: its first address).
type CallerKey = (String, String, bool, Option<IpAddr>);

impl<'e, 'a> MeshAtDestination<'e, 'a> {
    /// The mesh at `dst`; `None` when it enforces nothing there (no mesh policy, or no proxy).
    pub(crate) fn new(ev: &'e Evaluator<'a>, dst: &'a Endpoint) -> Option<Self> {
        if !ev.has_mesh_policies() || ev.proxy(dst).is_none() {
            return None;
        }
        let mut candidates: Vec<u16> = dst.container_ports.iter().map(|(p, _)| *p).collect();
        for svc in ev.cluster.services.iter().filter(|s| s.selects(dst)) {
            for sp in &svc.ports {
                match &sp.target {
                    PortRef::Number(n) => candidates.push(*n),
                    PortRef::Name(n) => candidates.extend(dst.resolve_named_port(n, sp.protocol)),
                }
            }
        }
        for pa in ev.cluster.policies.peer_authentications() {
            candidates.extend(pa.port_level.keys().copied());
        }
        let mut reads_ip = false;
        for ap in ev.cluster.policies.authorization_policies() {
            for r in &ap.rules {
                for o in r.to.iter().flatten() {
                    candidates.extend(
                        o.ports
                            .iter()
                            .chain(&o.not_ports)
                            .filter_map(|p| p.parse::<u16>().ok()),
                    );
                }
                reads_ip |= r.reads_source_address();
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut listed = PortSet::empty();
        let mut parts = Vec::new();
        for &p in &candidates {
            listed = listed.union(&PortSet::range(p, p));
            parts.push((PortSet::range(p, p), p));
        }
        let rest = PortSet::all().subtract(&listed);
        let rest = rest
            .ranges()
            .first()
            .map(|&(probe, _)| (rest.clone(), probe));
        Some(Self {
            ev,
            dst,
            parts,
            rest,
            reads_ip,
            by_caller: HashMap::new(),
        })
    }

    /// `conn` (allowed by the CNI from `src`) less what the mesh refuses.
    pub(crate) fn filter(&mut self, src: Peer<'_>, conn: &ConnSet) -> ConnSet {
        let tcp = conn.ports(Protocol::Tcp);
        if tcp.is_empty() {
            return conn.clone();
        }
        let key: CallerKey = match src {
            Peer::Endpoint(s) => (
                s.namespace.clone(),
                s.service_account.clone(),
                self.ev.proxy(s).is_some(),
                s.ips.first().copied().filter(|_| self.reads_ip),
            ),
            Peer::Ip(r) => (String::new(), String::new(), false, Some(r.first())),
            _ => (String::new(), String::new(), false, None),
        };
        let (ev, dst, parts, rest) = (self.ev, self.dst, &self.parts, &self.rest);
        let (allowed, rest_allowed) = self.by_caller.entry(key).or_insert_with(|| {
            // the same judgement `query` makes: a port declared plain TCP carries no HTTP
            let allows = |probe: u16| {
                ev.mesh_explain_flow(dst, src, Protocol::Tcp, probe, None).0 == Outcome::Allow
            };
            let mut allowed = PortSet::empty();
            for (part, probe) in parts {
                if allows(*probe) {
                    allowed = allowed.union(part);
                }
            }
            let rest_allowed = rest.as_ref().is_some_and(|(part, probe)| {
                let yes = allows(*probe);
                if yes {
                    allowed = allowed.union(part);
                }
                yes
            });
            (allowed, rest_allowed)
        });
        let mut kept = tcp.intersect(allowed);
        if *rest_allowed {
            // names of an unknown receiver's ports stand for unlisted ports
            for n in tcp.names() {
                kept = kept.union(&PortSet::named(n));
            }
        }
        let mut out = conn.subtract(&ConnSet::single(Protocol::Tcp, PortSet::all()));
        out.add(&ConnSet::single(Protocol::Tcp, kept));
        out
    }
}
