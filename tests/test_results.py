from __future__ import annotations

import json
from pathlib import Path

import pyperf
import pytest

from cfgbench.errors import CfgbenchError
from cfgbench.results import check_writable, load_suite, save_suite


def suite(name: str = "read 0000:00:00.0+0x000/4", method: str = "kernel", values: tuple[float, ...] = (1e-6, 1.1e-6)) -> pyperf.BenchmarkSuite:
    run = pyperf.Run(list(values), metadata={"name": name, "loops": 16, "cfgbench_method": method}, collect_metadata=False)
    return pyperf.BenchmarkSuite([pyperf.Benchmark([run])])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("{not json", "not valid JSON"),
        ('{"a": 1}', "not a pyperf result"),
        ("[1, 2]", "not a pyperf result"),
        ('{"version": "1.0", "benchmarks": []}', "not a readable pyperf"),
        ('{"version": "1.0", "benchmarks": [{"runs": "x"}]}', "not a readable pyperf"),
        ('{"version": "1.0", "benchmarks": 7}', "not a readable pyperf"),
    ],
)
def test_load_refuses_bad_files_with_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CfgbenchError, match=message):
        load_suite(path)


def test_load_refuses_missing_directory_and_binary(tmp_path: Path) -> None:
    with pytest.raises(CfgbenchError, match="does not exist"):
        load_suite(tmp_path / "none.json")
    with pytest.raises(CfgbenchError, match="is a directory"):
        load_suite(tmp_path)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CfgbenchError, match="not a text file"):
        load_suite(tmp_path / "bin.json")


def test_truncated_real_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    save_suite(suite(), path)
    path.write_text(path.read_text()[:40])
    with pytest.raises(CfgbenchError, match="not valid JSON"):
        load_suite(path)


def test_save_never_overwrites_and_leaves_no_temporaries(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    save_suite(suite(), path)
    before = path.read_bytes()
    with pytest.raises(CfgbenchError, match="already exists"):
        save_suite(suite(values=(5.0, 6.0)), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_append_merges_runs_and_refuses_another_method(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    save_suite(suite(), path)
    save_suite(suite(values=(2e-6, 2.1e-6)), path, append=True)
    [bench] = load_suite(path).get_benchmarks()
    assert bench.get_nrun() == 2
    before = path.read_bytes()
    with pytest.raises(CfgbenchError, match="measured with kernel"):
        save_suite(suite(method="fake"), path, append=True)
    assert path.read_bytes() == before
    data = json.loads(before)
    assert len(data["benchmarks"]) == 1


def test_check_writable(tmp_path: Path) -> None:
    check_writable(tmp_path / "new.json", append=False)
    (tmp_path / "old.json").write_text("x")
    with pytest.raises(CfgbenchError, match="already exists"):
        check_writable(tmp_path / "old.json", append=False)
    with pytest.raises(CfgbenchError, match="not valid JSON"):
        check_writable(tmp_path / "old.json", append=True)
    with pytest.raises(CfgbenchError, match="does not exist"):
        check_writable(tmp_path / "no" / "x.json", append=False)


def test_pyperf_is_used_through_its_public_api_only() -> None:
    """Private names (pyperf._utils, BenchmarkSuite._json_load) change without notice."""
    import re

    import cfgbench

    src = Path(cfgbench.__file__).parent
    private = re.compile(r"pyperf\._|\._json_load|pyperf\.\w+\._\w+")
    offenders = [f"{path.relative_to(src)}:{n}" for path in src.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if private.search(line)]
    assert offenders == []
