#![no_main]
//! Fuzz target: `netfence_load::fuzzing::manifest` on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netfence_load::fuzzing::manifest(data));
