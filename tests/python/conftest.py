"""Shared fixtures: the strata binary, DuckDB with the DuckLake extension loaded offline."""

import datetime
import decimal
import math
import os
import pathlib
import subprocess

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
