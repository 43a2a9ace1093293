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

/// mimalloc: the loader builds and frees millions of small strings and maps; glibc's malloc
/// spent a quarter of a large load in allocation and page clearing.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
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
