"""The house's layout (#27, docs/architecture.md): every arrow points down, the held-out hand is
walled off, the sizes stay readable, and the architecture page names what is there."""

import ast
import re

import pytest

from .conftest import ROOT

APP = ["streamlit_app.py", *(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py"))]


def modules(folder: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*.py")]


def absolute_imports(path: str) -> set[str]:
    """The top-level-rooted modules a file imports (relative imports stay inside their package)."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def reaches(path: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in absolute_imports(path)
                  if any(name == top or name.startswith(top + ".") for top in forbidden))


@pytest.mark.parametrize("path", modules("mnist_core"))
def test_the_library_imports_nothing_above_it(path):
    assert reaches(path, ("streamlit", "studio", "app_pages", "bench", "streamlit_app")) == []


@pytest.mark.parametrize("path", modules("studio"))
def test_studio_imports_no_page_and_no_bench(path):
    assert reaches(path, ("app_pages", "bench", "streamlit_app")) == []


@pytest.mark.parametrize("path", APP)
def test_the_pages_import_no_bench(path):
    assert reaches(path, ("bench",)) == []


def test_the_sizes_stay_readable():
    """Every module ≤ 450 lines, every page ≤ 200, the README ≤ 250 (the charter's limits)."""
    def lines(path):
        return len((ROOT / path).read_text(encoding="utf-8").splitlines())
    modules_ = [*modules("mnist_core"), *modules("studio"), *modules("bench"), *APP]
    assert {path: lines(path) for path in modules_ if lines(path) > 450} == {}
    assert {path: lines(path) for path in APP if lines(path) > 200} == {}
    assert lines("README.md") <= 250


def test_the_architecture_page_names_every_wing_and_only_what_exists():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for top in ("mnist_core", "studio", "bench"):
        for folder in (ROOT / top).iterdir():
            if (folder / "__init__.py").exists():
                assert f"{folder.name}/" in page, f"{top}/{folder.name}/ is not on docs/architecture.md"
    named = set(re.findall(r"\b((?:mnist_core|studio|bench|app_pages|tests)/[a-z0-9_/]+\.py)\b", page))
    assert named and [path for path in sorted(named) if not (ROOT / path).exists()] == []
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")
