"""`--only charts`: the Train page's live per-batch charts cost (almost) nothing: a TrainingJob
polled as the page polls it, beside a bare model.fit on the same feed."""

from __future__ import annotations

import statistics
import threading
import time

from bench.sections import data
from bench.table import collector


def bench_charts(repeats=8, epochs=2):
    """The Train page's path (a TrainingJob, polled twice a second as the page does) vs a bare
    model.fit on the same feed (training.batches: the uint8 images, cast per batch), and beside
    them model.fit on float32 arrays already in memory (the tutorial's own feed).

    Triples are interleaved, their order rotating; the verdict uses the medians. On a shared
    machine wall time swings by a fifth between identical fits, so the poller's own CPU time is
    reported too: what the live charts cost, whichever way the noise falls.
    """
    row, rows = collector()
    print("live charts", flush=True)
    from bench.train_page_poller import poll_like_the_train_page
    from mnist_core.runs import jobs
    from mnist_core import models, training
    from mnist_core.preprocess import one_hot
    from mnist_core.networks.presets import TUTORIAL
    spec = jobs.RunSpec.preset(TUTORIAL.name, epochs=epochs, seed=0)
    plain, arrays, live, poller_cpu = [], [], [], []

    def poll_and_time(job):
        started = time.thread_time()
        poll_like_the_train_page(job)
        poller_cpu.append(time.thread_time() - started)

    def fit_plainly():
        model = models.build_model(spec.arch, seed=0)
        feed = training.batches(data().x_train, data().y_train, spec.batch_size,
                                tuple(model.input_shape[1:]), seed=0)
        started = time.perf_counter()
        model.fit(feed, epochs=epochs, verbose=0)
        plain.append(time.perf_counter() - started)

    def fit_arrays():
        model = models.build_model(spec.arch, seed=0)
        images = training.model_input(data().x_train, model)
        labels = one_hot(data().y_train)
        started = time.perf_counter()
        model.fit(images, labels, epochs=epochs, batch_size=spec.batch_size, verbose=0)
        arrays.append(time.perf_counter() - started)

    def train_live():
        job = jobs.TrainingJob(spec, data(), queue=jobs.TrainingQueue(slots=1))
        poller = threading.Thread(target=poll_and_time, args=(job,), daemon=True)
        job.start()
        poller.start()
        job.join()
        poller.join()       # so that its last redraw does not spill into the next measurement
        live.append(job.outcome.result.seconds)

    order = [fit_plainly, train_live, fit_arrays]
    for repeat in range(repeats):     # rotate which goes first, so a drifting machine favours none
        for measure in order[repeat % 3:] + order[:repeat % 3]:
            measure()
    median = statistics.median
    ratio = median(live) / median(plain)
    row(f"Live per-batch charts: train() via the Train page's job and poller vs model.fit(verbose=0) "
        f"on the same feed, median of {repeats} (target ≤ 1.03×)", f"{median(live):.2f} s",
        f"model.fit: {median(plain):.2f} s → **{ratio:.3f}×**; the poller's own CPU: "
        f"{median(poller_cpu):.2f} s a run ({median(poller_cpu) / median(live):.1%} of one core); "
        f"model.fit on float32 arrays in memory: {median(arrays):.2f} s", ratio <= 1.03)
    return rows
