"""Addresses to print at start: the local URL and the machine's LAN URL(s)."""
import ipaddress
import socket

import psutil


def lan_addresses() -> list[str]:
    found = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family != socket.AF_INET:
                continue
            ip = ipaddress.ip_address(addr.address)
            if not (ip.is_loopback or ip.is_link_local):
                found.append(addr.address)
    return sorted(set(found))


def urls(host: str, port: int) -> tuple[str, list[str]]:
    """(local URL, LAN URLs) for a server bound to host:port."""
    local = f"http://localhost:{port}"
    if host in ("0.0.0.0", "::", ""):
        return local, [f"http://{ip}:{port}" for ip in lan_addresses()]
    if ipaddress.ip_address(host).is_loopback if _is_ip(host) else host == "localhost":
        return local, []
    return local, [f"http://{host}:{port}"]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def is_loopback(addr: str | None) -> bool:
    try:
        return ipaddress.ip_address(addr or "").is_loopback
    except ValueError:
        return False
