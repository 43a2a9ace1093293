//! `netfence audit` and `netfence rule`.

use crate::out::{out, outln};
use anyhow::{anyhow, bail, Result};
use netfence_audit::{registry, score, AuditConfig, AuditCtx, Selection, Severity};
use netfence_report::audit as render;

use crate::cli::AuditArgs;
use crate::flags::Format;
use crate::input;

pub fn run(args: &AuditArgs) -> Result<i32> {
    let choice = super::profile(&args.inputs.cni)?;
    let fail_on: Option<Severity> = args.fail_on.map(Severity::from);
    for code in args.select.iter().chain(&args.ignore) {
        if !registry::RULES
            .iter()
            .any(|r| r.code.starts_with(code.as_str()))
        {
            bail!("no rule code starts with `{code}` (see `netfence rule`)");
        }
    }
    let loaded = input::load(&args.inputs)?;
    if input::is_empty(&loaded.cluster) {
        // a score for nothing would read as a verdict on a cluster
        bail!("nothing to audit: the input holds no object netfence reads");
    }
    let profile = choice.resolve(&loaded.cluster)?;
    let config = AuditConfig {
        system_namespaces: args.system_namespaces.clone(),
        policy_map_max: usize::try_from(args.policy_map_max).unwrap_or(usize::MAX),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
        ..AuditConfig::default()
    };
    let ctx = AuditCtx::new(&loaded.cluster, profile, config);
    let result = netfence_audit::run(
        &ctx,
        &Selection {
            select: args.select.clone(),
            ignore: args.ignore.clone(),
        },
    );
    let s = score::score(&ctx);
    let out = match args.format {
        Format::Json => render::json(&result, &s, &profile.to_string()),
        Format::Sarif => render::sarif(&result),
        Format::Junit => render::junit(&result),
        Format::Md => render::md(&result, &s),
        _ if profile.cni != netfence_engine::Profile::Generic => {
            format!("data path: {profile}\n{}", render::text(&result, &s))
        }
        _ => render::text(&result, &s),
    };
    out!("{out}");
    let gate = fail_on.is_some_and(|f| result.diagnostics.iter().any(|d| d.severity >= f));
    crate::out::leave_to_exit((result, ctx));
    crate::out::leave_to_exit(loaded);
    Ok(if gate { 1 } else { 0 })
}

pub fn rule(code: Option<&str>) -> Result<i32> {
    match code {
        None => {
            for r in registry::RULES {
                outln!("{}  {:<32} {:<8} {}", r.code, r.name, r.severity, r.summary);
            }
        }
        Some(c) if c.eq_ignore_ascii_case("score") => out!("{}", score::METHOD),
        Some(c) => {
            let r = registry::rule(c)
                .ok_or_else(|| anyhow!("no rule `{c}` (run `netfence rule` for the list)"))?;
            outln!(
                "# {} {}\n\n{}\n\nDefault severity: {}.\n\n{}",
                r.code,
                r.name,
                r.summary,
                r.severity,
                r.docs
            );
        }
    }
    Ok(0)
}
