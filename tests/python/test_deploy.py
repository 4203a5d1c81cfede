"""The Kubernetes manifests and container build of deploy/: valid against Kubernetes' own
schemas (offline, with kubernetes-validate), and every Strata command line and configuration
in them accepted by this build of `strata`."""

import pathlib
import socket
import subprocess
import time

import kubernetes_validate
import pytest
import yaml

from conftest import _free_port, clean_environment, strata, strata_bin

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES = "1.33.0"


def documents():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                docs.append((name, doc))
    return docs


def test_every_manifest_is_valid_kubernetes():
    docs = documents()
    kinds = sorted({doc["kind"] for _, doc in docs})
    assert kinds == sorted(
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Namespace", "NetworkPolicy", "Secret", "Service"]
    ), kinds
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {e.message} at {list(e.path)}")
    # The manifests the kustomization names are all there is.
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_a_broken_manifest_is_caught():
    """The check above can fail: a misspelt field is refused."""
    _, deployment = next((n, d) for n, d in documents() if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def containers():
    for name, doc in documents():
        if doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc["metadata"]["name"], container


def test_every_strata_command_line_is_one_strata_accepts():
    roles = {}
    for deployment, container in containers():
        assert container["image"] == "strata"
        role, *flags = container["args"]
        roles[role] = deployment
        usage = strata(role, "--help").stdout
        for flag in flags:
            name = flag.split("=", 1)[0]
            assert name.startswith("--") and any(f"{name}{end}" in usage for end in " =\n,"), (
                deployment, flag, usage
            )
        env = {e["name"] for e in container.get("env", [])}
        assert "STRATA_CONFIG" in env, deployment
    assert roles == {"scheduler": "strata-scheduler", "executor": "strata-executor", "serve": "strata-server"}
    # Every role reads the configuration the ConfigMap mounts.
    config_paths = set()
    for _, container in containers():
        config = next(e["value"] for e in container["env"] if e["name"] == "STRATA_CONFIG")
        mount = next(m for m in container["volumeMounts"] if config.startswith(m["mountPath"] + "/"))
        config_paths.add((mount["name"], config))
    assert config_paths == {("config", "/etc/strata/strata.toml")}


def test_every_cluster_role_authenticates_its_peers_with_mutual_tls():
    """No role runs with --insecure: each names a certificate, its key and the CA, from a
    mounted secret (one the manifests do not ship), in variables its --help lists; the
    scheduler is reached over https."""
    for deployment, container in containers():
        assert "--insecure" not in container["args"], deployment
        env = {e["name"]: e.get("value") for e in container["env"]}
        usage = strata(container["args"][0], "--help").stdout
        files = {}
        for name in ("STRATA_CLUSTER_TLS_CERT", "STRATA_CLUSTER_TLS_KEY", "STRATA_CLUSTER_TLS_CA"):
            assert f"env: {name}" in usage, (deployment, name)
            files[name] = env[name]
        assert env["STRATA_CLUSTER_TLS_DOMAIN"] == "strata-cluster", deployment
        [mount] = [m for m in container["volumeMounts"] if all(f.startswith(m["mountPath"] + "/") for f in files.values())]
        [doc] = [d for _, d in documents() if d["kind"] == "Deployment" and d["metadata"]["name"] == deployment]
        [volume] = [v for v in doc["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["secretName"] == "strata-cluster-tls", deployment
        for arg in container["args"]:
            if arg.startswith("--scheduler="):
                assert arg.startswith("--scheduler=https://"), (deployment, arg)
    assert "strata-cluster-tls" not in {d["metadata"]["name"] for _, d in documents() if d["kind"] == "Secret"}


def test_no_secret_is_shipped_and_the_autoscaler_owns_the_executor_count():
    docs = documents()
    for _, doc in docs:
        if doc["kind"] == "Secret":
            # Anyone could mint tokens with a token-signing secret published here.
            assert "STRATA_AUTH_SECRET" not in doc.get("stringData", {}) and "STRATA_AUTH_SECRET" not in doc.get("data", {})
    scaled = {d["spec"]["scaleTargetRef"]["name"] for _, d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert scaled == {"strata-executor"}
    for _, doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] in scaled:
            assert "replicas" not in doc["spec"], "an apply would reset the autoscaled count"
    # An executor runs as many tasks at once as the CPUs it is given, not the node's cores.
    [(_, executor)] = [(n, c) for n, c in containers() if n == "strata-executor"]
    vcores = next(a.split("=", 1)[1] for a in executor["args"] if a.startswith("--vcores="))
    assert executor["resources"]["limits"]["cpu"] == vcores == executor["resources"]["requests"]["cpu"]
    # The scheduler reads no files and no catalog: it gets no credentials.
    [(_, scheduler)] = [(n, c) for n, c in containers() if n == "strata-scheduler"]
    assert "envFrom" not in scheduler


def test_the_configuration_is_one_strata_accepts(tmp_path):
    configmap = next(d for _, d in documents() if d["kind"] == "ConfigMap")
    path = tmp_path / "strata.toml"
    path.write_text(configmap["data"]["strata.toml"])
    shown = strata("--config", str(path), "config", "show").stdout
    assert 'listen = "0.0.0.0:50051"' in shown, shown
    # The server starts with it on a non-loopback address (which it refuses without users or
    # tokens): the ConfigMap's, with its directories moved here and a free port.
    port = _free_port()
    local = tmp_path / "local.toml"
    local.write_text(
        configmap["data"]["strata.toml"]
        .replace("/var/cache/strata", str(tmp_path / "cache"))
        .replace("0.0.0.0:50051", f"0.0.0.0:{port}")
    )
    env = {**clean_environment(), "STRATA_CONFIG": str(local), "STRATA_CATALOG": f"sqlite:{tmp_path}/c.db"}
    server = subprocess.Popen(
        [strata_bin(), "serve", "--exit-with-parent"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        listening = False
        deadline = time.time() + 30
        while not listening and time.time() < deadline and server.poll() is None:
            with socket.socket() as s:
                listening = s.connect_ex(("127.0.0.1", port)) == 0
            time.sleep(0.2)
        assert listening and server.poll() is None, server.stderr.read() if server.poll() is not None else "not listening"
    finally:
        server.terminate()
        server.wait(timeout=20)
    # A misspelt key is refused, so the check above means something.
    misspelt = configmap["data"]["strata.toml"].replace('data = "', 'dataa = "', 1)
    assert misspelt != configmap["data"]["strata.toml"]
    path.write_text(misspelt)
    assert strata("--config", str(path), "config", "show", check=False).returncode != 0


def test_the_container_build_installs_the_binary_the_manifests_run():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "cargo build --release --locked -p strata-cli" in dockerfile
    assert 'ENTRYPOINT ["strata"]' in dockerfile
    exposed = {int(p) for line in dockerfile.splitlines() if line.startswith("EXPOSE") for p in line.split()[1:]}
    ports = {p["containerPort"] for _, c in containers() for p in c["ports"]}
    assert ports <= exposed, (ports, exposed)
