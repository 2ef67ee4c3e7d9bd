"""The README's Python examples and its command-line example run as
written (a stale example is a bug)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)
CLI_EXAMPLE = re.search(r"<!-- cli-example:begin -->\n```bash\n(.*?)```", TEXT, re.S)


def test_readme_has_examples():
    assert BLOCKS, "README.md has no ```python blocks"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})


def test_readme_command_line_example_runs(tmp_path):
    """The `descend` lines of the Command line section, in a copy of docs/,
    with the console script installed next to this Python."""
    assert CLI_EXAMPLE, "README.md has no cli-example block"
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    script = str(Path(sys.executable).with_name("descend"))
    commands = [line.split() for line in CLI_EXAMPLE.group(1).splitlines() if line.startswith("descend ")]
    assert [c[1] for c in commands] == ["fit", "predict"]
    outputs = []
    for words in commands:
        out = subprocess.run([script, *words[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout)
    assert all(name in outputs[0] for name in ("area", "rooms", "age", "(intercept)", "converged"))
    assert (tmp_path / "loss.png").stat().st_size > 0
    predictions = (tmp_path / "predictions.csv").read_text().splitlines()
    houses = (tmp_path / "docs" / "houses.csv").read_text().splitlines()
    assert predictions[0] == "price" and len(predictions) == len(houses)
