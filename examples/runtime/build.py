"""Build the example decoder under meta, watched, and save the evidence for `devlint check`.

    python examples/runtime/build.py            # writes devlint-runtime.json
    devlint check examples/runtime/ --runtime-evidence devlint-runtime.json
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from decoder import Decoder  # noqa: E402

from devlint.runtime import build_on_meta  # noqa: E402

model, report = build_on_meta(Decoder, layers=2)
print(report.summary())
report.write("devlint-runtime.json")
print(f"meta parameters: {sum(p.is_meta for p in model.parameters())} of {sum(1 for _ in model.parameters())}; "
      "evidence written to devlint-runtime.json")
