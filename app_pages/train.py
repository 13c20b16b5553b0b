"""Step 2: build a network and train it, watching it learn.

Training runs on a background thread owned by this session (mnist_core.jobs); this page only
starts it, polls it a few times a second while it runs, and draws.
"""

import pandas as pd
import streamlit as st

from studio import charts, state, urls

with st.spinner("Loading TensorFlow…"):
    from mnist_core import jobs, models, storage

BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]
POLL_SECONDS = state.POLL_SECONDS


# --- Choosing -----------------------------------------------------------------------------------

def settings_ui() -> jobs.RunSpec:
    names = list(models.ARCHITECTURES)
    urls.seed_widget("train_arch", urls.read_choice("arch", "dense", names))
    arch = st.selectbox("Architecture", names, key="train_arch", on_change=use_recommended_run,
                        format_func=lambda name: models.ARCHITECTURES[name].title)
    spec = models.ARCHITECTURES[arch]
    st.caption(spec.description + (f" Train it for {spec.epochs} epochs with batch size "
                                   f"{spec.batch_size}." if arch != "dense" else ""))

    hparams = {}
    columns = st.columns(len(spec.params))
    for column, (name, param) in zip(columns, spec.params.items()):
        key, label = f"train_{arch}_{name}", name.replace("_", " ").capitalize()
        with column:
            if param.choices:
                hparams[name] = st.selectbox(label, param.choices, key=key, help=param.help,
                                             index=param.choices.index(param.default))
            elif name == "learning_rate":
                rates = sorted(set(LEARNING_RATES) | {param.default})   # a preset's own default too
                hparams[name] = st.select_slider(label, rates, value=param.default, key=key,
                                                 help=param.help)
            elif param.kind is int:
                hparams[name] = st.number_input(label, int(param.low), int(param.high),
                                                int(param.default), key=key, help=param.help)
            else:
                hparams[name] = st.slider(label, float(param.low), float(param.high),
                                          float(param.default), step=0.05, key=key, help=param.help)

    left, middle, right, last = st.columns(4)
    urls.seed_widget("train_epochs", urls.read_int("epochs", spec.epochs, 1, 30))
    urls.seed_widget("train_batch", spec.batch_size)
    epochs = left.slider("Epochs", 1, 30, key="train_epochs", help="passes over the training data")
    batch_size = middle.select_slider("Batch size", BATCH_SIZES, key="train_batch",
                                      help="images per weight update")
    validation_split = right.slider("Validation split", 0.0, 0.3, 0.0, step=0.05, key="train_val",
                                    help="fraction of training images held out to watch for "
                                         "overfitting (the tutorial uses none)")
    seed = last.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed",
                             help="the same seed and settings give the same run")
    urls.write(arch=arch, epochs=epochs)
    return jobs.RunSpec(arch, hparams, int(epochs), int(batch_size), float(validation_split), int(seed))


def use_recommended_run() -> None:
    """A newly chosen architecture starts from the epochs and batch size it is meant for: the best
    preset's one-cycle recipe needs its 15 epochs to reach 99.5 %, the fast one its batches of 256."""
    spec = models.ARCHITECTURES[st.session_state["train_arch"]]
    st.session_state["train_epochs"] = spec.epochs
    st.session_state["train_batch"] = spec.batch_size


@st.cache_data(show_spinner=False, max_entries=64)
def model_preview(arch: str, hparams: tuple) -> tuple[list, str, int]:
    model = models.build_model(arch, **dict(hparams))
    return models.layer_table(model), models.graph_dot(model), model.count_params()


def preview_ui(spec: jobs.RunSpec) -> None:
    rows, dot, parameters = model_preview(spec.arch, tuple(sorted(spec.hparams.items())))
    st.markdown(f"**{parameters:,} parameters** · trains on {device()}")
    table, diagram, code = st.tabs(["Layers", "Diagram", "Keras code"])
    table.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    with diagram:
        st.graphviz_chart(dot, width="content")
    with code:
        st.caption("This configuration as a plain Keras script you can copy and run.")
        st.code(models.keras_code(spec.arch, spec.hparams, epochs=spec.epochs,
                                  batch_size=spec.batch_size,
                                  validation_split=spec.validation_split, seed=spec.seed),
                language="python")


@st.cache_resource(show_spinner=False)
def device() -> str:
    return models.device_description()


# --- Training -----------------------------------------------------------------------------------

def start_run(spec: jobs.RunSpec) -> None:
    studio = state.studio()
    if studio.running():
        st.warning("A run is already in progress in this session: stop it or let it finish first.")
        return
    data = state.require_data()
    number = studio.next_number()
    name = f"Run {number} · {models.ARCHITECTURES[spec.arch].title.split(' (')[0]}"
    try:
        job = jobs.TrainingJob(spec, data, keep_running=state.session_alive_check(), name=name)
        job.start()
    except jobs.QueueFullError as exc:
        st.warning(str(exc))
        return
    except ValueError as exc:
        st.error(f"These settings can't be trained: {exc}")
        return
    studio.add(state.SessionModel(f"run-{number}", name, "trained in this session", job=job))
    st.session_state["train_watch"] = f"run-{number}"
    st.rerun()   # redraw at once: Start disabled, the live view showing


def run_charts(snapshot, key: str) -> None:
    lines, points = state.curves(snapshot)
    if lines.empty and points.empty:
        st.caption("The first figures arrive after the first batch.")
        return
    left, right = st.columns(2)
    with left:
        charts.line_chart(lines, x="epoch", y="loss", color="series", points=points, key=f"{key}-loss")
    with right:
        charts.line_chart(lines, x="epoch", y="accuracy", color="series", points=points,
                          key=f"{key}-acc")


def progress_ui(entry: state.SessionModel) -> None:
    snapshot = entry.job.snapshot()
    if snapshot.state == jobs.QUEUED:
        st.info(f"**{entry.name}** is waiting for a free training slot on this server "
                f"(position {snapshot.position or 1} in the queue).", icon=":material/hourglass:")
    else:
        latest = snapshot.latest
        if latest is None:
            st.progress(0.0, text="Building the model and starting…")
        else:
            eta = latest.eta_seconds
            text = (f"Epoch {latest.epoch}/{latest.epochs} · step {latest.step}/{latest.steps} · "
                    f"{snapshot.seconds:.0f} s" + (f" · about {eta:.0f} s left" if eta else ""))
            st.progress(min(latest.fraction_done, 1.0), text=text)
    if st.button("Stop", key=f"stop-{entry.key}", icon=":material/stop_circle:"):
        entry.job.stop()
        st.toast("Stopping at the next batch; the finished part is kept.")
    run_charts(snapshot, entry.key)
    if snapshot.state in jobs.DONE_STATES:
        st.rerun()   # the whole page: the run joins the finished runs


def live_ui() -> None:
    studio = state.studio()
    watched = studio.models.get(st.session_state.get("train_watch", ""))
    if watched is None or watched.job is None:
        return
    st.subheader(watched.name)
    if not watched.job.done:
        st.fragment(progress_ui, run_every=POLL_SECONDS)(watched)
        return
    snapshot = watched.job.snapshot()
    if snapshot.state == jobs.FAILED:
        st.error(f"The run failed: {snapshot.error}")
        return
    verb = "stopped early" if snapshot.state == jobs.STOPPED else "finished"
    accuracy = watched.job.metadata.get("test_accuracy")
    st.success(f"{watched.name} {verb} after {snapshot.seconds:.0f} s"
               + (f": test accuracy **{accuracy:.2%}**." if accuracy is not None else "."))
    run_charts(snapshot, watched.key)


# --- This session's models ------------------------------------------------------------------------

def finished_runs(studio) -> list:
    for run in studio.runs():
        if run.job.done and run.job.model is not None and not run.metadata:
            run.metadata = dict(run.job.metadata)
    return [m for m in studio.models.values() if m.ready()]


def models_ui() -> None:
    studio = state.studio()
    runs = finished_runs(studio)
    st.subheader("Models in this session")
    if runs:
        table = pd.DataFrame([{
            "model": m.name, "from": m.source, "architecture": m.metadata.get("arch", "?"),
            "epochs": m.metadata.get("epochs_completed", m.metadata.get("epochs")),
            "batch size": m.metadata.get("batch_size"),
            "test accuracy": m.test_accuracy, "seconds": m.metadata.get("train_seconds"),
        } for m in runs])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})
        overlay_ui(runs)
    else:
        st.caption("Runs you train (or models you upload) appear here, only for you.")

    choices = studio.choices()
    if choices:
        keys = [m.key for m in choices]
        current = studio.active_key if studio.active_key in keys else keys[0]
        picked = st.radio("Model the other pages use", keys, index=keys.index(current),
                          format_func=lambda k: next(m.name for m in choices if m.key == k),
                          horizontal=True)
        studio.active_key = picked
        entry = next(m for m in choices if m.key == picked)
        if entry.key != state.DEFAULT_KEY:
            download_ui(entry)
    upload_ui(studio)


def overlay_ui(runs) -> None:
    rows = [{"run": m.name, "epoch": epoch + 1, "metric": metric, "value": value}
            for m in runs for metric in ("accuracy", "val_accuracy", "loss", "val_loss")
            for epoch, value in enumerate(m.metadata.get("history", {}).get(metric, []))]
    if len(runs) < 2 or not rows:
        return
    frame = pd.DataFrame(rows)
    st.markdown("**Runs compared** (per epoch)")
    left, right = st.columns(2)
    with left:
        acc = frame[frame.metric.str.endswith("accuracy")]
        charts.line_chart(acc.assign(series=acc.run + " · " + acc.metric), x="epoch", y="value",
                          color="series", y_title="accuracy", key="overlay-acc")
    with right:
        loss = frame[frame.metric.str.endswith("loss")]
        charts.line_chart(loss.assign(series=loss.run + " · " + loss.metric), x="epoch", y="value",
                          color="series", y_title="loss", key="overlay-loss")


def download_ui(entry) -> None:
    if entry.file_bytes is None:
        model, _ = state.loaded(entry)
        entry.file_bytes = storage.model_bytes(model, entry.metadata)
    st.download_button("Download this model (.keras)", entry.file_bytes,
                       file_name=f"mnist-{entry.key}.keras", mime="application/zip",
                       icon=":material/download:")


def upload_ui(studio) -> None:
    with st.expander("Use a model of your own (.keras)"):
        st.caption("Loaded in Keras safe mode and checked before use: only Keras' own layers, a 28×28 "
                   "input and 10 probabilities out. It stays in your session only.")
        upload = st.file_uploader("Model file", type=["keras"], key="model_upload",
                                  max_upload_size=storage.MAX_MODEL_BYTES // 2**20)
        if upload is None or st.session_state.get("model_upload_done") == upload.file_id:
            return
        st.session_state["model_upload_done"] = upload.file_id
        try:
            model, _claimed = storage.load_model_bytes(upload.getvalue())
        except storage.ModelFileError as exc:
            st.error(f"That model can't be used: {exc}")
            return
        number = studio.next_number()
        metadata = {"arch": "uploaded"}
        data = state.get_data()
        if data is not None:
            from mnist_core.evaluation import evaluate
            report = evaluate(model, data.x_test, data.y_test)
            metadata.update(test_accuracy=report.accuracy, test_loss=report.loss)
        entry = studio.add(state.SessionModel(f"upload-{number}", f"Upload {number}", "uploaded by you",
                                              metadata, model=model))
        studio.active_key = entry.key
        st.success(f"{entry.name} is now the active model.")


def main():
    st.title("Build and train")
    spec = settings_ui()
    preview_ui(spec)
    running = bool(state.studio().running())
    if st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=running,
                 help="A run is in progress" if running else None):
        start_run(spec)
    live_ui()
    models_ui()


main()
