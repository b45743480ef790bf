"""Guides people read (使用指南): the role guides of ``docs/`` served in the app, the help link of
every page, the first-login tour, and the administrators' system page."""
