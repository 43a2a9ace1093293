//! IST101 `mesh-certificate-health`.

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;
use netfence_model::cluster::CertificateSource;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "IST101",
    name: "mesh-certificate-health",
    summary: "a mesh certificate is not issued, has expired, or expires within 14 days",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reads cert-manager `Certificate` objects (in the input, with their `status`) and reports those
whose `Ready` condition is not `True` (not issued, or renewal failing), and, when the audit runs
with a clock (the CLI's), those whose `status.notAfter` has passed or falls within 14 days.

Istio's CA secrets in `istio-system` (`istio-ca-secret`, istiod's self-signed CA, and
`cacerts`, a plug-in CA) are checked the same way: the earliest `notAfter` of the X.509
certificates in `ca-cert.pem`, `root-cert.pem` and `cert-chain.pem` (what `istioctl
proxy-config secret` shows from the proxy's side). `--cluster` gets them by name (the Role in
`deploy/rbac-istio.yaml`) and keeps only the certificates, never the keys.

## Why is this bad?
A mesh or ingress certificate that is not issued or has expired breaks every mTLS connection
that presents it: the connection fails at the handshake, and policies that would allow it never
get to decide. Renewal failures show in the Certificate's status long before the expiry.

## Example
```yaml
kind: Certificate
metadata: {name: istio-ca, namespace: istio-system}
status:
  conditions: [{type: Ready, status: "False", message: "Issuing certificate as Secret does not exist"}]
```

## Use instead
Fix the issuer (`kubectl describe certificate`, `cmctl status certificate`), or renew.

## References
- https://cert-manager.io/docs/usage/certificate/
- https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- https://istio.io/latest/docs/ops/diagnostic-tools/proxy-cmd/#verifying-connectivity
"#;

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian).
fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of an RFC 3339 UTC time (`2026-12-10T08:00:00Z`).
pub(crate) fn unix(t: &str) -> Option<i64> {
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '.']).next()?;
    let mut h = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next().flatten().unwrap_or(0));
    Some(days(y, m, dd) * 86_400 + hh * 3_600 + mm * 60 + ss)
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for c in &ctx.cluster.certificates {
        let (kind, what, fix) = match c.source {
            CertificateSource::CertManager => (
                "Certificate",
                format!("Certificate {}/{}", c.namespace, c.name),
                format!(
                    "check the issuer: kubectl describe certificate -n {} {}",
                    c.namespace, c.name
                ),
            ),
            CertificateSource::IstioCaSecret => (
                "Secret",
                format!("the CA certificate of Istio's Secret {}/{}", c.namespace, c.name),
                "rotate Istio's CA before it expires (https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/); workload certificates it signed stop validating with it".to_string(),
            ),
        };
        let subject = Subject::Object(netfence_model::cluster::object_key(
            kind,
            Some(&c.namespace),
            &c.name,
        ));
        let object = format!("{kind} {}/{}", c.namespace, c.name);
        let problem = if c.source == CertificateSource::IstioCaSecret && c.not_after.is_none() {
            None
        } else if c.ready == Some(false) || c.ready.is_none() && c.not_after.is_none() {
            Some(format!(
                "Certificate {}/{} is not Ready{}",
                c.namespace,
                c.name,
                c.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_else(|| " (no Ready condition: never issued)".into())
            ))
        } else {
            match (ctx.config.now, c.not_after.as_deref().and_then(unix)) {
                (Some(now), Some(end)) if end <= now => Some(format!(
                    "{what} expired at {}",
                    c.not_after.as_deref().unwrap_or_default()
                )),
                (Some(now), Some(end)) if end - now < 14 * 86_400 => Some(format!(
                    "{what} expires at {}, in {} days",
                    c.not_after.as_deref().unwrap_or_default(),
                    (end - now) / 86_400
                )),
                _ => None,
            }
        };
        if let Some(message) = problem {
            out.push(finding(
                &RULE,
                subject,
                object,
                Some(c.origin.clone()),
                message,
                fix,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_unix() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix("2026-12-02T10:30:15Z"), Some(1_796_207_415));
        assert_eq!(unix("not a time"), None);
    }
}
