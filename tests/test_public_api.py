"""The public surface: a flat, sorted façade and an error tree that is documented."""

from __future__ import annotations

import inspect

import closedloop
from closedloop import errors


def test_all_is_sorted_and_unique() -> None:
    assert list(closedloop.__all__) == sorted(set(closedloop.__all__))


def test_all_names_every_public_attribute() -> None:
    public = {
        name
        for name, value in vars(closedloop).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(closedloop.__all__)


def test_every_exported_name_has_a_docstring() -> None:
    undocumented = [
        name for name in closedloop.__all__ if not inspect.getdoc(getattr(closedloop, name))
    ]
    assert undocumented == []


def test_every_error_derives_from_the_root_and_is_drawn_in_the_tree() -> None:
    doc = errors.__doc__ or ""
    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    ]
    assert classes
    for cls in classes:
        assert issubclass(cls, closedloop.ClosedLoopError)
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the tree in errors.py"
        assert cls.__name__ in closedloop.__all__
