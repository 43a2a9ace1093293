//! Replays the fuzz corpus and every crash reproducer (`fuzz/corpus/TARGET`,
//! `fuzz/regressions/TARGET`) through the same entry points the cargo-fuzz targets call, so a
//! fixed crash stays fixed without a nightly toolchain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test, and the corpus files are its input"
)]

use std::path::PathBuf;

use netfence_load::fuzzing;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            run(&std::fs::read(&f).unwrap());
            n += 1;
        }
    }
    n
}

#[test]
fn fuzz_corpus_and_reproducers_never_panic() {
    for (target, run) in [
        ("manifest", fuzzing::manifest as fn(&[u8])),
        ("calico_selector", fuzzing::calico_selector),
        ("hubble", fuzzing::hubble_log),
        ("test_spec", fuzzing::test_spec),
        ("cilium_l7", fuzzing::cilium_l7),
    ] {
        let n = replay(target, run);
        assert!(n > 0, "the corpus of {target} is part of the repository");
    }
}
