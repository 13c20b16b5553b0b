"""The server's lesson worker (mnist_core.runs.lessons): bounded, in order, and never busy for a learner who left."""

import threading

import numpy as np
import pytest

from mnist_core.runs.lessons import DONE, DROPPED, FAILED, LessonQueue, LessonsFull

GATE_SECONDS = 60       # generous: a lesson that never comes fails the test instead of hanging it


def held(gate: threading.Event, started: threading.Event | None = None):
    """Work that holds the worker until `gate` opens."""
    def work(keep_going):
        if started is not None:
            started.set()
        assert gate.wait(GATE_SECONDS)
        return "taught"
    return work


def test_the_queue_is_bounded_and_each_lesson_knows_its_place():
    queue, gate, started = LessonQueue(max_waiting=2), threading.Event(), threading.Event()
    first = queue.submit(held(gate, started))
    assert started.wait(GATE_SECONDS)                  # the worker is giving the first one
    second, third = queue.submit(lambda keep_going: 2), queue.submit(lambda keep_going: 3)
    assert (queue.position(first), queue.position(second), queue.position(third)) == (None, 1, 2)
    with pytest.raises(LessonsFull):
        queue.submit(lambda keep_going: 4)
    gate.set()
    for lesson, result in ((first, "taught"), (second, 2), (third, 3)):
        assert lesson.finished.wait(GATE_SECONDS) and (lesson.state, lesson.result) == (DONE, result)


def test_a_lesson_whose_learner_left_is_dropped_and_frees_its_place():
    queue, gate, started = LessonQueue(max_waiting=1), threading.Event(), threading.Event()
    holder = queue.submit(held(gate, started))
    assert started.wait(GATE_SECONDS)
    ran, here = [], threading.Event()
    here.set()
    gone = queue.submit(lambda keep_going: ran.append("gone"), wanted=here.is_set)
    here.clear()                                       # the learner's session was released
    waiting = queue.submit(lambda keep_going: ran.append("next") or "next")   # its place is free
    assert queue.position(waiting) == 1
    gate.set()
    for lesson in (holder, gone, waiting):
        assert lesson.finished.wait(GATE_SECONDS)
    assert gone.state == DROPPED and ran == ["next"] and waiting.state == DONE


def test_a_started_lesson_stops_when_its_learner_cancels():
    queue, started = LessonQueue(), threading.Event()
    steps = []

    def work(keep_going):
        started.set()
        while keep_going():                        # a fine-tune checks between two steps
            steps.append(1)
            if len(steps) > 10**6:
                return "never stopped"
        return None
    lesson = queue.submit(work)
    assert started.wait(GATE_SECONDS)
    lesson.cancel()
    assert lesson.finished.wait(GATE_SECONDS) and lesson.state == DROPPED and lesson.result is None


def test_a_failure_is_told_from_a_time_out():
    from studio.predict.teach import wait_for
    queue = LessonQueue()

    def broken(keep_going):
        raise RuntimeError("TensorFlow fell over")
    failing = queue.submit(broken)
    assert wait_for(failing, lambda place: None, seconds=GATE_SECONDS) == FAILED

    gate, started = threading.Event(), threading.Event()
    queue.submit(held(gate, started))
    assert started.wait(GATE_SECONDS)
    late = queue.submit(lambda keep_going: "late")
    places = []
    import studio.predict.teach
    studio.predict.teach.LESSONS, saved = queue, studio.predict.teach.LESSONS
    try:
        assert wait_for(late, places.append, seconds=0.5) == "timed_out"
    finally:
        studio.predict.teach.LESSONS = saved
    assert set(places) <= {1}
    gate.set()
    assert late.finished.wait(GATE_SECONDS) and late.state == DROPPED    # given up: never given


def test_fine_tuning_stops_between_steps_when_told(small_mnist):
    from mnist_core.runs import corrections
    from mnist_core import models
    model = models.build_model("dense", seed=0, hidden_units=16)
    before = [w.copy() for w in model.get_weights()]
    images, labels = small_mnist.x_test[:2] / 255, np.array([1, 2])
    asked = []

    def keep_going():
        asked.append(1)
        return len(asked) < 3
    assert corrections.fine_tune(model, images, labels, small_mnist.x_train, small_mnist.y_train,
                                 keep_going=keep_going) is None
    assert len(asked) == 3 < corrections.STEPS                # stopped after the third step
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

