"""Check cells: the assertions that tie a chapter's text to what its code measured.

A chapter states a claim, a cell measures it, and a check cell asserts it::

    check(ns_grad_norm > 100 * sat_grad_norm,
          f"non-saturating gradient {ns_grad_norm:.3g} vs saturating {sat_grad_norm:.3g}")

At the default and full budgets a false claim raises ``AssertionError`` and
fails CI. At the ``smoke`` budget the numbers mean nothing (runs are a few
steps long), so the check only reports what it would have asserted.
"""

from __future__ import annotations

from gancourse.runtime import budget


def check(condition: object, message: str) -> None:
    """Assert ``condition`` with ``message`` (shown either way); skipped, but reported, at the smoke budget.

    ``condition`` may be a bool or a one-element tensor. Returns nothing, so a check
    that ends a cell prints only its message.
    """
    if bool(condition):
        print(f"check passed: {message}")
    elif budget() == "smoke":
        print(f"check NOT asserted at the smoke budget (it would fail): {message}")
    else:
        raise AssertionError(f"check failed: {message}")
