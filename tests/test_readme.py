"""The README's fenced commands and code blocks run as written (at tiny sizes), so the docs cannot rot.

Every ``bash`` line and every ``python`` block is either run, in order, in one scratch directory (so later commands
see what earlier ones wrote, as a reader's shell would), or listed in :data:`NOT_RUN` with the reason. Sizes are cut
by :func:`tiny`; nothing else about a command changes. ``text`` blocks are sample output and are not run.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"

# commands that are deliberately not run here, by their start, with the reason
NOT_RUN = {
    "make test": "it runs this test suite (.ci/run runs exactly it)",
    "pytest": "it runs this test suite",
    "python -m venv": "long-form environment set-up; make train and tests/test_wheel_install.py cover installation",
    "pip install": "installs packages; make train and tests/test_wheel_install.py cover installation",
}


def readme_blocks(text: str) -> List[Tuple[str, str]]:
    """``(language, body)`` of every fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def bash_commands(body: str) -> List[str]:
    """The commands of a bash block: continuation lines joined, blank lines and whole-line comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def not_run_reason(command: str) -> str:
    return next((why for start, why in NOT_RUN.items() if command == start or command.startswith(start + " ")), "")


def tiny(command: str) -> str:
    """The same command at test size: fewer epochs and rows; real-data paths made absolute."""
    command = re.sub(r"\s+#\s.*$", "", command)  # a trailing comment (the README's explanations)
    if "--model-type all" in command:
        command = re.sub(r"--epochs \d+", "--epochs 1", command)
        command = re.sub(r"--num-samples \d+", "--num-samples 200", command)
    command = re.sub(r"--epochs (\d+)", lambda m: f"--epochs {min(int(m.group(1)), 10)}", command)
    command = re.sub(r"--num-samples (\d+)", lambda m: f"--num-samples {min(int(m.group(1)), 1000)}", command)
    command = re.sub(r"--trainer\.max_epochs \d+", "--trainer.max_epochs 1", command)
    if command.startswith("make train"):
        command = command.replace("make train", f"make -f {ROOT / 'Makefile'} train", 1)
        command += " TRAIN_ARGS='--epochs 1 --num-samples 200'"
    if "../shared/" in command:
        command = command.replace("../shared/", f"{SHARED}/")
        if "--epochs" not in command:
            command += " --epochs 1 --num-samples 500"
    if re.match(r"nethical (fit|validate|test|predict) --config", command):
        command += " --data.init_args.num_samples 1000"
    if command.startswith("tensorboard "):
        command += " --inspect"  # prints the runs it finds instead of serving them
    return command


def _shims(bin_dir: Path) -> None:
    """Console scripts that run this checkout's code with this interpreter (not whatever else is on PATH)."""
    bin_dir.mkdir()
    for name, target in {"nethical-train": "-m nethical.cli.classic", "nethical": "-m nethical.cli",
                         "python": "", "tensorboard": "-m tensorboard.main"}.items():
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" {target} "$@"\n')
        script.chmod(0o755)


def test_every_readme_block_is_run_or_has_a_reason():
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert [lang for lang, _ in blocks if lang not in ("bash", "python", "text")] == []
    for lang, body in blocks:
        if lang == "python":
            ast.parse(body)  # a SyntaxError here is a README that cannot be pasted
    skipped = {c for lang, body in blocks if lang == "bash" for c in bash_commands(body) if not_run_reason(c)}
    # each reason is used (no stale entries) and only for what it names
    assert {next(s for s in NOT_RUN if c == s or c.startswith(s + " ")) for c in skipped} == set(NOT_RUN)


@pytest.mark.slow
def test_readme_commands_and_code_run(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    for name in ("configs", "training", "examples"):  # the README's relative paths, as in a clone
        (work / name).symlink_to(ROOT / name)
    _shims(tmp_path / "bin")
    home = tmp_path / "home"  # the README writes e.g. ~/.nethical/audit-state.json: a user's own state, not ours
    home.mkdir()
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "HOME": str(home)}
    env.pop("NETHICAL_RUN_ID", None)
    ran, failures = [], []
    for lang, body in readme_blocks(README.read_text(encoding="utf-8")):
        if lang == "python":
            proc = subprocess.run([sys.executable, "-c", body], cwd=work, env=env, capture_output=True, text=True, timeout=600)
            ran.append("python block")
            if proc.returncode != 0:
                failures.append(f"python block -> {proc.returncode}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
            continue
        if lang != "bash":
            continue
        for command in bash_commands(body):
            if not_run_reason(command):
                continue
            if "../shared/" in command and not SHARED.joinpath(*_shared_parts(command)).exists():
                continue  # the real datasets are not beside this checkout
            run = tiny(command)
            if run in ran:
                continue  # the same command shown twice (the long form and Run): once is enough
            proc = subprocess.run(["bash", "-c", run], cwd=work, env=env, capture_output=True, text=True, timeout=900)
            ran.append(run)
            if proc.returncode != 0 or "Traceback" in proc.stderr:
                failures.append(f"{run} -> {proc.returncode}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    assert not failures, "\n\n".join(failures)
    assert any("--model-type all" in c for c in ran) and "python block" in ran
    # what the documented commands promise, checked once
    assert (work / "rows.csv").is_file() and list((work / "predictions" / "logistic").glob("*.jsonl"))
    assert (work / "training_audit_logs" / "training_summary.json").is_file()


def _shared_parts(command: str) -> List[str]:
    path = next(t for t in shlex.split(command) if "../shared/" in t)
    return path.split("../shared/", 1)[1].split("/")
