"""Which address `relay serve` offers first: the one phones on the office LAN can reach."""
from relay.netinfo import rank, urls


def test_physical_office_addresses_come_first():
    candidates = [("docker0", "172.17.0.1"), ("en0", "192.168.1.20"), ("utun3", "10.8.0.2"),
                  ("eth1", "10.0.0.5"), ("eth2", "203.0.113.7")]
    ordered = [addr for _name, addr in sorted(candidates, key=lambda c: rank(*c))]
    assert ordered == ["192.168.1.20", "10.0.0.5", "203.0.113.7", "10.8.0.2", "172.17.0.1"]


def test_urls_for_loopback_and_specific_hosts():
    assert urls("127.0.0.1", 4000) == ("http://localhost:4000", [])
    assert urls("localhost", 4000) == ("http://localhost:4000", [])
    assert urls("192.168.1.20", 4000) == ("http://localhost:4000", ["http://192.168.1.20:4000"])
