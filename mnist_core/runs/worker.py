"""The embedded backend: each training in a worker process of lower CPU priority.

The server process answers drawings; a worker process trains. A worker lowers its own priority
(`os.nice(NICE)`), so when both want the CPU the drawings come first, and a training never holds
the server's GIL. `ProcessTrainingJob` is a TrainingJob whose `_train` sends the run to a worker and
relays what comes back: progress reports (the same `Progress` objects, fed to `_record`, so the
charts, the stop check and the time limit work as on a thread), then the model as `.keras` bytes,
loaded through the same safe path as an upload (as the Ray backend does), or a failure code.

A worker imports TensorFlow once (~4 s) and may train several runs in turn; it is recycled (its
process ends, and its memory goes back to the operating system) after MAX_RUNS runs or
IDLE_SECONDS without one. The channel is the worker's stdin and stdout, pickled messages between
this package's own code only; Keras' own printing goes to the worker's stderr.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from .jobs import RunFailed, TrainingJob

NICE = int(os.environ.get("MNIST_STUDIO_WORKER_NICE", 10))
MAX_RUNS = int(os.environ.get("MNIST_STUDIO_WORKER_RUNS", 8))        # runs before a worker is recycled
IDLE_SECONDS = float(os.environ.get("MNIST_STUDIO_WORKER_IDLE_SECONDS", 120))
HUNG_SECONDS = 120     # silent this long after a stop (or past a run's limit): hung, and killed
ROOT = Path(__file__).resolve().parents[2]
_log = logging.getLogger(__name__)
_run_ids = itertools.count(1)


class Worker:
    """One worker process, and a thread here that reads what it sends into `inbox`."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen([sys.executable, "-m", "mnist_core.runs.worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.pid, self.runs, self.idle_since = self.process.pid, 0, time.monotonic()
        self.inbox: queue.Queue = queue.Queue()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, name=f"mnist-worker-{self.pid}", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                self.inbox.put(pickle.load(self.process.stdout))
        except (EOFError, OSError, pickle.UnpicklingError):
            self.inbox.put(("lost",))

    def send(self, message) -> None:
        with self._send_lock:
            pickle.dump(message, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_mib(self) -> float | None:
        """The worker's resident memory, from /proc (None once it has ended)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def close(self) -> None:
        """End the process: its memory goes back to the operating system."""
        try:
            self.process.stdin.close()          # the worker's loop ends at end of input
            self.process.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(10)


class WorkerPool:
    """Idle workers kept for the next run; a worker ends after MAX_RUNS runs or IDLE_SECONDS idle."""

    def __init__(self, max_runs: int = MAX_RUNS, idle_seconds: float = IDLE_SECONDS):
        self.max_runs, self.idle_seconds = max_runs, idle_seconds
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self.started = 0           # processes started (what reuse saves)

    def acquire(self) -> Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
            self.started += 1
        return Worker()

    def release(self, worker: Worker, reusable: bool) -> None:
        worker.runs += 1
        if not reusable or worker.runs >= self.max_runs or not worker.alive():
            worker.close()
            return
        worker.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(worker)
        timer = threading.Timer(self.idle_seconds + 0.1, self.reap)
        timer.daemon = True
        timer.start()

    def reap(self) -> None:
        """Close the workers idle for IDLE_SECONDS."""
        now = time.monotonic()
        with self._lock:
            old = [w for w in self._idle if now - w.idle_since >= self.idle_seconds]
            self._idle = [w for w in self._idle if w not in old]
        for worker in old:
            worker.close()

    def idle(self) -> list[Worker]:
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


WORKERS = WorkerPool()
atexit.register(WORKERS.close)


def data_reference(data) -> tuple:
    """How a worker gets the run's data: MNIST's own folder or file (loaded there once per worker),
    or, for data that is not a file (a test's slice), the arrays themselves."""
    if data.origin == "local" and os.path.exists(data.source):
        return ("path", data.source)
    return ("arrays", (data.x_train, data.y_train, data.x_test, data.y_test, data.source))


class ProcessTrainingJob(TrainingJob):
    """A TrainingJob trained in a niced worker process. Same snapshot, stop, failure and hand-over."""

    pool = WORKERS

    def _train(self) -> None:
        from mnist_core import storage
        from mnist_core.training import TrainedRun
        worker, reusable, run = self.pool.acquire(), False, next(_run_ids)
        self.worker_pid = worker.pid
        try:
            worker.send(("run", run, self.spec, data_reference(self.data), self.watch,
                         {"name": self.name, "source": "trained in this session"}))
            stop_sent, heard = None, time.monotonic()
            while True:
                if self.stop_event.is_set() and stop_sent is None:
                    worker.send(("stop", run))
                    stop_sent = time.monotonic()
                try:
                    message = worker.inbox.get(timeout=0.2)
                except queue.Empty:
                    # A worker that ignores stop, or outlives its run's limit, is hung (stuck in
                    # TensorFlow, stopped): it would hold the training slot forever.
                    silent = time.monotonic() - max(heard, stop_sent or heard)
                    if silent > (HUNG_SECONDS if stop_sent is not None else self.max_seconds + HUNG_SECONDS):
                        _log.error("worker %s silent for %.0f s: killed", worker.pid, silent)
                        worker.process.kill()
                        raise RunFailed("worker_lost")
                    continue
                heard = time.monotonic()
                if message[0] == "progress" and message[1] == run:
                    self._record(message[2])
                elif message[0] == "done" and message[1] == run:
                    payload, result, report = message[2:]
                    reusable = True
                    break
                elif message[0] == "failed":
                    _log.error("run %r failed in worker %s:\n%s", self.name, worker.pid, message[3])
                    reusable = True
                    raise RunFailed(message[2])
                elif message[0] == "lost":
                    raise RunFailed("worker_lost")
        except OSError as exc:               # the worker's input closed under us: it died
            raise RunFailed("worker_lost") from exc
        finally:
            self.pool.release(worker, reusable)
        try:
            model, metadata = storage.load_model_bytes(payload)     # the same safe path as an upload
        except storage.ModelFileError as exc:
            raise RunFailed("model_file") from exc
        self.outcome = TrainedRun(model, result, report, metadata)


# --- the worker process -------------------------------------------------------------------------------

def _load(reference):
    from mnist_core.data import MnistData, load_mnist
    kind, value = reference
    return load_mnist(value) if kind == "path" else MnistData(*value)


def _serve() -> None:
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                  # anything printed (Keras, TensorFlow) goes to stderr, not the channel
    sys.stdout = sys.stderr
    os.nice(NICE)
    commands: queue.Queue = queue.Queue()
    stop, current, stopped = threading.Event(), [None], set()

    def send(message) -> None:
        pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
        channel.flush()

    def listen() -> None:
        try:
            while True:
                message = pickle.load(sys.stdin.buffer)
                if message[0] == "stop":
                    stopped.add(message[1])        # perhaps before its run began here
                    if message[1] == current[0]:
                        stop.set()
                elif message[0] == "run":
                    commands.put(message)
        except (EOFError, OSError, pickle.UnpicklingError):
            stop.set()
            commands.put(None)

    threading.Thread(target=listen, name="mnist-worker-listen", daemon=True).start()
    import keras
    from mnist_core import storage, training
    from mnist_core.runs.jobs import failure_code
    while (message := commands.get()) is not None:
        _, run, spec, reference, watch, metadata = message
        current[0] = run
        stop.clear()
        if run in stopped:
            stop.set()
        try:
            trained = training.run(spec, _load(reference), stop_event=stop, watch=watch,
                                   on_progress=lambda progress: send(("progress", run, progress)), **metadata)
            send(("done", run, storage.model_bytes(trained.model, trained.metadata), trained.result,
                  trained.report))
        except Exception as exc:    # noqa: BLE001 (the code goes to the server, the traceback to its log)
            send(("failed", run, failure_code(exc), traceback.format_exc()))
        trained = None
        keras.backend.clear_session()


if __name__ == "__main__":
    _serve()
