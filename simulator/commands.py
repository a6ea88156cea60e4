"""Implementations of the ``mnpool`` subcommands (registered into :mod:`simulator.cli`)."""

from __future__ import annotations
