"""Apache Superset on Strata, in a real browser.

Run by scripts/superset-test.sh (which installs Superset 6.1.0 in its own virtual environment,
Debian's Chromium and Playwright): a `strata serve` over generated logs, a Superset server with
Strata's engine spec (integrations/superset), and through Superset's REST API a database
connection, schema and table browsing, a SQL Lab query, a dataset and a time-series chart of
errors per service per hour whose numbers must equal DuckDB's over the same files; then the
dashboard is rendered in headless Chromium, logged in, and must draw the chart (a screenshot is
kept under $STRATA_ARTIFACTS, default ~/.cache/strata-superset/artifacts).
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import duckdb
import pytest
import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))
from conftest import Server, sample_lake  # noqa: E402

VENV = pathlib.Path(os.environ.get("STRATA_SUPERSET_VENV", pathlib.Path.home() / ".cache/strata-superset/venv"))
ARTIFACTS = pathlib.Path(os.environ.get("STRATA_ARTIFACTS", pathlib.Path.home() / ".cache/strata-superset/artifacts"))
CHROMIUM = os.environ.get("STRATA_CHROMIUM", "/usr/bin/chromium")
ERRORS = {"expressionType": "SQL", "sqlExpression": "count_if(status >= 500)", "label": "errors"}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("superset-lake")
    return root, sample_lake(root, rows=40000, days=2)


@pytest.fixture(scope="module")
def strata_server(lake):
    root, catalog = lake
    s = Server(catalog, root / "open.toml", root)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def superset(tmp_path_factory):
    home = tmp_path_factory.mktemp("superset")
    config = home / "superset_config.py"
    config.write_text(
        "\n".join(
            [
                f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{home}/superset.db'",
                "SECRET_KEY = 'strata-superset-test-only-secret-0123456789'",
                "WTF_CSRF_ENABLED = False",
                "TALISMAN_ENABLED = False",
            ]
        )
    )
    env = {**os.environ, "SUPERSET_CONFIG_PATH": str(config), "FLASK_APP": "superset"}
    cli = str(VENV / "bin" / "superset")
    for args in (
        ["db", "upgrade"],
        ["fab", "create-admin", "--username", "admin", "--firstname", "Ada", "--lastname", "Admin",
         "--email", "admin@example.com", "--password", "admin"],
        ["init"],
    ):
        proc = subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    port = _free_port()
    log = open(home / "superset.log", "w")
    proc = subprocess.Popen(
        [cli, "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError((home / "superset.log").read_text()[-4000:])
    yield url
    proc.terminate()
    proc.wait(timeout=30)


class Api:
    """Superset's REST API as the admin user (JWT from /api/v1/security/login)."""

    def __init__(self, url):
        self.url = url
        self.session = requests.Session()
        login = self.session.post(
            f"{url}/api/v1/security/login",
            json={"username": "admin", "password": "admin", "provider": "db", "refresh": True},
        )
        assert login.status_code == 200, login.text
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def __call__(self, method, path, **kwargs):
        r = self.session.request(method, self.url + path, timeout=120, **kwargs)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:3000]}"
        return r.json()


def test_superset_dashboard_on_strata(lake, strata_server, superset):
    root, _ = lake
    api = Api(superset)
    host_port = strata_server.url.removeprefix("grpc://")
    database = api(
        "POST",
        "/api/v1/database/",
        json={"database_name": "strata", "sqlalchemy_uri": f"datafusion://{host_port}?insecure=True",
              "expose_in_sqllab": True},
    )["id"]
    assert api("GET", f"/api/v1/database/{database}")["result"]["backend"] == "datafusion"

    # SQL Lab's browsing: schemas, tables, columns with their types.
    assert "main" in api("GET", f"/api/v1/database/{database}/schemas/")["result"]
    tables = api("GET", f"/api/v1/database/{database}/tables/?q=(schema_name:main)")["result"]
    assert {"requests", "trips"} <= {t["value"] for t in tables}
    # SQL Lab runs a query with its row limit.
    ran = api("POST", "/api/v1/sqllab/execute/",
              json={"database_id": database, "schema": "main", "runAsync": False, "queryLimit": 7,
                    "sql": "SELECT service, attributes->>'client' AS client, latency_ms FROM requests"})
    assert len(ran["data"]) == 7 and {c["column_name"] for c in ran["columns"]} == {"service", "client", "latency_ms"}

    dataset = api("POST", "/api/v1/dataset/", json={"database": database, "schema": "main", "table_name": "requests"})["id"]
    columns = {c["column_name"]: c for c in api("GET", f"/api/v1/dataset/{dataset}")["result"]["columns"]}
    assert columns["ts"]["is_dttm"] and columns["ts"]["type"].startswith("TIMESTAMP")
    assert columns["status"]["type"] == "INTEGER" and columns["service"]["type"] in ("TEXT", "VARCHAR", "STRING")

    # Errors per service per hour: a time-series chart, its data against DuckDB's.
    form = {"viz_type": "echarts_timeseries_line", "datasource": f"{dataset}__table", "x_axis": "ts",
            "time_grain_sqla": "PT1H", "metrics": [ERRORS], "groupby": ["service"], "adhoc_filters": [],
            "row_limit": 10000, "time_range": "No filter"}
    query_context = {
        "datasource": {"id": dataset, "type": "table"}, "force": True, "form_data": form,
        "result_format": "json", "result_type": "full",
        "queries": [{"columns": [{"timeGrain": "PT1H", "columnType": "BASE_AXIS", "sqlExpression": "ts",
                                  "label": "ts", "expressionType": "SQL"}, "service"],
                     "metrics": [ERRORS], "orderby": [[ERRORS, False]], "row_limit": 10000,
                     "time_range": "No filter", "filters": [],
                     "extras": {"time_grain_sqla": "PT1H", "having": "", "where": ""}}],
    }
    chart = api("POST", "/api/v1/chart/", json={"slice_name": "Errors per service per hour",
                                                  "viz_type": "echarts_timeseries_line", "datasource_id": dataset,
                                                  "datasource_type": "table", "params": json.dumps(form),
                                                  "query_context": json.dumps(query_context)})["id"]
    result = api("GET", f"/api/v1/chart/{chart}/data/")["result"][0]
    got = sorted((int(r["ts"]), r["service"], r["errors"]) for r in result["data"])
    duck = duckdb.connect()
    expected = sorted(
        duck.execute(
            f"""SELECT epoch_ms(date_trunc('hour', ts)), service, count_if(status >= 500)
                FROM read_parquet('{root}/requests/*/*.parquet', hive_partitioning = true) GROUP BY ALL"""
        ).fetchall()
    )
    assert got == expected and len(got) > 20

    dashboard = api("POST", "/api/v1/dashboard/", json={"dashboard_title": "Strata logs", "published": True})["id"]
    api("PUT", f"/api/v1/chart/{chart}", json={"dashboards": [dashboard]})
    _render(superset, dashboard)


def _render(url, dashboard):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "superset-dashboard.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/login/")
        page.fill("#username", "admin")
        page.fill("#password", "admin")
        page.keyboard.press("Enter")
        page.wait_for_url("**/superset/welcome/**", timeout=60000)
        page.goto(f"{url}/superset/dashboard/{dashboard}/")
        page.wait_for_selector(".dashboard-chart canvas, .chart-container canvas", timeout=120000)
        page.wait_for_timeout(2000)  # the line animation
        page.screenshot(path=str(shot), full_page=True)
        errors = page.locator(".alert-danger, .ant-alert-error, [data-test='error-tooltip']").count()
        # What the chart drew on its canvas (ECharts draws legend and lines there): pixels, and
        # how many colours — one line per service, so a blank canvas or one colour fails.
        drawn, colours = page.evaluate(
            """() => {
                 const c = document.querySelector('.dashboard-chart canvas, .chart-container canvas');
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 let n = 0; const seen = new Set();
                 for (let i = 0; i < d.length; i += 4) {
                   if (d[i + 3] > 0) { n++; if (d[i + 3] === 255) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]); }
                 }
                 return [n, seen.size];
               }"""
        )
        title = page.get_by_text("Errors per service per hour").count()
        browser.close()
    assert errors == 0, f"error panel on the dashboard; see {shot}"
    assert title > 0, f"the chart is not on the dashboard; see {shot}"
    assert drawn > 2000 and colours > 5, f"the chart drew {drawn} pixels in {colours} colours; see {shot}"
