"""A production install needs no sandbox: the CLI runs ``check``, ``plan`` and the judge's statistics with moto, werkzeug,
flask, numpy and scipy refused at import, and ``rehearse`` / ``sandbox`` say how to install the extra (exit 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats as sps

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bbws" / "golive.yaml"
REFUSED = ("moto", "werkzeug", "flask", "numpy", "scipy")

# A Python that cannot import the sandbox's packages, as after `pip install golive` without extras.
HIDDEN = f"""
import importlib.abc, json, sys
REFUSED = {REFUSED!r}
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the test)", name=name)
        return None
sys.meta_path.insert(0, Refuse())
from golive.cli.main import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(REFUSED)) + sorted(
    m for m in sys.modules if m.startswith("golive.sandbox") or m.startswith("golive.rehearsal"))
sys.stderr.write("\\nLOADED " + json.dumps(loaded) + "\\n")
sys.exit(code)
"""


def golive_without_extras(*args: str, cwd: Path) -> tuple[int, str, str, list[str]]:
    proc = subprocess.run([sys.executable, "-c", HIDDEN, *args], check=False, capture_output=True, text=True, cwd=cwd,
                          timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "COLUMNS": "200"})
    err, _, loaded = proc.stderr.rpartition("\nLOADED ")
    return proc.returncode, proc.stdout, err, json.loads(loaded)


def test_check_and_plan_run_without_the_sandbox_packages(tmp_path: Path) -> None:
    code, out, err, loaded = golive_without_extras("check", "-f", str(EXAMPLE), cwd=tmp_path)
    assert code == 0, err
    assert "is valid" in out
    assert loaded == []
    code, out, err, loaded = golive_without_extras("plan", "--env", "prod", "-f", str(EXAMPLE), cwd=tmp_path)
    assert code == 0, err
    assert "canary" in out.lower()
    assert loaded == []


@pytest.mark.parametrize("argv", [["rehearse"], ["sandbox", "up", "--detach"], ["sandbox", "status"]])
def test_sandbox_commands_say_how_to_install_the_extra(tmp_path: Path, argv: list[str]) -> None:
    code, out, err, _ = golive_without_extras(*argv, "-f", str(EXAMPLE), cwd=tmp_path)
    assert code == 2
    assert err.strip().splitlines() == [
        f"golive: error: golive {argv[0]} needs the sandbox extra (moto, werkzeug, numpy not installed): "
        "pip install 'golive[sandbox]'"
    ]
    assert "Traceback" not in out + err


def test_the_judges_statistics_need_neither_numpy_nor_scipy(tmp_path: Path) -> None:
    script = HIDDEN.split("from golive.cli.main", maxsplit=1)[0] + (
        "from golive.analysis.stats import Stratum, rate_test, shift_test\n"
        "print(rate_test([Stratum(7, 600, 40, 5400), Stratum(3, 60, 10, 540)]).p_value)\n"
        "print(shift_test([5.0, 6.0, 7.5, 8.0], [4.0, 4.5, 4.8, 4.9]).p_value)\n"
        "assert not set(REFUSED) & {m.split('.')[0] for m in sys.modules}\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rate_p, shift_p = (float(v) for v in proc.stdout.split())
    # the same exact convolution through scipy, in this process: P(X1 + X2 >= 10), X1 ~ Bin(47, 0.1), X2 ~ Bin(13, 0.1)
    assert rate_p == pytest.approx(float(sps.binom.sf(9, 60, 0.1)), rel=1e-9)
    assert shift_p == pytest.approx(1 / 70)  # exact: the canary's 4 values all above the stable's 4
