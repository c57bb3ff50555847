
import json, os, sys
from pathlib import Path
from cfgbench.address import parse_bdf
from cfgbench.plan import PlanRequest, Target
from cfgbench.session import RunRequest, run, summary_lines
from cfgbench.settings import PRESETS
out = Path(os.environ["CFGBENCH_LAB_OUT"])
targets = [Target(parse_bdf(bdf), offset, 4) for bdf, offset in json.loads((out / "sequence-targets.json").read_text())]
request = RunRequest(PlanRequest(["pio", "mmio", "kernel"], targets, ["sequence"]),
                     PRESETS["lab"].with_options(values=int(sys.argv[1]), quiet=True), output=out / "sequence-{method}.json")
print("\n".join(summary_lines(run(request, lambda line: print(line, file=sys.stderr)))))
