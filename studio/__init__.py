"""The app's Streamlit side, by what a visitor does: session/, store/, predict/, train/, server/, and
the shared ui/ helpers (docs/architecture.md). Imports mnist_core, never a page; logic lives in
mnist_core."""
