"""Every example under examples/ runs, as a new user would run it, so none of them rots."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import Server, clean_environment, sample_lake, strata, strata_bin

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("examples")
    return root, sample_lake(root, rows=30000, days=3)


@pytest.fixture(scope="module")
def server(lake):
    root, catalog = lake
    s = Server(catalog, root / "open.toml", root)
    yield s
    s.stop()


@pytest.mark.parametrize("name", ["log_analytics.sql", "trip_analytics.sql"])
def test_sql_examples_answer_every_analysis(name, lake):
    _, catalog = lake
    proc = strata("query", "-f", str(EXAMPLES / name), "--stats", "json", catalog=catalog)
    stats = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    statements = (EXAMPLES / name).read_text().count(";")
    assert len(stats) == statements, proc.stderr
    assert all(s["rows"] > 0 for s in stats), stats


def test_rust_embedding_example(lake, tmp_path):
    root, _ = lake
    binary = pathlib.Path(strata_bin()).parent / "examples" / "embed"
    assert binary.exists(), f"{binary} is missing: build it with cargo build --workspace --all-targets"
    proc = subprocess.run(
        [str(binary), str(tmp_path / "embedded.db"), str(root / "requests")],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "requests: 6 files added (30000 rows" in proc.stdout, proc.stdout
    assert "p99_ms" in proc.stdout and proc.stdout.count("\n| ") >= 6, proc.stdout


def test_python_client_examples(lake, server):
    run = lambda *args: subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env=clean_environment()
    )
    proc = run(str(EXAMPLES / "python" / "adbc_client.py"), server.url)
    assert proc.returncode == 0, proc.stderr
    assert "payments" in proc.stdout and "ingested 1000 rows" in proc.stdout, proc.stdout
    assert "web-3" in proc.stdout, proc.stdout
    host_port = server.url.removeprefix("grpc://")
    proc = run(str(EXAMPLES / "python" / "sqlalchemy_pandas.py"), f"datafusion://{host_port}?insecure=True")
    assert proc.returncode == 0, proc.stderr
    assert "trip_id" in proc.stdout and "avg_metres" in proc.stdout and "Paris" in proc.stdout, proc.stdout


def test_ci_check_example_fails_the_job_on_bad_rows(lake, server, tmp_path):
    _, catalog = lake
    env = {
        **clean_environment(),
        "PATH": f"{pathlib.Path(strata_bin()).parent}{os.pathsep}{os.environ['PATH']}",
        "STRATA_CATALOG": catalog,
    }
    script = str(EXAMPLES / "ci_check.sh")
    for extra in ([], ["--server", server.url]):
        proc = subprocess.run([script, *extra], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0 and "data checks passed" in proc.stdout, proc.stderr
    # A lake with a bad trip and an unparseable log line fails the job and shows the rows.
    bad = f"sqlite:{tmp_path}/bad.db"
    strata(
        "query",
        """CREATE TABLE trips (trip_id BIGINT, fare DOUBLE, pickup_at TIMESTAMP, dropoff_at TIMESTAMP,
                               pickup_lat DOUBLE, pickup_lon DOUBLE);
           INSERT INTO trips VALUES (1, 12.5, TIMESTAMP '2026-03-01 10:00:00', TIMESTAMP '2026-03-01 10:20:00', 48.85, 2.35),
                                    (2, -3.0, TIMESTAMP '2026-03-01 11:00:00', TIMESTAMP '2026-03-01 11:20:00', 48.85, 2.35);
           CREATE TABLE requests (ts TIMESTAMP, service VARCHAR, attributes VARCHAR);
           INSERT INTO requests VALUES (TIMESTAMP '2026-03-01 10:00:00', 'api', '{"client": "ios"'),
                                       (TIMESTAMP '2026-03-01 10:01:00', 'api', '{"client": "web"}');""",
        catalog=bad,
    )
    proc = subprocess.run([script], capture_output=True, text=True, env={**env, "STRATA_CATALOG": bad}, timeout=120)
    assert proc.returncode != 0, proc.stdout
    assert "statement 1 returned 1 row(s), statement 4 returned 1 row(s)" in proc.stderr, proc.stderr
    assert "-3.0" in proc.stdout and '{"client": "ios"' in proc.stdout, proc.stdout
    assert "data checks passed" not in proc.stdout
