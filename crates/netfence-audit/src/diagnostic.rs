//! Findings as data.

use std::fmt;

use netfence_model::{EndpointId, Origin};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Hygiene.
    Low,
    /// Weakens isolation.
    Medium,
    /// Opens an attack path or breaks the application.
    High,
    /// Broken: traffic the cluster needs is blocked, or everything is open.
    Critical,
}

impl Severity {
    /// Parses `info|low|medium|high|critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a finding is about (suppression annotations are read from it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A namespace.
    Namespace(String),
    /// A workload.
    Workload(EndpointId),
    /// A NetworkPolicy, by index.
    NetworkPolicy(usize),
    /// A policy object of any dialect (kind, namespace, name: see
    /// `netfence_model::cluster::object_key`).
    Object(netfence_model::cluster::ObjectKey),
    /// The cluster as a whole.
    Cluster,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule's code.
    pub code: &'static str,
    /// The rule's name.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong, in one line.
    pub message: String,
    /// The object, as `Kind namespace/name`.
    pub object: String,
    /// What the finding is about.
    pub subject: Subject,
    /// Where the object is written, when known.
    pub origin: Option<Origin>,
    /// How to fix it.
    pub help: String,
}
