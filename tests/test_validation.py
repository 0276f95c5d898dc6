import numpy as np
import pytest
import torch

from mi_probe._validation import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_random_state,
    check_xy,
    encode_rows,
)


def test_1d_becomes_column_and_tensor_accepted():
    assert check_array(np.arange(5.0)).shape == (5, 1)
    out = check_array(torch.arange(6.0).reshape(3, 2))
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    t = check_array(torch.arange(4), native=True)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (4, 1)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([1.0, np.nan, 2.0]), "x contains NaN"),
        (np.array([1.0, np.inf, 2.0]), "x contains inf"),
        (np.zeros((0, 2)), "x is empty"),
        (np.zeros((3, 2, 2)), "x must be 1-D .* got 3-D"),
        (np.array(["a", "b", "c"]), "x has dtype <U1; expected a numeric array"),
        (np.array([1 + 1j, 2, 3]), "x has a complex dtype"),
        (np.array([object(), object()]), "x has dtype object"),
        ("abc", "x must be an array of numbers, got a string"),
    ],
)
def test_bad_arrays(bad, match):
    with pytest.raises(ValueError, match=match):
        check_array(bad, "x")


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.tensor([1.0, float("nan")]), "x contains NaN"),
        (torch.tensor([1.0, float("inf")]), "x contains inf"),
        (torch.zeros(2, 2, 2), "x must be 1-D .* got 3-D"),
        (torch.zeros(0), "x is empty"),
        (torch.tensor([1 + 1j, 2j]), "x has a complex dtype"),
    ],
)
def test_bad_tensors_native(bad, match):
    with pytest.raises(ValueError, match=match):
        check_array(bad, "x", native=True)


def test_bad_complex_tensor_to_numpy():
    with pytest.raises(ValueError, match="x has a complex dtype"):
        check_array(torch.tensor([1 + 1j, 2j]), "x")


def test_too_few_samples():
    with pytest.raises(ValueError, match="x has 1 samples; at least 2 samples are needed"):
        check_array([1.0], "x", min_samples=2)


def test_ragged_input():
    with pytest.raises(ValueError, match="x could not be read as an array"):
        check_array([[1.0, 2.0], [3.0]], "x")


def test_xy_length_mismatch():
    with pytest.raises(
        ValueError, match="x and y must have the same number of samples, got 100 and 99"
    ):
        check_xy(np.zeros(100), np.zeros(99))


def test_labels():
    assert check_labels([0, 1, 1]).dtype == np.int64
    assert check_labels(np.array([0.0, 2.0])).tolist() == [[0], [2]]
    with pytest.raises(ValueError, match="y must hold integer-coded discrete values"):
        check_labels([0.5, 1.0])
    with pytest.raises(ValueError, match="y contains NaN"):
        check_labels([0.0, np.nan])
    with pytest.raises(ValueError, match="y contains inf"):
        check_labels([0.0, np.inf])
    with pytest.raises(ValueError, match="y is empty"):
        check_labels([])


def test_encode_rows_hashes_many_columns():
    codes = np.random.default_rng(0).integers(0, 2, size=(1000, 64))
    sym, k = encode_rows(codes)
    assert sym.shape == (1000,) and k == len({tuple(r) for r in codes})
    sym2, _ = encode_rows(np.vstack([codes[:1], codes[:1]]))
    assert sym2[0] == sym2[1]


def test_scalar_checks():
    assert check_int(3, "n_neighbors", low=1) == 3
    with pytest.raises(ValueError, match="n_neighbors must be an integer, got 2.5"):
        check_int(2.5, "n_neighbors")
    with pytest.raises(ValueError, match="n_neighbors must be an integer, got True"):
        check_int(True, "n_neighbors")
    with pytest.raises(ValueError, match="n_neighbors must be >= 1, got 0"):
        check_int(0, "n_neighbors", low=1)
    with pytest.raises(ValueError, match="n_bins must be <= 10, got 11"):
        check_int(11, "n_bins", high=10)
    assert check_positive(0.0, "jitter", allow_zero=True) == 0.0
    with pytest.raises(ValueError, match="bandwidth must be > 0, got -1.0"):
        check_positive(-1.0, "bandwidth")
    with pytest.raises(ValueError, match="bandwidth must be finite"):
        check_positive(float("nan"), "bandwidth")
    with pytest.raises(ValueError, match="bandwidth must be a number"):
        check_positive("wide", "bandwidth")
    with pytest.raises(ValueError, match="metric must be one of 'max', 'l2'; got 'l1'"):
        check_choice("l1", "metric", ("max", "l2"))


def test_random_state():
    a = check_random_state(3).standard_normal(3)
    b = check_random_state(3).standard_normal(3)
    assert np.array_equal(a, b)
    assert isinstance(check_random_state(np.random.RandomState(0)), np.random.Generator)
    with pytest.raises(ValueError, match="random_state must be a non-negative integer"):
        check_random_state(-1)
    with pytest.raises(ValueError, match="random_state must be None, an int or a numpy Generator"):
        check_random_state("seed")


def test_tie_fraction():
    from mi_probe._validation import tie_fraction

    assert tie_fraction(np.arange(10.0).reshape(-1, 1)) == 0.0
    assert tie_fraction(np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 3.0], [0.0, 0.0]])) == 0.25


def test_check_choice_booleans_match_only_booleans() -> None:
    from mi_probe._validation import check_choice

    opts = ("auto", True, False)
    assert check_choice(True, "flag", opts) is True
    assert check_choice(np.bool_(False), "flag", opts) is False
    assert check_choice("auto", "flag", opts) == "auto"
    for bad in (1, 0, 1.0, "yes", np.int64(1)):
        with pytest.raises(ValueError, match="flag must be one of"):
            check_choice(bad, "flag", opts)
    # and the reverse: True is not the option 1
    assert check_choice(2, "algorithm", (1, 2)) == 2
    with pytest.raises(ValueError, match="algorithm must be one of"):
        check_choice(True, "algorithm", (1, 2))
    with pytest.raises(ValueError, match="must be one of"):
        check_choice(np.array([1, 2]), "algorithm", (1, 2))
