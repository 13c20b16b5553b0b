"""The server process: warm-up at launch and a heap that gives memory back. Imports mnist_core,
studio.session and studio.predict; never the pages."""
