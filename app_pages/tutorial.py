"""The study note, step by step: its own code beside what that code does here, with real arrays.

Each step has its own address (`/tutorial?step=3`), Prev / Next, and the note's code, corrected
where the note is wrong (its label shapes, its `== 1`), with the mistake shown, not hidden.
"""

import numpy as np
import streamlit as st

from studio.ui import charts, figures, urls
from studio.train import runs
from studio.session.dataset import require_data
from studio.session.models import evaluation_report, session_studio
from studio.ui.i18n import t
from studio.ui.sidebar import model_banner_ui

STEPS = ("import", "load", "show", "network", "compile", "prepare", "one_hot", "fit", "evaluate",
         "predict")


def comment(key: str) -> str:
    return "# " + t(f"tutorial.code.{key}")


def step_ui() -> int:
    """The step from the URL, and Prev / Next; returns its index."""
    urls.seed_widget("tutorial_step", urls.read_int("step", 1, 1, len(STEPS)))
    number = st.session_state["tutorial_step"]
    st.progress(number / len(STEPS), text=t("tutorial.progress", number=number, total=len(STEPS),
                                            title=t(f"tutorial.{STEPS[number - 1]}.title")))
    previous, _, following = st.columns([1, 4, 1])
    if previous.button(t("tutorial.previous"), disabled=number == 1, icon=":material/arrow_back:",
                       width="stretch"):
        st.session_state["tutorial_step"] = number - 1
        st.rerun()
    if following.button(t("tutorial.next"), disabled=number == len(STEPS), type="primary",
                        icon=":material/arrow_forward:", width="stretch"):
        st.session_state["tutorial_step"] = number + 1
        st.rerun()
    urls.write(step=number)
    return number - 1


def check(statement: str, arrays: dict) -> str:
    """Run one of the note's asserts against the real arrays; what Python answers."""
    try:
        assert eval(statement, {}, arrays)  # noqa: S307 (our own fixed statements)
    except AssertionError:
        return "AssertionError"
    return t("explore.passes")


@st.cache_data(show_spinner=False)
def keras_summary() -> str:
    """`model.summary()` of the note's network, as Keras prints it in a fresh session."""
    import keras
    model = keras.Sequential([keras.Input(shape=(28 * 28,)),
                              keras.layers.Dense(512, activation="relu", name="dense"),
                              keras.layers.Dense(10, activation="softmax", name="dense_1")],
                             name="sequential")
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line), line_length=72)
    return "\n".join(lines)


def main():
    st.title(t("tutorial.title"))
    st.caption(t("tutorial.caption"))
    index = step_ui()
    name = STEPS[index]
    st.header(f"{index + 1} · {t(f'tutorial.{name}.title')}")
    st.markdown(t(f"tutorial.{name}.text"))
    globals()[f"{name}_ui"]()
    with st.expander(t("tutorial.glossary")):
        st.markdown(t("tutorial.glossary.text"))


def import_ui():
    st.code("\n".join([comment("import"), "from keras.datasets import mnist",
                       "from keras import models, layers", "from keras.utils import to_categorical",
                       "import matplotlib.pyplot as plt"]), language="python")


def load_ui():
    data = require_data()
    st.code("(train_images, train_labels), (test_images, test_labels) = mnist.load_data()",
            language="python")
    arrays = {"train_images": data.x_train, "train_labels": data.y_train,
              "test_images": data.x_test, "test_labels": data.y_test}
    as_written = ["train_images.shape == (60000, 28, 28)", "train_labels.shape == (60000, 10)",
                  "test_labels.shape == (10000, 10)"]
    corrected = ["train_images.shape == (60000, 28, 28)", "train_labels.shape == (60000,)",
                 "test_labels.shape == (10000,)", "train_images.dtype == 'uint8'"]
    for column, words, statements in zip(st.columns(2), (t("tutorial.load.as_written"),
                                          t("tutorial.load.corrected")), (as_written, corrected)):
        column.markdown(words)
        column.code("\n".join(f"assert {s:<40} # {check(s, arrays)}" for s in statements), language="python")
    st.caption(t("tutorial.load.why"))


def show_ui():
    data = require_data()
    st.code("\n".join(["digit = test_images[0]", "plt.imshow(digit, cmap=plt.cm.binary)", "plt.show()"]),
            language="python")
    left, right = st.columns([1, 2])
    note_digit_ui(left, data, 0)
    right.markdown(t("tutorial.show.label", label=data.y_test[0]))


def note_digit_ui(place, data, index: int) -> None:
    """The note's plt.imshow of test image `index`, as a PNG with alternative text (st.pyplot has none)."""
    figure = figures.note_digit(data.x_test[index])
    place.image(figures.as_file(figure, "png"), width=int(figure.get_size_inches()[0] * figure.dpi),
                alt=charts.digit_alt(data.y_test[index]))


def network_ui():
    st.code("\n".join([comment("network"), "model = models.Sequential([",
                       "    layers.Dense(512, activation=\"relu\", input_shape=(28 * 28,)),",
                       "    layers.Dense(10, activation=\"softmax\"),", "])", "model.summary()"]),
            language="python")
    with st.spinner(t("tf.loading")):
        st.code(keras_summary(), language=None)
    st.caption(t("tutorial.network.params"))


def compile_ui():
    st.code("\n".join(["model.compile(optimizer=\"rmsprop\",", "              loss=\"categorical_crossentropy\",",
                       "              metrics=[\"accuracy\"])"]), language="python")


def prepare_ui():
    data = require_data()
    st.code("\n".join([comment("prepare"), "train_images = train_images.reshape((60000, 28 * 28))",
                       "train_images = train_images.astype(\"float32\") / 255",
                       "test_images = test_images.reshape((10000, 28 * 28))",
                       "test_images = test_images.astype(\"float32\") / 255"]), language="python")
    vector = data.x_train[0].reshape(28 * 28)
    window = slice(int(np.flatnonzero(vector)[0]), int(np.flatnonzero(vector)[0]) + 8)
    st.markdown(t("tutorial.prepare.shapes"))
    st.code("\n".join([
        f"train_images[0].shape        # {data.x_train[0].shape} → {vector.shape}",
        f"train_images[0][{window.start}:{window.stop}]  # {t('tutorial.prepare.before')}: "
        f"{np.array2string(vector[window])}",
        f"train_images[0][{window.start}:{window.stop}]  # {t('tutorial.prepare.after')}:  "
        f"{np.array2string(vector[window].astype(np.float32) / 255, precision=4)}"]), language="python")


def one_hot_ui():
    from mnist_core.preprocess import one_hot
    data = require_data()
    st.code("\n".join([comment("one_hot"), "train_labels = to_categorical(train_labels)",
                       "test_labels = to_categorical(test_labels)"]), language="python")
    label = int(data.y_test[0])
    st.code(f"{t('tutorial.prepare.before')}: {label} → {t('tutorial.prepare.after')}: "
            f"{np.array2string(one_hot(np.array([label]))[0])}", language=None)


def fit_ui():
    from mnist_core.runs import jobs
    from mnist_core.networks.presets import TUTORIAL
    st.code(f"model.fit(train_images, train_labels, epochs={TUTORIAL.epochs}, "
            f"batch_size={TUTORIAL.batch_size})", language="python")
    studio = session_studio()
    running = bool(studio.running())
    if st.button(t("tutorial.fit.start"), type="primary", icon=":material/play_arrow:", disabled=running):
        runs.start_run(jobs.RunSpec.preset(TUTORIAL.name, seed=0))
    runs.live_ui()


def evaluate_ui():
    data = require_data()
    entry = session_studio().active()
    model_banner_ui(entry)
    report = evaluation_report(entry, data)
    st.code("\n".join(["test_loss, test_acc = model.evaluate(test_images, test_labels)",
                       "print(\"test_acc:\", test_acc)", f"# test_acc: {report.accuracy:.4f}"]),
            language="python")


def predict_ui():
    data = require_data()
    entry = session_studio().active()
    model_banner_ui(entry)
    row = evaluation_report(entry, data).probabilities[1]
    named = [i for i in range(10) if row[i] == 1]        # the note's loop, run for real
    st.markdown(t("tutorial.predict.as_written"))
    st.code("\n".join(["res = model.predict(test_images)", "for i in range(10):",
                       "    if res[1][i] == 1:", "        print(i)",
                       f"# {t('tutorial.predict.prints')}: {named if named else t('tutorial.predict.nothing')}"]),
            language="python")
    st.markdown(t("tutorial.predict.corrected"))
    st.code("\n".join(["print(res[1].argmax())", f"# {int(row.argmax())}",
                       f"print(res[1][{int(row.argmax())}])", f"# {row.max():.9f}"]), language="python")
    left, right = st.columns([1, 2])
    note_digit_ui(left, data, 1)
    right.caption(t("tutorial.predict.why", p=f"{row.max():.9f}"))


main()
