from devlint.cli import run

run()
