"""`relay backup`, `relay restore` and `relay admin …`: chores run beside (or instead of) a server."""
import getpass
import sys
import time
from pathlib import Path

from relay import datadir
from relay.config import ConfigError, load_config


def _config(args):
    try:
        return load_config({"data_dir": args.data_dir})
    except ConfigError as exc:
        raise SystemExit(f"relay: configuration error: {exc}") from None


def backup(args) -> int:
    from relay.core.backup import BackupError, create
    config = _config(args)
    out = Path(args.out or f"relay-backup-{time.strftime('%Y%m%d-%H%M%S')}.tar").resolve()
    try:
        manifest = create(config.data_dir, out)
    except BackupError as exc:
        print(f"relay backup: {exc}", file=sys.stderr)
        return 1
    total = sum(f["size"] for f in manifest["files"].values())
    print(f"Backed up {len(manifest['files'])} files ({total / 1e6:.1f} MB) to {out}")
    return 0


def restore(args) -> int:
    from relay.core.backup import BackupError
    from relay.core.backup import restore as run_restore
    config = _config(args)
    try:
        manifest = run_restore(Path(args.file).resolve(), config.data_dir, force=args.force)
    except BackupError as exc:
        print(f"relay restore: {exc}", file=sys.stderr)
        return 1
    print(f"Restored {len(manifest['files'])} files into {config.data_dir}; "
          f"start it with: relay serve --data-dir {config.data_dir}")
    return 0


def _read_password(prompt: str) -> str:
    """Prompt twice on a terminal; from a pipe, read one line (for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise SystemExit("relay: the passwords do not match")
    return first


def _open(args):
    from relay.db import open_database
    from relay.migrations import migrate
    config = _config(args)
    datadir.prepare(config.data_dir)
    migrate(open_database(config.data_dir / "relay.db"))
    return config


def admin(args) -> int:
    from relay.core import accounts, team
    from relay.core.errors import RelayError
    config = _open(args)
    try:
        if args.admin_command == "init":
            email = args.email or input("Admin email: ")
            user = accounts.create_first_admin(email, _read_password("Password: "), "",
                                               config.bcrypt_rounds)
            (config.data_dir / "setup_code").unlink(missing_ok=True)
            print(f"Created the admin account {user.email}.")
            return 0
        user = accounts.find_by_email(args.email)
        if args.set:
            from relay.core.hashing import hash_password, validate_password
            password = validate_password(_read_password("New password: "))
            accounts.set_password_hash(user, hash_password(password, config.bcrypt_rounds))
            print(f"Password of {user.email} changed; their sessions have ended.")
            return 0
        from relay.services import base_url
        _user, token = team.create_reset(user.id)
        print(team.reset_link(base_url(config), token))
        return 0
    except RelayError as exc:
        print(f"relay admin: {exc.message}", file=sys.stderr)
        return 1
