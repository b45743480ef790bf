"""Inspection plans (检查计划): visits made ahead of time by rule, their coverage, cross-inspection."""
