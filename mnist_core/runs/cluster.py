"""Training on a Ray cluster: the same jobs, run by a Ray actor on a worker instead of a thread here.

When RAY_ADDRESS is set (or `python -m mnist_core train --backend ray`), a `RayTrainingJob` puts each
run in an actor that reserves CPUS_PER_RUN of the cluster's CPUs. The actor trains with
`training.run` on the worker (reading MNIST there), keeps its progress in a list the job polls, stops
when asked (keeping the finished part, as a local run does) and returns the model as `.keras` bytes,
which come back through the same safe loader as an upload. Until the cluster has the CPUs free, the
job waits in Ray's own queue; the page shows what Ray reports as free, asked once every
CAPACITY_SECONDS for all waiting runs together. Every run this server has sent counts against
jobs.MAX_WAITING (RAY_QUEUE), so a burst of visitors can't pile up runs on the cluster. Any Ray
failure (a worker that dies, an error on the worker, a cluster out of reach) fails the job with a
RunFailed code; the detail (a remote traceback) goes to the log, never to the page.

Identical runs are trained once here as on the embedded backend: mnist_core.runs.sharing wraps
whichever job `make_job` returns, so thirty learners with one spec are one actor.

Ray is an optional dependency (requirements-cluster.txt): nothing imports this module unless asked.
"""

from __future__ import annotations

import os
import threading
import time

from .jobs import MAX_WAITING, QUEUED, RUNNING, STOPPED, RunFailed, TrainingJob, TrainingQueue

CPUS_PER_RUN = int(os.environ.get("MNIST_STUDIO_RAY_CPUS_PER_RUN", 2))
POLL_SECONDS = 0.5            # a training run's progress, as often as the page redraws it
WAITING_POLL_SECONDS = 1.0    # a run waiting for the cluster: has it started, or been stopped?
CAPACITY_SECONDS = 2.0        # how often this server asks Ray for its free CPUs (all runs together)


def enabled() -> bool:
    """Whether runs should go to a Ray cluster: RAY_ADDRESS is set."""
    return bool(os.environ.get("RAY_ADDRESS"))


_connect_lock = threading.Lock()
_failed_to_connect: tuple[float, BaseException] | None = None     # (when, why)
RETRY_CONNECT_SECONDS = 10.0   # a cluster out of reach is not asked again sooner, by any run


def connect(address: str | None = None):
    """Join the cluster (once per process) and return the `ray` module. Runs started at once each
    call this from their own thread: ray.init is not thread-safe (a second call while the first is
    still connecting fails with "called ray.init twice"), so one thread joins while the others wait;
    when it fails, those waiting fail with it rather than each waiting out ray.init's own timeout."""
    global _failed_to_connect
    import ray
    with _connect_lock:
        if not ray.is_initialized():
            if _failed_to_connect and time.monotonic() - _failed_to_connect[0] < RETRY_CONNECT_SECONDS:
                raise ConnectionError("the Ray cluster was out of reach moments ago") from _failed_to_connect[1]
            # The workers import mnist_core from the same code: ship this package with the job.
            package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            runtime_env = {"py_modules": [package]}
            if os.environ.get("MNIST_DATA"):    # where this machine reads MNIST; workers fall back to
                runtime_env["env_vars"] = {"MNIST_DATA": os.environ["MNIST_DATA"]}   # a download
            try:
                ray.init(address=address or os.environ.get("RAY_ADDRESS"), log_to_driver=False,
                         runtime_env=runtime_env, ignore_reinit_error=True)
            except Exception as exc:
                _failed_to_connect = (time.monotonic(), exc)
                raise
            _failed_to_connect = None
    return ray


_capacity: tuple[float, tuple[float, float]] | None = None     # (asked at, answer)
_capacity_lock = threading.Lock()


def capacity() -> tuple[float, float]:
    """(free CPUs, all CPUs) as Ray sees the cluster, at most CAPACITY_SECONDS old."""
    global _capacity
    with _capacity_lock:
        if _capacity is None or time.monotonic() - _capacity[0] >= CAPACITY_SECONDS:
            ray = connect()
            _capacity = (time.monotonic(), (float(ray.available_resources().get("CPU", 0.0)),
                                            float(ray.cluster_resources().get("CPU", 0.0))))
        return _capacity[1]


class _Trainer:
    """The actor's body (wrapped by ray.remote in `_actor_class`). One run per actor."""

    def __init__(self):
        self.reports: list = []
        self.stop_event = threading.Event()
        self.started = False

    def run(self, spec, watch, metadata: dict) -> tuple:
        from mnist_core import storage, training
        from mnist_core.data import load_mnist
        self.started = True
        data = load_mnist()
        trained = training.run(spec, data, on_progress=self.reports.append, stop_event=self.stop_event,
                               watch=watch, **metadata)
        trained.metadata["backend"] = "ray"
        return storage.model_bytes(trained.model, trained.metadata), trained.result, trained.report

    def poll(self, since: int) -> tuple[bool, list]:
        return self.started, self.reports[since:]

    def stop(self) -> None:
        self.stop_event.set()

    def process(self) -> int:
        """The worker process's id (for logs, and for the test that kills it)."""
        return os.getpid()


_actor = None


def _actor_class():
    global _actor
    if _actor is None:
        ray = connect()
        # Two calls at once: `run` trains while `poll` and `stop` answer.
        _actor = ray.remote(max_concurrency=3)(_Trainer)
    return _actor


# Ray schedules; this queue only counts the runs this server has in flight there, all against one limit.
RAY_QUEUE = TrainingQueue(slots=MAX_WAITING, max_waiting=0)


class RayTrainingJob(TrainingJob):
    """A TrainingJob whose training happens in a Ray actor. Same snapshot, stop and hand-over."""

    def __init__(self, spec, data, **kwargs):
        kwargs.setdefault("queue", RAY_QUEUE)
        super().__init__(spec, data, **kwargs)
        self.waiting_for_cluster = True   # until the actor has started on a worker
        self.actor = None
        self.free_cpus: tuple[float, float] | None = None

    def _train(self) -> None:
        from mnist_core import storage
        from mnist_core.training import TrainedRun
        try:
            ray = connect()
        except Exception as exc:        # no cluster at RAY_ADDRESS, or one that refuses us
            raise RunFailed("cluster_unreachable") from exc
        try:
            payload, result, report = self._follow(ray)
        except ray.exceptions.RayActorError as exc:     # the worker (or its node) died
            raise RunFailed("worker_lost") from exc
        except ray.exceptions.RayError as exc:          # an error on the worker: a remote traceback
            raise RunFailed("worker_failed") from exc
        if payload is None:
            return                                      # stopped before it started
        try:
            model, metadata = storage.load_model_bytes(payload)   # the same safe path as an upload
        except storage.ModelFileError as exc:
            raise RunFailed("model_file") from exc
        self.outcome = TrainedRun(model, result, report, metadata)

    def _follow(self, ray) -> tuple:
        """Start the actor and relay its progress until it returns (model bytes, result, report),
        or (None, None, None) if the run was stopped before the cluster started it."""
        actor = self.actor = _actor_class().options(num_cpus=CPUS_PER_RUN, max_restarts=0).remote()
        result_ref = actor.run.remote(self.spec, self.watch, {"name": self.name,
                                                         "source": "trained on the Ray cluster"})
        self._set(state=QUEUED)          # Ray's queue, until the actor runs
        seen, stop_sent, asking = 0, False, None
        try:
            while True:
                asking = asking or actor.poll.remote(seen)
                # A local wait (this process owns the reply): an actor still waiting for CPUs can't
                # answer, so a waiting run wakes only every WAITING_POLL_SECONDS.
                answered, _ = ray.wait([asking], timeout=WAITING_POLL_SECONDS)
                if answered:
                    started, reports = ray.get(asking)
                    asking = None
                    if started and self.waiting_for_cluster:
                        self.waiting_for_cluster = False
                        now = time.monotonic()
                        self._set(state=RUNNING, training_started=now, waited=now - self._created)
                    for report in reports:
                        self._record(report)
                    seen += len(reports)
                    if ray.wait([result_ref], timeout=0)[0]:
                        for report in ray.get(actor.poll.remote(seen))[1]:     # the last reports
                            self._record(report)
                        return ray.get(result_ref)
                if self.waiting_for_cluster:
                    self.free_cpus = capacity()
                    if self._abandoned():            # its session was released while it waited
                        self.stop_event.set()
                if self.stop_event.is_set() and not stop_sent:
                    if self.waiting_for_cluster:       # never started: nothing to keep
                        self._set(state=STOPPED)
                        return None, None, None
                    actor.stop.remote()
                    stop_sent = True
                if asking is None:                     # pace the progress polls of a running run
                    if stop_sent:
                        ray.wait([result_ref], timeout=POLL_SECONDS)
                    else:
                        self.stop_event.wait(POLL_SECONDS)
        finally:
            try:
                ray.kill(actor)
            except Exception:     # already gone
                pass


def make_job(spec, data, **kwargs) -> TrainingJob:
    """A job on the Ray cluster when RAY_ADDRESS is set, else in a niced worker process here
    (MNIST_STUDIO_WORKERS=0: on a thread of this process, where processes can't be started)."""
    if enabled():
        return RayTrainingJob(spec, data, **kwargs)
    if os.environ.get("MNIST_STUDIO_WORKERS") == "0":
        return TrainingJob(spec, data, **kwargs)
    from .worker import ProcessTrainingJob
    return ProcessTrainingJob(spec, data, **kwargs)

