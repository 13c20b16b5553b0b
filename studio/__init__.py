"""The app's Streamlit-side helpers: session state, charts, URLs, sidebar. Logic lives in mnist_core."""
