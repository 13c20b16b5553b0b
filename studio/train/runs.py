"""Starting a run and watching it, on any page: the Train page and the tutorial's `fit` step.

The run trains in a worker process or on a Ray cluster (mnist_core.runs.jobs); a run identical to one
in flight joins it, and one finished recently is ready at once (mnist_core.runs.sharing). These
functions start it, poll it a few times a second in a fragment, and draw its progress, its charts and
Keras' own per-epoch log.
"""

from __future__ import annotations

import streamlit as st
from streamlit.logger import get_logger

from mnist_core.runs import jobs
from mnist_core.runs.runspec import SettingsError

from studio.ui import charts, figures
from studio.store.saving import saving
from studio.session.dataset import get_data, require_data
from studio.session.models import session_studio
from .growth import GROWTH_POINTS, growth_ui
from .measured import milestones_text
from studio.ui.i18n import ordinal, t

_log = get_logger(__name__)
WATCHED = "train_watch"     # the session's run that the live view follows
POLL_SECONDS = 0.5          # how often a page redraws a running job (at most ~4 chart updates/s)
# A redraw costs the server ~23 ms of CPU: with a class watching, each page redraws less often
# (30 learners at 0.5 s would take 1.4 cores from the drawings).
POLL_STEPS = ((4, 0.5), (12, 1.0), (None, 2.0))     # (up to this many watching, seconds)


def poll_seconds() -> float:
    from mnist_core.runs.sharing import SERVER_RUNS
    watching = SERVER_RUNS.watching()
    return next(seconds for most, seconds in POLL_STEPS if most is None or watching <= most)


def keras_log(snapshot) -> str:
    """The lines Keras' `model.fit(verbose=2)` prints, one per finished epoch."""
    lines, previous = [], 0.0
    for epoch in snapshot.epochs:
        seconds, previous = epoch.elapsed - previous, epoch.elapsed
        line = (f"Epoch {epoch.epoch}/{epoch.epochs}\n{epoch.steps}/{epoch.steps} - {seconds:.0f}s - "
                f"{seconds / max(epoch.steps, 1) * 1000:.0f}ms/step - "
                f"accuracy: {epoch.accuracy:.4f} - loss: {epoch.loss:.4f}")
        if epoch.val_loss is not None:
            line += f" - val_accuracy: {epoch.val_accuracy:.4f} - val_loss: {epoch.val_loss:.4f}"
        lines.append(line)
    return "\n".join(lines)


def keras_log_ui(snapshot) -> None:
    if snapshot.epochs:
        st.caption(t("train.keras_log"))
        st.code(keras_log(snapshot), language=None)



def start_run(spec: jobs.RunSpec) -> None:
    studio = session_studio()
    if studio.running():
        st.warning(t("train.already_running"))
        return
    data = require_data()
    number = studio.next_number()
    key, name = f"run-{number}", t("train.run_name", number=number, arch=t(f"arch.{spec.arch}.short"))
    try:
        from mnist_core.runs.cluster import make_job     # a Ray actor when RAY_ADDRESS is set
        from mnist_core.runs.sharing import SERVER_RUNS
        job = SERVER_RUNS.join(spec, data, make_job, name=name,
                               on_done=saving(studio, number, key, name, studio.run_finished(key, name)),
                               watch=data.x_test[:GROWTH_POINTS])   # left by studio.release() if the tab goes
        job.start()
    except jobs.QueueFullError as exc:
        st.warning(t("train.busy_until", seconds=f"{exc.seconds:.0f}") if exc.seconds is not None
                   else t("train.busy"))
        return
    except SettingsError as exc:
        st.error(t(f"train.bad_settings.{exc.code}", **exc.values))
        return
    except ValueError:          # a hyperparameter the widgets should not have allowed: logged
        _log.warning("refused run settings %r", spec, exc_info=True)
        st.error(t("train.bad_settings.hparams"))
        return
    studio.add_job(key, job)
    st.session_state[WATCHED] = key
    st.rerun()   # redraw at once: Start disabled, the live view showing


def curves(snapshot):
    """A run's per-batch lines and per-epoch points, against (fractional) epochs, for the charts."""
    import pandas as pd
    columns = ["epoch", "loss", "accuracy", "series"]
    batches, epochs, validation = t("chart.series.batches"), t("chart.series.epochs"), t("chart.series.validation")
    batch_rows = [(b.epoch - 1 + b.step / b.steps, b.batch_loss, b.batch_accuracy, batches)
                  for b in snapshot.batches]
    epoch_rows = []
    for e in snapshot.epochs:
        epoch_rows.append((e.epoch, e.loss, e.accuracy, epochs))
        if e.val_loss is not None:
            epoch_rows.append((e.epoch, e.val_loss, e.val_accuracy, validation))
    return pd.DataFrame(batch_rows, columns=columns), pd.DataFrame(epoch_rows, columns=columns)


def run_charts(snapshot, key: str) -> None:
    lines, points = curves(snapshot)
    if lines.empty and points.empty:
        st.caption(t("train.first_figures"))
        return
    left, right = st.columns(2)
    with left:
        charts.line_chart(lines, x="epoch", y="loss", color="series", points=points, key=f"{key}-loss")
    with right:
        charts.line_chart(lines, x="epoch", y="accuracy", color="series", points=points,
                          key=f"{key}-acc")


def progress_ui(key: str, job, every: float = POLL_SECONDS) -> None:
    if poll_seconds() != every:
        st.rerun()      # the whole page: the fragment is drawn again at the new pace
    snapshot = job.snapshot()
    if snapshot.state == jobs.QUEUED and getattr(job, "free_cpus", None) is not None:
        free, total = job.free_cpus                 # a Ray cluster's own view of its CPUs
        st.info(t("train.queued_cluster", name=job.name, free=f"{free:g}", total=f"{total:g}"),
                icon=":material/hourglass:")
    elif snapshot.state == jobs.QUEUED:
        text = t("train.queued", name=job.name, place=ordinal(snapshot.position or 1))
        if snapshot.starts_in is not None:
            text += " " + t("train.starts_in", seconds=f"{snapshot.starts_in:.0f}")
        st.info(text, icon=":material/hourglass:")
    else:
        latest = snapshot.latest
        if latest is None:
            st.progress(0.0, text=t("train.starting"))
        else:
            eta = latest.eta_seconds
            text = t("train.progress", epoch=latest.epoch, epochs=latest.epochs, step=latest.step,
                     steps=latest.steps, seconds=f"{snapshot.seconds:.0f}")
            if eta:
                text += " · " + t("train.eta", seconds=f"{eta:.0f}")
            st.progress(min(latest.fraction_done, 1.0), text=text)
    shared_ui(job)
    if st.button(t("train.stop"), key=f"stop-{key}", icon=":material/stop_circle:"):
        job.stop()
        st.toast(t("train.stopping"))
    run_charts(snapshot, key)
    growth_ui(snapshot, get_data().y_test)
    keras_log_ui(snapshot)
    if snapshot.state in jobs.DONE_STATES:
        st.rerun()   # the whole page: the run joins the finished runs


def shared_ui(job) -> None:
    """The one line that says this run is trained once for several learners."""
    others = getattr(job, "learners", 1) - 1
    if others >= 1:
        st.caption(t("train.shared_one" if others == 1 else "train.shared", count=others),
                   help=t("train.shared.help"))


def live_ui() -> None:
    studio = session_studio()
    key = st.session_state.get(WATCHED, "")
    job = studio.job(key)
    if job is None:
        return
    st.header(job.name)
    if not job.done:
        every = poll_seconds()
        st.fragment(progress_ui, run_every=every)(key, job, every)
        return
    snapshot = job.snapshot()
    if snapshot.state == jobs.FAILED:
        st.error(t(f"train.failed.{snapshot.error}"))      # a RunFailed code; the log has the detail
        return
    entry = studio.model(key)
    if entry is None and studio.arriving(key):
        st.rerun()      # handed over before the job said "done": the next run applies it first
    verb = t("train.verb.stopped" if snapshot.state == jobs.STOPPED else "train.verb.finished")
    message = t("train.done", name=job.name, verb=verb, seconds=f"{snapshot.seconds:.0f}")
    if snapshot.waited >= 1:
        message += " " + t("train.waited", seconds=f"{snapshot.waited:.0f}")
    if entry is not None and entry.test_accuracy is not None:
        message += " " + t("train.done_accuracy", accuracy=f"{entry.test_accuracy:.2%}")
    st.success(message)
    if getattr(job, "replayed", False):
        st.info(t("train.replayed"), icon=":material/replay:")
    if entry is not None:
        crossed = milestones_text(entry.metadata)
        st.caption(crossed or t("presets.no_validation"))
    run_charts(snapshot, key)
    if entry is not None and entry.metadata.get("history"):
        from .downloads import download_figure_ui
        download_figure_ui(lambda: figures.training_curves(entry.metadata["history"], job.name),
                           f"training-{key}")
    growth_ui(snapshot, get_data().y_test)
    keras_log_ui(snapshot)


