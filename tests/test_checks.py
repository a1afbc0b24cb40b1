import pytest
import torch

from gancourse.checks import check


def test_a_true_claim_passes_and_says_so(capsys, monkeypatch):
    monkeypatch.delenv("GANCOURSE_BUDGET", raising=False)
    check(torch.tensor(2.0) > 1, "two exceeds one")
    assert "check passed: two exceeds one" in capsys.readouterr().out


@pytest.mark.parametrize("budget", ["default", "full"])
def test_a_false_claim_fails_at_real_budgets(monkeypatch, budget):
    monkeypatch.setenv("GANCOURSE_BUDGET", budget)
    with pytest.raises(AssertionError, match="check failed: one exceeds two"):
        check(1 > 2, "one exceeds two")


def test_a_false_claim_is_only_reported_at_the_smoke_budget(capsys, monkeypatch):
    monkeypatch.setenv("GANCOURSE_BUDGET", "smoke")
    check(1 > 2, "one exceeds two")
    assert "NOT asserted" in capsys.readouterr().out
