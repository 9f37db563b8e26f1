"""The service definitions in packaging/ are well-formed and restart Relay on failure."""
import configparser
import plistlib

from conftest import ROOT


def test_launchd_plist():
    with open(ROOT / "packaging" / "app.relay.plist", "rb") as fh:
        plist = plistlib.load(fh)
    assert plist["ProgramArguments"][1] == "serve"
    assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["RunAtLoad"] is True


def test_systemd_unit():
    unit = configparser.ConfigParser(strict=False)
    unit.read(ROOT / "packaging" / "relay.service")
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["ExecStart"].split()[1] == "serve"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
