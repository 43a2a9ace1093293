#![no_main]
//! Fuzz target: `netfence_load::fuzzing::hubble_log` on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netfence_load::fuzzing::hubble_log(data));
