"""Listing and validating IBM targets does not import qiskit-ibm-runtime or qiskit-aer."""

from __future__ import annotations

import json
import subprocess
import sys


def test_provider_module_and_cheap_calls_do_not_import_the_sdk() -> None:
    script = """
import json, sys
import qorch_ibm, qorch_ibm.provider
from qorch.engine import registry
from qorch.contract.provider import TargetOptions
provider = registry.load("ibm")
names = provider.device_names()
provider.check_device("fake_brisbane")
provider.check_device("ibm_torino")
provider.check_options("fake_manila", TargetOptions(extra={"queue_delay_s": 1}))
provider.check_options("ibm_torino", TargetOptions(max_execution_time_s=60))
local = provider.device_is_local("fake_manila")
heavy = sorted(m for m in ("qiskit_ibm_runtime", "qiskit_aer") if m in sys.modules)
print(json.dumps({"heavy": heavy, "names": len(names), "local": local}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report == {"heavy": [], "names": report["names"], "local": True}
    assert report["names"] > 50
