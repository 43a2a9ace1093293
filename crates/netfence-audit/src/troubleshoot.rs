//! Likely causes of a denied flow, after the usual troubleshooting table of network policies: DNS blocked, a
//! namespace missing the label a rule selects, a CNI that does not enforce policy, a selector
//! that matches nothing. Each cause comes with its fix.

use netfence_engine::eval::{rules_of, Evaluator};
use netfence_engine::Direction;
use netfence_model::{Cluster, Endpoint, NpPeer, NpPort, PortRef, Protocol};

/// One likely cause and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// What is probably wrong.
    pub cause: String,
    /// What to do.
    pub fix: String,
}

fn port_listed(
    ports: &Option<Vec<NpPort>>,
    protocol: Protocol,
    port: u16,
    receiver: &Endpoint,
) -> bool {
    let Some(ports) = ports else { return true };
    ports.iter().any(|p| {
        p.protocol == protocol
            && match &p.port {
                None => true,
                Some(PortRef::Number(n)) => *n <= port && port <= p.end_port.unwrap_or(*n),
                Some(PortRef::Name(name)) => {
                    receiver.resolve_named_port(name, protocol) == Some(port)
                }
            }
    })
}

/// Likely causes for `src` -> `dst` on `protocol`/`port` being denied at `side` (the endpoint
/// whose policies deny it, in direction `dir`; `far` is the other end).
pub fn causes(
    cluster: &Cluster,
    ev: &Evaluator<'_>,
    side: &Endpoint,
    far: Option<&Endpoint>,
    dir: Direction,
    protocol: Protocol,
    port: u16,
) -> Vec<Cause> {
    let mut out = Vec::new();
    let receiver = match dir {
        Direction::Ingress => side,
        Direction::Egress => far.unwrap_or(side),
    };
    if dir == Direction::Egress && port == 53 && far.is_some_and(|f| f.is_cluster_dns()) {
        out.push(Cause {
            cause:
                "DNS is blocked: a default deny for egress without a DNS allowance (a default deny blocks UDP and TCP 53 too)"
                    .into(),
            fix: format!(
                "netfence generate dns --namespace {} (UDP and TCP 53 to kube-dns)",
                side.namespace
            ),
        });
    }
    let Some(far) = far else { return out };
    let far_ns = cluster.namespace_labels(&far.namespace);
    for np in ev.selecting_policies(side, dir) {
        for (ri, rule) in rules_of(np, dir).into_iter().flatten().enumerate() {
            if !port_listed(&rule.ports, protocol, port, receiver) {
                continue;
            }
            for peer in rule.peers.iter().flatten() {
                let NpPeer::Pods { namespaces, pods } = peer else {
                    continue;
                };
                let pods_ok = pods.as_ref().is_none_or(|s| s.matches(&far.labels));
                if let Some(sel) = namespaces {
                    let missing: Vec<(String, String)> = sel
                        .match_labels
                        .iter()
                        .filter(|(k, v)| far_ns.get(*k) != Some(*v))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    // The selector would match if the namespace had these labels.
                    let rest_ok = sel.match_expressions.iter().all(|r| r.matches(far_ns));
                    if pods_ok && rest_ok && !missing.is_empty() {
                        let labels: Vec<String> =
                            missing.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        out.push(Cause {
                            cause: format!(
                                "namespace {} lacks the label {} that {} {}[{ri}] selects: the rule silently allows nothing from there",
                                far.namespace,
                                labels.join(","),
                                np.qualified_name(),
                                if dir == Direction::Ingress { "ingress" } else { "egress" }
                            ),
                            fix: format!("kubectl label namespace {} {}", far.namespace, labels.join(" ")),
                        });
                    }
                }
                if let Some(sel) = pods {
                    let scope: Vec<&Endpoint> = cluster
                        .endpoints
                        .iter()
                        .filter(|e| match namespaces {
                            None => e.namespace == np.namespace,
                            Some(ns) => ns.matches(cluster.namespace_labels(&e.namespace)),
                        })
                        .collect();
                    if !scope.is_empty() && !scope.iter().any(|e| sel.matches(&e.labels)) {
                        out.push(Cause {
                            cause: format!(
                                "{} {}[{ri}] selects pods {sel}, which match no pod in the namespaces it selects: a label typo, a renamed app, or the wrong namespace",
                                np.qualified_name(),
                                if dir == Direction::Ingress { "ingress" } else { "egress" }
                            ),
                            fix: format!("compare the selector with the labels of {}: {:?}", far.display_name(), far.labels),
                        });
                    }
                }
            }
        }
    }
    out
}
