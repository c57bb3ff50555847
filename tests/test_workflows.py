"""The GitHub workflows: offline checks with no finding, and the promises docs/ci-runner.md makes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from cfgbench.compare import parse_threshold

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BENCH = WORKFLOWS / "bench-bare-metal.yml"
TESTS = WORKFLOWS / "tests.yml"
CHECK = ROOT / "scripts" / "check-workflows.sh"
RUNNER_DOC = ROOT / "docs" / "ci-runner.md"
DOC_WORKSPACE = "/home/ci-bench/actions-runner/_work/cfgbench/cfgbench"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text())  # YAML 1.2: `on` stays a string


def all_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(CHECK), *map(str, paths)], capture_output=True, text=True, check=False)


# ----------------------------------------------------------------------------- the offline checkers


def test_every_workflow_passes_both_checks_with_no_findings() -> None:
    done = run_check()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ok -- validation done" in output
    assert "No findings to report" in output


def test_the_checks_catch_a_dangerous_workflow(tmp_path: Path) -> None:
    # Guards against a checker that passes everything: a fork-reachable root job must fail.
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request_target\n"
        "permissions: write-all\n"
        "jobs:\n"
        "  bench:\n"
        "    runs-on: [self-hosted, bare-metal]\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "        with:\n"
        "          ref: ${{ github.event.pull_request.head.sha }}\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n"
    )
    done = run_check(bad)
    assert done.returncode != 0
    for audit in ("dangerous-triggers", "unpinned-uses", "template-injection", "excessive-permissions"):
        assert audit in done.stdout + done.stderr


def test_the_schema_check_catches_a_malformed_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    steps: []\n")  # no runs-on
    assert run_check(bad).returncode != 0


# ----------------------------------------------------------------------------- the bare-metal workflow


def test_bench_never_runs_for_pull_requests() -> None:
    triggers = load(BENCH)["on"]
    assert set(triggers) == {"push", "schedule", "workflow_dispatch"}
    assert triggers["push"] == {"branches": ["main"]}


def test_bench_runs_on_the_documented_labels() -> None:
    job = load(BENCH)["jobs"]["bench"]
    assert job["runs-on"] == ["self-hosted", "linux", "x64", "bare-metal"]
    assert "runs-on: [self-hosted, linux, x64, bare-metal]" in RUNNER_DOC.read_text()


def test_bench_is_least_privilege_and_serialised() -> None:
    workflow = load(BENCH)
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert workflow["concurrency"] == {"group": "bench-bare-metal", "cancel-in-progress": False}


@pytest.mark.parametrize("path", [BENCH, TESTS], ids=lambda p: p.name)
def test_actions_are_pinned_and_checkout_keeps_no_credentials(path: Path) -> None:
    for step in all_steps(load(path)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def bench_step(name_part: str) -> dict[str, Any]:
    return next(step for step in all_steps(load(BENCH)) if name_part in step.get("name", ""))


def test_bench_gate_and_outputs() -> None:
    job = load(BENCH)["jobs"]["bench"]
    parse_threshold(job["env"]["FAIL_IF"])  # a valid --fail-if rule
    compare = bench_step("Compare")["run"]
    assert '--fail-if "$FAIL_IF"' in compare and '>> "$GITHUB_STEP_SUMMARY"' in compare
    assert "--format markdown" in compare
    upload = bench_step("Upload")
    assert upload["if"] == "${{ !cancelled() }}"
    assert "ci-results/*.json" in upload["with"]["path"] and "ci-results/*.png" in upload["with"]["path"]


def sudo_command_in_workflow() -> str:
    line = next(line.strip() for line in bench_step("as root")["run"].splitlines() if line.strip().startswith("sudo "))
    command = line.removeprefix("sudo -n ").replace('"', "").replace("$GITHUB_WORKSPACE", DOC_WORKSPACE)
    return " ".join(command.split())


def sudoers_block() -> str:
    match = re.search(r"```sudoers\n(.*?)```", RUNNER_DOC.read_text(), re.S)
    assert match, "docs/ci-runner.md has no sudoers block"
    return match.group(1)


def test_sudoers_entry_allows_exactly_the_workflow_command() -> None:
    alias = re.search(r"^Cmnd_Alias CFGBENCH_CI = (.*)$", sudoers_block(), re.M)
    assert alias, "no Cmnd_Alias CFGBENCH_CI in the sudoers block"
    assert alias.group(1) == sudo_command_in_workflow()
    assert "*" not in alias.group(1)  # no wildcard: nothing but this exact command


@pytest.mark.skipif(shutil.which("visudo") is None, reason="visudo (package sudo) is not installed")
def test_sudoers_block_parses(tmp_path: Path) -> None:
    sudoers = tmp_path / "cfgbench-ci"
    sudoers.write_text(sudoers_block())
    done = subprocess.run(["visudo", "-cf", str(sudoers)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# ----------------------------------------------------------------------------- the hosted workflow


def test_tests_workflow_stays_on_hosted_runners() -> None:
    workflow = load(TESTS)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert "self-hosted" not in str(job["runs-on"])
    assert any(step.get("run") == "bash .ci/run" for step in all_steps(workflow))
