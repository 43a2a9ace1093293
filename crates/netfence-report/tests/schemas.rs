//! The published JSON Schemas (`docs/schema/*.schema.json`) are the ones the output types
//! generate. `NETFENCE_WRITE_SCHEMAS=1 cargo test -p netfence-report --test schemas` rewrites
//! them after a change to an output type.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test reads and writes the published schemas"
)]

use std::path::PathBuf;

#[test]
fn published_schemas_are_the_generated_ones() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema");
    let write = std::env::var_os("NETFENCE_WRITE_SCHEMAS").is_some();
    let schemas = netfence_report::output::schemas();
    assert_eq!(schemas.len(), 11);
    for (name, schema) in schemas {
        let path = dir.join(format!("{name}.schema.json"));
        let text = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
        if write {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let published = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with NETFENCE_WRITE_SCHEMAS=1",
                path.display()
            )
        });
        assert_eq!(
            published,
            text,
            "{} is out of date: run with NETFENCE_WRITE_SCHEMAS=1",
            path.display()
        );
    }
}
