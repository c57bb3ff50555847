"""The bare-metal workflow end to end: a lab guest is the runner, the job's steps come from the YAML.

What the guest does, in one boot (one boot, not two side by side: the suite
must stay well under 15 minutes, and two TCG guests on two cores took longer
together than one doing both parts):
- as root, makes itself a self-hosted runner: the user `ci-bench` (passwd and
  group entries on a tmpfs, bind-mounted over the read-only /etc files), the
  sudoers block of docs/ci-runner.md (extracted, not copied), the runner's work
  directory `/home/ci-bench/actions-runner/_work/cfgbench/cfgbench` holding a
  copy of this working tree (the checkout);
- as `ci-bench`, runs the `bench` job's `run:` steps, read from the workflow
  file, with bash as GitHub runs them (`bash --noprofile --norc -eo pipefail`),
  the job's env with the matrix label substituted, GitHub's variables
  (GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY per step, GITHUB_SHA, RUNNER_NAME,
  ...), `if:` honoured; `uses:` steps are skipped (the checkout is already
  there; the upload is imitated by copying what its `path:` globs match):
  1. with no baseline: every step passes, the gate prints a notice;
  2. the promote commands printed in that summary, run as a person would
     (`gh run download` imitated), start the baseline with that run;
  3. sudo refuses anything but the documented commands;
  4. two more baseline runs made from the first by hand (pyperf's API: new
     session ids), promoted onto it with `cfgbench ci promote`: the baseline
     now holds three sessions. Measuring them through the root step would
     cost two more minutes under TCG and test nothing the first run did not;
  5. the baseline's values scaled down by hand: the job's next run is
     clearly slower, the gate says regression, the job fails (exit 1), plot
     and upload still run.

The guest has no network, and installing numpy, scipy and matplotlib under TCG
takes minutes (measured: ~6.5 min), so the host first builds a wheelhouse and
runs the workflow's own install step with CFGBENCH_WHEELHOUSE and
CFGBENCH_CI_VENV (docs/ci-runner.md) into a directory the guest sees at the
same path (the host root is shared read-only); in the guest the same step
finds that environment up to date and links it. The root step runs with
CFGBENCH_CI_SETTINGS=quick (the runner's .env), the sudoers entry's second form.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf
import pytest
from ruamel.yaml import YAML

from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.initramfs import GUEST_OUT

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "bench-bare-metal.yml"
RUNNER_DOC = ROOT / "docs" / "ci-runner.md"

LABEL = "vm-kvm-1"  # the guest plays the matrix's VM runner
USER, UID = "ci-bench", 1500
RUNNER_HOME = "/home/ci-bench"
WORK = f"{RUNNER_HOME}/actions-runner/_work"
WORKSPACE = f"{WORK}/cfgbench/cfgbench"  # <runner dir>/_work/<repository>/<repository>, as documented
RECORDS = f"{WORK}/_temp/e2e"  # what the runner leaves for the test; copied to the share at the end
RUNNER_PATH = "/usr/local/bin:/usr/bin:/bin"  # a service's PATH: python3 is Debian's
RUNNER_PYTHON = "/usr/bin/python3"
SHA = "0123456789abcdef0123456789abcdef01234567"
RUN_ID = "4242"
SCALE = 0.05  # the planted baseline: 20x faster than what the runner measures
GUEST = GuestConfig(accel="tcg", timeout_s=2400, memory_mb=2048)
KNOWN_CONDITIONS = {None: "success", "${{ !cancelled() }}": "always"}


def load_yaml(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text())


def sudoers_block() -> str:
    match = re.search(r"```sudoers\n(.*?)```", RUNNER_DOC.read_text(), re.S)
    assert match, "docs/ci-runner.md has no sudoers block"
    return match.group(1)


def expand(value: str) -> str:
    """The expressions the bench job's env may use; anything else must be taught here first."""
    methods = next(e["methods"] for e in load_yaml(WORKFLOW)["jobs"]["bench"]["strategy"]["matrix"]["include"]
                   if e["runner"] == LABEL)
    value = str(value).replace("${{ matrix.runner }}", LABEL).replace("${{ matrix.methods }}", methods)
    assert "${{" not in value, f"the end-to-end test cannot evaluate {value!r}: teach it"
    return value


# ----------------------------------------------------------------------------- the job, as shell


@dataclass(frozen=True)
class Step:
    index: int
    name: str
    script: str | None  # None: a `uses:` step
    uses: str
    env: dict[str, str]
    condition: str  # success | always
    upload_paths: tuple[str, ...] = ()


def bench_steps() -> list[Step]:
    job = load_yaml(WORKFLOW)["jobs"]["bench"]
    assert LABEL in [entry["runner"] for entry in job["strategy"]["matrix"]["include"]]
    job_env = {k: expand(v) for k, v in job.get("env", {}).items()}
    steps = []
    for index, raw in enumerate(job["steps"], start=1):
        condition = raw.get("if")
        assert condition in KNOWN_CONDITIONS, f"the end-to-end test does not know `if: {condition}`: teach it"
        script = raw.get("run")
        assert script is None or "${{" not in script  # zizmor forbids expressions in scripts anyway
        uses = raw.get("uses", "").split("@")[0]
        paths = tuple(raw["with"]["path"].split()) if uses == "actions/upload-artifact" else ()
        steps.append(Step(index, raw.get("name", uses), script, uses, job_env | {k: expand(v) for k, v in
                                                                            raw.get("env", {}).items()},
                          KNOWN_CONDITIONS[condition], paths))
    return steps


def github_env(guest_base: Path) -> dict[str, str]:
    """What GitHub's runner sets, plus the runner's .env (docs/ci-runner.md)."""
    return {
        "HOME": RUNNER_HOME, "USER": USER, "LOGNAME": USER, "PATH": RUNNER_PATH, "LANG": "C.UTF-8",
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": WORKSPACE, "GITHUB_SHA": SHA,
        "GITHUB_RUN_ID": RUN_ID, "GITHUB_REPOSITORY": "owner/cfgbench", "GITHUB_REF": "refs/heads/main",
        "RUNNER_NAME": LABEL, "RUNNER_OS": "Linux", "RUNNER_TEMP": f"{WORK}/_temp",
        # The runner's .env:
        "CFGBENCH_CI_VENV": str(guest_base / "venv"), "CFGBENCH_WHEELHOUSE": str(guest_base / "wheelhouse"),
        "CFGBENCH_CI_SETTINGS": "quick",
    }


def env_words(env: dict[str, str]) -> str:
    return " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))


def step_call(step: Step, env: dict[str, str], steps_dir: str) -> str:
    """One `run:` step as GitHub's runner runs it with `shell: bash`."""
    return (f'run_step "$scenario" {step.index} {shlex.quote(step.name)} '
            f'{env_words(env | step.env)} -- bash --noprofile --norc -eo pipefail {steps_dir}/{step.index}.sh')


def job_function(steps: list[Step], env: dict[str, str], steps_dir: str) -> str:
    lines = ["job() {", "    local scenario=$1 failed=0", '    mkdir -p "$R/$scenario"', '    stamp "$scenario start"']
    for step in steps:
        gate = '[ "$failed" = 0 ]' if step.condition == "success" else "true"
        if step.script is not None:
            action = f"{step_call(step, env, steps_dir)} || failed=1"
        elif step.uses == "actions/upload-artifact":
            action = f'upload "$scenario" {step.index} {" ".join(shlex.quote(p) for p in step.upload_paths)} || failed=1'
        else:
            action = (f'echo "uses: {step.uses}: skipped, the workspace is the checkout" > "$R/$scenario/{step.index}.out"'
                      f' && echo 0 > "$R/$scenario/{step.index}.rc"')
        lines.append(f'    if {gate}; then {action}; else echo skipped > "$R/$scenario/{step.index}.rc"; fi')
    lines += ['    echo "$failed" > "$R/$scenario/job.failed"', '    stamp "$scenario end"', "}"]
    return "\n".join(lines)


RUNNER_HELPERS = textwrap.dedent(r"""
    R=@RECORDS@
    WS=@WORKSPACE@
    mkdir -p "$R"
    stamp() { echo "$1 $(date +%s.%N)" >> "$R/timings"; }
    # run_step SCENARIO INDEX NAME VAR=VALUE... -- COMMAND...: in the workspace, exactly this environment.
    run_step() {
        local scenario=$1 index=$2 name=$3 start; shift 3
        local vars=()
        while [ "$1" != -- ]; do vars+=("$1"); shift; done; shift
        : > "$R/$scenario/summary-$index.md"
        start=$(date +%s.%N)
        (cd "$WS" && env -i "${vars[@]}" GITHUB_STEP_SUMMARY="$R/$scenario/summary-$index.md" "$@") \
            > "$R/$scenario/$index.out" 2>&1
        local rc=$?
        echo "$rc $start $(date +%s.%N) $name" > "$R/$scenario/$index.rc"
        return $rc
    }
    # What actions/upload-artifact would take: the files its path globs match.
    upload() {
        local scenario=$1 index=$2 found=0 pattern file; shift 2
        mkdir -p "$R/$scenario/artifact"
        for pattern in "$@"; do
            for file in $WS/$pattern; do
                [ -e "$file" ] && cp "$file" "$R/$scenario/artifact/" && found=1
            done
        done
        echo "$((1 - found))" > "$R/$scenario/$index.rc"
        [ "$found" = 1 ]
    }
    # `gh run download ID --repo R --name NAME --dir DIR`, without a network: the artifact's files into DIR.
    gh() {
        local dir=""
        while [ $# -gt 0 ]; do [ "$1" = --dir ] && dir=$2; shift; done
        mkdir -p "$dir" && cp "$R/missing-baseline/artifact/"*.json "$dir/"
    }
    # phase NAME COMMAND...: a person's action between jobs, as the runner user, in the workspace.
    phase() {
        local name=$1; shift
        stamp "$name start"
        (cd "$WS" && "$@") > "$R/$name.out" 2>&1
        echo $? > "$R/$name.rc"
        stamp "$name end"
    }
""")


def promote_as_printed() -> str:
    """Run the commands the first gate printed under "Promote this run", but git (no repository here)."""
    return textwrap.dedent(r"""
        promote_as_printed() {
            local summary=$1 line
            awk '/^Promote this run/ {found=1} found && /^```sh$/ {inside=1; next} inside && /^```$/ {exit} inside' \
                "$summary" > "$R/promote-commands.txt"
            [ -s "$R/promote-commands.txt" ] || { echo "no promote commands in $summary"; return 1; }
            while IFS= read -r line; do
                case $line in git\ *) echo "skipped: $line"; continue;; esac
                echo "+ $line"
                PATH="$WS/.venv/bin:$PATH" eval "$line" || return 1
            done < "$R/promote-commands.txt"
        }
    """)


PYPERF_SCRIPT = textwrap.dedent("""
    # By hand, through pyperf's API: `scale FACTOR FILE...` multiplies every value of every run
    # (a planted regression); `copy SESSION FACTOR DEST_DIR SOURCE...` writes each SOURCE's runs, times
    # FACTOR, as another session's (a little faster or slower, as another run would be: identical runs
    # have no spread) into DEST_DIR under the same name.
    import sys
    from pathlib import Path

    import pyperf

    def rewrite(source, dest, factor=1.0, session=None):
        benchmarks = []
        for bench in pyperf.BenchmarkSuite.load(source).get_benchmarks():
            runs = []
            for run in bench.get_runs():
                metadata = run.get_metadata()
                if session is not None:
                    metadata["cfgbench_session"] = session
                runs.append(pyperf.Run([v * factor for v in run.values],
                                       warmups=[(loops, v * factor) for loops, v in run.warmups] or None,
                                       metadata=metadata, collect_metadata=False))
            benchmarks.append(pyperf.Benchmark(runs))
        Path(dest).unlink(missing_ok=True)
        pyperf.BenchmarkSuite(benchmarks).dump(dest)

    if sys.argv[1] == "scale":
        for name in sys.argv[3:]:
            rewrite(name, name, factor=float(sys.argv[2]))
            print(f"scaled {name} by {sys.argv[2]}")
    else:
        session, factor, dest_dir = sys.argv[2:5]
        for source in sys.argv[5:]:
            dest = str(Path(dest_dir) / Path(source).name)
            rewrite(source, dest, factor=float(factor), session=session)
            print(f"copied {source} to {dest} as session {session}")
""")


SCENARIOS = ("missing-baseline", "planted-regression")
METHODS = ("pio", "mmio", "kernel")


def runner_script(steps: list[Step], env: dict[str, str], share: str) -> str:
    """What the runner user does in the boot: jobs of the workflow, and a person's actions between them."""
    root_step = next(s for s in steps if s.script is not None and "sudo -n" in s.script)
    gate_step = next(s for s in steps if s.script is not None and "ci gate" in s.script)
    baseline = shlex.quote(root_step.env["BASELINE_DIR"])
    measured = " ".join(f'"$R/missing-baseline/artifact/{m}.json"' for m in METHODS)
    scaled = " ".join(f"{baseline}/{m}.json" for m in METHODS)
    main = textwrap.dedent(f"""
        job missing-baseline
        phase promote-first promote_as_printed "$R/missing-baseline/summary-{gate_step.index}.md"
        mkdir -p "$R/sudo"
        check() {{ local name=$1; shift; "$@" > "$R/sudo/$name.out" 2>&1; echo $? > "$R/sudo/$name.rc"; }}
        check list sudo -n -l
        check id sudo -n id
        check shell sudo -n /bin/sh -c id
        check info sudo -n "$WS/.venv/bin/cfgbench" info
        check plain-run sudo -n "$WS/.venv/bin/cfgbench" run --method pio -o /tmp/pio.json
        check other-results sudo -n "$WS/.venv/bin/cfgbench" ci run --results /tmp --settings quick
        check extra-option sudo -n "$WS/.venv/bin/cfgbench" ci run --results "$WS/ci-results" --settings quick --help
        make_copies() {{
            for n in 2 3; do
                factor=$([ "$n" = 2 ] && echo 1.03 || echo 0.97)
                mkdir -p "$WS/baseline-run-$n"
                "$WS/.venv/bin/python" {share}/pyperf-by-hand.py copy "run-$n-of-e2e" "$factor" \\
                    "$WS/baseline-run-$n" {measured} || return 1
            done
        }}
        phase copy-runs make_copies
        phase promote "$WS/.venv/bin/cfgbench" ci promote --results baseline-run-2 --results baseline-run-3 \\
            --baseline {baseline}
        phase scale "$WS/.venv/bin/python" {share}/pyperf-by-hand.py scale {SCALE} {scaled}
        job planted-regression
    """)
    main += textwrap.dedent("""
        find "$WS" -user root -printf '%P\\n' | sort > "$R/root-owned.txt"
    """)
    helpers = RUNNER_HELPERS.replace("@RECORDS@", RECORDS).replace("@WORKSPACE@", WORKSPACE)
    return "\n".join(["#!/bin/bash", "set -u", helpers, promote_as_printed(), job_function(steps, env, share + "/steps"),
                      main])


def root_script(share: str, guest_base: Path) -> str:
    """Runs first, as root: make the guest a runner, then hand over to the runner user."""
    return textwrap.dedent(f"""
        set -eu
        out={share}
        now() {{ date +%s.%N; }}
        echo "setup start $(now)" > $out/root-timings
        # The host root is read-only here: the runner's home and its /etc entries live on tmpfs.
        mount -t tmpfs -o mode=0755 tmpfs /home
        mkdir -p /run/e2e-etc
        cp -p /etc/passwd /etc/group /etc/shadow /etc/hosts /run/e2e-etc/
        # As `useradd --create-home ci-bench` leaves them: no password (PAM's account check reads shadow).
        echo '{USER}:x:{UID}:{UID}:CI runner:{RUNNER_HOME}:/bin/bash' >> /run/e2e-etc/passwd
        echo '{USER}:x:{UID}:' >> /run/e2e-etc/group
        echo '{USER}:!:19000:0:99999:7:::' >> /run/e2e-etc/shadow
        # The machine is named after its runner, and resolves its own name (sudo looks it up).
        echo {LABEL} > /proc/sys/kernel/hostname
        echo '127.0.1.1 {LABEL}' >> /run/e2e-etc/hosts
        for f in passwd group shadow hosts; do mount --bind /run/e2e-etc/$f /etc/$f; done
        mount -t tmpfs -o mode=0755 tmpfs /etc/sudoers.d
        install -m 0440 $out/cfgbench-ci /etc/sudoers.d/cfgbench-ci
        visudo -cf /etc/sudoers.d/cfgbench-ci > $out/visudo.out 2>&1
        mkdir -p {WORKSPACE} {WORK}/_temp
        cp -a {guest_base}/checkout/. {WORKSPACE}/
        chown -R {UID}:{UID} {RUNNER_HOME}
        echo "setup end $(now)" >> $out/root-timings
        status=0
        setpriv --reuid={UID} --regid={UID} --init-groups -- /bin/bash $out/runner.sh > $out/runner.out 2>&1 || status=$?
        echo "runner exit $status $(now)" >> $out/root-timings
        cp -r {RECORDS} $out/records
        cp -r {WORKSPACE}/results/ci-baseline $out/baseline 2>/dev/null || true
    """)


# ----------------------------------------------------------------------------- the host's part


def copy_checkout(dest: Path) -> None:
    """The working tree as actions/checkout would give it: tracked and new files, nothing ignored."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def build_wheelhouse(checkout: Path, wheelhouse: Path) -> None:
    """Wheels of everything the install step needs, for the runner's Python (pip --python)."""
    done = subprocess.run([sys.executable, "-m", "pip", "--python", RUNNER_PYTHON, "wheel", "--quiet", "-w",
                           str(wheelhouse), f"{checkout}[plot]", "setuptools>=77", "wheel"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for own in wheelhouse.glob("cfgbench-*.whl"):
        own.unlink()  # the install step builds cfgbench from the checkout, never from here
    for build in ("build", "src/cfgbench.egg-info"):
        shutil.rmtree(checkout / build, ignore_errors=True)


@dataclass
class Boot:
    share: Path
    steps: list[Step]
    returncode: int
    output: str
    wall_seconds: float

    @property
    def records(self) -> Path:
        return self.share / "records"

    def step(self, name_part: str) -> Step:
        return next(s for s in self.steps if name_part in s.name)

    def rc(self, scenario: str, step_name: str) -> str:
        return (self.records / scenario / f"{self.step(step_name).index}.rc").read_text().split()[0]

    def out(self, scenario: str, step_name: str) -> str:
        return (self.records / scenario / f"{self.step(step_name).index}.out").read_text()

    def summary(self, scenario: str) -> str:
        return "".join(p.read_text() for p in sorted((self.records / scenario).glob("summary-*.md")))

    def phase(self, name: str) -> tuple[str, str]:
        """(exit status, output) of a person's action between jobs."""
        return (self.records / f"{name}.rc").read_text().strip(), (self.records / f"{name}.out").read_text()

    def context(self) -> str:
        runner = self.share / "runner.out"
        return (f"guest exit {self.returncode}; runner output:\n"
                f"{runner.read_text()[-3000:] if runner.exists() else '(none)'}\nguest:\n{self.output[-3000:]}")


@dataclass
class E2E:
    host_install: subprocess.CompletedProcess[str]
    boot: Boot


@pytest.fixture(scope="module")
def guest_base() -> Iterator[Path]:
    # Under /tmp, world-readable: the guest sees the host root read-only, at the same paths,
    # so the environment built here is found there (its scripts name their interpreter by path).
    base = Path(tempfile.mkdtemp(prefix="cfgbench-e2e-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def prepare_host(guest_base: Path, steps: list[Step], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The checkout, a wheelhouse, and the runner's first install on the host (CFGBENCH_CI_VENV)."""
    checkout = guest_base / "checkout"
    copy_checkout(checkout)
    # Every copy from this one: the working tree may change meanwhile (others at work), and the
    # install step's stamp must see the same source on the host and in the guest.
    wheels_src = guest_base / "wheel-build"
    shutil.copytree(checkout, wheels_src, symlinks=True)
    build_wheelhouse(wheels_src, guest_base / "wheelhouse")
    shutil.rmtree(wheels_src)
    install = next(s for s in steps if s.name == "Install cfgbench")
    assert install.script is not None
    host_ws = guest_base / "host-workspace"
    shutil.copytree(checkout, host_ws, symlinks=True)
    host_env = env | install.env | {"HOME": str(guest_base / "home"), "GITHUB_WORKSPACE": str(host_ws)}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", install.script],
                          cwd=host_ws, env=host_env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(host_ws)
    return done


def boot(share: Path, guest_base: Path, steps: list[Step], env: dict[str, str]) -> Boot:
    share.chmod(0o755)  # the runner user reads its scripts here
    (share / "steps").mkdir()
    for step in steps:
        if step.script is not None:
            (share / "steps" / f"{step.index}.sh").write_text(step.script)
    (share / "cfgbench-ci").write_text(sudoers_block())
    (share / "pyperf-by-hand.py").write_text(PYPERF_SCRIPT)
    (share / "runner.sh").write_text(runner_script(steps, env, GUEST_OUT))
    (share / "guest.sh").write_text(root_script(GUEST_OUT, guest_base))
    result = run_in_guest(["bash", f"{GUEST_OUT}/guest.sh"], GUEST, outdir=share, cwd="/")
    return Boot(share, steps, result.returncode, result.output, result.wall_seconds)


@pytest.fixture(scope="module")
def e2e(lab_installed: None, guest_base: Path, tmp_path_factory: pytest.TempPathFactory) -> E2E:
    for tool in ("/usr/bin/sudo", "/usr/sbin/visudo", RUNNER_PYTHON, "/usr/bin/setpriv"):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"{tool} is missing: run scripts/setup-lab.sh (it installs sudo and the Debian Python)")
    steps = bench_steps()
    env = github_env(guest_base)
    host_install = prepare_host(guest_base, steps, env)
    done = boot(tmp_path_factory.mktemp("workflow-e2e"), guest_base, steps, env)
    assert done.returncode == 0, done.context()
    return E2E(host_install, done)


# ----------------------------------------------------------------------------- what it must show


def test_the_guest_became_a_runner_with_the_documented_sudoers_entry(e2e: E2E) -> None:
    done = e2e.boot
    assert "parsed OK" in (done.share / "visudo.out").read_text()
    listed = (done.records / "sudo" / "list.out").read_text()
    assert (done.records / "sudo" / "list.rc").read_text().strip() == "0", listed
    allowed = " ".join(listed.split())  # sudo -l wraps its lines
    for settings in ("default", "quick"):
        assert f"cfgbench/.venv/bin/cfgbench ci run --results {WORKSPACE}/ci-results --settings {settings}" in allowed


def test_install_builds_once_and_is_reused_by_the_same_step(e2e: E2E) -> None:
    assert "ci-install: building" in e2e.host_install.stdout
    for scenario in SCENARIOS:
        assert e2e.boot.rc(scenario, "Install") == "0", e2e.boot.context()
        assert "ci-install: reusing" in e2e.boot.out(scenario, "Install")


def test_missing_baseline_reports_without_failing(e2e: E2E) -> None:
    done = e2e.boot
    assert (done.records / "missing-baseline" / "job.failed").read_text().strip() == "0", done.context()
    assert [done.rc("missing-baseline", s.name) for s in done.steps] == ["0"] * len(done.steps)
    assert "environment: guest" in done.out("missing-baseline", "Describe")
    gate = done.out("missing-baseline", "Gate")
    assert re.search(r"^::notice title=cfgbench%3A no baseline on vm-kvm-1::", gate, re.M), gate
    assert "cfgbench: ci gate: no baseline (exit 0)" in gate
    summary = done.summary("missing-baseline")
    assert "## cfgbench CI gate: vm-kvm-1" in summary and "No baseline in `results/ci-baseline/vm-kvm-1`" in summary
    assert "### This run: pio, mmio, kernel" in summary
    artifact = sorted(p.name for p in (done.records / "missing-baseline" / "artifact").iterdir())
    assert artifact == ["comparison.png", "kernel.json", "mmio.json", "pio.json"]


def test_the_root_step_ran_pio_and_mmio_through_sudo(e2e: E2E) -> None:
    done = e2e.boot
    assert done.rc("missing-baseline", "as root") == "0", done.out("missing-baseline", "as root")
    artifact = done.records / "missing-baseline" / "artifact"
    for method in ("pio", "mmio", "kernel"):
        names = pyperf.BenchmarkSuite.load(str(artifact / f"{method}.json")).get_benchmark_names()
        assert names == ["read 0000:00:00.0+0x000/4"]  # a q35 host bridge has 256 bytes: ci run knows


def test_the_printed_promote_commands_start_the_baseline(e2e: E2E) -> None:
    done = e2e.boot
    status, out = done.phase("promote-first")
    assert status == "0", out
    commands = (done.records / "promote-commands.txt").read_text()
    assert commands.startswith(f"gh run download {RUN_ID} --repo owner/cfgbench --name cfgbench-{LABEL} ")
    assert out.count("promoted: ") == 3 and "fewer than 3 runs" in out
    assert sorted(p.name for p in (done.share / "baseline" / LABEL).iterdir()) == ["kernel.json", "mmio.json", "pio.json"]


def test_promote_appends_more_runs_to_the_baseline(e2e: E2E) -> None:
    done = e2e.boot
    for phase in ("copy-runs", "promote", "scale"):
        status, out = done.phase(phase)
        assert status == "0", (phase, out, done.context())
    promoted = done.phase("promote")[1]
    assert promoted.count("promoted: ") == 6 and "fewer than" not in promoted, promoted  # a line per file
    assert promoted.count("(3 runs)") == 6, promoted  # each line: the runs in the baseline afterwards
    for method in METHODS:
        suite = pyperf.BenchmarkSuite.load(str(done.share / "baseline" / LABEL / f"{method}.json"))
        sessions = {r.get_metadata().get("cfgbench_session") for b in suite.get_benchmarks() for r in b.get_runs()}
        measured = pyperf.BenchmarkSuite.load(str(done.records / "missing-baseline" / "artifact" / f"{method}.json"))
        first_session = {r.get_metadata()["cfgbench_session"] for b in measured.get_benchmarks() for r in b.get_runs()}
        assert sessions == first_session | {"run-2-of-e2e", "run-3-of-e2e"}


def test_a_planted_regression_fails_the_job_with_exit_1(e2e: E2E) -> None:
    done = e2e.boot
    assert done.rc("planted-regression", "as root") == "0"
    gate = done.out("planted-regression", "Gate")
    assert done.rc("planted-regression", "Gate") == "1", gate
    assert (done.records / "planted-regression" / "job.failed").read_text().strip() == "1"
    assert re.search(r"^::error title=cfgbench%3A regression on vm-kvm-1::", gate, re.M), gate
    assert "cfgbench: ci gate: regression (exit 1)" in gate
    assert "**Gate median:5%: REGRESSION (exit 1)**" in done.summary("planted-regression")
    # `if: ${{ !cancelled() }}`: the picture and the upload still happen after the failure.
    assert done.rc("planted-regression", "Plot") == "0", done.out("planted-regression", "Plot")
    assert done.rc("planted-regression", "Upload") == "0"


@pytest.mark.parametrize("attempt", ["id", "shell", "info", "plain-run", "other-results", "extra-option"])
def test_sudo_allows_the_runner_nothing_else(e2e: E2E, attempt: str) -> None:
    rc = (e2e.boot.records / "sudo" / f"{attempt}.rc").read_text().strip()
    out = (e2e.boot.records / "sudo" / f"{attempt}.out").read_text()
    assert rc == "1" and "a password is required" in out, out


def test_root_leaves_only_the_results_behind(e2e: E2E) -> None:
    # The next job's checkout and `rm -rf ci-results` run as the runner user: nothing else may be root's.
    owned = (e2e.boot.records / "root-owned.txt").read_text().split()
    assert owned and all(re.fullmatch(r"ci-results/\w+\.json", name) for name in owned), owned


def test_every_scenario_ran_to_its_end(e2e: E2E, capsys: pytest.CaptureFixture[str]) -> None:
    """Every phase ended; what each took under TCG is printed."""
    done = e2e.boot
    marks: dict[str, dict[str, float]] = {}
    for line in (done.records / "timings").read_text().splitlines():
        what, edge, value = line.rsplit(" ", 2)
        marks.setdefault(what, {})[edge] = float(value)
    assert all({"start", "end"} <= set(edges) for edges in marks.values()), marks
    assert set(SCENARIOS) <= set(marks)
    report = [f"guest wall {done.wall_seconds:.0f} s"]
    report += [f"  {what}: {edges['end'] - edges['start']:.1f} s" for what, edges in marks.items()]
    for scenario in SCENARIOS:
        for rc_file in sorted((done.records / scenario).glob("*.rc"), key=lambda p: int(p.stem)):
            parts = rc_file.read_text().split(maxsplit=3)
            if len(parts) == 4:
                report.append(f"    {scenario} step {rc_file.stem} ({parts[3].strip()}): exit {parts[0]}, "
                              f"{float(parts[2]) - float(parts[1]):.1f} s")
    with capsys.disabled():
        print("\nworkflow e2e timings:\n" + "\n".join(report))
