"""The GitHub workflows: offline checks with no finding, and the promises docs/ci-runner.md makes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from cfgbench.ci.timing import SETTINGS
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


# ----------------------------------------------------------------------------- no fork code on our machines

FORK_TRIGGERS = {"pull_request", "pull_request_target"}


def triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


def self_hosted(job: dict[str, Any]) -> bool:
    return "self-hosted" in str(job.get("runs-on", ""))


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_no_fork_code_ever_reaches_a_self_hosted_runner(path: Path) -> None:
    workflow = load(path)
    assert "pull_request_target" not in triggers(workflow)  # runs fork code with our token, anywhere
    if any(self_hosted(job) for job in workflow["jobs"].values()):
        assert not triggers(workflow) & FORK_TRIGGERS, f"{path.name} runs on self-hosted runners"


def test_bench_runs_only_on_pushes_to_main_the_schedule_and_by_hand() -> None:
    on = load(BENCH)["on"]
    assert set(on) == {"push", "schedule", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}


# ----------------------------------------------------------------------------- the bench workflow


def bench_job() -> dict[str, Any]:
    return load(BENCH)["jobs"]["bench"]


def documented_labels() -> list[str]:
    """The first column of the label table in docs/ci-runner.md."""
    return re.findall(r"^\| `([\w.-]+)` \| ", RUNNER_DOC.read_text(), re.M)


def test_bench_runs_once_per_documented_runner_on_its_own_label() -> None:
    job = bench_job()
    labels = [entry["runner"] for entry in job["strategy"]["matrix"]["include"]]
    assert labels == documented_labels() == ["bare-metal-1", "bare-metal-2", "vm-kvm-1", "vm-kernel-only-1"]
    assert job["strategy"]["fail-fast"] is False
    assert job["runs-on"] == ["self-hosted", "linux", "x64", "${{ matrix.runner }}"]
    text = RUNNER_DOC.read_text()
    assert 'runs-on: [self-hosted, linux, x64, "${{ matrix.runner }}"]' in text
    assert "--labels bare-metal-1" in text


def test_bench_is_least_privilege_and_serialised() -> None:
    workflow = load(BENCH)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"] == {"group": "bench-bare-metal", "cancel-in-progress": False}
    for name, job in workflow["jobs"].items():
        if self_hosted(job):
            assert "permissions" not in job, name  # the read-only default
    fleet = workflow["jobs"]["fleet"]
    assert not self_hosted(fleet) and fleet["permissions"] == {"contents": "write"}


@pytest.mark.parametrize("path", [BENCH, TESTS], ids=lambda p: p.name)
def test_actions_are_pinned_and_checkouts_keep_no_credentials(path: Path) -> None:
    workflow = load(path)
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                # The one exception: the hosted fleet job pushes the history branch.
                history = step["with"].get("ref") == "bench-history" and not self_hosted(job)
                assert step["with"]["persist-credentials"] is (True if history else False), step


def bench_step(name_part: str) -> dict[str, Any]:
    return next(step for step in bench_job()["steps"] if name_part in step.get("name", ""))


def test_bench_steps_only_call_commands() -> None:
    """The job's logic lives in cfgbench (tested); the YAML is install, info, run, gate, plot, upload."""
    steps = bench_job()["steps"]
    assert [s.get("uses", "").split("@")[0] or s["run"].split()[0] for s in steps] == [
        "actions/checkout", "bash", ".venv/bin/cfgbench", "rm", ".venv/bin/cfgbench", "shopt",
        "actions/upload-artifact"]
    assert bench_step("Install")["run"] == "bash scripts/ci-install.sh"
    for step in steps:
        script = step.get("run", "")
        assert len(script.splitlines()) <= 3, step["name"]
        assert not re.search(r"^\s*(for|if|while|until|case)\b|&&|\|\|", script, re.M), step["name"]  # no decisions
        assert "cfgbench compare" not in script, step["name"]


def test_bench_gate_and_outputs() -> None:
    job = bench_job()
    parse_threshold(job["env"]["FAIL_IF"])  # a valid --fail-if rule
    assert job["env"]["BASELINE_DIR"] == "results/ci-baseline/${{ matrix.runner }}"
    gate = bench_step("Gate")["run"]
    assert gate.startswith(".venv/bin/cfgbench ci gate --results ci-results --baseline \"$BASELINE_DIR\"")
    for option in ('--fail-if "$FAIL_IF"', '--summary "$GITHUB_STEP_SUMMARY"', '--artifact "cfgbench-$RUNNER_LABEL"'):
        assert option in gate
    for name in ("Plot", "Upload"):
        assert bench_step(name)["if"] == "${{ !cancelled() }}"  # also after a regression
    upload = bench_step("Upload")["with"]
    assert upload["name"] == "cfgbench-${{ matrix.runner }}"
    assert "ci-results/*.json" in upload["path"] and "ci-results/*.png" in upload["path"]


def test_fleet_job_collects_every_runner() -> None:
    fleet = load(BENCH)["jobs"]["fleet"]
    assert fleet["needs"] == "bench" and fleet["if"] == "${{ !cancelled() }}"
    steps = fleet["steps"]
    download = next(s for s in steps if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "cfgbench-*", "path": "runs"}
    command = next(s["run"] for s in steps if s.get("name") == "Fleet table and history")
    assert command.startswith(".venv/bin/cfgbench ci fleet --runs runs --history history/runs")


def sudo_commands_in_workflow(methods: str) -> list[str]:
    """The root step's command as sudo sees it on a runner of these methods (the matrix's), once per named
    setting, the workspace as documented."""
    line = next(line.strip() for line in bench_step("as root")["run"].splitlines() if line.strip().startswith("sudo "))
    assert "${CFGBENCH_CI_SETTINGS:-default}" in line and line.endswith(" $CI_METHODS")
    assert bench_job()["env"]["CI_METHODS"] == "${{ matrix.methods }}"
    commands = []
    for settings in SETTINGS:
        command = (line.removeprefix("sudo -n ").replace("${CFGBENCH_CI_SETTINGS:-default}", settings)
                   .replace("$CI_METHODS", methods).replace('"', "").replace("$GITHUB_WORKSPACE", DOC_WORKSPACE))
        commands.append(" ".join(command.split()))
    return commands


def sudoers_block(which: int = 0) -> str:
    """The docs' sudoers blocks: the first for runners of every method, the second for kernel-only ones."""
    blocks = re.findall(r"```sudoers\n(.*?)```", RUNNER_DOC.read_text(), re.S)
    assert len(blocks) == 2, "docs/ci-runner.md has not the two sudoers blocks"
    return blocks[which]


def sudoers_alias_commands(which: int, alias: str) -> list[str]:
    joined = sudoers_block(which).replace("\\\n", " ")  # sudoers continues a line after a backslash
    found = re.search(rf"^Cmnd_Alias {alias} = (.*)$", joined, re.M)
    assert found, f"no Cmnd_Alias {alias} in the sudoers block"
    return [" ".join(command.split()) for command in found.group(1).split(",")]


@pytest.mark.parametrize(("which", "alias", "methods"), [(0, "CFGBENCH_CI", ""), (1, "CFGBENCH_CI_KERNEL", "--method kernel")])
def test_sudoers_entry_allows_exactly_the_workflow_command(which: int, alias: str, methods: str) -> None:
    assert methods in {entry["methods"] for entry in bench_job()["strategy"]["matrix"]["include"]}
    assert sudoers_alias_commands(which, alias) == sudo_commands_in_workflow(methods)
    assert "*" not in sudoers_block(which)  # no wildcard: nothing but these exact commands
    assert f"ci-bench ALL=(root) NOPASSWD: {alias}" in sudoers_block(which)


@pytest.mark.skipif(shutil.which("visudo") is None, reason="visudo (package sudo) is not installed")
@pytest.mark.parametrize("which", [0, 1])
def test_sudoers_block_parses(tmp_path: Path, which: int) -> None:
    sudoers = tmp_path / "cfgbench-ci"
    sudoers.write_text(sudoers_block(which))
    done = subprocess.run(["visudo", "-cf", str(sudoers)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# ----------------------------------------------------------------------------- the hosted workflow


def test_tests_workflow_stays_on_hosted_runners() -> None:
    workflow = load(TESTS)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert "self-hosted" not in str(job["runs-on"])
    assert any(step.get("run") == "bash .ci/run" for step in all_steps(workflow))


LAB_KVM = WORKFLOWS / "lab-kvm.yml"


def test_the_kvm_lab_runs_the_readmes_command_on_a_hosted_runner_and_keeps_its_files() -> None:
    """Issue 17: the lab under KVM where it exists. The step is the README's command,
    word for word, and what it writes (--out) is what is uploaded."""
    workflow = load(LAB_KVM)
    assert "pull_request_target" not in workflow["on"] and workflow["permissions"] == {"contents": "read"}
    [job] = workflow["jobs"].values()
    assert "self-hosted" not in str(job["runs-on"]) and "--device /dev/kvm" in job["container"]["options"]
    [run] = [step for step in job["steps"] if "demo.sh" in step.get("run", "")]
    command = run["run"].strip()
    assert f"\n{command}\n" in (ROOT / "README.md").read_text()
    assert "--accel kvm" in command
    out = command.split("--out ")[1].split()[0]
    [upload] = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["path"].rstrip("/") == out and upload["if"] == "always()"
    assert all(PINNED.match(step["uses"]) for step in job["steps"] if "uses" in step)
