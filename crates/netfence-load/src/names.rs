//! Names, namespaces, label keys and values, validated as the API server does
//! (`k8s.io/apimachinery/pkg/util/validation`).

/// A DNS-1123 label: 1-63 lower-case letters, digits and `-`, starting and ending with a
/// letter or digit (Namespace names).
pub(crate) fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err(format!("must be 1-63 characters, not {}", s.len()));
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    ok.then_some(()).ok_or_else(|| {
        "must be lower-case letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)".into()
    })
}

/// A DNS-1035 label: a DNS-1123 label that starts with a letter (Service names).
pub(crate) fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    s.starts_with(|c: char| c.is_ascii_lowercase())
        .then_some(())
        .ok_or_else(|| "must start with a lower-case letter (RFC 1035 label)".into())
}

/// A DNS-1123 subdomain: at most 253 characters of DNS-1123 labels joined by `.` (most
/// object names).
pub(crate) fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err(format!("must be 1-253 characters, not {}", s.len()));
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    ok.then_some(()).ok_or_else(|| {
        "must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (RFC 1123 subdomain)".into()
    })
}

/// The name part of a qualified name or a label value: at most 63 characters of letters,
/// digits, `-`, `_` and `.`, starting and ending with a letter or digit.
fn name_part(s: &str) -> bool {
    s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS-1123 subdomain.
pub(crate) fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        dns1123_subdomain(p).map_err(|m| format!("its prefix `{p}` {m}"))?;
    }
    if name.is_empty() || !name_part(name) {
        return Err(format!(
            "its name part `{}` must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            shorten(name)
        ));
    }
    Ok(())
}

/// A label value: empty, or at most 63 characters like a name part.
pub(crate) fn label_value(v: &str) -> Result<(), String> {
    if v.len() > 63 {
        return Err(format!("must be at most 63 characters, not {}", v.len()));
    }
    (v.is_empty() || name_part(v)).then_some(()).ok_or_else(|| {
        "must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
            .into()
    })
}

/// A value cut for a message.
pub(crate) fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(57).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_api_server() {
        assert!(dns1123_subdomain("web-1.prod").is_ok());
        assert!(dns1123_subdomain("Bad_Name").is_err());
        assert!(dns1123_label("a b").is_err());
        assert!(dns1123_label("kube-system").is_ok());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(dns1035_label("1svc").is_err());
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("bad key!").is_err());
        assert!(qualified_name("Example.com/x").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2_x").is_ok());
        assert!(label_value(&"v".repeat(64)).is_err());
        assert!(label_value("-x").is_err());
    }
}
