"""devlint.runtime: watch a real build and confirm what the static rules say (`pip install devlint[runtime]`).

    from devlint.runtime import build_on_meta
    model, report = build_on_meta(Decoder, config)
    report.write("devlint-runtime.json")      # then: devlint check --runtime-evidence devlint-runtime.json

This package imports torch; `import devlint` and `devlint check` never import it.
"""

from devlint.runtime.report import Finding, Frame, RuntimeReport
from devlint.runtime.watch import WatchDevices, build_on_meta, watch_devices

__all__ = ["Finding", "Frame", "RuntimeReport", "WatchDevices", "build_on_meta", "watch_devices"]
