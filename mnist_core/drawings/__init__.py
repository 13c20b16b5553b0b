"""How people draw: the Predict page's canvas as code, real pen-drawn digits and letters of two
collections (pendigits, unipen) and the protocol that splits them (protocol), generated training
drawings and augmentation, the pen's trajectory (pen) with its reader (penreader), and a class's own
handwriting as data (classset). Imports only mnist_core's top-level steps (preprocess, data, predict)
and the store's bounds; no TensorFlow at import, no Streamlit."""
