"""Shared UI helpers for every page: words in both languages (i18n and its catalogues), charts,
figures, style, URLs, the page list and the sidebar. Imports mnist_core only lazily; no TensorFlow."""
