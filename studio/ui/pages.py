"""The app's pages, written once: the navigation (streamlit_app.py) and the Overview's steps read them."""

from __future__ import annotations

from typing import NamedTuple


class PageInfo(NamedTuple):
    file: str        # relative to the app's root, as st.Page and st.page_link take it
    icon: str
    name: str        # its address (url_path) and its title's catalogue key, "page.<name>"


OVERVIEW = PageInfo("app_pages/overview.py", ":material/home:", "overview")
# The tutorial's steps, in the order a learner takes them.
STEPS = (PageInfo("app_pages/tutorial.py", ":material/school:", "tutorial"),
         PageInfo("app_pages/explore.py", ":material/grid_view:", "explore"),
         PageInfo("app_pages/train.py", ":material/model_training:", "train"),
         PageInfo("app_pages/evaluate.py", ":material/fact_check:", "evaluate"),
         PageInfo("app_pages/predict.py", ":material/draw:", "predict"))
# A teacher's board: after the steps in the navigation, not one of the Overview's steps.
CLASS = PageInfo("app_pages/class_board.py", ":material/groups:", "class")
