"""Step 2: build a network and train it, watching it learn.

Training runs on a background thread owned by this session (mnist_core.runs.jobs); this page only
starts it, polls it a few times a second while it runs, and draws. A finished run hands its model
to the session (studio.session.models) and becomes the active model for Evaluate and Predict.
"""

import pandas as pd
import streamlit as st

from studio.ui import charts, urls
from studio.train import downloads, runs, uploads
from studio.session.models import MAX_MODELS, session_studio
from studio.ui.i18n import labels_in_this_language, t
from studio.train.measured import measured_text, milestone_columns
from studio.predict.reading import CHOSEN_KEY as MODEL_CHOSEN
from studio.ui.sidebar import model_label

with st.spinner(t("tf.loading")):
    from mnist_core.networks import describe, presets, script
    from mnist_core.runs import jobs, runspec
    from mnist_core import models
    from mnist_core.networks.device import device_description

BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]
MAX_EPOCHS_HERE = 30          # the page offers fewer than the library allows (runspec.EPOCHS)


# --- Choosing -----------------------------------------------------------------------------------

def settings_ui() -> jobs.RunSpec:
    names = list(presets.ARCHITECTURES)
    urls.seed_widget("train_arch", urls.read_choice("arch", "dense", names))
    arch = st.selectbox(t("train.architecture"), names, key="train_arch", on_change=use_recommended_run,
                        format_func=labels_in_this_language("arch.{}.title"))
    spec = presets.ARCHITECTURES[arch]
    st.caption(t(f"arch.{arch}.description") + (
        " " + t("train.recommended", epochs=spec.epochs, batch=spec.batch_size) if arch != "dense" else ""))
    measured = measured_text(arch)      # from the latest bench/run.py, never typed
    if measured:
        st.caption(measured)

    hparams = {}
    columns = st.columns(len(spec.params))
    for column, (name, param) in zip(columns, spec.params.items()):
        key, label, help_text = f"train_{arch}_{name}", t(f"hparam.{name}"), t(f"hparam.{name}.help")
        with column:
            if param.choices:
                hparams[name] = st.selectbox(label, param.choices, key=key, help=help_text,
                                             index=param.choices.index(param.default))
            elif name == "learning_rate":
                rates = sorted(set(LEARNING_RATES) | {param.default})   # a preset's own default too
                hparams[name] = st.select_slider(label, rates, value=param.default, key=key,
                                                 help=help_text)
            elif param.kind is int:
                hparams[name] = st.number_input(label, int(param.low), int(param.high),
                                                int(param.default), key=key, help=help_text)
            else:
                hparams[name] = st.slider(label, float(param.low), float(param.high),
                                          float(param.default), step=0.05, key=key, help=help_text)

    left, middle, right, last = st.columns(4)
    urls.seed_widget("train_epochs", urls.read_int("epochs", spec.epochs, runspec.EPOCHS[0], MAX_EPOCHS_HERE))
    urls.seed_widget("train_batch", spec.batch_size)
    epochs = left.slider(t("train.epochs"), runspec.EPOCHS[0], MAX_EPOCHS_HERE, key="train_epochs",
                         help=t("train.epochs.help"))
    batch_size = middle.select_slider(t("train.batch_size"), BATCH_SIZES, key="train_batch",
                                      help=t("train.batch_size.help"))
    st.session_state.setdefault("train_val", spec.validation_split)
    validation_split = right.slider(t("train.validation"), *runspec.VALIDATION_SPLIT,
                                    step=0.05, key="train_val", help=t("train.validation.help"))
    seed = last.number_input(t("train.seed"), 0, 2**31 - 1, 0, key="train_seed", help=t("train.seed.help"))
    urls.write(arch=arch, epochs=epochs)
    return jobs.RunSpec(arch, hparams, int(epochs), int(batch_size), float(validation_split), int(seed))


def use_recommended_run() -> None:
    """A newly chosen architecture starts from its own recipe (mnist_core.networks.presets): the epochs,
    batch size and validation split it is meant for."""
    spec = presets.ARCHITECTURES[st.session_state["train_arch"]]
    st.session_state["train_epochs"] = spec.epochs
    st.session_state["train_batch"] = spec.batch_size
    st.session_state["train_val"] = spec.validation_split


@st.cache_data(show_spinner=False, max_entries=64)
def model_preview(arch: str, hparams: tuple) -> tuple[list, str, int]:
    model = models.build_model(arch, **dict(hparams))
    return describe.layer_table(model), describe.graph_dot(model), model.count_params()


def preview_ui(spec: jobs.RunSpec) -> None:
    rows, dot, parameters = model_preview(spec.arch, tuple(sorted(spec.hparams.items())))
    st.markdown(t("train.parameters", count=f"{parameters:,}", device=device()))
    table, diagram, code = st.tabs([t("train.tab.layers"), t("train.tab.diagram"), t("train.tab.code")])
    table.dataframe(pd.DataFrame(rows).rename(columns=lambda c: t(f"col.{c.replace(' ', '_')}")),
                    hide_index=True, width="stretch")
    with diagram:
        st.graphviz_chart(dot, width="content")
    with code:
        st.caption(t("train.code.caption"))
        st.code(script.keras_code(spec.arch, spec.hparams, epochs=spec.epochs,
                                  batch_size=spec.batch_size,
                                  validation_split=spec.validation_split, seed=spec.seed),
                language="python")


@st.cache_resource(show_spinner=False)
def _device() -> tuple:
    return device_description()


def device() -> str:
    kind, detail = _device()
    return t(f"train.device.{kind}", detail=detail)


# --- This session's models ------------------------------------------------------------------------

def models_ui() -> None:
    studio = session_studio()
    mine = list(studio.models.values())
    st.header(t("train.session_models"))
    if mine:
        table = pd.DataFrame([{
            t("col.model"): m.name, t("col.from"): t(f"model.source.{m.kind}"),
            t("col.architecture"): m.metadata.get("arch", "?"),
            t("col.epochs"): m.metadata.get("epochs_completed", m.metadata.get("epochs")),
            t("col.batch_size"): m.metadata.get("batch_size"),
            t("col.test_accuracy"): m.test_accuracy, t("col.seconds"): m.metadata.get("train_seconds"),
            **milestone_columns(m.metadata),
        } for m in mine])
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            t("col.test_accuracy"): st.column_config.NumberColumn(format="percent")})
        st.caption(t("train.keeps", limit=MAX_MODELS))
        overlay_ui(mine)
    else:
        st.caption(t("train.no_models"))

    choices = studio.choices()
    if choices:
        keys = [m.key for m in choices]
        labels = {m.key: model_label(m) for m in choices}
        # The studio owns the choice (a finished run takes it over): the radio shows it, and a
        # click hands it back in a callback, which runs before the sidebar is drawn.
        st.session_state["train_active"] = studio.active_key if studio.active_key in keys else keys[0]
        picked = st.radio(t("train.active_radio"), keys, format_func=labels.get, horizontal=True,
                          key="train_active", on_change=choose_active, args=(studio,))
        entry = next(m for m in choices if m.key == picked)
        if entry.kind != "bundled":
            downloads.run_download_ui(entry)
    uploads.upload_ui(studio)


def choose_active(studio) -> None:
    studio.active_key = st.session_state["train_active"]
    st.session_state[MODEL_CHOSEN] = True       # Predict stops answering with a fresh link's reader


def overlay_ui(mine) -> None:
    rows = [{"run": m.name, "epoch": epoch + 1, "metric": metric, "series": f"{m.name} · {t(f'chart.metric.{metric}')}",
             "value": value}
            for m in mine for metric in ("accuracy", "val_accuracy", "loss", "val_loss")
            for epoch, value in enumerate(m.metadata.get("history", {}).get(metric, []))]
    if len(mine) < 2 or not rows:
        return
    frame = pd.DataFrame(rows)
    st.markdown(t("train.compared"))
    left, right = st.columns(2)
    with left:
        acc = frame[frame.metric.str.endswith("accuracy")]
        charts.line_chart(acc[["epoch", "value", "series"]], x="epoch", y="value",
                          color="series", y_title="accuracy", key="overlay-acc")
    with right:
        loss = frame[frame.metric.str.endswith("loss")]
        charts.line_chart(loss[["epoch", "value", "series"]], x="epoch", y="value",
                          color="series", y_title="loss", key="overlay-loss")




def main():
    st.title(t("train.title"))
    spec = settings_ui()
    preview_ui(spec)
    running = bool(session_studio().running())
    if st.button(t("train.start"), type="primary", icon=":material/play_arrow:", disabled=running,
                 help=t("train.in_progress") if running else None):
        runs.start_run(spec)
    runs.live_ui()
    models_ui()


main()
