"""The one-file executable's size, cold start time to a healthy /healthz, and idle memory
(targets: under 60 MB, under 3 s, under 120 MB).

Run: packaging/build.sh && .venv/bin/python bench/executable_bench.py [path/to/relay]
"""
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from common import ROOT, free_port

MB = 1024 * 1024


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def tree_rss(pid: int) -> int:
    """The one-file executable is a bootloader process plus the Python process it starts."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


def main() -> int:
    exe = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist" / "relay")
    if not exe.exists():
        print(f"{exe} not found: run packaging/build.sh first")
        return 2
    size = exe.stat().st_size
    starts, idles = [], []
    for _ in range(3):
        home = Path(tempfile.mkdtemp(prefix="relay-exe-"))
        shutil.copy2(exe, home / "relay")
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(home / "relay"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not healthy(port):
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("no healthy relay after 30 s")
            time.sleep(0.01)
        starts.append(time.perf_counter() - t0)
        time.sleep(3)  # settle: jobs scheduled, first requests served
        idles.append(tree_rss(proc.pid))
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    print(f"executable size:      {size / MB:6.1f} MB (target < 60 MB)")
    print(f"cold start to health: {min(starts):6.2f} s best, {max(starts):.2f} s worst of 3 (target < 3 s)")
    print(f"idle memory:          {max(idles) / MB:6.1f} MB RSS, bootloader + server (target < 120 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
