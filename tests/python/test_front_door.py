"""One front door: every lake subcommand of the CLI runs embedded and with `--server` through
the same statements (`CALL register/refresh/compact/retention/expire_snapshots/gc`, the
`strata_tables()`/`strata_columns()`/`strata_history()`/`strata_snapshots()` table functions,
`DROP TABLE`), and prints the same output both ways."""

import json
import re
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import Server, strata, strata_bin, clean_environment


def normalize(text):
    """Output with what differs between any two runs (elapsed seconds; a retention cut-off,
    which is now minus the retention, taken a moment apart) blanked out."""
    text = re.sub(r"\d+\.\d+s\b", "<secs>", text)
    return re.sub(r"before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "before <cut-off>", text)


def make_lake(tmp_path):
    catalog = f"sqlite:{tmp_path / 'front.db'}"
    data = tmp_path / "data"
    strata(
        "query",
        "CREATE TABLE events (ts TIMESTAMP NOT NULL, kind VARCHAR, n BIGINT) PARTITIONED BY (day(ts)) "
        "WITH (retention = '36500 days', sort_by = 'ts')",
        catalog=catalog,
        env={"STRATA_DATA_PATH": str(data)},
    )
    for i in range(4):
        strata(
            "query",
            f"INSERT INTO events VALUES (TIMESTAMP '2026-03-0{1 + i % 2} 10:00:0{i}', 'k{i}', {i})",
            catalog=catalog,
        )
    # A table registered in place, from a Hive-partitioned directory.
    registered = tmp_path / "files"
    for day in ("2026-03-01", "2026-03-02"):
        (registered / f"dt={day}").mkdir(parents=True)
        pq.write_table(pa.table({"v": [1, 2, 3]}), registered / f"dt={day}" / "part-0.parquet")
    out = strata("table", "register", "files", "--location", str(registered), catalog=catalog).stdout
    assert "2 files added (6 rows" in out and "partitioned by: dt" in out, out
    config = tmp_path / "strata.toml"
    config.write_text("")
    return catalog, config, registered


def both(catalog, server, *args, check=True):
    """Run one CLI command embedded and against the server; return both results."""
    local = strata(*args, catalog=catalog, check=check)
    remote = strata(*args, "--server", server.url, catalog=catalog, check=check)
    return local, remote


def test_every_lake_command_prints_the_same_embedded_and_remote(tmp_path):
    catalog, config, registered = make_lake(tmp_path)
    server = Server(catalog, config, tmp_path)
    try:
        # Read-only commands and dry runs: identical output.
        for args in (
            ("table", "list"),
            ("table", "describe", "events"),
            ("table", "describe", "files"),
            ("table", "history", "events"),
            ("snapshots", "list"),
            ("compact", "events", "--dry-run"),
            ("compact", "events", "--where", "ts >= TIMESTAMP '2026-03-02 00:00:00'", "--dry-run"),
            ("table", "retention", "events", "--dry-run"),
            ("snapshots", "expire", "--older-than", "3650d", "--dry-run"),
            ("gc", "--dry-run"),
            ("query", "SELECT kind, n FROM events ORDER BY n"),
            ("query", "--format", "csv", "SELECT count(*) AS c FROM files; SELECT 1 AS one"),
        ):
            local, remote = both(catalog, server, *args)
            assert normalize(local.stdout) == normalize(remote.stdout), (args, local.stdout, remote.stdout)
            assert local.stdout.strip(), args
        describe = strata("table", "describe", "events", "--server", server.url, catalog=catalog).stdout
        assert "partitioned by  day(ts)" in describe and "retention" in describe, describe
        assert re.search(r"^sort_by\s+ts$", describe, re.M) and re.search(r"^retention\s+36500 days$", describe, re.M), describe
        assert re.search(r"\bkind\s+varchar\s+NULL", describe), describe
        listing = strata("table", "list", "--server", server.url, catalog=catalog).stdout
        assert "main.events\t4 files\t4 rows" in listing, listing

        # Errors are the same too: an unknown table names itself both ways.
        local, remote = both(catalog, server, "table", "describe", "nope", check=False)
        assert local.returncode != 0 and remote.returncode != 0
        assert "nope" in local.stderr and "nope" in remote.stderr, (local.stderr, remote.stderr)

        # Changes through the server: compaction, then a refresh that finds a new file.
        out = strata("compact", "events", "--server", server.url, catalog=catalog).stdout
        assert "merged 4 files" in out and "into 2" in out, out
        (registered / "dt=2026-03-03").mkdir()
        pq.write_table(pa.table({"v": [7]}), registered / "dt=2026-03-03" / "part-0.parquet")
        out = strata("table", "refresh", "files", "--server", server.url, catalog=catalog).stdout
        assert "1 files added (1 rows" in out, out
        local, remote = both(catalog, server, "table", "history", "events")
        assert local.stdout == remote.stdout and "compact" in remote.stdout, remote.stdout
        local, remote = both(catalog, server, "query", "SELECT count(*) AS c, sum(v) AS s FROM files")
        assert local.stdout == remote.stdout and "| 7 " in remote.stdout, remote.stdout

        # --stats json: the server reports the same figures the engine does locally.
        local, remote = both(catalog, server, "query", "--stats", "json", "SELECT * FROM events WHERE ts >= TIMESTAMP '2026-03-02 00:00:00'")
        stats_local, stats_remote = json.loads(local.stderr), json.loads(remote.stderr)
        for key in ("rows", "files_scanned", "files_pruned", "files_total", "bytes_read", "snapshot"):
            assert stats_local[key] == stats_remote[key], (key, stats_local, stats_remote)
        assert stats_remote["files_pruned"] == 1 and stats_remote["server"] == server.url, stats_remote

        # A local location cannot be registered through the server (documented policy), and
        # commands that are local by nature refuse --server with a reason.
        proc = strata("table", "register", "other", "--location", str(registered), "--server", server.url,
                      catalog=catalog, check=False)
        assert proc.returncode != 0 and "local disk" in proc.stderr, proc.stderr
        proc = strata("gen", "requests", "--out", str(tmp_path / "g"), "--server", server.url, check=False)
        assert proc.returncode != 0 and "does not take --server" in proc.stderr, proc.stderr

        # Dropping through the server, then both sides agree the table is gone.
        out = strata("table", "drop", "files", "--server", server.url, catalog=catalog).stdout
        assert "dropped files" in out, out
        local, remote = both(catalog, server, "table", "list")
        assert local.stdout == remote.stdout and "files" not in remote.stdout.replace("files\t", ""), remote.stdout
    finally:
        server.stop()


def test_remote_shell_has_the_dot_commands(tmp_path):
    catalog, config, _ = make_lake(tmp_path)
    server = Server(catalog, config, tmp_path)
    try:
        script = ".tables\n.describe events\n.mode csv\nSELECT n FROM events ORDER BY n;\n.timing off\nSELECT 1 AS one;\n"
        outputs = []
        for extra in ([], ["--server", server.url]):
            proc = subprocess.run(
                [strata_bin(), "shell", *extra],
                input=script, capture_output=True, text=True, timeout=60,
                env={**clean_environment(), "STRATA_CATALOG": catalog},
            )
            assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
            # The banner names the server; the rest must be the same.
            outputs.append(normalize("\n".join(proc.stdout.splitlines()[1:])))
        assert outputs[0] == outputs[1], outputs
        assert "main.events" in outputs[1] and "partitioned by  day(ts)" in outputs[1]
        assert "n\n0\n1\n2\n3\n" in outputs[1] and "4 rows in <secs> (" in outputs[1], outputs[1]
    finally:
        server.stop()


def test_refresh_and_history_are_sql(tmp_path):
    """The management statements work from any SQL client, not only the CLI."""
    catalog, _, registered = make_lake(tmp_path)
    out = tmp_path / "snap.parquet"
    strata("query", "--format", "parquet", "--output", str(out),
           "SELECT snapshot_id, changes FROM strata_history('events') ORDER BY snapshot_id", catalog=catalog)
    history = pq.read_table(out).to_pylist()
    assert len(history) == 5 and "created_table" in history[0]["changes"], history
    (registered / "dt=2026-03-09").mkdir()
    pq.write_table(pa.table({"v": [9]}), registered / "dt=2026-03-09" / "part-0.parquet")
    proc = strata("query", "--format", "csv", "CALL refresh('files')", catalog=catalog)
    assert "1 files added (1 rows" in proc.stdout, proc.stdout
    strata("query", "--format", "parquet", "--output", str(out),
           "SELECT table_name, files, rows FROM strata_tables() ORDER BY table_name", catalog=catalog)
    assert pq.read_table(out).to_pylist() == [
        {"table_name": "events", "files": 4, "rows": 4},
        {"table_name": "files", "files": 3, "rows": 7},
    ]
    proc = strata("query", "SELECT * FROM strata_history()", catalog=catalog, check=False)
    assert proc.returncode != 0 and "strata_history('table')" in proc.stderr, proc.stderr
    proc = strata("query", "CALL refresh('nope')", catalog=catalog, check=False)
    assert proc.returncode != 0 and "nope" in proc.stderr, proc.stderr


def test_ingest_through_the_server_reads_here_and_commits_there(tmp_path):
    # `strata ingest --server` reads the files on the client and sends them as a Flight SQL
    # bulk ingest: same report as embedded, and a failed read loses nothing and keeps nothing.
    server_catalog = f"sqlite:{tmp_path / 'server.db'}"
    local_catalog = f"sqlite:{tmp_path / 'local.db'}"
    config = tmp_path / "strata.toml"
    config.write_text("")
    good = tmp_path / "good.csv"
    good.write_text("ts,service,latency\n2026-03-01 10:00:00,api,12\n2026-03-02 09:00:00,web,40\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,service,latency\n" + "2026-03-01 10:00:00,api,1\n" * 20000 + "2026-03-01 10:00:00,api,x\n")
    create = "CREATE TABLE logs (ts TIMESTAMP, service VARCHAR, latency BIGINT)"
    strata("query", create, catalog=local_catalog)
    server = Server(server_catalog, config, tmp_path)
    try:
        remote = ("--server", server.url)
        strata("query", create, *remote)
        for args in (("ingest", "logs", str(good)), ("ingest", "new", str(good), "--create")):
            local = strata(*args, catalog=local_catalog)
            over = strata(*args, *remote)
            rate = lambda text: re.sub(r"\(\d+ rows/s\)", "(<rate>)", normalize(text))
            assert rate(local.stdout) == rate(over.stdout), (args, local.stdout, over.stdout)
        assert "created new: 2 rows from 1 files" in over.stdout, over.stdout

        # 20,000 rows go out before the bad line: the server must not commit them.
        before = strata("query", "--format", "csv", "SELECT count(*) AS c FROM logs", *remote).stdout
        proc = strata("ingest", "logs", str(bad), *remote, check=False)
        assert proc.returncode != 0 and "bad.csv:20002" in proc.stderr and "nothing was loaded" in proc.stderr, proc.stderr
        after = strata("query", "--format", "csv", "SELECT count(*) AS c FROM logs", *remote).stdout
        assert before == after == "c\n2\n", (before, after)
        out = strata("ingest", "logs", str(bad), "--on-error", "skip", *remote)
        assert "20000 rows from 1 files" in out.stdout and "1 lines rejected" in out.stdout, out.stdout
        assert "rejected " in out.stderr and "bad.csv:20002" in out.stderr, out.stderr

        # Options the bulk ingest cannot carry are refused, not dropped.
        proc = strata("ingest", "other", str(good), "--create", "--partitioned-by", "day(ts)", *remote, check=False)
        assert proc.returncode != 0 and "create the table first" in proc.stderr, proc.stderr
        proc = strata("ingest", "missing", str(good), *remote, check=False)
        assert proc.returncode != 0 and "does not exist" in proc.stderr, proc.stderr
    finally:
        server.stop()
