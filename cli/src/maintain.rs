//! `strata compact`, `strata table retention`, `strata snapshots …` and `strata gc`: thin
//! front ends over `CALL compact(…)`, `CALL retention(…)`, `CALL expire_snapshots(…)`,
//! `CALL gc(…)` and `strata_snapshots()`, so they work the same embedded and with `--server`.

use anyhow::Result;

use crate::args::{CompactArgs, GcArgs, SnapshotsCommand};
use crate::connection::{Connection, quote};

fn dry_run(dry_run: bool) -> &'static str {
    if dry_run { ", dry_run => true" } else { "" }
}

pub async fn compact(conn: &mut Connection, args: CompactArgs) -> Result<()> {
    let filter = args
        .filter
        .as_deref()
        .map(|f| format!(", {}", quote(f)))
        .unwrap_or_default();
    let sql = format!(
        "CALL compact({}{filter}{})",
        quote(&args.table),
        dry_run(args.dry_run)
    );
    conn.print_lines(&sql).await
}

pub async fn retention(
    conn: &mut Connection,
    name: Option<&str>,
    all: bool,
    preview: bool,
) -> Result<()> {
    let table = match (name, all) {
        (Some(name), false) => quote(name),
        _ => String::new(),
    };
    let args = format!("{table}{}", dry_run(preview));
    conn.print_lines(&format!(
        "CALL retention({})",
        args.trim_start_matches(", ")
    ))
    .await
}

pub async fn snapshots(conn: &mut Connection, command: SnapshotsCommand) -> Result<()> {
    match command {
        SnapshotsCommand::List => {
            crate::query::print_table(
                conn,
                "SELECT snapshot_id, snapshot_time, author, message, changes FROM strata_snapshots() ORDER BY snapshot_id",
            )
            .await
        }
        SnapshotsCommand::Expire {
            older_than,
            dry_run: preview,
        } => {
            let sql = format!(
                "CALL expire_snapshots({}{})",
                quote(&older_than),
                dry_run(preview)
            );
            conn.print_lines(&sql).await
        }
    }
}

pub async fn gc(conn: &mut Connection, args: GcArgs) -> Result<()> {
    let sql = format!("CALL gc({}{})", quote(&args.grace), dry_run(args.dry_run));
    conn.print_lines(&sql).await
}
