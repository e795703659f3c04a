"""``[func(x) for x in items]`` on threads when the work is large enough, results in the order of ``items``.

The criteria (:mod:`..engine.screening`) and a table's column checks (:mod:`.validation`) are
independent pieces of Arrow and NumPy work, which release the GIL. On large inputs two threads
use both cores; on small ones each piece is a short pandas call that holds the GIL, and two
threads take turns at it, slower than one (session 34). Each caller passes whether its input is
large enough by its own measure (patients, rows). It lives in the contract, the lowest wing,
because both the contract's validation and the engine use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["MAX_THREADS", "in_order"]

T = TypeVar("T")
U = TypeVar("U")
MAX_THREADS = 4
"""At most this many threads, and no more than the machine has cores."""


def in_order(func: Callable[[T], U], items: Iterable[T], on_threads: bool) -> list[U]:
    """``[func(x) for x in items]``; on a thread pool when ``on_threads`` and there is more than one item.

    Parameters
    ----------
    func
        Work on one item, independent of the others.
    items
        The items, in the order the results are returned.
    on_threads
        Whether the input is large enough for threads to pay (the caller's own size switch).

    Returns
    -------
    list
        One result per item, in the order of ``items``, whatever the scheduling: the output
        does not depend on how the threads were run.
    """
    items = list(items)
    if not on_threads or len(items) < 2:
        return [func(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(MAX_THREADS, os.cpu_count() or 1)) as pool:
        return list(pool.map(func, items))
