"""Training from the pages: starting and watching a run, what the benchmark measured for each
preset, the network forming epoch by epoch, uploads, and taking a run home (downloads, notebook).
Imports mnist_core, studio.session, studio.store and studio.ui."""
