"""Requests/second of GET /api/v1/auth/me beside GET /healthz on one relay (target: ≥ 70%).

Run: .venv/bin/python bench/auth_rps.py [seconds]
"""
import sys

from common import RelayProcess, best_rps, request

PASSWORD = "bench-password-1"


def main(seconds: float = 5.0) -> int:
    relay = RelayProcess()
    try:
        request(relay.port, "POST", "/api/v1/auth/init",
                {"email": "bench@example.com", "password": PASSWORD})
        status, cookie, _ = request(relay.port, "POST", "/api/v1/auth/login",
                                    {"email": "bench@example.com", "password": PASSWORD})
        assert status == 200, status
        headers = {"Cookie": cookie.split(";", 1)[0]}
        health, me = best_rps(relay.port, [("/healthz", None), ("/api/v1/auth/me", headers)],
                              seconds=seconds)
    finally:
        relay.stop()
    ratio = me / health
    print(f"GET /healthz        {health:8.0f} req/s")
    print(f"GET /api/v1/auth/me {me:8.0f} req/s  ({ratio:.0%} of healthz; target >= 70%)")
    return 0 if ratio >= 0.7 else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
