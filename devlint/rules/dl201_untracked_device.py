"""DL201 (runtime only): a tensor off the expected device that no watched call made."""

from __future__ import annotations

from devlint.analysis import ModuleAnalysis
from devlint.rules.base import Rule, RuleContext


class UntrackedDevice(Rule):
    """
    ## What it does
    Reported only by a watched build (`devlint.runtime`, joined with `devlint check --runtime-evidence`):
    a parameter or buffer registered on a device other than the expected one (`meta` in a meta build), or
    an operand of an op that mixes devices, whose tensor no call the watch saw had made —
    `torch.from_numpy`, `torch.load`, the legacy `torch.Tensor(...)` constructor, a C/C++ extension, or a
    tensor made before the watch began. The finding sits where the state was registered (or the op ran).

    ## Why is this bad?
    Such state escapes `with torch.device("meta")`: it allocates real memory during a meta build, is not
    moved by `to_empty()`, and sits on the CPU beside weights that end up on an accelerator. Static
    analysis cannot see it: the device comes from data or another package, not from a device argument.

    ## Example
    ```python
    class Embedding(nn.Module):
        def __init__(self, table: np.ndarray):
            super().__init__()
            self.register_buffer("table", torch.from_numpy(table))  # CPU even under meta
    ```

    Use instead:
    ```python
            self.register_buffer("table", torch.empty(table.shape, dtype=torch.float32))
            # ...and copy the data in after materialising: module.table.copy_(torch.from_numpy(table))
    ```

    ## Fix safety
    No fix: where the data should come from is the author's call. Suppress a deliberate one with
    `# noqa: DL201` on the registering line.
    """

    code = "DL201"
    name = "untracked-off-device-tensor"
    summary = "Off-device module state or operand that no watched call made (runtime only)"
    runtime_only = True

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        """Never run statically: only `devlint.runtime` reports DL201."""
