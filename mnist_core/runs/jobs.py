"""Training in the background: one thread per run, progress kept in a lock-protected object.

A web page can't train on its own thread (any click would kill the run), so a `TrainingJob` trains
on a thread of its own and keeps what it learns in plain Python lists; the page polls `snapshot()`
and draws. A server-wide `TrainingQueue` lets only a few jobs train at once (the others wait their
turn with a visible position and an estimate from the epoch times this server measured, `TIMINGS`),
so a burst of users cannot exhaust the machine. Where the training itself happens is the backend's
`_train`: here on the thread (tests, benches), in a niced worker process (mnist_core.runs.worker,
the server's default) or on a Ray cluster (mnist_core.runs.cluster); identical runs are trained once
and watched by all who started them (mnist_core.runs.sharing).
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass

from mnist_core.data import MnistData
from .runspec import RunSpec  # noqa: F401  (re-exported: the pages build RunSpecs from here)

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
DONE_STATES = (FINISHED, STOPPED, FAILED)
MAX_TRAINING_SECONDS = float(os.environ.get("MNIST_STUDIO_MAX_TRAINING_SECONDS", 15 * 60))
# Runs that may wait for a place on this server, beyond those training: a class (a waiting run is a
# thread, no worker yet; each is told its place and when it should start). A Ray cluster counts all
# its runs in flight against it: mnist_core.runs.cluster.
MAX_WAITING = int(os.environ.get("MNIST_STUDIO_MAX_WAITING", 30))
_log = logging.getLogger(__name__)


class QueueFullError(RuntimeError):
    """Too many trainings are running or waiting on this server. `seconds`: the estimate of when a
    place in line frees (None while the server has measured no run like those in flight)."""

    def __init__(self, message: str, seconds: float | None = None):
        super().__init__(message)
        self.seconds = seconds


class Timings:
    """The seconds per epoch this server measured for each kind of run (its network, batch size,
    drawings and validation split: what decides an epoch's cost), and the seconds a run spends
    around its epochs (starting, evaluating). What the queue's estimates are made of."""

    def __init__(self):
        self._lock = threading.Lock()
        self._epoch: dict = {}
        self._around: float | None = None

    @staticmethod
    def kind(spec) -> tuple:
        return (spec.arch, tuple(sorted(spec.hparams.items())), spec.batch_size, spec.drawings,
                spec.validation_split)

    def record_epoch(self, spec, seconds: float) -> None:
        with self._lock:
            known = self._epoch.get(self.kind(spec))
            self._epoch[self.kind(spec)] = seconds if known is None else (known + seconds) / 2

    def record_around(self, seconds: float) -> None:
        with self._lock:
            self._around = seconds if self._around is None else (self._around + seconds) / 2

    def epoch_seconds(self, spec) -> float | None:
        """Measured for this kind of run, else for its network with other settings, else None."""
        with self._lock:
            exact = self._epoch.get(self.kind(spec))
            if exact is not None:
                return exact
            alike = [seconds for kind, seconds in self._epoch.items() if kind[0] == spec.arch]
            return sum(alike) / len(alike) if alike else None

    def around(self) -> float:
        with self._lock:
            return self._around or 0.0

    def estimate(self, spec) -> float | None:
        """Seconds a run of `spec` takes from its start, or None before any like it was measured."""
        per_epoch = self.epoch_seconds(spec)
        return None if per_epoch is None else per_epoch * spec.epochs + self.around()


TIMINGS = Timings()


class RunFailed(RuntimeError):
    """A run that could not finish, as a code a page translates ("train.failed.<code>"); what
    happened in detail goes to the server's log, never to the page."""
    CODES = ("worker_lost", "worker_failed", "cluster_unreachable", "memory", "model_file", "internal")

    def __init__(self, code: str):
        assert code in self.CODES, code
        super().__init__(code)
        self.code = code


def failure_code(exc: BaseException) -> str:
    if isinstance(exc, RunFailed):
        return exc.code
    return "memory" if isinstance(exc, MemoryError) else "internal"


class TrainingQueue:
    """At most `slots` jobs train at once; up to `max_waiting` more wait in order. Every job in
    flight (training or waiting) counts against slots + max_waiting."""

    def __init__(self, slots: int = 2, max_waiting: int = MAX_WAITING):
        self.slots, self.max_waiting = slots, max_waiting
        self._condition = threading.Condition()
        self._running: set = set()
        self._waiting: list = []

    def enter(self, job) -> None:
        with self._condition:
            full = len(self._running) + len(self._waiting) >= self.slots + self.max_waiting
            if not full:
                self._waiting.append(job)
                return
            running, waiting = len(self._running), len(self._waiting)
        free_in = self.free_in()
        raise QueueFullError(f"The server is busy: {running} trainings are running and {waiting} are "
                             f"waiting; a place frees in about {free_in or '?'} s.", free_in)

    def wait_turn(self, job, cancelled) -> bool:
        """Block until `job` may train (True) or `cancelled()` turns true while it waits (False)."""
        with self._condition:
            while True:
                if cancelled():                 # checked first: a cancelled job never takes a slot
                    self._waiting.remove(job)
                    self._condition.notify_all()
                    return False
                if self._waiting[0] is job and len(self._running) < self.slots:
                    break
                self._condition.wait(timeout=0.2)
            self._waiting.pop(0)
            self._running.add(job)
            return True

    def leave(self, job) -> None:
        with self._condition:
            self._running.discard(job)
            if job in self._waiting:
                self._waiting.remove(job)
            self._condition.notify_all()

    def position(self, job) -> int | None:
        """1 for the next to start; None when the job is not waiting."""
        with self._condition:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    def counts(self) -> tuple[int, int]:
        with self._condition:
            return len(self._running), len(self._waiting)

    def _lines(self) -> tuple[list, list]:
        with self._condition:
            return list(self._running), list(self._waiting)

    def starts_in(self, job) -> float | None:
        """Seconds until waiting `job` should start: the runs training now end, and those ahead of
        it train in turn, each for what this server measured; None when any of them is unknown."""
        running, waiting = self._lines()
        if job not in waiting:
            return None
        free = [other.remaining_seconds() for other in running]
        ahead = [other.remaining_seconds() for other in waiting[:waiting.index(job)]]
        if None in free or None in ahead:
            return None
        free += [0.0] * max(0, self.slots - len(free))
        heapq.heapify(free)
        for seconds in ahead:
            heapq.heappush(free, heapq.heappop(free) + seconds)
        return round(free[0])

    def free_in(self) -> float | None:
        """Seconds until a run in flight ends (and a place in the line frees)."""
        running, waiting = self._lines()
        ends = [other.remaining_seconds() for other in running]
        if not ends or None in ends:
            return None
        return round(min(ends))


_LIVE_JOBS: "weakref.WeakSet[TrainingJob]" = weakref.WeakSet()


@atexit.register
def _stop_live_jobs(timeout: float = 20.0) -> None:
    """Stop and join running jobs at exit: TensorFlow aborts the process if a thread is still in an
    op when the interpreter tears down."""
    jobs = list(_LIVE_JOBS)
    for job in jobs:
        job.stop()
    deadline = time.monotonic() + timeout
    for job in jobs:
        job.join(max(0.0, deadline - time.monotonic()))


# One training per two cores: TensorFlow spreads each training over every core, and the visitors
# drawing and predicting need some CPU too (see the load test in bench/).
DEFAULT_SLOTS = max(1, (os.cpu_count() or 2) // 2)
SERVER_QUEUE = TrainingQueue(slots=int(os.environ.get("MNIST_STUDIO_MAX_TRAININGS", DEFAULT_SLOTS)),
                             max_waiting=MAX_WAITING)
_ids = itertools.count(1)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state, safe to read on the page's thread."""
    state: str
    position: int | None
    batches: list
    epochs: list
    latest: object          # the newest Progress, or None
    error: str | None       # a RunFailed code when the run failed
    seconds: float          # training time so far (0 while queued)
    waited: float           # time spent in the queue before training began
    starts_in: float | None = None   # while queued: the estimate of when it starts (TrainingQueue)


class TrainingJob:
    """One run on its own thread. When it finishes (or is stopped after some training), its
    TrainedRun goes to `on_done` on the job's thread, or, without `on_done`, stays in `outcome`."""

    def __init__(self, spec: RunSpec, data: MnistData, *, queue: TrainingQueue = SERVER_QUEUE,
                 keep_running=None, max_seconds: float = MAX_TRAINING_SECONDS, name: str | None = None,
                 on_done=None, watch=None):
        self.spec = spec.validated()
        self.id = next(_ids)
        self.name = name or f"Run {self.id}"
        self.data, self.queue = data, queue
        self.keep_running = keep_running       # returns False once the owning session is gone
        self.max_seconds = max_seconds         # of training; time in the queue does not count
        self.on_done = on_done
        self.watch = watch                     # images whose map (and the filters) each epoch reports
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._state = QUEUED
        self._batches: list = []
        self._epochs: list = []
        self._error: str | None = None
        self._created = time.monotonic()
        self._training_started: float | None = None
        self._seconds = 0.0
        self._waited = 0.0
        self.outcome = None                    # training.TrainedRun, once finished or stopped
        self._thread = threading.Thread(target=self._run, name=f"mnist-training-{self.id}", daemon=True)

    def start(self) -> "TrainingJob":
        self.queue.enter(self)    # raises QueueFullError before any thread exists
        _LIVE_JOBS.add(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def snapshot(self) -> JobSnapshot:
        now = time.monotonic()
        with self._lock:
            latest = self._batches[-1] if self._batches else None
            if self._epochs and (latest is None or self._epochs[-1].elapsed >= latest.elapsed):
                latest = self._epochs[-1]
            if self._state in DONE_STATES or self._training_started is None:
                seconds = self._seconds
                waited = self._waited if self._state != QUEUED else now - self._created
            else:
                seconds, waited = now - self._training_started, self._waited
            state, batches, epochs, error = self._state, list(self._batches), list(self._epochs), self._error
        starts_in = self.queue.starts_in(self) if state == QUEUED else None
        return JobSnapshot(state, self.queue.position(self), batches, epochs, latest, error, seconds,
                           waited, starts_in)

    def remaining_seconds(self) -> float | None:
        """The estimate of this run's training time still to go (TIMINGS), None if unknown."""
        with self._lock:
            state, latest = self._state, self._epochs[-1] if self._epochs else None
            if self._batches and (latest is None or self._batches[-1].elapsed > latest.elapsed):
                latest = self._batches[-1]
            started = self._training_started
        if state in DONE_STATES:
            return 0.0
        if latest is not None and latest.eta_seconds is not None:
            return latest.eta_seconds + TIMINGS.around()
        estimate = TIMINGS.estimate(self.spec)
        if estimate is None or started is None:
            return estimate
        return max(0.0, estimate - (time.monotonic() - started))

    # --- the job's own thread ---------------------------------------------------------------------

    def _abandoned(self) -> bool:
        return self.stop_event.is_set() or (self.keep_running is not None and not self.keep_running())

    def _record(self, progress) -> None:
        with self._lock:
            if progress.kind == "epoch":
                previous = self._epochs[-1].elapsed if self._epochs else 0.0
                TIMINGS.record_epoch(self.spec, progress.elapsed - previous)
            (self._epochs if progress.kind == "epoch" else self._batches).append(progress)
        if time.monotonic() - self._training_started > self.max_seconds or self._abandoned():
            self.stop_event.set()

    def _set(self, **fields) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self, "_" + name, value)

    def _run(self) -> None:
        try:
            if not self.queue.wait_turn(self, self._abandoned):
                self._set(state=STOPPED, waited=time.monotonic() - self._created)
                return
            started = time.monotonic()
            self._set(state=RUNNING, training_started=started, waited=started - self._created)
            self._train()
            seconds = time.monotonic() - started
            with self._lock:
                last_epoch = self._epochs[-1].elapsed if self._epochs else None
            if last_epoch is not None and not self.stop_event.is_set():
                TIMINGS.record_around(max(0.0, seconds - last_epoch))
            self.queue.leave(self)            # the slot is free before the hand-over's work
            if self.on_done is not None and self.outcome is not None:   # before the state says
                self.on_done(self.outcome)    # done: a page that sees "finished" finds the model
                self.outcome = None           # handed over, and the session alone holds it
            self._set(state=STOPPED if self.stop_event.is_set() else FINISHED, seconds=seconds)
        except Exception as exc:   # the page shows the code's message; the session keeps working
            code = failure_code(exc)
            _log.error("run %r failed (%s)", self.name, code, exc_info=True)
            self._set(state=FAILED, error=code)
        finally:
            self.queue.leave(self)
            self.data = None   # the shared dataset is not this job's to keep alive

    def _train(self) -> None:
        from mnist_core import training  # noqa: PLC0415 (TensorFlow, on this thread)
        self.outcome = training.run(self.spec, self.data, on_progress=self._record,
                                    stop_event=self.stop_event, watch=self.watch, name=self.name,
                                    source="trained in this session")
