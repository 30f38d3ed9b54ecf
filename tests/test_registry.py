import pytest

from search.registry import Registry, UnknownNameError


def test_unknown_name_lists_choices_and_suggests():
    reg: Registry[int] = Registry("loss")
    reg.register("focal", 1)
    reg.register("ce", 2)
    with pytest.raises(UnknownNameError) as err:
        reg.get("focall")
    message = str(err.value)
    assert "unknown loss 'focall'" in message
    assert "did you mean 'focal'" in message
    assert "focal, ce" in message


def test_duplicate_registration_is_refused():
    reg: Registry[int] = Registry("x")
    reg.register("a", 1)
    with pytest.raises(ValueError):
        reg.register("a", 2)
    assert reg.get("a") == 1 and reg.names() == ["a"]
