"""How people draw: the Predict page's canvas as code, real pen-drawn digits and letters of two
collections (pendigits, unipen) and the protocol that splits them (protocol), generated training
drawings and augmentation, and the pen's trajectory (pen) with its reader (penreader). Imports only
mnist_core's top-level steps (preprocess, data, predict); no TensorFlow at import, no Streamlit."""
