"""Shared fixtures: the strata binary, DuckDB with the DuckLake extension loaded offline."""

import datetime
import decimal
import glob
import itertools
import json
import math
import os
import pathlib
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading

import duckdb
import pyarrow.parquet as pq
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def strata_bin() -> str:
    path = os.environ.get("STRATA_TEST_BIN")
    if not path or not os.path.exists(path):
        raise RuntimeError("STRATA_TEST_BIN must point at the built strata binary (scripts/test.sh sets it)")
    return path


def clean_environment():
    """The process environment without cloud credentials, so that tests see only their own."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "GOOGLE_", "AZURE_", "AZURITE_"))
    }


def strata(*args, catalog=None, check=True, cwd=None, env=None):
    env = {**clean_environment(), **(env or {})}
    if catalog:
        env["STRATA_CATALOG"] = catalog
    proc = subprocess.run([strata_bin(), *args], capture_output=True, text=True, env=env, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"strata {args} failed: {proc.stderr}")
    return proc


def strata_rows(sql, catalog, tmp_path, env=None):
    """Run SQL with `strata query --format parquet` and return its rows."""
    out = tmp_path / f"result-{abs(hash(sql))}.parquet"
    strata("query", sql, "--format", "parquet", "--output", str(out), catalog=catalog, env=env)
    table = pq.read_table(out)
    return [tuple(r.values()) for r in table.to_pylist()]


def sample_lake(root, rows, days):
    """`strata gen` requests and trips under `root`, registered in a SQLite catalog there, with
    an empty `open.toml` for an open server; returns the catalog URL."""
    catalog = f"sqlite:{root}/strata.db"
    for name in ["requests", "trips"]:
        strata("gen", name, "--rows", str(rows), "--days", str(days), "--out", str(root / name))
        strata("table", "register", name, "--location", str(root / name), catalog=catalog)
    (root / "open.toml").write_text("")
    return catalog


def _extension(name):
    import importlib

    module = importlib.import_module(f"duckdb_extension_{name}")
    base = pathlib.Path(module.__file__).parent
    found = list(base.rglob(f"{name}.duckdb_extension"))
    if not found:
        raise RuntimeError(f"DuckDB extension {name} not found under {base}")
    return str(found[0])


@pytest.fixture
def duck():
    con = duckdb.connect()
    # No network here: load the extensions from their pip packages. sqlite_scanner first.
    con.execute(f"LOAD '{_extension('sqlite_scanner')}'")
    con.execute(f"LOAD '{_extension('ducklake')}'")
    con.execute(f"LOAD '{_extension('postgres_scanner')}'")
    yield con
    con.close()


def normalize(value):
    if isinstance(value, decimal.Decimal):
        return round(float(value), 6)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return float(f"{value:.9g}")
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def same_rows(left, right, ordered=False):
    """Compare result sets: values normalised, floats to 9 significant digits."""
    a = [tuple(normalize(v) for v in row) for row in left]
    b = [tuple(normalize(v) for v in row) for row in right]
    if not ordered:
        a = sorted(a, key=repr)
        b = sorted(b, key=repr)
    assert len(a) == len(b), f"{len(a)} rows vs {len(b)} rows"
    for x, y in zip(a, b):
        assert len(x) == len(y), f"{x} vs {y}"
        for u, v in zip(x, y):
            if isinstance(u, float) and isinstance(v, float):
                assert math.isclose(u, v, rel_tol=1e-6, abs_tol=1e-9), f"{x} != {y}"
            else:
                assert u == v, f"{x} != {y}"


# ---------------------------------------------------------------------------------------------
# Catalog backends: every catalog test runs on SQLite and on a real PostgreSQL server.


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = os.environ.get("STRATA_TEST_PG_BIN") or (os.path.dirname(found[-1]) if found else None)
    if not bindir or not os.path.exists(os.path.join(bindir, "initdb")):
        raise RuntimeError("PostgreSQL is not installed (scripts/test.sh installs it); set STRATA_TEST_PG_BIN")
    return bindir


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free loopback port, one database per test."""

    def __init__(self):
        self.bindir = _pg_bin()
        self.base = tempfile.mkdtemp(prefix="strata-pg-")
        os.chmod(self.base, 0o755)
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as the `postgres` account.
            shutil.chown(self.base, "postgres")
            self.user = "postgres"
        self._run("initdb", "-D", f"{self.base}/data", "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(
            "pg_ctl", "-D", f"{self.base}/data", "-l", f"{self.base}/log", "-w", "start", "-o",
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        )
        self._names = itertools.count()

    def _run(self, tool, *args):
        cmd = [os.path.join(self.bindir, tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def sql(self, statement, db="postgres"):
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                         "-v", "ON_ERROR_STOP=1", "-Atc", statement)

    def create_database(self):
        name = f"lake_{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name}")
        return name

    def restart(self):
        """Restart the cluster: every client connection is dropped."""
        self._run("pg_ctl", "-D", f"{self.base}/data", "-l", f"{self.base}/log", "-m", "fast", "-w", "restart")

    def stop(self):
        try:
            self._run("pg_ctl", "-D", f"{self.base}/data", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    yield server
    server.stop()


class CatalogUrl(str):
    """A catalog URL (what `--catalog` takes) with what a test needs to reach it otherwise:
    `kind` ('sqlite' or 'postgres'), `data` (the data path every engine must use) and
    `duck_target` (the part after `ducklake:` in DuckDB's ATTACH)."""

    kind: str
    data: pathlib.Path
    duck_target: str
    database: str
    files: pathlib.Path
    server: "PostgresServer | None"


def make_catalog(kind, tmp_path, monkeypatch, request, name="strata"):
    data = tmp_path / f"{name}-data"
    if kind == "sqlite":
        url = CatalogUrl(f"sqlite:{tmp_path}/{name}.db")
        url.duck_target = f"sqlite:{tmp_path}/{name}.db"
        url.database = f"{tmp_path}/{name}.db"
        url.files = pathlib.Path(f"{tmp_path}/{name}.db.files")
        url.server = None
    else:
        server = request.getfixturevalue("postgres_server")
        db = server.create_database()
        url = CatalogUrl(f"postgres://postgres@127.0.0.1:{server.port}/{db}")
        url.duck_target = f"postgres:host=127.0.0.1 port={server.port} user=postgres dbname={db}"
        url.database = db
        url.server = server
        url.files = data
        # A PostgreSQL catalog has no file to keep its data beside: every process of the test
        # (and DuckDB, through `data`) uses this one.
        monkeypatch.setenv("STRATA_DATA_PATH", str(data))
    url.kind = kind
    url.data = data
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def catalog(request, tmp_path, monkeypatch):
    """A fresh, not yet created catalog on each backend."""
    return make_catalog(request.param, tmp_path, monkeypatch, request)


def duck_attach(duck, catalog, options="READ_ONLY", alias="lake"):
    """Attach `catalog` in DuckDB as `alias`."""
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS {alias} ({options})")


def catalog_query(catalog, sql):
    """Rows of `sql` run on the catalog's own database (SQLite file or PostgreSQL database)."""
    if catalog.kind == "sqlite":
        con = sqlite3.connect(catalog.database)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    out = catalog.server.sql(sql, db=catalog.database)
    return [
        tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("|"))
        for line in out.splitlines()
    ]


# ---------------------------------------------------------------------------------------------
# Servers: real `strata serve` processes.


class Server:
    """A `strata serve` process; its query log is collected from stderr."""

    def __init__(self, catalog, config, cwd, extra_args=(), env=None):
        self.log_lines = []
        env = {**clean_environment(), "STRATA_CATALOG": catalog, **(env or {})}
        self.proc = subprocess.Popen(
            [strata_bin(), "--config", str(config), "serve", "--listen", "127.0.0.1:0", *extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        line = self.proc.stdout.readline()
        match = re.search(r"grpc://([\d.]+:\d+)", line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"server did not start: {line} {self.proc.stderr.read()}")
        self.url = f"grpc://{match.group(1)}"
        threading.Thread(target=self._drain, daemon=True).start()
        threading.Thread(target=lambda: self.proc.stdout.read(), daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log_lines.append(line)

    def log(self):
        out = []
        for line in list(self.log_lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def user_entry(name, role, password):
    proc = strata("user", "add", name, "--role", role, "--password-env", "PW", env={"PW": password})
    return proc.stdout
