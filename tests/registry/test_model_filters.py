"""registry.selectors.models.ModelFilters: the one definition of the model filters (parsing, validation,
size buckets). tests/web/test_filters_everywhere.py drives it through every surface."""

from __future__ import annotations

import pytest

from registry.models import LanguageModel
from registry.selectors.models import (
    FILTER_KEYS,
    SIZE_BUCKETS,
    FilterError,
    ModelFilters,
    model_filter,
    parameters_parse,
)


def test_parse_returns_typed_terms_and_drops_empty_values():
    filters = ModelFilters.parse(
        {"min_params": "1.5B", "commercial": "yes", "language": " ZH ", "weights": "", "unknown": "x"}
    )

    assert filters == ModelFilters(min_params=1_500_000_000, commercial=True, language="zh")
    assert filters.as_dict() == {"language": "zh", "commercial": True, "min_params": 1_500_000_000}
    assert filters and not ModelFilters.parse({"weights": "", "commercial": "false"})


@pytest.mark.parametrize(
    ("text", "count"),
    [("6738415616", 6_738_415_616), ("7b", 7 * 10**9), ("0.1B", 10**8), ("1.5 b", 15 * 10**8), ("135M", 135 * 10**6)],
)
def test_parameter_counts_are_read_exactly(text, count):
    assert parameters_parse(text) == count


@pytest.mark.parametrize("text", ["lots", "1.5", "-5", "1e9", "7BB", "2000T", "nan", "inf", ""])
def test_parameter_counts_that_are_not_counts_are_refused(text):
    with pytest.raises(ValueError):
        parameters_parse(text)


def test_an_error_names_every_bad_filter_and_the_first_in_form_order():
    with pytest.raises(FilterError) as caught:
        ModelFilters.parse({"size": "huge", "weights": "half-open", "min_params": "13B", "max_params": "7B"})

    assert set(caught.value.errors) == {"weights", "size", "max_params"}
    assert caught.value.field == "weights" and FILTER_KEYS.index("weights") < FILTER_KEYS.index("size")
    assert "not a valid choice" in caught.value.errors["weights"]


def test_parse_partial_keeps_the_good_values_beside_the_bad():
    filters, errors = ModelFilters.parse_partial({"weights": "open", "min_params": "lots"})

    assert filters == ModelFilters(weights="open")
    assert list(errors) == ["min_params"]


@pytest.mark.parametrize(
    ("parameters", "bucket"),
    [
        (134_515_008, "edge"),
        (3_499_999_999, "edge"),
        (3_500_000_000, "consumer"),
        (8_999_999_999, "consumer"),
        (9_000_000_000, "mid"),
        (69_999_999_999, "mid"),
        (70_000_000_000, "large"),
    ],
)
def test_every_size_is_in_exactly_one_bucket(parameters, bucket):
    def inside(key: str) -> bool:
        low, below = ModelFilters(size=key).parameter_bounds()
        return (low is None or parameters >= low) and (below is None or parameters < below)

    assert [key for key in SIZE_BUCKETS if inside(key)] == [bucket]


def test_a_bucket_and_a_parameter_range_intersect():
    assert ModelFilters(size="consumer", max_params=7 * 10**9).parameter_bounds() == (3_500_000_000, 7 * 10**9 + 1)
    assert ModelFilters(size="mid", min_params=20 * 10**9).parameter_bounds() == (20 * 10**9, 70 * 10**9)


def test_model_filter_takes_raw_values_and_refuses_bad_ones():
    qs = LanguageModel.objects.all()

    assert str(model_filter(qs, {"max_params": "7B"}).query) == str(ModelFilters(max_params=7 * 10**9).apply(qs).query)
    with pytest.raises(FilterError):
        model_filter(qs, {"max_params": "lots"})
