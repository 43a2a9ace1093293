//! `netfence generate default-deny|dns`.

use crate::out::out;
use anyhow::{anyhow, bail, Context, Result};
use netfence_generate::{generate, to_yaml, Form, Kind};

use crate::cli::{GenerateCommand, GenerateForm, GenerateTarget};
use crate::input;

pub fn run(cmd: &GenerateCommand) -> Result<i32> {
    let (target, kind) = match cmd {
        GenerateCommand::DefaultDeny { target, with_dns } => (
            target,
            Kind::DefaultDeny {
                with_dns: *with_dns,
            },
        ),
        GenerateCommand::Dns { target } => (target, Kind::Dns),
        GenerateCommand::FromFlows(args) => return super::flows::generate(args),
    };
    run_target(target, kind)
}

fn run_target(t: &GenerateTarget, kind: Kind) -> Result<i32> {
    let choice = super::profile(&t.inputs.cni)?;
    let scope = &t.inputs.live;
    // offline, the namespace flags name targets only; with --cluster they also limit the listing
    let mut inputs = t.inputs.clone();
    if !scope.cluster {
        inputs.live.namespaces.clear();
        inputs.live.all_namespaces = false;
    }
    let loaded = input::load(&inputs)?;
    let profile = choice.resolve(&loaded.cluster)?;
    let c = &loaded.cluster;
    let mut namespaces: Vec<String> = if scope.all_namespaces {
        c.namespaces
            .keys()
            .filter(|n| *n != "kube-system" && *n != "kube-public")
            .cloned()
            .collect()
    } else {
        scope.namespaces.clone()
    };
    if namespaces.is_empty() {
        bail!("name namespaces with --namespace, or use --all-namespaces");
    }
    for n in &scope.namespaces {
        if !c.namespaces.contains_key(n) {
            bail!("namespace `{n}` is not in the input");
        }
    }
    namespaces.retain(|n| !t.exclude.contains(n));
    let form = match t.form {
        GenerateForm::Networkpolicy => Form::NetworkPolicy,
        GenerateForm::ClusterNetworkPolicy => Form::ClusterNetworkPolicy,
    };
    let generated = generate(c, profile, &namespaces, kind, form).map_err(|e| anyhow!(e))?;
    match &t.out_dir {
        None => out!("{}", to_yaml(&generated)),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            // one file per namespace; cluster-scoped policies in one file of their own
            let mut files: Vec<&str> = namespaces.iter().map(String::as_str).collect();
            if generated.iter().any(|g| g.namespace.is_empty()) {
                files = vec![""];
            }
            for ns in files {
                let mine: Vec<_> = generated
                    .iter()
                    .filter(|g| g.namespace == ns)
                    .cloned()
                    .collect();
                let path = if ns.is_empty() {
                    dir.join("cluster-network-policies.yaml")
                } else {
                    dir.join(format!("{ns}-netpol.yaml"))
                };
                std::fs::write(&path, to_yaml(&mine))
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(0)
}
