#![no_main]
//! Fuzz target: `netfence_load::fuzzing::cilium_l7` on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netfence_load::fuzzing::cilium_l7(data));
