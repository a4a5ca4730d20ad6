"""Atende domain library, shipped as the ``core`` Lambda layer.

One package per concern; handlers call use cases here, use cases call adapters
(``db``, ``aws``). Nothing in this package imports from ``functions/`` or ``bot/``.
"""

__version__ = "0.1.0"
