"""MNIST Studio: the Keras MNIST tutorial, one page per step."""

import streamlit as st

st.set_page_config(page_title="MNIST Studio", page_icon="✍️", layout="wide")
st.title("MNIST Studio")
st.write("The app is being built; the library behind it is `mnist_core`.")
