"""Lazy package attributes (PEP 562): a name is imported from its module on first use.

``import vidmatte.errors`` (what the command line does first) must not pull in torch,
onnxruntime or PyAV through a package ``__init__``; so packages list their public names
here and nothing heavy is imported until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["attach"]


def attach(package: str, namespace: dict, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list]]:
    """``names`` maps each public name to the module (relative to ``package``) defining it;
    a module that does not define the name is itself the value (``{"metrics": "metrics"}``).

    Returns ``(__getattr__, __dir__)`` for the package; loaded names are cached in ``namespace``.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = importlib.import_module(f"{package}.{module}")
        if hasattr(value, name):  # a name the module defines; otherwise the name is the submodule
            value = getattr(value, name)
        namespace[name] = value
        return value

    def __dir__() -> list:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
