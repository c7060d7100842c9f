"""The demo: synthetic prediction logs and the month-long story ``modelhealth demo`` tells.

:mod:`.profiles` (healthy models and injected degradations), :mod:`.draw` (how a day
of rows is drawn), :mod:`.simulate` (tables and log files), :mod:`.bulk` (a fast
generator for benchmarks), :mod:`.story` (the demo month, run through the real
nightly job) and :mod:`.shipped` (the example register and demo logs, as package data).
"""

from modelhealth.demo.profiles import Degradation, ModelProfile, demo_profiles
from modelhealth.demo.shipped import ShippedData, shipped_data
from modelhealth.demo.simulate import late_labels, simulate_day, write_logs
from modelhealth.demo.story import DemoResult, run_demo

__all__ = [
    "Degradation",
    "DemoResult",
    "ModelProfile",
    "ShippedData",
    "demo_profiles",
    "late_labels",
    "run_demo",
    "shipped_data",
    "simulate_day",
    "write_logs",
]
