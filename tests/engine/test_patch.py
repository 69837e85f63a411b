"""JSON Patch between states: applying it gives the second state, for any pair of JSON values."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from astra_ls.projections.patch import apply_patch, json_patch

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, json_values)
def test_applying_the_patch_gives_the_second_state(before: Any, after: Any) -> None:
    result = apply_patch(before, json_patch(before, after))
    assert result == after
    assert json_patch(after, after) == []


def test_deep_states_need_no_recursion() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = {"a": deep}
    assert json_patch(deep, {"a": 2}) == [{"op": "replace", "path": "/a", "value": 2}]
