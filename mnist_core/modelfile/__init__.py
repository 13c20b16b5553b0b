"""The model file's trust boundary: what an uploaded or stored `.keras` file may describe and what
it may cost, checked before Keras builds anything. Imports nothing from the rest of mnist_core
except the tutorial's own steps; no TensorFlow at import, no Streamlit."""
