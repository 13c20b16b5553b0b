"""Identical runs are trained once: one training, watched by every learner who started it.

A run's identity (RunSpec.identity: the spec, the data's checksum, whatever else is mixed into the
training data, the training code's version) decides its result, so thirty learners who press the
tutorial's "Train it as the note does" start one training, not thirty. Each learner holds a
`SharedRun`: the same interface as a TrainingJob (start, snapshot, stop, done), showing the one
training's progress from its first epoch, and, when it finishes, handing the learner a run of their
own (their name in the metadata) through their own `on_done`, sharing the one read-only model
(what changes a model, Break it and Teach it, works on a copy). A learner who stops leaves the run;
the training stops when the last one leaves (and that learner keeps the finished part, as a run
alone does). A run this server finished recently is ready at once, its curves replayed.

The training itself is any backend's TrainingJob (`make_job`): a worker process, a Ray actor, a
thread. This module imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import threading
import time
from collections import OrderedDict

from .jobs import DONE_STATES, FINISHED, QUEUED, STOPPED

RECENT_RUNS = int(os.environ.get("MNIST_STUDIO_RECENT_RUNS", 8))            # finished runs kept ready
RECENT_SECONDS = float(os.environ.get("MNIST_STUDIO_RECENT_SECONDS", 30 * 60))
_checksums: dict = {}
_checksums_lock = threading.Lock()


def data_checksum(data) -> str:
    """MNIST's checksum (its four arrays), computed once per loaded dataset."""
    with _checksums_lock:
        known = _checksums.get(id(data))
        if known is not None and known[0] is data:
            return known[1]
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(memoryview(array).cast("B") if array.flags.c_contiguous else array.tobytes())
    with _checksums_lock:
        _checksums[id(data)] = (data, digest.hexdigest()[:24])     # the dataset is shared and kept
        return _checksums[id(data)][1]


class Training:
    """One training and the learners watching it."""

    def __init__(self, identity: str, job):
        self.identity, self.job = identity, job
        self.watchers: list[SharedRun] = []
        self.outcome = None          # the TrainedRun, once the job hands it over
        self.finished_at: float | None = None
        self.final = None            # the job's last snapshot, for a run replayed from memory
        self.begun = threading.Event()   # its job was started (or refused: `refused`)
        self.refused: Exception | None = None

    def wanted(self) -> bool:
        """Whether anyone still watches: the job's keep_running."""
        return any(watcher.wants() for watcher in list(self.watchers))


class SharedRuns:
    """The server's trainings by identity, the recently finished ones, and what they cost."""

    def __init__(self, recent: int = RECENT_RUNS, recent_seconds: float = RECENT_SECONDS):
        self._lock = threading.Lock()
        self._live: dict[str, Training] = {}
        self._recent: OrderedDict[str, Training] = OrderedDict()
        self.recent_limit, self.recent_seconds = recent, recent_seconds
        self.trainings = 0           # trainings started (what sharing saves is joins vs trainings)
        self.joins = 0               # learners who joined a training already in flight
        self.replays = 0             # learners handed a recently finished run at once

    def join(self, spec, data, make_job, *, name: str, on_done=None, keep_running=None,
             mixed: dict | None = None, **job_options) -> "SharedRun":
        """The learner's run of `spec`: joined to the identical training in flight, replayed from
        one finished recently, or a new training (`make_job(spec, data, **options)`, not yet
        started: SharedRun.start starts it, and raises QueueFullError as a job does)."""
        identity = spec.validated().identity(data_checksum(data), mixed)
        run = SharedRun(self, identity, name, on_done, keep_running)
        with self._lock:
            self._forget_old()
            live = self._live.get(identity)
            if live is not None and live.outcome is None and not live.job.stop_event.is_set():
                self.joins += 1
                run.training = live
                live.watchers.append(run)
                return run
            recent = self._recent.get(identity)
            if recent is not None:
                self.replays += 1
                self._recent.move_to_end(identity)
                run.training, run.replayed = recent, True
                return run
            # Registered before it starts: a learner pressing at the same moment joins it.
            training = Training(identity, None)
            training.job = make_job(spec, data, name=name, keep_running=training.wanted,
                                    on_done=lambda outcome: self._finished(training, outcome), **job_options)
            training.watchers.append(run)
            self._live[identity] = training
        run.training, run.new = training, True
        return run

    def _begin(self, training: Training) -> None:
        try:
            training.job.start()
        except Exception as exc:     # QueueFullError: those who joined meanwhile are told the same
            with self._lock:
                if self._live.get(training.identity) is training:
                    del self._live[training.identity]
            training.refused = exc
            raise
        else:
            with self._lock:
                self.trainings += 1
        finally:
            training.begun.set()

    def _finished(self, training: Training, outcome) -> None:
        """On the training's thread, off its slot: each watcher gets its own run, each on a thread of
        its own (one learner's hand-over never waits for another's)."""
        with self._lock:
            training.outcome, training.finished_at = outcome, time.monotonic()
            watchers = [watcher for watcher in training.watchers if not watcher.left]
            if not training.job.stop_event.is_set():
                self._recent[training.identity] = training
                self._recent.move_to_end(training.identity)
                self._forget_old()
        hand_overs = [threading.Thread(target=watcher.deliver, name="mnist-hand-over", daemon=True)
                      for watcher in watchers]
        for thread in hand_overs:
            thread.start()
        for thread in hand_overs:
            thread.join()

    def _ended(self, training: Training) -> None:
        with self._lock:
            if self._live.get(training.identity) is training:
                del self._live[training.identity]
            if training.final is None:
                training.final = training.job.snapshot()

    def _forget_old(self) -> None:
        now = time.monotonic()
        while self._recent and (len(self._recent) > self.recent_limit or
                                now - next(iter(self._recent.values())).finished_at > self.recent_seconds):
            self._recent.popitem(last=False)

    def watching(self) -> int:
        """Learners watching a training in flight on this server (what their pages' polling costs)."""
        with self._lock:
            return sum(1 for training in self._live.values() for w in training.watchers if not w.left)

    def learners(self, training: Training) -> int:
        with self._lock:
            return sum(1 for watcher in training.watchers if not watcher.left)

    def leave(self, run: "SharedRun") -> None:
        """`run` stops watching; the last to leave stops the training and keeps its finished part."""
        with self._lock:
            others = [w for w in run.training.watchers if w is not run and not w.left]
            if others:
                run.left = True
            else:       # marked under the lock: a learner pressing Start now gets a training of their own
                run.training.job.stop_event.set()
        if not others:
            run.training.job.stop()

    def clear(self) -> None:
        """Forget the finished runs kept ready (tests; a server that needs the memory)."""
        with self._lock:
            self._recent.clear()


_numbers = itertools.count(1)


class SharedRun:
    """One learner's run: the TrainingJob interface over a shared training."""

    def __init__(self, runs: SharedRuns, identity: str, name: str, on_done, keep_running):
        self.runs, self.identity, self.name = runs, identity, name
        self.id = next(_numbers)
        self.on_done, self.keep_running = on_done, keep_running
        self.training: Training | None = None
        self.new = self.replayed = self.left = False
        self.outcome = None
        self._delivered = threading.Event()
        self._stopped_by_me = False

    # --- what the pages call ------------------------------------------------------------------------

    def start(self) -> "SharedRun":
        if self.new:
            self.runs._begin(self.training)
            threading.Thread(target=self._close_when_done, name="mnist-shared-run", daemon=True).start()
        elif self.replayed:
            threading.Thread(target=self.deliver, name="mnist-hand-over", daemon=True).start()
        else:                        # joined: the learner who started it starts it at this moment
            self.training.begun.wait(10)
            if self.training.refused is not None:
                self.left = True
                raise self.training.refused
        return self

    def stop(self) -> None:
        self._stopped_by_me = True
        if not self.replayed and not self.done:
            self.runs.leave(self)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until this learner's run is done (the job says done after every hand-over)."""
        return self._delivered.wait(timeout) if self.replayed else self.job.join(timeout)

    @property
    def job(self):
        return self.training.job

    @property
    def spec(self):
        return self.job.spec

    @property
    def free_cpus(self):
        return getattr(self.job, "free_cpus", None)

    @property
    def learners(self) -> int:
        """How many learners watch this training (this one included)."""
        return 1 if self.replayed else self.runs.learners(self.training)

    @property
    def state(self) -> str:
        return self.snapshot().state

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    def snapshot(self):
        """The training's snapshot (every epoch from the first), done once this learner has been
        handed their run, or stopped once they left it."""
        if self.replayed:
            final = self.training.final or self.job.snapshot()
            state = FINISHED if self._delivered.is_set() else QUEUED
            return dataclasses.replace(final, state=state, waited=0.0, position=None, starts_in=None)
        snapshot = self.job.snapshot()
        # The job says done only after every watcher was handed its run (SharedRuns._finished).
        return dataclasses.replace(snapshot, state=STOPPED) if self.left else snapshot

    # --- the training's side ------------------------------------------------------------------------

    def wants(self) -> bool:
        return not self.left and (self.keep_running is None or self.keep_running())

    def deliver(self) -> None:
        """Hand this learner their own run: the shared model, their name in its metadata."""
        from mnist_core.training import TrainedRun
        shared = self.training.outcome
        try:
            if shared is not None and not self.left:
                metadata = dict(shared.metadata, name=self.name)
                if self.replayed:
                    metadata["replayed"] = True
                own = TrainedRun(shared.model, shared.result, shared.report, metadata)
                if self.on_done is not None:
                    self.on_done(own)
                else:
                    self.outcome = own
        finally:
            self._delivered.set()

    def _close_when_done(self) -> None:
        """The training's job has ended: it leaves the live trainings (its run stays ready)."""
        self.job.join()
        self.runs._ended(self.training)


SERVER_RUNS = SharedRuns()
