"""The app's pages, written once: the navigation (streamlit_app.py) and the Overview's steps read them."""

from __future__ import annotations

from typing import NamedTuple


class PageInfo(NamedTuple):
    file: str        # relative to the app's root, as st.Page and st.page_link take it
    icon: str
    name: str        # its address (url_path) and its title's catalogue key, "page.<name>"
    models: bool = False   # it uses models: a learner's saved runs come back before it (and TensorFlow)


OVERVIEW = PageInfo("app_pages/overview.py", ":material/home:", "overview")
# The tutorial's steps, in the order a learner takes them.
STEPS = (PageInfo("app_pages/tutorial.py", ":material/school:", "tutorial", models=True),
         PageInfo("app_pages/explore.py", ":material/grid_view:", "explore"),
         PageInfo("app_pages/train.py", ":material/model_training:", "train", models=True),
         PageInfo("app_pages/evaluate.py", ":material/fact_check:", "evaluate", models=True),
         PageInfo("app_pages/predict.py", ":material/draw:", "predict", models=True))
# A teacher's board: after the steps in the navigation, not one of the Overview's steps.
CLASS = PageInfo("app_pages/class_board.py", ":material/groups:", "class", models=True)
# Pages that use models: only they import TensorFlow and read a learner's saved runs back.
MODEL_PAGES = frozenset(page.name for page in (OVERVIEW, *STEPS, CLASS) if page.models)
