"""DL202 (runtime only, informational): an allocation off the expected device that went nowhere."""

from __future__ import annotations

from devlint.analysis import ModuleAnalysis
from devlint.rules.base import Rule, RuleContext


class StrayAllocation(Rule):
    """
    ## What it does
    Reported only by a watched build (`devlint.runtime`, joined with `devlint check --runtime-evidence`):
    a factory, `*_like`/`new_*` or move that put its result on a device other than the expected one, where
    the tensor then neither met a tensor on another device nor became module state. Informational: on a
    line where devlint's static rules already report a finding, it is that finding's evidence instead.

    ## Why is this bad?
    Nothing broke, but the build allocated real memory (on the CPU, or on a GPU during a meta build) where
    the caller asked for none. A scratch buffer that is meant to be there is fine; an accidental one costs
    memory and start-up time on every build, and breaks as soon as it is combined with the model's tensors.

    ## Example
    ```python
    class Sampler(nn.Module):
        def __init__(self, vocab: int):
            super().__init__()
            self.scratch = torch.empty(vocab, device="cuda")  # real GPU memory during a meta build
    ```

    Use instead:
    ```python
            self.scratch = torch.empty(vocab)  # follows the ambient device; allocate lazily if it must be real
    ```

    ## Fix safety
    No fix. Ignore the code (`--ignore DL202`) where stray allocations are expected, or suppress one with
    `# noqa: DL202` on the allocating line.
    """

    code = "DL202"
    name = "stray-off-device-allocation"
    summary = "Allocation off the expected device that never met another tensor nor became state (runtime only)"
    runtime_only = True

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        """Never run statically: only `devlint.runtime` reports DL202."""
