//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the regression test that
//! replays their corpus and crash reproducers (`tests/fuzz_corpus.rs`): arbitrary bytes in,
//! never a panic out. Not part of the stable API.

use netfence_model::calico::Selector;
use netfence_model::l7::{fqdn_pattern_error, FqdnPattern};
use netfence_model::Labels;

use crate::{hubble, load, spec, Source};

/// Decodes and loads one manifest file.
pub fn manifest(data: &[u8]) {
    if let Ok(src) = Source::from_bytes("fuzz.yaml", data.to_vec()) {
        assert!(yaml_split_agrees(&src.text), "split parse differs");
        assert!(json_split_agrees(&src.text), "JSON List cut differs");
        let loaded = load(&[src]);
        // every error must name its file
        debug_assert!(loaded.errors.iter().all(|e| e.file == "fuzz.yaml"));
    }
}

/// Parses a Calico selector and matches it against a fixed set of labels.
pub fn calico_selector(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(sel) = Selector::parse(&text) {
        let mut labels = Labels::new();
        labels.insert("app".into(), "db".into());
        labels.insert("role".into(), "x".into());
        let _ = sel.to_string();
        let _ = sel.matches(&labels);
    }
}

/// Reads a Hubble flow log.
pub fn hubble_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = hubble::parse("fuzz.json", &text);
}

/// Parses a connectivity test spec.
pub fn test_spec(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = spec::parse("fuzz.yaml", &text);
}

/// Cilium L7 and FQDN patterns: `pattern \0 name \0 http-path-regex`. The FQDN pattern is
/// validated and matched both ways, and the three strings are loaded as a policy.
pub fn cilium_l7(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let pattern = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    for literal in [true, false] {
        if fqdn_pattern_error(pattern, literal).is_none() {
            let p = FqdnPattern::new(pattern, literal);
            let _ = p.matches(name, true);
            let _ = p.matches(name, false);
        }
    }
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let doc = format!(
        "{{\"apiVersion\": \"cilium.io/v2\", \"kind\": \"CiliumNetworkPolicy\", \"metadata\": {{\"name\": \"f\", \"namespace\": \"a\"}}, \"spec\": {{\"endpointSelector\": {{}}, \"egress\": [{{\"toFQDNs\": [{{\"matchPattern\": {}}}, {{\"matchName\": {}}}], \"toPorts\": [{{\"ports\": [{{\"port\": \"80\"}}], \"rules\": {{\"http\": [{{\"path\": {}, \"method\": {}}}]}}}}]}}]}}}}",
        quote(pattern),
        quote(name),
        quote(path),
        quote(name)
    );
    let _ = load(&[Source {
        name: "fuzz.json".into(),
        text: doc,
    }]);
}

/// The documents of a YAML stream as JSON values, read as the loader reads them (YAML 1.1
/// scalars, merge keys); `None` when the stream does not parse.
pub fn yaml_as_json(text: &str) -> Option<Vec<serde_json::Value>> {
    crate::yaml::parse(text)
        .ok()
        .map(|docs| docs.iter().map(crate::node::Node::to_json).collect())
}

/// Whether cutting a `kind: List` stream before every item and parsing the pieces apart gives
/// the tree the sequential parse gives (true too when the cut is refused).
pub fn yaml_split_agrees(text: &str) -> bool {
    match crate::yaml::split_list(text, 1) {
        Some(split) => crate::yaml::parse(text).ok() == Some(split),
        None => true,
    }
}

/// Whether a JSON List cut at its items, each item parsed alone, gives the value the one-pass
/// parse gives; when an item does not parse, the one-pass parse must fail too (the loader then
/// reports its error). True when the cut is refused.
pub fn json_split_agrees(text: &str) -> bool {
    let Some((mut outer, items)) = crate::source::split_json_list(text) else {
        return true;
    };
    let whole = crate::source::parse_strict(text).ok();
    let parsed: Option<Vec<serde_json::Value>> = items
        .iter()
        .map(|i| crate::source::parse_strict(i).ok())
        .collect();
    match parsed {
        Some(items) => {
            if let Some(slot) = outer.get_mut("items") {
                *slot = serde_json::Value::Array(items);
            }
            whole == Some(outer)
        }
        None => whole.is_none(),
    }
}
