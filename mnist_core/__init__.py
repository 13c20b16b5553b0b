"""MNIST Studio's core: the Keras MNIST tutorial as a small, tested library.

One module per step of the tutorial: data -> preprocess -> models -> training -> evaluation ->
predict, plus storage for model files and jobs for training in the background. Importing this
package imports neither TensorFlow nor Streamlit; the modules that need TensorFlow import it.
"""

import os as _os

# Set before any module here imports TensorFlow: quiet C++ start-up logs, and Keras on TensorFlow.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
