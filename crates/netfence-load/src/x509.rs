//! Istio's CA secrets: the expiry of the X.509 certificates they hold (IST101), read with
//! x509-parser. Only the certificate keys are read; private keys are never looked at.

use k8s_openapi::api::core::v1::Secret;

/// Istio's root namespace, where its CA secrets live.
const ISTIO_ROOT_NAMESPACE: &str = "istio-system";

/// The secrets istiod signs workload certificates with: its self-signed CA (`istio-ca-secret`)
/// and a plug-in CA (`cacerts`).
const ISTIO_CA_SECRETS: &[&str] = &["istio-ca-secret", "cacerts"];

/// The keys of an Istio CA secret that hold certificates.
const CERTIFICATE_KEYS: &[&str] = &["ca-cert.pem", "root-cert.pem", "cert-chain.pem"];

/// Whether `namespace/name` is one of Istio's CA secrets.
pub(crate) fn is_istio_ca_secret(namespace: &str, name: &str) -> bool {
    namespace == ISTIO_ROOT_NAMESPACE && ISTIO_CA_SECRETS.contains(&name)
}

/// The earliest `notAfter` (RFC 3339, UTC) of the certificates in `secret`'s certificate keys
/// (`data`, or `stringData` as written in a manifest); `None` when it holds none. An
/// unreadable key is an error: `(field, message)`.
pub(crate) fn earliest_not_after(secret: &Secret) -> Result<Option<String>, (String, String)> {
    let mut earliest: Option<i64> = None;
    for key in CERTIFICATE_KEYS {
        let (field, bytes): (String, &[u8]) = match (
            secret.data.as_ref().and_then(|d| d.get(*key)),
            secret.string_data.as_ref().and_then(|d| d.get(*key)),
        ) {
            (Some(b), _) => (format!("data.{key}"), &b.0),
            (None, Some(s)) => (format!("stringData.{key}"), s.as_bytes()),
            (None, None) => continue,
        };
        let mut found = false;
        for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|e| (field.clone(), format!("not PEM: {e}")))?;
            if pem.label != "CERTIFICATE" {
                continue;
            }
            let cert = pem
                .parse_x509()
                .map_err(|e| (field.clone(), format!("not an X.509 certificate: {e}")))?;
            let end = cert.validity().not_after.timestamp();
            earliest = Some(earliest.map_or(end, |e| e.min(end)));
            found = true;
        }
        if !found {
            return Err((field, "holds no PEM certificate".to_string()));
        }
    }
    Ok(earliest.map(rfc3339))
}

/// `unix` seconds as an RFC 3339 UTC time (`2026-12-10T08:00:00Z`).
fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // civil from days (proleptic Gregorian), after Howard Hinnant's algorithm
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_207_415), "2026-12-02T10:30:15Z");
        assert_eq!(rfc3339(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn only_istios_ca_secrets_are_read() {
        assert!(is_istio_ca_secret("istio-system", "cacerts"));
        assert!(is_istio_ca_secret("istio-system", "istio-ca-secret"));
        assert!(!is_istio_ca_secret("default", "cacerts"));
        assert!(!is_istio_ca_secret(
            "istio-system",
            "istio-ingressgateway-certs"
        ));
    }
}
