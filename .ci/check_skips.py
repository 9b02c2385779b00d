"""Fail CI when a test skipped that .ci/allowed-skips does not name: a skip keeps CI green while a
check does not run. Reads pytest's `-rs` summary lines (`SKIPPED [n] path:line: reason`)."""

import re
import sys
from pathlib import Path

allowed = {
    line.split("#")[0].strip()
    for line in (Path(__file__).parent / "allowed-skips").read_text().splitlines()
    if line.split("#")[0].strip()
}
skips = re.findall(r"^SKIPPED \[(\d+)\] (\S+?):(\d+): (.*)$", Path(sys.argv[1]).read_text(), re.M)
print(f"ci: {sum(int(n) for n, *_ in skips)} skipped test(s)")
unexplained = []
for n, path, line, reason in skips:
    print(f"ci: skipped {n}x at {path}:{line}: {reason}")
    if not any(path == a.split(": ")[0] and a.split(": ", 1)[-1] in reason for a in allowed):
        unexplained.append(f"{path}:{line}")
if unexplained:
    print(f"ci: skips not on .ci/allowed-skips: {', '.join(unexplained)}", file=sys.stderr)
    sys.exit(1)
