//! `strata compact`, `strata table retention`, `strata snapshots expire` and `strata gc`.

use anyhow::Result;
use strata_engine::{CompactOptions, Engine, RetentionReport, parse_duration};

use crate::args::{CompactArgs, GcArgs, SnapshotsCommand};
use crate::tables::bytes;

pub async fn compact(engine: &Engine, args: CompactArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let options = CompactOptions {
        filter: args.filter,
        dry_run: args.dry_run,
    };
    let r = engine.compact(&args.table, &options).await?;
    if r.files_removed == 0 {
        println!(
            "{}: nothing to compact (no partition has two or more small files)",
            args.table
        );
        return Ok(());
    }
    if args.dry_run {
        println!(
            "{}: would merge {} files ({} rows, {}) in {} partitions",
            args.table,
            r.files_removed,
            r.rows,
            bytes(r.bytes_removed),
            r.partitions
        );
        return Ok(());
    }
    println!(
        "{}: merged {} files ({}) into {} ({}) in {} partitions, {} rows, snapshot {}, {:.2}s",
        args.table,
        r.files_removed,
        bytes(r.bytes_removed),
        r.files_added,
        bytes(r.bytes_added),
        r.partitions,
        r.rows,
        r.snapshot.unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "the replaced files stay readable by time travel until `strata snapshots expire` and `strata gc` remove them"
    );
    Ok(())
}

/// One line saying what retention removed (`verb`: removed, would remove, lost).
pub fn retention_line(r: &RetentionReport, verb: &str) -> String {
    if r.files == 0 {
        return format!(
            "{}: nothing expired ({} before {})",
            r.table, r.column, r.cutoff
        );
    }
    let snapshot = r
        .snapshot
        .map(|s| format!(", snapshot {s}"))
        .unwrap_or_default();
    format!(
        "{}: {verb} {} partitions ({} files, {} rows) with {} before {}{snapshot}",
        r.table, r.partitions, r.files, r.rows, r.column, r.cutoff
    )
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
            let period = parse_duration(&older_than)?;
            let r = engine.expire_snapshots(period, dry_run)?;
            let verb = if dry_run { "would expire" } else { "expired" };
            match (r.snapshots.first(), r.snapshots.last()) {
                (Some(first), Some(last)) => println!(
                    "{verb} {} snapshots ({first}..={last}); {} files {} for deletion by `strata gc`, {} registered files forgotten (never deleted)",
                    r.snapshots.len(),
                    r.files_scheduled,
                    if dry_run {
                        "would be scheduled"
                    } else {
                        "scheduled"
                    },
                    r.files_forgotten
                ),
                _ => println!("no snapshot is older than {older_than}"),
            }
        }
    }
    Ok(())
}

pub async fn gc(engine: &Engine, args: GcArgs) -> Result<()> {
    let grace = parse_duration(&args.grace)?;
    let r = engine.gc(grace, args.dry_run).await?;
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for f in &r.deleted {
        println!("{verb} {} ({})", f.path, f.reason);
    }
    for (path, reason) in &r.failed {
        eprintln!("could not delete {path}: {reason}");
    }
    println!(
        "{verb} {} files; {} unreferenced files are younger than the grace period ({}) and were kept",
        r.deleted.len(),
        r.held,
        args.grace
    );
    if !r.failed.is_empty() {
        anyhow::bail!("{} files could not be deleted", r.failed.len());
    }
    Ok(())
}
