"""`python -m studio.serve [streamlit options]`: `streamlit run streamlit_app.py`, warming up at once.

Plain `streamlit run` executes the app's code only when the first visitor arrives, so the warm-up
(studio/server/warmup.py) would start then. This starts it with the server, in the same process, so its
caches are the ones the pages use. The container's entrypoint serves the app this way.
"""

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def main() -> None:
    from streamlit.web import cli

    from studio.server import warmup
    from studio.server.runtime import limit_heap_arenas
    warmup.settings_or_stop(at_launch=True)   # a bad setting stops here, before the server starts
    limit_heap_arenas()          # before TensorFlow starts its threads (see studio/server/runtime.py)
    warmup.start_once(at_launch=True)
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
