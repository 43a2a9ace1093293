//! Observed flows (Hubble `GetFlowsResponse` records), reduced to what policy analysis needs.

use std::net::IpAddr;

use crate::cilium::Entity;
use crate::conn::Protocol;
use crate::l7::L7Request;
use crate::labels::Labels;

/// What the data path did with a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// Forwarded.
    Forwarded,
    /// Dropped.
    Dropped,
    /// Would have been dropped; policy audit mode let it through.
    Audit,
    /// Anything else (`ERROR`, `TRACED`, `TRANSLATED`, `REDIRECTED`).
    Other,
}

/// One end of an observed flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowEnd {
    /// The namespace, for pods.
    pub namespace: Option<String>,
    /// The pod name, for pods.
    pub pod: Option<String>,
    /// The pod's labels (source prefixes and Cilium's own identity labels removed).
    pub labels: Labels,
    /// The service account, from the identity labels.
    pub service_account: Option<String>,
    /// The reserved identity, for non-pods (`world`, `host`, `ingress`, ...).
    pub entity: Option<Entity>,
    /// The address.
    pub ip: Option<IpAddr>,
}

impl FlowEnd {
    /// `ns/pod`, the entity, or the address.
    pub fn display(&self) -> String {
        match (&self.namespace, &self.pod, self.entity) {
            (Some(ns), Some(p), _) => format!("{ns}/{p}"),
            (_, _, Some(e)) => match self.ip {
                Some(ip) if e == Entity::World => format!("{ip}[world]"),
                _ => format!("{e}[Entity]"),
            },
            _ => self.ip.map(|i| i.to_string()).unwrap_or_else(|| "?".into()),
        }
    }
}

/// One observed flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFlow {
    /// The line of the record in its file (1-based).
    pub line: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// `drop_reason_desc` for drops (`POLICY_DENIED`, `POLICY_DENY`, `STALE_OR_UNROUTABLE_IP`).
    pub drop_reason: Option<String>,
    /// Whether this is reply traffic of a connection (never a policy decision of its own).
    pub is_reply: bool,
    /// Source.
    pub src: FlowEnd,
    /// Destination.
    pub dst: FlowEnd,
    /// TCP, UDP, SCTP, ICMP or ICMPv6; `None` when the record names no L4 protocol.
    pub protocol: Option<Protocol>,
    /// The destination port; for ICMP and ICMPv6, the ICMP type.
    pub port: Option<u16>,
    /// The L7 request (for L7 `REQUEST` records).
    pub l7: Option<L7Request>,
    /// Whether the record is an L7 response (or any L7 record other than a request).
    pub l7_response: bool,
    /// DNS names of the destination address (`destination_names`).
    pub dst_names: Vec<String>,
    /// A DNS answer observed by the proxy: (query, addresses).
    pub dns_answer: Option<(String, Vec<IpAddr>)>,
    /// `ingress`/`egress` policies Cilium named as deciding (`ns/name (Kind)`).
    pub decided_by: Vec<String>,
}

impl ObservedFlow {
    /// The protocol and the value the engine probes with: the port, or for ICMP the type as
    /// connection sets hold it ([`crate::conn::PortSet::icmp_probe`]). `None` when the record
    /// names no protocol or no port.
    pub fn probe(&self) -> Option<(Protocol, u16)> {
        let (protocol, port) = (self.protocol?, self.port?);
        if protocol.is_icmp() {
            let t = u8::try_from(port).ok()?;
            return Some((protocol, crate::conn::PortSet::icmp_probe(t)));
        }
        Some((protocol, port))
    }

    /// Whether the drop is the policy's (default deny, explicit deny, L7 refusal, auth).
    pub fn policy_drop(&self) -> bool {
        self.verdict == Verdict::Dropped
            && match self.drop_reason.as_deref() {
                // L7 refusals carry no drop reason.
                None => self.l7.is_some(),
                Some(r) => matches!(r, "POLICY_DENIED" | "POLICY_DENY" | "AUTH_REQUIRED"),
            }
    }

    /// Whether an explicit deny rule dropped it (`POLICY_DENY`).
    pub fn explicit_deny(&self) -> bool {
        self.drop_reason.as_deref() == Some("POLICY_DENY")
    }

    /// Whether the flow opens a connection or makes a request (not a reply or a response).
    pub fn is_request(&self) -> bool {
        !self.is_reply && !self.l7_response
    }
}
