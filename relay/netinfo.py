"""Addresses to print at start: the local URL and the machine's LAN URL(s)."""
import ipaddress
import socket

import psutil


# Interfaces of containers, VMs and VPNs: their addresses are no use to phones on the office LAN.
VIRTUAL_PREFIXES = ("docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "utun", "tun", "tap",
                    "awdl", "llw", "bridge", "lxc", "cni", "flannel", "zt")


def rank(interface: str, address: str) -> tuple:
    """Sort key: physical interfaces first, then home/office ranges (192.168/16, 10/8, 172.16/12)."""
    ip = ipaddress.ip_address(address)
    virtual = interface.lower().startswith(VIRTUAL_PREFIXES)
    office = 0 if address.startswith("192.168.") else 1 if address.startswith("10.") else \
        2 if ip.is_private else 3
    return (virtual, office, ip)


def lan_addresses() -> list[str]:
    found = []
    for interface, addrs in psutil.net_if_addrs().items():
        for addr in addrs:
            if addr.family != socket.AF_INET:
                continue
            ip = ipaddress.ip_address(addr.address)
            if not (ip.is_loopback or ip.is_link_local):
                found.append((rank(interface, addr.address), addr.address))
    return list(dict.fromkeys(address for _rank, address in sorted(found)))


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
