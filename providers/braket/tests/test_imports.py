"""Import weight: listing and checking Braket devices must not load the Braket SDK or boto3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHECK = """
import json, sys
from qorch.engine import registry
from qorch.contract.provider import TargetOptions
provider = registry.load("braket")
provider.device_names()
provider.check_device("ionq_forte1")
provider.check_device("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1")
options = TargetOptions(extra={"s3_bucket": "my-bucket", "region": "us-west-2"})
provider.check_options("sv1", options)
provider.check_options("local", TargetOptions(extra={"queue_delay_s": 1}))
provider.device("iqm_garnet")
provider.device_is_local("local")
heavy = ("braket", "boto3", "botocore", "qiskit_braket_provider", "qiskit")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


def test_provider_module_and_device_checks_import_no_sdk() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []


PLAN = """\
version: 1
kind: circuits
name: braket-imports
shots: 100
circuits:
  - name: ghz3
    generator: ghz
    qubits: 3
targets:
  - braket:local
  - target: braket:arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1
    options: {s3_bucket: my-results, verbatim: true}
  - target: braket:sv1
    options: {region: us-west-2}
"""


def test_cli_help_and_validate_import_no_sdk(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    for args in (["--help"], ["validate", str(plan)]):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "qorch", *args],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
        heavy = {name for name in imported if name.split(".")[0] in ("braket", "boto3", "botocore")}
        assert not heavy, (args, sorted(heavy)[:5])
