//! `netfence`: who can reach whom in a Kubernetes cluster, and why.
#![forbid(unsafe_code)]
#![allow(clippy::disallowed_methods, reason = "the CLI is where I/O happens")]

mod cli;
mod commands;
mod flags;
mod input;
#[cfg(feature = "live")]
mod live;
mod out;

use clap::Parser;

/// Transparent huge pages off for this process. A run builds a few hundred MB and exits: each
/// 2 MB page the kernel zeroes at its first touch costs more than the TLB misses it saves
/// (measured on the 10,000-pod cluster: the page faults' system time fell from 0.6–1.3 s to
/// about 0.3 s on a virtual machine). Best effort: a kernel without the setting is fine.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

/// mimalloc: the loader builds and frees millions of small strings and maps; glibc's malloc
/// spent a quarter of a large load in allocation and page clearing.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    no_huge_pages();
    let cli = cli::Cli::parse();
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(e) => match out::quiet_exit(&e) {
            Some(code) => code,
            None => {
                eprintln!("error: {e:#}");
                2
            }
        },
    };
    std::process::exit(code);
}
