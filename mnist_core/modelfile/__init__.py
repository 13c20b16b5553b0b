"""The model file's trust boundary: what an uploaded or stored `.keras` file may name and set
(allow: classes, activations, each layer's settings), what it may cost (cost: the walk and budget)
and what its weights may declare (weights), all checked before Keras builds anything. Imports
nothing from the rest of mnist_core; no TensorFlow at import, no Streamlit."""
