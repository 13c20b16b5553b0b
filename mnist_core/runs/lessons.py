"""Lessons for a whole server: fine-tuning on a learner's corrections (mnist_core.runs.corrections), one at
a time on one worker thread, so a class teaching at once can't take every core.

At most MAX_WAITING lessons wait, in order, each with its place in line; one more is refused
(LessonsFull) rather than queued for minutes. A lesson whose learner left, or stopped waiting, is
dropped before it starts and stopped between two steps if it already has: the worker never spends
time on an answer nobody will read.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque

MAX_WAITING = int(os.environ.get("MNIST_STUDIO_MAX_LESSONS_WAITING", 4))
WAITING, GIVING, DONE, FAILED, DROPPED = "waiting", "giving", "done", "failed", "dropped"
_log = logging.getLogger(__name__)


class LessonsFull(RuntimeError):
    """MAX_WAITING lessons are waiting already."""


class Lesson:
    """One lesson: `work(keep_going)` returns its result; `wanted()` turns false once its learner left."""

    def __init__(self, work, wanted):
        self.work, self.wanted = work, wanted
        self.state = WAITING
        self.result = None
        self.finished = threading.Event()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """The learner stopped waiting: drop it if it has not started, stop it if it has."""
        self._cancelled.set()

    def keep_going(self) -> bool:
        return not self._cancelled.is_set() and self.wanted()


class LessonQueue:
    def __init__(self, max_waiting: int = MAX_WAITING):
        self.max_waiting = max_waiting
        self._waiting: deque[Lesson] = deque()
        self._condition = threading.Condition()
        self._worker: threading.Thread | None = None

    def submit(self, work, wanted=lambda: True) -> Lesson:
        lesson = Lesson(work, wanted)
        with self._condition:
            for item in [item for item in self._waiting if not item.keep_going()]:
                self._waiting.remove(item)          # its learner left: its place is free now
                item.state = DROPPED
                item.finished.set()
            if len(self._waiting) >= self.max_waiting:
                raise LessonsFull(f"{len(self._waiting)} lessons are waiting")
            self._waiting.append(lesson)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="mnist-lessons", daemon=True)
                self._worker.start()
            self._condition.notify_all()
        return lesson

    def position(self, lesson: Lesson) -> int | None:
        """1 for the next to be given, counting only lessons still wanted; None once it has started."""
        with self._condition:
            if lesson not in self._waiting:
                return None
            ahead = [item for item in self._waiting if item.keep_going() or item is lesson]
            return ahead.index(lesson) + 1

    def waiting(self) -> int:
        with self._condition:
            return sum(1 for item in self._waiting if item.keep_going())

    def _serve(self) -> None:
        while True:
            with self._condition:
                while not self._waiting:
                    self._condition.wait()
                lesson = self._waiting.popleft()
                lesson.state = GIVING
            try:
                if lesson.keep_going():
                    lesson.result = lesson.work(lesson.keep_going)
                lesson.state = DONE if lesson.keep_going() and lesson.result is not None else DROPPED
            except Exception:       # the learner reads a message; the detail is for the log
                _log.exception("a lesson failed")
                lesson.state = FAILED
            finally:
                if lesson.state != DONE:
                    lesson.result = None        # nobody will read it: don't keep the copy alive
                lesson.work = None              # its closure holds the session's model and data
                lesson.finished.set()
            del lesson      # while this worker waits, it holds no session's lesson (the page has its own)
