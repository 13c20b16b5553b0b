"""How people draw: the Predict page's canvas as code, real pen-drawn digits, generated training
drawings and augmentation, and a class's own handwriting as data (classset). Imports only mnist_core's
top-level steps (preprocess, data) and the store's bounds; no TensorFlow at import, no Streamlit."""
