"""Runs that last, on the Streamlit side: who this browser is, its runs saved to and restored from
mnist_core.runstore, and the class board. Imports mnist_core, studio.session and studio.ui."""
