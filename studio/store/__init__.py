"""Runs that last, on the Streamlit side, one job a module: `opening` (the process's store, opened
off the page threads, retried, swept), `identity` (who this browser is: its cookie), `saving` (a
finished run written once), `restoring` (a learner's runs brought back), `note` (the sidebar's note),
`board` (the class board). Imports mnist_core, studio.session and studio.ui."""
