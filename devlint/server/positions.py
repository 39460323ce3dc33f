"""devlint's positions (1-based rows, 1-based columns in characters) as LSP positions (0-based lines,
0-based columns in the code units the client and server agreed on: UTF-16 unless the client offered another).

A character outside the Basic Multilingual Plane (an emoji, a mathematical letter) is one character to
devlint and two UTF-16 code units (four UTF-8 bytes) to an editor; every column is converted through the text
of its own line. Lines break where Python's tokenizer breaks them (\\r\\n, \\r, \\n), which are also the
protocol's line breaks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from devlint.source import line_starts
from devlint.types import Location


class PositionEncoding(str, enum.Enum):
    """The protocol's position encodings (`PositionEncodingKind`)."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"

    @classmethod
    def of(cls, value: str | None) -> PositionEncoding:
        """The negotiated encoding; the protocol's default (UTF-16) when none was or it is unknown."""
        try:
            return cls(value) if value is not None else cls.UTF16
        except ValueError:
            return cls.UTF16

    def units(self, text: str) -> int:
        """How many code units `text` takes in this encoding."""
        if self is PositionEncoding.UTF32:
            return len(text)
        if self is PositionEncoding.UTF16:
            return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
        return len(text.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class ClientPosition:
    line: int  # 0-based
    character: int  # 0-based, in code units


class DocumentLines:
    """One document's text, split into lines once, for converting many positions."""

    def __init__(self, text: str, encoding: PositionEncoding = PositionEncoding.UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self._starts = line_starts(text)

    def _line(self, index: int) -> str:
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def position(self, location: Location) -> ClientPosition:
        """Where `location` is for the client. A column past the end of its line is the line's end; a row
        past the last line is the end of the document (devlint's edits may end at the start of the line
        after the last one)."""
        index = location.row - 1
        if index >= len(self._starts):
            last = len(self._starts) - 1
            return ClientPosition(last, self.encoding.units(self._line(last)))
        line = self._line(max(index, 0))
        return ClientPosition(max(index, 0), self.encoding.units(line[: max(location.column - 1, 0)]))

    def position_of_offset(self, offset: int) -> ClientPosition:
        """Where a character offset into the text is for the client."""
        low, high = 0, len(self._starts) - 1
        while low < high:  # the last line starting at or before `offset`
            middle = (low + high + 1) // 2
            if self._starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return ClientPosition(low, self.encoding.units(self.text[self._starts[low]: offset]))
