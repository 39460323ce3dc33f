"""The record of a device expression that names the platform device (what the resolver answers with)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst


@dataclass(frozen=True)
class PlatformDevice:
    """A device expression that names the platform device.

    `origin` is the platform expression itself (`current_platform.device_type`, `"cuda"`); when the use site
    reads it through a name (`device`, `self.device`, `DEVICE`), `alias` is that name and `alias_node` the
    statement that set it, so a message can say where. `note` says, for a name or helper of another module
    (or one the analysis did not read), why it is the platform device.
    """

    origin: cst.BaseExpression
    alias: str | None = None
    alias_node: cst.CSTNode | None = None
    conditional: bool = False  # chosen by a conditional expression: another branch may be the intended one
    note: str | None = None
