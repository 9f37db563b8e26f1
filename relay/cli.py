"""Command line: `relay serve` (the default when started with no arguments)."""
import argparse
import logging
import os
import secrets
import sys
import threading
import webbrowser

from relay import __version__
from relay.config import ConfigError, load_config

log = logging.getLogger("relay")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Relay: a self-hosted release hub "
                                     "for mobile builds, QA and over-the-air updates.")
    parser.add_argument("--version", action="version", version=f"relay {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the API and the dashboard")
    serve.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default 4000)")
    serve.add_argument("--data-dir", help="where the database and files live (default ./data)")
    serve.add_argument("--open", action="store_true", help="open the dashboard in a browser")
    agent = commands.add_parser("agent", help="report this machine's CPU, memory and devices")
    agent.add_argument("--server", required=True, help="the relay's URL, e.g. http://relay.local:4000")
    agent.add_argument("--token", required=True, help="a token with the agent scope")
    agent.add_argument("--name", help="the agent's name (default: this machine's host name)")
    agent.add_argument("--interval", type=float, default=5.0, help="seconds between reports (default 5)")
    keys = commands.add_parser("ota-keys", help="print the manifestKeys entry for the Capacitor plugin")
    keys.add_argument("--data-dir", help="the relay's data directory (default ./data)")

    backup = commands.add_parser("backup", help="write one archive of the database and every file")
    backup.add_argument("--out", help="the archive to write (default relay-backup-<time>.tar)")
    backup.add_argument("--data-dir", help="the relay's data directory (default ./data)")
    restore = commands.add_parser("restore", help="verify a backup and restore it into a data directory")
    restore.add_argument("file", help="the backup archive")
    restore.add_argument("--data-dir", help="where to restore (default ./data)")
    restore.add_argument("--force", action="store_true",
                         help="replace an existing relay there (the old one is kept beside it)")

    admin = commands.add_parser("admin", help="account chores from the terminal")
    admin_commands = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    init = admin_commands.add_parser("init", help="create the first admin (prompts for the password)")
    init.add_argument("--email", help="the admin's email (prompted when omitted)")
    init.add_argument("--data-dir", help="the relay's data directory (default ./data)")
    reset = admin_commands.add_parser("reset-password",
                                      help="print a reset link for EMAIL, or --set a new password")
    reset.add_argument("email")
    reset.add_argument("--set", action="store_true", help="set a new password now (prompted)")
    reset.add_argument("--data-dir", help="the relay's data directory (default ./data)")

    up = commands.add_parser("upload", help="upload a build from CI (.apk, .app.zip, .tar.gz)")
    up.add_argument("file", help="the build file")
    up.add_argument("--server", default=os.environ.get("RELAY_SERVER"),
                    help="the relay's URL (or RELAY_SERVER)")
    up.add_argument("--token", default=os.environ.get("RELAY_TOKEN"),
                    help="a token with the builds:write scope (or RELAY_TOKEN)")
    up.add_argument("--status", help="Backlog, In Progress, Done or Rejected")
    up.add_argument("--label", help="a label such as rc-1")
    up.add_argument("--app-id", help="attach to this app id instead of matching the bundle id")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    double_click = not argv
    args = build_parser().parse_args(argv or ["serve"])
    if args.command == "serve":
        return serve(args, open_browser=double_click or args.open)
    if args.command == "ota-keys":
        return ota_keys(args)
    if args.command in ("backup", "restore", "admin"):
        from relay import cli_admin
        return getattr(cli_admin, args.command)(args)
    if args.command == "upload":
        if not args.server or not args.token:
            print("relay upload: --server and --token (or RELAY_SERVER and RELAY_TOKEN) are "
                  "required", file=sys.stderr)
            return 2
        from relay.client import upload
        return upload(args.file, args.server, args.token, args.status, args.label, args.app_id)
    if args.command == "agent":
        from relay import agent
        try:
            return agent.run(args.server, args.token, args.name, args.interval)
        except KeyboardInterrupt:
            return 0
    build_parser().print_help()
    return 2


def ota_keys(args) -> int:
    """The public half of the OTA signing key, as the plugin's `manifestKeys` wants it."""
    import json
    from relay import datadir
    from relay.core.ota.signing import load_signer
    try:
        config = load_config({"data_dir": args.data_dir})
        datadir.prepare(config.data_dir)
        signer = load_signer(config.data_dir, config.ota_signing_key)
    except ConfigError as exc:
        print(f"relay: configuration error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(signer.manifest_key()))
    return 0


def _setup_code(services) -> str | None:
    """While no account exists, a one-time code lets first-run setup happen from another machine."""
    from relay.core.accounts import is_initialized
    from relay.datadir import read_or_create_secret
    if is_initialized():
        services.setup_code_path.unlink(missing_ok=True)
        return None
    return read_or_create_secret(services.setup_code_path, lambda: secrets.token_hex(4).upper())


def serve(args, open_browser: bool = False) -> int:
    from relay import datadir, jobs
    from relay.app import create_app
    from relay.core import cleanup
    from relay.core.ota import releases
    from relay.netinfo import urls
    from relay.server import PortInUse, Server, raise_open_files_limit
    try:
        config = load_config({"host": args.host, "port": args.port, "data_dir": args.data_dir})
        app = create_app(config)
    except ConfigError as exc:
        print(f"relay: configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. started from a read-only disk image
        print(f"relay: cannot use the data directory: {exc}. Move Relay to a writable folder, "
              "or start it with --data-dir <folder>.", file=sys.stderr)
        return 1
    services = app.extensions["relay"]
    try:
        data_lock = datadir.lock(config.data_dir)
        raise_open_files_limit()
        server = Server(app, config.host, config.port, threads=config.threads,
                        max_body=config.max_body_bytes)
    except datadir.InUse as exc:
        print(f"relay: {exc}. Stop that relay first, or use --data-dir.", file=sys.stderr)
        return 1
    except PortInUse as exc:
        print(f"relay: {exc}. Is another Relay already running? Stop it, or start this one "
              f"with --port <another port>.", file=sys.stderr)
        return 1
    # Nothing is in flight before we serve: whatever a crash left behind can go now.
    swept = cleanup.sweep_orphans([services.store, services.recordings], age=0)
    if swept:
        log.info("removed %d file(s) left over from an interrupted run", swept)
    releases.refresh_manifests(lambda: services.signer, services.base_url)  # key or URL may differ
    local, lan = urls(config.host, server.port)
    print(f"Relay {__version__} is running.", flush=True)
    print(f"  Local:   {local}", flush=True)
    for url in lan:
        print(f"  Network: {url}", flush=True)
    print(f"  Data:    {config.data_dir}", flush=True)
    code = _setup_code(services)
    if code:
        print(f"  Setup:   open {local}/setup to create the admin account "
              f"(from another machine, use setup code {code})", flush=True)
    log.info("relay %s listening on %s:%s", __version__, config.host, server.port)
    server.install_signal_handlers()
    scheduler = jobs.start(services)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(local + ("/setup" if code else "/"),)).start()
    try:
        server.serve_forever()
    finally:
        scheduler.shutdown(wait=True)
        services.db.close()
        data_lock.close()
        log.info("relay stopped")
    print("Relay stopped.", flush=True)
    return 0
