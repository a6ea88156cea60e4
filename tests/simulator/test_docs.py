"""Shared parameter documentation: placeholders are filled, typos fail loudly."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from simulator._docs import DOCS, fill_doc


def test_fill_doc_inserts_entry_with_indentation():
    def f(seed):
        """Do it.

        Parameters
        ----------
        %(seed)s
        """
    fill_doc(f)
    assert "%(" not in f.__doc__
    first = DOCS["seed"].splitlines()[0]
    line = next(ln for ln in f.__doc__.splitlines() if ln.strip() == first)
    nxt = f.__doc__.splitlines()[f.__doc__.splitlines().index(line) + 1]
    assert len(nxt) - len(nxt.lstrip()) == len(line) - len(line.lstrip()) + 4


def test_unknown_placeholder_is_an_error():
    def g():
        """%(no_such_entry)s"""
    with pytest.raises(KeyError):
        fill_doc(g)


@pytest.mark.parametrize("package", ["simulator", "validation", "scenarios"])
def test_no_unfilled_placeholder_in_public_docstrings(package):
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if callable(obj) and getattr(obj, "__module__", None) == info.name \
                    and info.name != "simulator._docs":
                assert "%(" not in (inspect.getdoc(obj) or ""), f"{info.name}.{name}"
