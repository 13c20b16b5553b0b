"""The few colours Streamlit's theme options cannot set, at WCAG 2.1 AA contrast (4.5:1 for text), and
the layout rules it has no option for.

Captions are drawn in the text colour at 60 % opacity (#787693 on white: 4.36:1) and code blocks use
Prism's light colours (teal numbers 2.58:1, green strings 2.92:1, grey comments 3.56:1): each is
replaced by a darker shade of itself, checked by axe-core (tests/browser/test_accessibility.py).
The !important: Streamlit's own rules for these carry more specific (generated) selectors.
Inline code's colour is the theme's codeTextColor (.streamlit/config.toml).
"""

import streamlit as st

CSS = """<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #55527a !important; opacity: 1 !important; }
.token.comment, .token.prolog, .token.doctype, .token.cdata, .token.punctuation, .token.operator { color: #5c5f73 !important; }
.token.number, .token.boolean, .token.constant, .token.symbol, .token.property { color: #047165 !important; }
.token.string, .token.char, .token.attr-value, .token.builtin, .token.inserted { color: #0b6b2c !important; }
.token.keyword, .token.atrule, .token.important, .token.deleted, .token.tag { color: #b3261e !important; }
.token.function, .token.class-name, .token.selector, .token.regex, .token.variable { color: #0a5aa8 !important; }
/* A code block that scrolls sideways is a region a keyboard can't reach: long lines wrap instead. */
[data-testid="stCode"] pre, [data-testid="stCode"] code { white-space: pre-wrap !important; overflow-x: hidden !important; }
/* Less room above the title (Streamlit keeps 6rem; its header is 3.75rem): Predict's canvas and answer
   fit on a laptop's and a phone's first screen (tests/browser/test_first_screen.py). */
[data-testid="stMainBlockContainer"] { padding-top: 4rem !important; }
/* A page's sections are h2 (st.header: headings go down one level at a time after the page's h1),
   drawn at the size Streamlit gives its subheaders. */
[data-testid="stMain"] h2 { font-size: 1.75rem !important; }
/* Predict: room above the canvas for its own toolbar (it floats over the canvas' top edge), and a
   smaller title on a phone, so the canvas and the answer under it fit the first screen. */
.st-key-predict_tools { margin-bottom: 1.75rem; }
@media (max-width: 640px) { [data-testid="stMain"] h1 { font-size: 2.25rem !important; } }
/* Page links wrap instead of cutting their words (the Overview's step cards). */
[data-testid="stPageLink-NavLink"] span, [data-testid="stPageLink-NavLink"] p { white-space: normal !important; overflow: visible !important; line-height: 1.4; }
</style>"""


def apply() -> None:
    st.html(CSS)
