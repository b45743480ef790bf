"""Rectification (整改): notices, lines, answers with evidence, verification, escalation."""
