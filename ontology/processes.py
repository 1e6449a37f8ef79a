"""Helper processes die with the process that started them: nothing is left behind by a crash or a kill.

foodtrace starts helper processes in two places: the EPCIS loader forks workers that derive a large
document (:mod:`loaders.epcis`), and ``foodtrace serve --workers N`` runs uvicorn worker processes (plus
``foodtrace public-cache warm --processes N``). When the parent is killed (SIGKILL, the OOM killer, a
crash) it cannot stop them; so each helper asks the kernel, as it starts, to kill it when its parent
goes (Linux ``prctl(PR_SET_PDEATHSIG)``). The request is tied to the *thread* that started the helper,
so helpers are started from a thread that lives at least as long as they do (the loading thread, the
supervisor's main thread). If the parent died before the request was made, the helper sees a new
parent and ends at once.

Elsewhere than Linux :func:`die_with_parent` does nothing and says so (returns False).

>>> die_with_parent(parent_pid=os.getppid()) in (True, False)
True
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["die_with_parent", "running", "PR_SET_PDEATHSIG"]

#: prctl option: the signal this process gets when its parent (thread) exits (linux/prctl.h)
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent exits; True when it will.

    ``parent_pid``: the parent's pid as the parent knew it; if this process already has another parent
    (the parent died before this call), it sends itself ``sig`` at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)
    return True


def running(pid: int) -> bool:
    """Whether a process ``pid`` runs (one of another user's counts: it cannot be signalled, but it is there).

    >>> running(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's
        pass
    return True
