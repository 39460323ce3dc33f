"""devlint: a static linter for tensors placed on the platform's device instead of their sibling's.

Importing this package is cheap on purpose: it loads no LibCST, no torch and none of the checked code.
Use `devlint.api` to lint from Python.
"""

__version__ = "0.1.0"
