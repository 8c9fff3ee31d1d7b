"""One domain operation, one unit of work in the store.

Every store call an operation makes joins one transaction: a sign-in step costs one durable commit
instead of one per call, and a crash leaves all of a step's writes or none of them. A refusal (a
domain error, a failed proof, a bad parameter: a wrong proof, a spent Session, a lockout) still
commits, because the bookkeeping done on the way (the failure counter, the consumed challenge id)
is what makes the refusal stick. Anything else (a store fault, a bug) rolls the whole operation
back. A unit that collided with another (a PostgreSQL deadlock) is run again from the start.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

from ..errors import AuthenticationError, InvalidParameterError
from ..store.contract import Store
from .errors import DomainError

__all__ = ["in_one_unit", "one_unit"]

P = ParamSpec("P")
_REFUSALS = (DomainError, AuthenticationError, InvalidParameterError)
R = TypeVar("R")


@dataclass(frozen=True)
class _Refused:
    error: Exception


def in_one_unit(store: Store, work: Callable[[], R]) -> R:
    """``work()`` inside one store transaction, committed on success and on a refusal; run again
    from the start if it collided with another unit (a PostgreSQL deadlock, see ``run_unit``)."""

    def settled() -> R | _Refused:
        try:
            return work()
        except _REFUSALS as exc:
            return _Refused(exc)  # returned, so that the unit commits

    outcome = store.run_unit(settled)
    if isinstance(outcome, _Refused):
        raise outcome.error
    return outcome


class _HasStore(Protocol):
    @property
    def rt(self) -> Any: ...


def one_unit(method: Callable[P, R]) -> Callable[P, R]:
    """Decorate a method of an object with ``rt.store``: the call is :func:`in_one_unit`."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        owner: _HasStore = args[0]  # type: ignore[assignment]
        return in_one_unit(owner.rt.store, lambda: method(*args, **kwargs))

    return run
