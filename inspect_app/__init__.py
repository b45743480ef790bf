"""Outlet inspection: checklists on phones, photo evidence, rectification, reports.

``create_app`` lives in ``inspect_app.app`` (the top layer); it is offered here too, loaded on first
use, so that importing a low module (``inspect_app.clock``) never loads every domain.
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":
        from inspect_app.app import create_app

        return create_app
    raise AttributeError(name)
