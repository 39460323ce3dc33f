"""Reading a Python file into text exactly as Python would, and writing text back the same way.

Python source is bytes with an encoding (a BOM or a PEP 263 coding line, else UTF-8). We decode once, lint
and edit the text, and encode with the same encoding (and BOM) so that bytes outside an edit never change.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import tokenize
from dataclasses import dataclass

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Files above this are reported, not linted: nobody hand-writes a module that large, and parsing it could
take minutes in a pre-commit hook."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceError(Exception):
    """The file cannot be turned into text; the message says why in words a user can act on."""


@dataclass(frozen=True)
class SourceText:
    """A file's text, with what is needed to write it back byte for byte: its codec and BOM."""

    text: str
    encoding: str
    has_bom: bool
    digest: str = ""  # sha256 of the bytes the text came from

    def encode(self, text: str) -> bytes:
        """Encode `text` the way this file was encoded (same codec, same BOM)."""
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.has_bom else data


def decode_source(data: bytes) -> SourceText:
    """Decode Python source bytes, honouring a BOM or a coding declaration (PEP 263)."""
    if b"\x00" in data:
        raise SourceError("binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        # detect_encoding also fails on undecodable bytes in the first two lines; say which it is.
        _decode_or_explain(data, "utf-8")
        raise SourceError(f"bad encoding declaration: {exc.msg}") from None
    has_bom = encoding == "utf-8-sig"
    body = data[len(codecs.BOM_UTF8) :] if has_bom else data
    codec = "utf-8" if has_bom else encoding
    text = _decode_or_explain(body, codec)
    return SourceText(text=text, encoding=codec, has_bom=has_bom, digest=hashlib.sha256(data).hexdigest())


def _decode_or_explain(body: bytes, codec: str) -> str:
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not valid {codec} (byte 0x{body[exc.start]:02x} at line {line}); "
            "save it as UTF-8 or add a coding declaration"
        ) from None
    except LookupError:
        raise SourceError(f"unknown encoding {codec!r} in coding declaration") from None


def read_source(path: str) -> SourceText:
    """Read and decode a file; every failure becomes a SourceError with a plain reason."""
    return decode_source(read_bytes(path))


def read_bytes(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, if it is no larger than `limit`; every failure becomes a SourceError."""
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise SourceError(f"file too large ({size / 2**20:.1f} MiB > {limit // 2**20} MiB); not checked")
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise SourceError("is a directory, not a file") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except FileNotFoundError:
        raise SourceError("no such file (a dangling symlink?)") from None
    except OSError as exc:
        raise SourceError(exc.strerror or str(exc)) from None


def line_starts(text: str) -> list[int]:
    """Offsets at which each line begins, counting line breaks as Python's tokenizer does."""
    starts = [0]
    starts.extend(match.end() for match in _LINE_BREAK.finditer(text))
    return starts
