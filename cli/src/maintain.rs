//! `strata compact`, `strata table retention`, `strata snapshots expire` and `strata gc`. The
//! same procedures run over SQL as `CALL compact(…)` etc.; both print the engine's lines.

use anyhow::Result;
use strata_engine::{
    CompactOptions, Engine, RetentionReport, compact_lines, expire_line, gc_lines, parse_age,
    retention_line,
};

use crate::args::{CompactArgs, GcArgs, SnapshotsCommand};

pub async fn compact(engine: &Engine, args: CompactArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let options = CompactOptions {
        filter: args.filter,
        dry_run: args.dry_run,
    };
    let r = engine.compact(&args.table, &options).await?;
    for line in compact_lines(&args.table, &r, args.dry_run, started.elapsed()) {
        println!("{line}");
    }
    Ok(())
}

fn print_retention(r: &RetentionReport, dry_run: bool) {
    let verb = if dry_run { "would remove" } else { "removed" };
    println!("{}", retention_line(r, verb));
}

pub async fn retention(
    engine: &Engine,
    name: Option<&str>,
    all: bool,
    dry_run: bool,
) -> Result<()> {
    if all {
        if dry_run {
            anyhow::bail!("--all does not take --dry-run; name a table to preview it");
        }
        let reports = engine.apply_all_retention().await?;
        if reports.is_empty() {
            println!("no table has a retention property");
        }
        for r in &reports {
            print_retention(r, false);
        }
        return Ok(());
    }
    let name = name.unwrap_or_default();
    match engine.apply_retention(name, dry_run).await? {
        Some(r) => print_retention(&r, dry_run),
        None => anyhow::bail!(
            "table '{name}' has no retention property; create it WITH (retention = '90 days')"
        ),
    }
    Ok(())
}

pub fn snapshots(engine: &Engine, command: SnapshotsCommand) -> Result<()> {
    match command {
        SnapshotsCommand::Expire {
            older_than,
            dry_run,
        } => {
            let period = parse_age(&older_than)?;
            let r = engine.expire_snapshots(period, dry_run)?;
            println!("{}", expire_line(&r, dry_run, &older_than));
        }
    }
    Ok(())
}

pub async fn gc(engine: &Engine, args: GcArgs) -> Result<()> {
    let grace = parse_age(&args.grace)?;
    let r = engine.gc(grace, args.dry_run).await?;
    let lines = gc_lines(&r, args.dry_run, &args.grace);
    let (summary, files) = lines.split_last().expect("gc_lines ends with a summary");
    for line in files {
        println!("{line}");
    }
    for (path, reason) in &r.failed {
        eprintln!("could not delete {path}: {reason}");
    }
    println!("{summary}");
    if !r.failed.is_empty() {
        anyhow::bail!("{} files could not be deleted", r.failed.len());
    }
    Ok(())
}
