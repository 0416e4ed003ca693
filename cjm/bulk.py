"""Building many small objects at once, such as the rows of a large log's aggregates.

Python's cycle collector runs every few hundred new objects, and each of its fuller passes
walks every object alive: while the 87,206 paths of a 10M-event log were fetched and turned
into rows, it took 0.6 s of the command's 13 s. Those rows hold no reference cycles, so
nothing is lost by pausing it while they are built; what was made stays for the next pass.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector within the block (reference counting still frees what is
    dropped); it is on again after, unless it was off before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
