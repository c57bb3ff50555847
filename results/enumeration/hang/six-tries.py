import sys, shlex
from pathlib import Path
from cfgbench.errors import LabError
from cfgbench.lab.guest import GuestConfig, run_in_guest
out = Path(sys.argv[1]); n = int(sys.argv[2])
py = shlex.quote(sys.executable)
for k in range(n):
    d = out / f"try-{k}"; d.mkdir(parents=True)
    script = f'{py} -m cfgbench.lab.enumeration ab --port 0000:00:03.0 --rounds 8 --traced 16 --out "$CFGBENCH_LAB_OUT" > "$CFGBENCH_LAB_OUT/ab.txt" 2>&1'
    try:
        r = run_in_guest(["sh", "-c", script], GuestConfig(accel="tcg", smp=2, pci_order_module=True, timeout_s=150,
                         extra_cmdline=("loglevel=7",)), outdir=d)
        print(k, "ok", r.wall_seconds, flush=True)
    except LabError as e:
        (d / "console.txt").write_text(e.console)
        print(k, "HUNG", e.one_line()[:100], flush=True)
