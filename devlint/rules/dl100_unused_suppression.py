"""DL100: a suppression comment that suppresses nothing."""

from __future__ import annotations

from devlint.rules.base import FixAvailability, Invalid, Rule
from devlint.suppress import AppliedSuppressions, unused_directives
from devlint.types import Diagnostic


class UnusedSuppression(Rule):
    """
    ## What it does
    Checks for `# noqa: DL…` codes, `# devlint: ignore[...]` and `# devlint: file-ignore[...]` comments
    that suppress no finding. (A blanket `# noqa` is shared with other linters and is not judged.)

    ## Why is this bad?
    A stale suppression hides the next real finding on that line, and tells readers a problem exists
    where none does. Once the code is fixed, the comment should go too.

    ## Example
    ```python
    t = torch.arange(n, device=inv_freq.device)  # noqa: DL001
    ```

    Use instead:
    ```python
    t = torch.arange(n, device=inv_freq.device)
    ```

    ## Fix safety
    The fix removes the unused codes, or the whole comment when nothing else is in it. It is safe: the
    suppression had no effect.
    """

    code = "DL100"
    name = "unused-suppression"
    summary = "Suppression comment suppresses nothing"
    fix_availability = FixAvailability.ALWAYS

    VALID = (
        "import torch\n"
        "def f(inv_freq: torch.Tensor, n: int):\n"
        "    t = torch.arange(n, device='cuda')  # noqa: DL001\n"
        "    return torch.outer(t, inv_freq)\n",
        "x = 1  # noqa\n",  # blanket noqa: may be another linter's
        "x = 1  # noqa: E501\n",  # another linter's code
    )
    INVALID = (
        Invalid("x = 1  # noqa: DL001\n", "x = 1\n"),
        Invalid("import torch\n"
                "def f(inv_freq: torch.Tensor, n: int):\n"
                "    t = torch.arange(n, device='cuda')  # noqa: DL001, DL003\n"
                "    return torch.outer(t, inv_freq)\n",
                "import torch\n"
                "def f(inv_freq: torch.Tensor, n: int):\n"
                "    t = torch.arange(n, device='cuda')  # noqa: DL001\n"
                "    return torch.outer(t, inv_freq)\n"),
        Invalid("# devlint: file-ignore[DL003]\nx = 1\n", "x = 1\n"),
    )

    def after_suppressions(self, suppressions: AppliedSuppressions) -> list[Diagnostic]:
        """Only once the other rules' findings were suppressed is it known which suppressions were used."""
        return unused_directives(suppressions.directives, suppressions.enabled, suppressions.text,
                                 suppressions.path, self.code)
