//! The zero-trust score: per namespace and for the cluster, 0-100, and a maturity level along the
//! six defence patterns of a zero-trust rollout.
//!
//! Each pattern has a weight; a namespace earns the share of it its workloads meet:
//!
//! | pattern | weight | met when |
//! |---|---|---|
//! | 1 default deny, DNS working | 20 | namespace-wide default deny for ingress (7) and egress (7), and every workload resolves names on UDP and TCP 53 (6) |
//! | 2 explicit allow-lists | 20 | share of workloads isolated in both directions with no rule admitting every peer |
//! | 3 L7 rules on HTTP/Kafka ports | 15 | needs the Cilium dialect: not loaded yet, counts as not met |
//! | 4 internet egress by FQDN only | 15 | needs the Cilium/Calico dialects: not loaded yet, counts as not met |
//! | 5 strict mTLS | 15 | needs the Istio dialect: not loaded yet, counts as not met |
//! | 6 audit and observability | 15 | an audit.k8s.io Policy in the input records policy changes (rule XP301) |
//!
//! The cluster score is the mean of the namespace scores weighted by workloads. The maturity
//! level is the number of consecutive patterns, from the first, met at 90% or more.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::BTreeMap;

/// How the score is computed (printed by `netfence rule score`).
pub const METHOD: &str = "# The zero-trust score

Each namespace (system namespaces excepted) is scored 0-100 along six defence patterns (default deny, label micro-segmentation, L3-L7 rules, DNS egress, mesh mTLS, audit); it
earns the share of each pattern's weight its workloads meet:

| pattern | weight | met when |
|---|---|---|
| 1 default deny, DNS working | 20 | a namespace-wide default deny for ingress (7) and for egress (7), and the share of workloads that resolve names on UDP and TCP 53 (6) |
| 2 explicit allow-lists | 20 | the share of workloads isolated in both directions by policies none of whose rules admits every peer |
| 3 L7 rules on HTTP/Kafka ports | 15 | under `--cni cilium`: the share of workloads serving an HTTP or Kafka port (named `http*`, `grpc*`, `kafka*`, or 80, 8080, 9092) whose every allowed client on that port is limited by L7 rules; other profiles enforce no L7 rules: not met |
| 4 internet egress by FQDN only | 15 | under `--cni cilium`: the share of workloads that cannot reach an arbitrary internet address (egress to the internet, if any, goes by `toFQDNs`); other profiles: not met |
| 5 strict mTLS | 15 | needs the Istio dialect: not loaded by this version, counted as not met |
| 6 audit and observability | 15 | an audit.k8s.io Policy in the input records policy changes (XP301 finds no gap) |

The cluster score is the mean of the namespace scores weighted by their workloads. The maturity
level of a namespace is the number of consecutive patterns, from the first, met at 90% or more;
the cluster's is the lowest of its namespaces'. Findings do not subtract points: the score
measures how far along the patterns a cluster is, the findings say what to fix.
";

use netfence_engine::eval::rules_of;
use netfence_engine::Direction;
use netfence_model::Protocol;

use crate::context::AuditCtx;

/// Whether a port serves HTTP or Kafka, by name or by its usual number.
fn is_app_port(name: Option<&str>, port: u16) -> bool {
    name.is_some_and(|n| {
        ["http", "grpc", "kafka", "web"]
            .iter()
            .any(|p| n.starts_with(p))
    }) || matches!(port, 80 | 8080 | 9092)
}

/// Pattern 3: the share of `ids` serving an application port whose every allowed client on
/// it is held to L7 rules.
fn l7_share(ctx: &AuditCtx<'_>, ids: &[usize]) -> (f64, String) {
    let c = ctx.cluster;
    let mut eligible = 0usize;
    let mut met = 0usize;
    for &i in ids {
        let ep = &c.endpoints[i];
        let ports: Vec<u16> = ep
            .container_ports
            .iter()
            .filter(|(p, proto)| {
                *proto == Protocol::Tcp
                    && is_app_port(
                        ep.named_ports
                            .iter()
                            .find(|n| n.port == *p)
                            .map(|n| n.name.as_str()),
                        *p,
                    )
            })
            .map(|(p, _)| *p)
            .collect();
        if ports.is_empty() {
            continue;
        }
        eligible += 1;
        let ok = c
            .endpoints
            .iter()
            .filter(|o| !std::ptr::eq(*o, ep))
            .all(|o| {
                let peer = netfence_engine::Peer::Endpoint(o);
                let allowed = ctx
                    .ev
                    .pair_allowed(peer, netfence_engine::Peer::Endpoint(ep));
                let l7 = ctx.ev.cilium_l7(ep, peer, Direction::Ingress);
                ports.iter().all(|&p| {
                    !allowed.contains(Protocol::Tcp, p)
                        || l7.iter().any(|(conn, _)| conn.contains(Protocol::Tcp, p))
                })
            });
        met += usize::from(ok);
    }
    if eligible == 0 {
        return (1.0, "no workload serves an HTTP or Kafka port".into());
    }
    let note = if met < eligible {
        format!(
            "{} of {eligible} workloads serving HTTP/Kafka accept requests not limited by L7 rules",
            eligible - met
        )
    } else {
        String::new()
    };
    (met as f64 / eligible as f64, note)
}

/// Pattern 4: the share of `ids` that cannot reach an arbitrary internet address.
fn fqdn_only_share(ctx: &AuditCtx<'_>, ids: &[usize]) -> (f64, String) {
    let c = ctx.cluster;
    // 192.0.2.1 (TEST-NET-1) stands for an address no policy names.
    let probe = netfence_model::IpSet::from_ip(std::net::IpAddr::from([192, 0, 2, 1]))
        .ranges()
        .into_iter()
        .next()
        .unwrap_or(netfence_model::IpRange {
            v6: false,
            lo: 0xC000_0201,
            hi: 0xC000_0201,
        });
    let open = ids
        .iter()
        .filter(|&&i| {
            !ctx.ev
                .pair_allowed(
                    netfence_engine::Peer::Endpoint(&c.endpoints[i]),
                    netfence_engine::Peer::Ip(&probe),
                )
                .is_empty()
        })
        .count();
    let n = ids.len();
    let note = if open > 0 {
        format!("{open} of {n} workloads can reach any internet address (no FQDN-only egress)")
    } else {
        String::new()
    };
    ((n - open) as f64 / n as f64, note)
}
use crate::rules::{namespace_default_deny, reaches_dns};

/// One pattern's result in a namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternScore {
    /// 1 to 6.
    pub pattern: u8,
    /// Its name.
    pub name: &'static str,
    /// Points earned.
    pub points: f64,
    /// Points possible.
    pub weight: f64,
    /// Why, when not fully met.
    pub note: String,
}

/// A namespace's score.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceScore {
    /// The namespace.
    pub namespace: String,
    /// Workloads in it.
    pub workloads: usize,
    /// 0-100.
    pub score: f64,
    /// Consecutive patterns met, 0-6.
    pub maturity: u8,
    /// Per pattern.
    pub patterns: Vec<PatternScore>,
}

/// The cluster's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// 0-100.
    pub score: f64,
    /// The lowest namespace maturity.
    pub maturity: u8,
    /// Per namespace (system namespaces excepted).
    pub namespaces: Vec<NamespaceScore>,
}

const NAMES: [&str; 6] = [
    "default deny with DNS working",
    "explicit ingress and egress allow-lists",
    "L7 rules on HTTP/Kafka ports",
    "internet egress only by FQDN",
    "strict mTLS",
    "audit and observability",
];

/// Scores the cluster.
pub fn score(ctx: &AuditCtx<'_>) -> Score {
    let c = ctx.cluster;
    let mut by_ns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in c.endpoints.iter().enumerate() {
        if !ctx.is_system(&e.namespace) {
            by_ns.entry(e.namespace.as_str()).or_default().push(i);
        }
    }
    let audit_gaps = crate::rules::audit_policy_gaps::gaps(ctx);
    let mut namespaces = Vec::new();
    for (ns, ids) in by_ns {
        let n = ids.len() as f64;
        let default_deny = |dir: Direction| namespace_default_deny(ctx, ns, dir);
        let dns_ok = ids
            .iter()
            .filter(|&&i| {
                let ep = &c.endpoints[i];
                reaches_dns(ctx, ep, Protocol::Udp) && reaches_dns(ctx, ep, Protocol::Tcp)
            })
            .count() as f64;
        let (ding, degr) = (
            default_deny(Direction::Ingress),
            default_deny(Direction::Egress),
        );
        let p1 =
            7.0 * f64::from(u8::from(ding)) + 7.0 * f64::from(u8::from(degr)) + 6.0 * dns_ok / n;
        let mut p1_note = Vec::new();
        if !ding {
            p1_note.push("no default deny for ingress".to_string());
        }
        if !degr {
            p1_note.push("no default deny for egress".to_string());
        }
        if dns_ok < n {
            p1_note.push(format!(
                "{} of {} workloads cannot resolve names on UDP and TCP 53",
                n - dns_ok,
                n
            ));
        }
        let explicit = ids
            .iter()
            .filter(|&&i| {
                let ep = &c.endpoints[i];
                [Direction::Ingress, Direction::Egress].iter().all(|&d| {
                    let pols = ctx.ev.selecting_policies(ep, d);
                    !pols.is_empty()
                        && !pols
                            .iter()
                            .filter_map(|p| rules_of(p, d))
                            .flat_map(|r| r.iter())
                            .any(|r| r.peers.is_none())
                })
            })
            .count() as f64;
        let p2 = 20.0 * explicit / n;
        let mut patterns = vec![
            PatternScore {
                pattern: 1,
                name: NAMES[0],
                points: p1,
                weight: 20.0,
                note: p1_note.join("; "),
            },
            PatternScore {
                pattern: 2,
                name: NAMES[1],
                points: p2,
                weight: 20.0,
                note: if explicit < n {
                    format!(
                        "{} of {} workloads lack an explicit allow-list in some direction",
                        n - explicit,
                        n
                    )
                } else {
                    String::new()
                },
            },
        ];
        if ctx.ev.uses_cilium() {
            let (p3, p3_note) = l7_share(ctx, &ids);
            patterns.push(PatternScore {
                pattern: 3,
                name: NAMES[2],
                points: 15.0 * p3,
                weight: 15.0,
                note: p3_note,
            });
            let (p4, p4_note) = fqdn_only_share(ctx, &ids);
            patterns.push(PatternScore {
                pattern: 4,
                name: NAMES[3],
                points: 15.0 * p4,
                weight: 15.0,
                note: p4_note,
            });
        }
        if !ctx.ev.uses_cilium() {
            for k in [3u8, 4] {
                patterns.push(PatternScore {
                    pattern: k,
                    name: NAMES.get(usize::from(k) - 1).copied().unwrap_or_default(),
                    points: 0.0,
                    weight: 15.0,
                    note: format!(
                        "not met: --cni {} enforces no L7 or FQDN rules (Cilium policies count under --cni cilium)",
                        ctx.profile
                    ),
                });
            }
        }
        patterns.push(PatternScore {
            pattern: 5,
            name: NAMES[4],
            points: 0.0,
            weight: 15.0,
            note: "not met: the Istio dialect is not loaded by this version of netfence".into(),
        });
        patterns.push(match &audit_gaps {
            None => PatternScore {
                pattern: 6,
                name: NAMES[5],
                points: 0.0,
                weight: 15.0,
                note: "not met: no audit.k8s.io Policy in the input".into(),
            },
            Some(g) if g.iter().any(|(_, x)| !x.is_empty()) => PatternScore {
                pattern: 6,
                name: NAMES[5],
                points: 0.0,
                weight: 15.0,
                note: "not met: the audit policy under-records policy changes (XP301)".into(),
            },
            Some(_) => PatternScore {
                pattern: 6,
                name: NAMES[5],
                points: 15.0,
                weight: 15.0,
                note: String::new(),
            },
        });
        let score: f64 = patterns.iter().map(|p| p.points).sum();
        let maturity = patterns
            .iter()
            .take_while(|p| p.points >= 0.9 * p.weight)
            .count() as u8;
        namespaces.push(NamespaceScore {
            namespace: ns.to_string(),
            workloads: ids.len(),
            score,
            maturity,
            patterns,
        });
    }
    let total: usize = namespaces.iter().map(|n| n.workloads).sum();
    let score = if total == 0 {
        0.0
    } else {
        namespaces
            .iter()
            .map(|n| n.score * n.workloads as f64)
            .sum::<f64>()
            / total as f64
    };
    let maturity = namespaces.iter().map(|n| n.maturity).min().unwrap_or(0);
    Score {
        score,
        maturity,
        namespaces,
    }
}
