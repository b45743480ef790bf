"""The indicator system (指标体系): one composite ranking of units from inspections, rectification,
complaints and imported operating data, by the tree in ``forms/indicators/``."""
