import sys, time
from cfgbench.lab.guest import GuestConfig, run_in_guest
n = int(sys.argv[1])
T = "/sys/kernel/tracing"
script = (f"mount -t tracefs nodev {T} 2>/dev/null; P=/sys/module/cfgbench_pci_order/parameters/order; i=0; "
          f"echo 'pci_conf1_read pci_conf1_write pci_mmcfg_read pci_mmcfg_write' > {T}/set_ftrace_filter; "
          f"while [ $i -lt {n} ]; do "
          f"  [ $((i % 2)) = 0 ] && echo ecam > $P || echo native > $P; "
          f"  echo function_graph > {T}/current_tracer; echo 1 > {T}/tracing_on; "
          f"  echo 1 > /sys/bus/pci/devices/0000:01:00.0/remove; echo 1 > /sys/bus/pci/devices/0000:00:03.0/rescan; "
          f"  echo 0 > {T}/tracing_on; echo nop > {T}/current_tracer; echo > {T}/trace; "
          f"  i=$((i+1)); done; echo done {n}")
t = time.monotonic()
r = run_in_guest(["sh", "-c", script], GuestConfig(accel="tcg", timeout_s=280, smp=2, pci_order_module=True),
                 progress=lambda l: print("progress:", l, flush=True), output=lambda s: print(s, end="", flush=True))
print("rc", r.returncode, "wall", round(time.monotonic() - t, 1))
