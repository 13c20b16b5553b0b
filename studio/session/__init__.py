"""A visitor's session and what it shares: the session's models and jobs, the bundled models and
MNIST (loaded once per server process), and the watcher that releases a session when it ends.
Imports mnist_core and studio.ui; never the pages."""
