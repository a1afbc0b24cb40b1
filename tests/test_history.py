import pytest
import torch

from gancourse.training.history import History


def _record(history, n, shape=()):
    for step in range(n):
        history.record(step, **{k: torch.full(shape, float(step * 10 + i)) for i, k in enumerate(history.keys)})


def test_rows_come_back_in_order_across_flushes():
    history = History(("a", "b"), flush_every=3)
    _record(history, 7)  # two full buffers and one partial
    assert len(history) == 7
    torch.testing.assert_close(history["a"], torch.arange(7.0) * 10)
    torch.testing.assert_close(history["b"], torch.arange(7.0) * 10 + 1)
    torch.testing.assert_close(history["step"], torch.arange(7))


def test_stacked_seed_values_keep_their_seed_axis():
    history = History(("a",), flush_every=4)
    _record(history, 5, shape=(3,))
    assert history["a"].shape == (5, 3)
    torch.testing.assert_close(history["a"][:, 2], torch.arange(5.0) * 10)


def test_record_names_missing_and_unexpected_keys():
    history = History(("a", "b"))
    with pytest.raises(KeyError, match="missing \\['b'\\].*unexpected \\['c'\\]"):
        history.record(0, a=torch.tensor(1.0), c=torch.tensor(2.0))
    with pytest.raises(KeyError, match="no record 'zzz'"):
        history["zzz"]


def test_state_dict_round_trip_and_from_dict():
    history = History(("a", "b"), flush_every=2)
    _record(history, 3)
    restored = History(("x",))
    restored.load_state_dict(history.state_dict())
    _record(restored, 1)  # a resumed run keeps appending
    assert len(restored) == 4
    torch.testing.assert_close(restored["a"], torch.tensor([0.0, 10.0, 20.0, 0.0]))
    rebuilt = History.from_dict({"a": torch.arange(4.0), "b": torch.ones(4)})
    torch.testing.assert_close(rebuilt["step"], torch.arange(4))
    with pytest.raises(ValueError, match="equal lengths"):
        History.from_dict({"a": torch.arange(4.0), "b": torch.ones(3)})
