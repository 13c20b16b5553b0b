"""A session's studio under three threads at once: the page, a training run that finishes, the janitor.

Each test provokes its interleaving on purpose: a fake job or outcome whose attribute waits at a
gate holds one thread exactly inside the other's critical moment; the rest repeat many times with
a barrier so both threads start together. Nothing sleeps and then asserts.
"""

import threading

import pytest

from studio.session.models import MAX_MODELS, SessionModel, Studio

GATE_SECONDS = 10       # generous: a gate that is never opened fails the test instead of hanging it


class Outcome:
    """A finished run's TrainedRun, as the training thread hands it over."""
    def __init__(self, metadata=None):
        self.model, self.report, self._metadata = object(), None, metadata or {}

    @property
    def metadata(self):
        return self._metadata


def upload(number):
    return SessionModel(f"upload-{number}", f"upload {number}", "upload", {}, model=object())


def full_studio() -> Studio:
    studio = Studio()
    for number in range(1, MAX_MODELS + 1):
        studio.add(upload(number))
    return studio


def in_threads(*functions):
    """Run each function on its own thread, started together; re-raise the first failure."""
    failures, barrier = [], threading.Barrier(len(functions))

    def run(function):
        try:
            barrier.wait(GATE_SECONDS)
            function()
        except BaseException as exc:      # noqa: BLE001 (handed to the test's thread)
            failures.append(exc)
    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a thread is stuck"
    if failures:
        raise failures[0]


def test_a_run_finishing_never_drops_the_model_the_page_is_drawing_with():
    """The learner picked the oldest model; a run finishes while the page draws with it. Before,
    the training thread's add() evicted that model at once (the page met `model is None`)."""
    studio = full_studio()
    for iteration in range(200):
        studio.active_key = next(iter(studio.models))        # the one an eviction would take
        drawing = studio.active()
        finished = threading.Event()

        def page():
            finished.wait(GATE_SECONDS)
            assert drawing.model is not None, f"dropped under the page (iteration {iteration})"

        def training():
            studio.run_finished(f"run-{iteration}", f"run {iteration}")(Outcome())
            finished.set()
        in_threads(page, training)
        assert drawing.model is not None
        studio.settle()                                       # the page's next run
        assert studio.active_key == f"run-{iteration}" and drawing.model is None   # dropped now
        assert len(studio.models) == MAX_MODELS


class GatedJob:
    """A job whose `done` holds whoever asks it until `opened` is set (once)."""
    def __init__(self, asked: threading.Event, opened: threading.Event):
        self.asked, self.opened, self.stopped = asked, opened, False

    @property
    def done(self):
        if not self.asked.is_set():
            self.asked.set()
            assert self.opened.wait(GATE_SECONDS), "the other thread never changed the jobs"
        return False

    def stop(self):
        self.stopped = True


class Job:
    done, stopped = False, False

    def stop(self):
        self.stopped = True


@pytest.mark.parametrize("change", ["start a run", "evict a run", "release"])
def test_the_jobs_can_change_while_the_sidebar_lists_them(change):
    """`running()` asks each job whether it is done; another thread changes the jobs right then."""
    studio = full_studio()
    asked, opened = threading.Event(), threading.Event()
    studio.add_job("upload-1", GatedJob(asked, opened))
    studio.add_job("upload-2", Job())
    listed = []

    def sidebar():
        listed.extend(studio.running())

    def other_thread():
        assert asked.wait(GATE_SECONDS)
        if change == "start a run":
            studio.add_job("run-9", Job())
        elif change == "evict a run":
            studio.active_key = "upload-4"
            studio.add(upload(9), activate=False)             # evicts upload-1 and its job
        else:
            studio.release()
        opened.set()
    in_threads(sidebar, other_thread)
    assert len(listed) == 2                                   # the list as it was when asked


def test_a_run_handed_over_as_the_janitor_releases_never_lands_in_the_released_studio():
    """The hand-over reads the outcome right after it checked `released`: the janitor releases
    the studio exactly then. Before, the model landed in a studio no one would free again."""
    for _ in range(20):
        studio = full_studio()
        read, released = threading.Event(), threading.Event()

        class Arriving(Outcome):
            @property
            def metadata(self):
                read.set()
                released.wait(GATE_SECONDS)
                return {}
        outcome = Arriving()

        def training():
            studio.run_finished("run-1", "run 1")(outcome)

        def janitor():
            read.wait(0.05)          # the new hand-over never reads the outcome: don't wait long
            studio.release()
            released.set()
        in_threads(training, janitor)
        studio.settle()
        assert studio.released and studio.models == {} and studio.jobs == {}


def test_hand_overs_and_releases_in_any_order_leave_nothing_in_a_released_studio():
    for iteration in range(300):
        studio = full_studio()
        outcome = Outcome()
        in_threads(lambda: studio.run_finished("run-1", "run 1")(outcome), studio.release)
        studio.settle()
        assert studio.models == {} and not studio.take_notices(), iteration


def test_no_notice_is_lost_between_the_threads():
    """Runs finish on several threads while the page takes its notices: each is shown once."""
    studio = Studio()
    runs, shown = 400, []
    done = threading.Event()

    def training(first):
        def finish():
            for number in range(first, runs, 4):
                studio.run_finished(f"run-{number}", f"run {number}")(Outcome())
        return finish

    def page():
        while not done.is_set():
            studio.settle()
            shown.extend(studio.take_notices())

    trainers = [training(first) for first in range(4)]

    def all_training():
        in_threads(*trainers)
        done.set()
    in_threads(page, all_training)
    studio.settle()
    shown.extend(studio.take_notices())
    active = sorted(values["name"] for key, values in shown if key == "notice.run_active")
    assert active == sorted(f"run {number}" for number in range(runs))
    dropped = [values["name"] for key, values in shown if key == "notice.dropped"]
    assert len(dropped) == runs - MAX_MODELS and len(set(dropped)) == len(dropped)
