"""A model a learner uploads: checked, measured on the test set, and kept in their session.

The Train page calls upload_ui(); the uploader, the checks and the answer are here. Loading is
mnist_core.storage's (every check, the cost budget included, before Keras builds anything). The
test-set accuracy shown is measured here, never read from the file: on the uploader's own script
thread, off the shared inference slots that every learner's drawing waits for, in chunks sized by
the model's cost, and stopped after cost.EVALUATION_SECONDS, so a slow upload costs its owner only.
"""

from __future__ import annotations

import streamlit as st

from studio.session.dataset import get_data
from studio.session.models import SessionModel, Studio
from studio.ui.i18n import t


def accept(studio: Studio, payload: bytes) -> SessionModel:
    """Load, measure and keep an uploaded model (it becomes the active one). Raises
    storage.ModelFileError, a code with values, for a file that can't be used."""
    from mnist_core.modelfile import cost
    from mnist_core import storage
    from mnist_core.evaluation import evaluate
    from mnist_core.predict import OutOfTime, Predictor
    model, _ = storage.load_upload(payload)
    report = None
    data = get_data()
    if data is not None:
        own = Predictor(model, shared_slots=False)
        try:
            report = evaluate(model, data.x_test, data.y_test, predictor=own,
                              seconds=cost.EVALUATION_SECONDS)
        except OutOfTime as exc:
            raise storage.ModelFileError(exc.code, **exc.values) from exc
    number = studio.next_number()
    name = t("train.upload.name", number=number)
    entry = studio.add(SessionModel(f"upload-{number}", name, "upload", {"arch": "uploaded"},
                                          model=model, report=report))
    studio.notify("notice.upload_active", name=name)
    return entry


def refusal(error) -> str:
    """Why a file was refused, in the visitor's language."""
    return t("train.upload.refused", reason=t(f"model_file.{error.code}", **error.values))


def upload_ui(studio: Studio) -> None:
    """The Train page's uploader; a refused file's reason is shown once, above it."""
    from mnist_core import storage
    with st.expander(t("train.upload.title"), expanded="model_upload_error" in st.session_state):
        st.caption(t("train.upload.caption"))
        refused = st.session_state.pop("model_upload_error", None)
        if refused:
            st.error(refused)
        # A new key after each upload empties the uploader: a refused file's chip doesn't linger.
        attempt = st.session_state.setdefault("model_upload_attempt", 0)
        upload = st.file_uploader(t("train.upload.label"), type=["keras"], key=f"model_upload_{attempt}",
                                  max_upload_size=storage.MAX_MODEL_BYTES // 2**20)
        if upload is None:
            return
        st.session_state["model_upload_attempt"] = attempt + 1
        try:
            with st.spinner(t("train.upload.checking")):
                accept(studio, upload.getvalue())
        except storage.ModelFileError as exc:
            st.session_state["model_upload_error"] = refusal(exc)
        st.rerun()   # the sidebar, drawn before this page, names the new model at once
