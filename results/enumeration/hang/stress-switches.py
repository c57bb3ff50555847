"""Stress the config-order module's switch on a 2-vCPU lab guest: N switches while another process reads config space."""
import sys, time
from cfgbench.lab.guest import GuestConfig, run_in_guest

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
script = (f"P=/sys/module/cfgbench_pci_order/parameters/order; "
          f"( while :; do cat /sys/bus/pci/devices/*/config > /dev/null; echo 1 > /sys/bus/pci/devices/0000:00:03.0/rescan 2>/dev/null; done ) & "
          f"i=0; while [ $i -lt {n} ]; do echo ecam > $P; echo native > $P; i=$((i+1)); done; echo switched {n}; kill %1")
t = time.monotonic()
r = run_in_guest(["sh", "-c", script], GuestConfig(accel="tcg", timeout_s=240, smp=2, pci_order_module=True),
                 progress=lambda l: print("progress:", l, flush=True), output=lambda s: print(s, end="", flush=True))
print("rc", r.returncode, "wall", round(time.monotonic() - t, 1))
