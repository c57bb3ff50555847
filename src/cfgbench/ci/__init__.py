"""The bare-metal CI job's decisions, where tests reach them; the workflow only calls commands.

Modules, one job each:
- layout: the job's directories and files ({method}.json per run, per baseline);
- timing: what the job times as root (`cfgbench ci run`), with named settings;
- gate: this run against the runner's baseline, one outcome and exit code;
- recent: the history's trend with this run as its newest point;
- summary: the job summary (markdown), GitHub annotations, the promote commands;
- promote: a run appended to the baseline, never losing one;
- record: the final job: the fleet table and the history of every runner.

Only `timing` is imported by the root step, and it imports neither numpy nor
scipy (seconds under emulation; the same rule as `cfgbench run`).
"""
