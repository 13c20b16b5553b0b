"""`python -m bench.profiled_serve [streamlit options]`: the app's server with every thread under
cProfile, for bench/server_cpu.py. SIGUSR2 forgets what was recorded so far (the warm-up);
SIGUSR1 writes what was recorded since to $PROFILE_OUT (one pstats file for all threads)."""

from __future__ import annotations

import cProfile
import marshal
import os
import pstats
import signal
import threading
import time

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profile_this_thread(*_) -> None:
    """threading's profile hook: runs once at a thread's start and puts cProfile in its place."""
    profile = cProfile.Profile(time.thread_time)     # CPU time: a thread waiting costs nothing
    with _lock:
        _profiles.append(profile)
    profile.enable()


def _forget(*_) -> None:
    with _lock:
        for profile in _profiles:
            profile.clear()


def _write(*_) -> None:
    with _lock:
        profiles = list(_profiles)
    merged = None
    for number, profile in enumerate(profiles):
        profile.snapshot_stats()                # reads the counts without stopping the thread
        if not profile.stats:
            continue
        path = f"{os.environ['PROFILE_OUT']}.{number}"
        with open(path, "wb") as file:
            marshal.dump(profile.stats, file)
        merged = pstats.Stats(path) if merged is None else merged.add(path)
        os.remove(path)
    if merged is not None:
        merged.dump_stats(os.environ["PROFILE_OUT"])


if __name__ == "__main__":
    threading.setprofile(_profile_this_thread)
    signal.signal(signal.SIGUSR1, _write)
    signal.signal(signal.SIGUSR2, _forget)
    _profile_this_thread()          # the main thread: the server's event loop
    from studio.serve import main
    main()
