"""What the Train page does while a run trains: every 0.5 s, snapshot the job and redraw the charts."""

import time

from studio.ui import charts
from studio.train import runs


def poll_like_the_train_page(job) -> None:
    while not job.done:
        snapshot = job.snapshot()
        lines, points = runs.curves(snapshot)
        if len(lines) or len(points):
            charts.line_chart(lines, x="epoch", y="loss", color="series", points=points)
            charts.line_chart(lines, x="epoch", y="accuracy", color="series", points=points)
        time.sleep(runs.POLL_SECONDS)
