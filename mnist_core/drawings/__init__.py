"""How people draw: the Predict page's canvas as code, real pen-drawn digits, generated training
drawings and augmentation. Imports only mnist_core's top-level steps (preprocess, data); no
TensorFlow at import, no Streamlit."""
