"""`devlint server`: the language server (an editor's diagnostics, quick fixes and fix-all over stdio).

The protocol library (pygls, with lsprotocol) is the optional `devlint[server]` extra and is imported only by
`devlint.server.lsp`; this package and `devlint.server.positions` import nothing beyond the standard library
and devlint itself, so `import devlint` stays fast and the server's absence is one clear line.
"""

SERVER_PACKAGES = frozenset({"pygls", "lsprotocol", "cattrs", "attrs"})
"""Top-level modules of the `server` extra: an import error naming one of them means the extra is missing."""

INSTALL_HINT = "`devlint server` needs the server extra: pip install 'devlint[server]'"
