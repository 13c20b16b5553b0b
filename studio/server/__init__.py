"""The server process: TensorFlow imported by one thread, warm-up and the store opened at launch, and
a heap that gives memory back. Imports mnist_core, studio.session, studio.predict and studio.store;
never the pages."""
