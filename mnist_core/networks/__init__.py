"""The networks and how each is trained: presets (the recipes), hyperparameters, optimizers, a
model described as a table, the equivalent Keras script, the device. Imported by models and
training; imports nothing above them. No Streamlit."""
