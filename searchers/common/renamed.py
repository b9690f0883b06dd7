"""Keyword arguments under an old or a foreign name, mapped to ours in one place.

A renamed knob keeps working for users who wrote the old name (with a ``FutureWarning``
that says what to write), and a name from another library (Ray's ``time_attr`` for our
``resource_attr``) can be accepted silently. Giving both names is an error, never a silent
choice. Modelled on Optuna's ``_convert_positional_args``/``_deprecated`` helpers.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_kwargs(
    deprecated: Mapping[str, str] | None = None, aliases: Mapping[str, str] | None = None
) -> Callable[[F], F]:
    """Decorate a function so that ``old=value`` reaches it as ``new=value``.

    Args:
        deprecated: old name -> new name; using the old name warns (``FutureWarning``).
        aliases: foreign name -> our name; accepted without a warning (drop-in use).
    """
    deprecated = dict(deprecated or {})
    aliases = dict(aliases or {})

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for table, warn in ((deprecated, True), (aliases, False)):
                for old, new in table.items():
                    if old not in kwargs:
                        continue
                    if new in kwargs:
                        raise TypeError(f"{func.__qualname__}: give {new!r} or {old!r}, not both")
                    if warn:
                        warnings.warn(
                            f"{func.__qualname__}: {old!r} is renamed {new!r}; write {new}=...",
                            FutureWarning,
                            stacklevel=2,
                        )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
