//! `netfence diff`: what a change to the policies opens and closes.

use crate::out::out;
use anyhow::{bail, Result};
use netfence_engine::diff::diff;
use netfence_report::diff as render;

use crate::cli::{DiffArgs, Inputs};
use crate::input;

/// Loads one side: its own sources plus the shared ones.
fn side(
    mut own: Vec<netfence_load::Source>,
    shared: &[netfence_load::Source],
) -> Result<netfence_model::Cluster> {
    own.extend(shared.iter().cloned());
    Ok(input::load_sources(&own, false)?.cluster)
}

fn read(paths: Vec<std::path::PathBuf>) -> Result<Vec<netfence_load::Source>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    input::sources(&Inputs {
        paths,
        live: Default::default(),
        cni: crate::flags::CniArg::default(),
        verbose: false,
    })
}

pub fn run(args: &DiffArgs) -> Result<i32> {
    let choice = super::profile(&args.cni)?;
    let shared = read(args.with.clone())?;
    let (old, new) = match &args.git {
        None if args.live.cluster => {
            // what runs (OLD) against what the paths hold (NEW): drift
            let running = input::sources(&Inputs {
                paths: Vec::new(),
                live: args.live.clone(),
                cni: crate::flags::CniArg::default(),
                verbose: false,
            })?;
            let [path] = args.paths.as_slice() else {
                bail!("diff --cluster takes one PATH: what the cluster runs is compared with it");
            };
            (
                side(running, &shared)?,
                side(read(vec![path.clone()])?, &shared)?,
            )
        }
        Some(spec) => {
            let (base, head) = match spec.split_once("..") {
                Some((b, h)) => (b.to_string(), Some(h.to_string())),
                None => (spec.clone(), None),
            };
            let old = side(input::git_sources(&base, &args.paths)?, &shared)?;
            let new_sources = match head {
                Some(h) => input::git_sources(&h, &args.paths)?,
                // Against the working tree.
                None if args.paths.is_empty() => read(vec![".".into()])?,
                None => read(args.paths.clone())?,
            };
            (old, side(new_sources, &shared)?)
        }
        None => match args.paths.as_slice() {
            [old, new] => (
                side(read(vec![old.clone()])?, &shared)?,
                side(read(vec![new.clone()])?, &shared)?,
            ),
            _ => bail!("diff takes OLD and NEW, or --git BASE[..HEAD] [PATH...]"),
        },
    };
    let profile = choice.resolve(&new)?;
    let d = diff(&old, &new, profile);
    let out = match args.format.as_str() {
        "json" => render::json(&d),
        "md" => render::md(&d),
        _ => render::txt(&d),
    };
    out!("{out}");
    Ok(if args.fail_on_change && !d.is_empty() {
        1
    } else {
        0
    })
}
