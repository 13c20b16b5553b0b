"""What pages use of the session and the shared caches; each line says where it lives and why.

Shared per server process, read-only: MNIST (studio.session.dataset) and the bundled models (studio.session.bundled).
Per browser session: its models, the active one and its runs (studio.session.models), released by the
janitor when the session ends (studio.session.lifecycle). Nothing here imports TensorFlow.
"""

from studio.session.bundled import BUNDLED, DEFAULT_KEY                                    # noqa: F401
from studio.session.dataset import get_data, require_data, status as data_status           # noqa: F401
from studio.session.models import (MAX_MODELS, SessionModel, Studio, bundled_entries, bundled_entry,  # noqa: F401
                      choose_model_from_url, loaded, report, studio)
