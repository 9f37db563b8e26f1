"""The reference agent: `relay agent --server URL --token TOKEN [--name NAME]`.

Samples CPU and memory with psutil every few seconds and reports them with the devices it can see
(booted iOS simulators on macOS, adb devices where adb is installed). Network errors and server
restarts are ridden out with a capped back-off; it runs until interrupted.
"""
import json
import logging
import platform
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import psutil

log = logging.getLogger("relay.agent")
MAX_BACKOFF = 30.0


def _run(cmd: list[str]) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def devices() -> list[dict]:
    found = []
    if platform.system() == "Darwin" and shutil.which("xcrun"):
        out = _run(["xcrun", "simctl", "list", "devices", "booted", "--json"])
        for runtime, items in (json.loads(out).get("devices", {}) if out else {}).items():
            found += [{"kind": "simulator", "name": d.get("name"), "udid": d.get("udid"),
                       "runtime": runtime.rsplit(".", 1)[-1]} for d in items]
    if shutil.which("adb"):
        out = _run(["adb", "devices"]) or ""
        for line in out.splitlines()[1:]:
            serial, _, state = line.partition("\t")
            if serial and state == "device":
                found.append({"kind": "android", "serial": serial})
    return found


def sample() -> dict:
    return {"cpu_percent": psutil.cpu_percent(interval=None),
            "mem_percent": psutil.virtual_memory().percent,
            "platform": f"{platform.system()} {platform.release()}",
            "devices": devices()}


def report(server: str, token: str, name: str, body: dict) -> None:
    req = urllib.request.Request(f"{server.rstrip('/')}/api/v1/agents/{name}/heartbeat",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def run(server: str, token: str, name: str | None = None, interval: float = 5.0,
        beats: int | None = None) -> int:
    """Report until interrupted (or `beats` successful reports). Exit 2 when the token is refused."""
    name = name or socket.gethostname().split(".")[0]
    psutil.cpu_percent(interval=None)  # the first reading is meaningless; prime it
    backoff, sent, connected = interval, 0, False
    while beats is None or sent < beats:
        try:
            report(server, token, name, sample())
        except urllib.error.HTTPError as exc:
            message = exc.read().decode(errors="replace")
            if exc.code in (401, 403):
                print(f"relay agent: the server refused the token ({exc.code}): {message}", flush=True)
                return 2
            log.warning("heartbeat answered %s: %s", exc.code, message)
            connected = False
        except (urllib.error.URLError, OSError) as exc:
            if connected:
                print(f"relay agent: lost the server ({exc}); retrying", flush=True)
            connected = False
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        if not connected:
            print(f"relay agent: reporting as {name!r} to {server}", flush=True)
        connected, backoff = True, interval
        sent += 1
        time.sleep(interval)
    return 0
