"""English and 简体中文: every string a visitor reads exists in both, and every page shows it."""

import json
import re
import string

import pytest

from mnist_core.modelfile import cost
from mnist_core import predict
from mnist_core.networks import presets
from studio.train import runs
from studio.session.bundled import BUNDLED

from .conftest import ROOT
from .test_app import open_page

LOCALES = ROOT / "studio" / "ui" / "locales"
CATALOGUES = {lang: json.loads((LOCALES / f"{lang}.json").read_text("utf-8")) for lang in ("en", "zh")}
PAGES = [None, "explore", "train", "evaluate", "predict", "class_board"]


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


def raised_codes(*errors: str) -> set[str]:
    """The codes mnist_core raises with these error classes (their words live only in the catalogue)."""
    pattern = r"\b(?:%s)\(\s*\"([a-z_]+)\"" % "|".join(errors)
    codes = {code for path in (ROOT / "mnist_core").rglob("*.py")
             for code in re.findall(pattern, path.read_text("utf-8"))}
    assert codes, errors
    return codes


def used_keys() -> set[str]:
    """Every key the code asks for: literal t("...") calls, and the families built from codes."""
    keys = set()
    for path in [ROOT / "streamlit_app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "studio").rglob("*.py")]:
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", path.read_text("utf-8")))
        for pair in re.findall(r"""["']([a-z_]+\.[a-z_.]+)["']\s+if\s+.*?\s+else\s+["']([a-z_]+\.[a-z_.]+)["']""",
                               path.read_text("utf-8")):
            keys |= set(pair)
    keys |= {f"arch.{a}.{part}" for a in presets.ARCHITECTURES for part in ("title", "short", "description")}
    keys |= {f"hparam.{p}{suffix}" for a in presets.ARCHITECTURES.values() for p in a.params
             for suffix in ("", ".help")}
    keys |= {f"model_file.{code}" for code in raised_codes("ModelFileError", "CostError", "SettingError", "WeightsError")}
    keys |= {f"model_file.{code}" for code in [*cost.BUDGETS, predict.OutOfTime.code]}
    keys |= {f"image_file.{code}" for code in raised_codes("ImageFileError")}
    keys |= {f"reading.{code}" for code in predict.PROBLEM_CODES}
    keys |= {f"model.{part}.{kind}" for part in ("kind", "source")
             for kind in ("bundled", "run", "upload", "tuned", "kept", "published")}
    keys |= {f"store.error.{code}" for code in raised_codes("StoreError")}
    keys |= {f"store.{name}" for name in ("restored", "saved", "not_saved", "dropped")}   # notices
    keys |= {f"store.down.{why}" for why in ("damaged", "unreachable")}      # opening.reason()
    keys |= {"store.down.opening", "store.busy"}       # opening.problem_key(), the writer's full queue
    keys |= {f"data.origin.{origin}" for origin in ("local", "keras_cache", "download")}
    keys |= {f"notice.{name}" for name in ("run_active", "upload_active", "dropped")}
    from mnist_core.runs import jobs, runspec
    keys |= {f"train.failed.{code}" for code in jobs.RunFailed.CODES}
    keys |= {f"train.bad_settings.{code}" for code in runspec.SETTINGS}
    from studio.ui.pages import CLASS, STEPS as PAGES
    keys.add(f"page.{CLASS.name}")
    keys |= {f"page.{page.name}" for page in PAGES}
    keys |= {f"overview.step.{page.name}{suffix}" for page in PAGES for suffix in ("", ".text")}
    keys |= {f"tutorial.{step}.{part}" for step in STEPS for part in ("title", "text")}
    keys |= {f"tutorial.code.{name}" for name in re.findall(r'comment\("([a-z_]+)"\)',
                                                             (ROOT / "app_pages" / "tutorial.py").read_text())}
    keys |= {f"figure.{prefix}series" for prefix in ("", "val_")} | {"figure.loss", "figure.accuracy"}
    keys |= {f"predict.source.{source}" for source in ("draw", "test", "upload")}
    keys |= {f"explore.pixels.{view}" for view in ("heatmap", "table")}
    keys |= {f"bundled.{key}" for key in BUNDLED}
    from studio.ui import charts
    keys |= {f"chart.{field}" for field in charts.FIELDS}
    keys |= {f"train.device.{kind}" for kind in ("cpu", "gpu")}
    keys |= {f"col.{c}" for c in ("layer", "type", "output_shape", "parameters")}
    keys |= {f"chart.metric.{m}" for m in ("accuracy", "val_accuracy", "loss", "val_loss")}
    from studio.train.notebook import SECTIONS
    keys |= {f"notebook.{section}" for _, section in SECTIONS}
    keys |= {f"explore.split.{split}" for split in ("train", "test")}
    keys |= {f"predict.source.{source}" for source in ("draw", "test", "upload")}
    from studio.predict.inside import VIEWS
    keys |= {f"inside.tab.{view}" for view in VIEWS}
    return keys


def quoted_in_code() -> set[str]:
    """Dotted names quoted anywhere in the app's code (keys passed around before t() sees them)."""
    found = set()
    for path in [*(ROOT / "app_pages").glob("*.py"), *(ROOT / "studio").rglob("*.py")]:
        found |= set(re.findall(r"""["']([a-z][a-z0-9_]*\.[a-z0-9_.]+)["']""", path.read_text("utf-8")))
    return found


def tutorial_steps() -> tuple:
    """The tutorial page's STEPS, read from its source (importing a page would run it)."""
    import ast
    tree = ast.parse((ROOT / "app_pages" / "tutorial.py").read_text("utf-8"))
    assignment = next(node for node in tree.body if isinstance(node, ast.Assign)
                      and getattr(node.targets[0], "id", "") == "STEPS")
    return ast.literal_eval(assignment.value)


STEPS = tutorial_steps()
PAGES.append("tutorial")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_the_code_uses_is_in_both_catalogues():
    keys = used_keys()
    assert len(keys) > 150
    for lang, catalogue in CATALOGUES.items():
        missing = sorted(keys - set(catalogue))
        assert not missing, f"{lang}.json lacks {missing}"


def test_catalogues_have_the_same_keys_and_values_to_fill():
    en, zh = CATALOGUES["en"], CATALOGUES["zh"]
    assert set(en) == set(zh)
    for key in en:
        assert placeholders(en[key]) == placeholders(zh[key]), key
    unused = set(en) - used_keys() - quoted_in_code()
    assert not unused, f"catalogue keys no code uses: {sorted(unused)}"


def test_chinese_is_chinese():
    """A zh entry that is just the English text left in place is a missing translation."""
    en, zh = CATALOGUES["en"], CATALOGUES["zh"]
    same = [k for k in en if en[k] == zh[k] and re.search(r"[a-z]{4,}", en[k])]
    assert not same, same
    assert all(re.search(r"[\u4e00-\u9fff]", zh[k]) for k in zh if re.search(r"[a-z]{4,} [a-z]{4,}", en[k])), \
        [k for k in zh if not re.search(r"[\u4e00-\u9fff]", zh[k]) and re.search(r"[a-z]{4,} [a-z]{4,}", en[k])]


def visible_texts(at) -> list[str]:
    """Everything AppTest can see a visitor read: prose, labels, options, table headers."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                 "success", "toast"):
        parts += [element.value for element in at.get(kind)]
    for kind in ("button", "selectbox", "slider", "select_slider", "number_input", "radio",
                 "segmented_control", "pills", "expander", "tab", "metric", "checkbox", "text_input"):
        for element in at.get(kind):
            parts.append(getattr(element, "label", "") or "")
    for kind in ("selectbox", "radio", "segmented_control"):
        for element in at.get(kind):
            parts += [str(option) for option in getattr(element, "options", [])]
    return [p for p in parts if p]


ENGLISH_ONLY = {"MNIST Studio", "F1"}


def english_sentences(texts: list[str]) -> list[str]:
    """The texts that contain an English catalogue entry (3 words or more) not shared with zh."""
    en, zh = CATALOGUES["en"], CATALOGUES["zh"]
    fragments = set()
    for key, text in en.items():
        if text == zh[key]:
            continue
        for piece in re.split(r"\{[^}]*\}|[*`]", text):     # the fixed words between the values
            piece = piece.strip(" .:;,·()")
            if len(piece.split()) >= 3 and piece not in zh[key]:   # code and commands are shared
                fragments.add(piece)
    return [t for t in texts if t not in ENGLISH_ONLY and any(f in t for f in fragments)]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_chinese_has_no_english_sentence(page):
    at = open_page(page, lang="zh")
    assert at.session_state["lang"] == "zh" and not at.exception
    texts = visible_texts(at)
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
    assert not english_sentences(texts)
    assert at.query_params["lang"] == "zh"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_english_shows_the_english_words(page):
    at = open_page(page, lang="en")
    texts = visible_texts(at)
    assert english_sentences(texts)          # the check above can see English when it is there
    # The language switch names itself in both; the glossary is in both on purpose.
    switch = {"简体中文", "Language · 语言", CATALOGUES["en"]["tutorial.glossary"],
              CATALOGUES["en"]["tutorial.glossary.text"]}
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts if t not in switch)


def test_the_language_switch_and_the_url_agree():
    at = open_page("train")
    assert at.session_state["lang"] == "en"
    at.sidebar.segmented_control(key="lang").set_value("zh").run()
    assert at.title[0].value == CATALOGUES["zh"]["train.title"]
    assert at.query_params["lang"] == "zh"
    at.switch_page("app_pages/evaluate.py").run()          # kept across pages
    assert at.title[0].value == CATALOGUES["zh"]["evaluate.title"]
    at.sidebar.segmented_control(key="lang").set_value("en").run()
    assert at.title[0].value == "Evaluate" and at.query_params["lang"] == "en"


def test_refusals_from_the_library_are_translated(tmp_path):
    """Codes from mnist_core become the visitor's language: a model file refused in Chinese."""
    at = open_page("train", lang="zh")
    attempt = at.session_state["model_upload_attempt"]
    at.file_uploader(key=f"model_upload_{attempt}").upload("x.keras", b"not a zip", "application/zip").run()
    errors = [e.value for e in at.error]
    assert errors == [CATALOGUES["zh"]["train.upload.refused"].format(
        reason=CATALOGUES["zh"]["model_file.not_zip"])]


def test_chart_titles_and_series_follow_the_language():
    from unittest import mock

    import pandas as pd
    import streamlit as st

    from studio.ui import charts, i18n
    frame = pd.DataFrame({"epoch": [1, 2], "loss": [0.3, 0.2], "series": ["a", "a"]})
    st.session_state[i18n.STATE_KEY] = "zh"
    try:
        with mock.patch.object(st, "vega_lite_chart") as chart:
            charts.line_chart(frame, x="epoch", y="loss", color="series")
        encoding = chart.call_args[0][0]["layer"][0]["encoding"]
        snapshot = type("S", (), {"batches": [], "epochs": [type("E", (), {
            "epoch": 1, "loss": 0.3, "accuracy": 0.9, "val_loss": None, "val_accuracy": None})()]})()
        _, points = runs.curves(snapshot)
    finally:
        st.session_state[i18n.STATE_KEY] = "en"
    zh = CATALOGUES["zh"]
    assert encoding["x"]["title"] == zh["chart.epoch"] and encoding["y"]["title"] == zh["chart.loss"]
    assert list(points["series"]) == [zh["chart.series.epochs"]]
