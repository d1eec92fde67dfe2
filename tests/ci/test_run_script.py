"""tests/run on a fresh Debian: it installs Node, npm and the venv module, keeps apt non-interactive
under sudo, and names what is missing when it cannot get it.

The machine is simulated: tests/run runs with a PATH of stand-ins for the system's tools (apt-get,
dpkg-query, sudo, id, python3.11) that record what they were asked and keep a small package
database, and of the real shell utilities the script needs. Nothing is installed for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.host import ROOT

# The real tools tests/run uses, and nothing else of the machine's (no node, npm, apt-get, ...).
UTILITIES = ["sh", "env", "grep", "dirname", "cat", "rm", "mkdir", "ls", "tail", "head", "sed"]
UTILITIES += ["touch", "chmod", "cp", "date"]
SYSTEM = ("redis-server", "dbus", "gnome-keyring", "chromium", "wrk", "tmux", "gcc", "python3.11-dev")

# Each stand-in logs one line per call to $LOG; installed packages are files in $DB.
STANDINS = {
    "id": '[ "$1" = -u ] && { cat "$DB/.uid"; exit 0; }; echo "uid=$(cat "$DB/.uid")"',
    # sudo resets the environment (env_reset): only what it is told to set reaches the command
    "sudo": 'echo "sudo $*" >> "$LOG"; exec env -i PATH="$PATH" LOG="$LOG" DB="$DB" BIN="$BIN" "$@"',
    "dpkg-query": 'for p; do :; done; [ -e "$DB/$p" ] && printf "install ok installed"; [ -e "$DB/$p" ]',
    "apt-get": """
echo "apt-get DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-unset} $*" >> "$LOG"
[ "$1" = update ] && exit 0
for p in "$@"; do
  case "$p" in -*|install) ;; *)
    [ -e "$DB/.unavailable-$p" ] && { echo "E: Unable to locate package $p" >&2; exit 100; }
    touch "$DB/$p"
    case "$p" in
      nodejs) printf '#!/bin/sh\\necho v18.19.0\\n' > "$BIN/node"; chmod +x "$BIN/node" ;;
      npm) printf '#!/bin/sh\\necho 9.2.0\\n' > "$BIN/npm"; chmod +x "$BIN/npm" ;;
      python3.11) cp "$BIN/.python3.11" "$BIN/python3.11" ;;
    esac ;;
  esac
done
""",
    # Debian's python3.11: the venv module (ensurepip) comes with the python3.11-venv package
    ".python3.11": """
case "$2" in
  *ensurepip*) [ -e "$DB/python3.11-venv" ] ;;
  *version_info*) [ "$3" = 3.11 ] ;;
  *) echo "python3.11 stand-in: $*" >&2; exit 2 ;;
esac
""",
}


@dataclass
class Machine:
    repo: Path
    bin: Path
    db: Path
    log: Path
    env: dict[str, str]

    def install(self, *packages: str) -> None:
        for package in packages:
            (self.db / package).touch()

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(self.repo / "tests" / "run")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def fresh_debian(tmp_path: Path, *, uid: int = 1000, python: bool = True) -> Machine:
    """A Debian with none of the test system's packages; python3.11 without its venv module."""
    repo, stand_ins, db = tmp_path / "repo", tmp_path / "bin", tmp_path / "db"
    for directory in (repo / "tests", stand_ins, db, tmp_path / "home"):
        directory.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "run", repo / "tests" / "run")
    for name in UTILITIES:
        real = shutil.which(name, path="/usr/bin:/bin")
        assert real is not None, name
        (stand_ins / name).symlink_to(real)
    for name, body in STANDINS.items():
        path = stand_ins / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
    if python:
        shutil.copy(stand_ins / ".python3.11", stand_ins / "python3.11")
    (db / ".uid").write_text(str(uid))
    log = tmp_path / "calls.log"
    env = {
        "PATH": str(stand_ins),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "LOG": str(log),
        "DB": str(db),
        "BIN": str(stand_ins),
        "MCPCTL_SYSTEM_ONLY": "1",
    }
    return Machine(repo, stand_ins, db, log, env)


def test_a_fresh_debian_gets_node_npm_and_the_venv_module_through_sudo_without_questions(
    tmp_path: Path,
) -> None:
    machine = fresh_debian(tmp_path)
    done = machine.run()
    assert done.returncode == 0, done.stderr
    installs = [c for c in machine.calls() if c.startswith("apt-get") and " install " in c]
    assert installs, machine.calls()
    # every apt-get ran through sudo and still saw DEBIAN_FRONTEND (sudo drops a plain prefix)
    calls = machine.calls()
    assert all(c.startswith("apt-get DEBIAN_FRONTEND=noninteractive ") for c in calls if c.startswith("apt"))
    sudo = [c for c in calls if c.startswith("sudo")]
    assert len(sudo) == len(calls) // 2
    assert all(c.startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get ") for c in sudo)
    installed = {p.name for p in machine.db.iterdir()}
    assert {"python3.11-venv", "nodejs", "npm", *SYSTEM} <= installed
    assert "system parts ready" in done.stdout


def test_as_root_apt_runs_directly_and_nothing_is_installed_twice(tmp_path: Path) -> None:
    machine = fresh_debian(tmp_path, uid=0)
    machine.install("python3.11-venv", *SYSTEM)
    done = machine.run()
    assert done.returncode == 0, done.stderr
    assert not [c for c in machine.calls() if c.startswith("sudo")]
    (install,) = [c for c in machine.calls() if " install " in c]
    assert install.startswith("apt-get DEBIAN_FRONTEND=noninteractive install")
    assert install.endswith(" nodejs npm")


def test_without_python_3_11_it_says_what_to_do(tmp_path: Path) -> None:
    machine = fresh_debian(tmp_path, python=False)
    (machine.db / ".unavailable-python3.11").touch()  # e.g. Debian 13, which has 3.13 only
    done = machine.run()
    assert done.returncode != 0
    assert "Python 3.11 is missing" in done.stderr, done.stderr
    assert "apt-get install python3.11 python3.11-venv" in done.stderr
    assert "MCPCTL_PYTHON" in done.stderr


def test_without_apt_or_sudo_the_message_names_the_packages(tmp_path: Path) -> None:
    machine = fresh_debian(tmp_path)
    machine.install("python3.11-venv")
    (machine.bin / "sudo").unlink()
    done = machine.run()
    assert done.returncode != 0
    assert "needs root, and sudo is not installed" in done.stderr, done.stderr
    packages = "redis-server nginx dbus gnome-keyring chromium wrk tmux valgrind gcc python3.11-dev"
    packages += " nodejs npm"
    assert f"could not install {packages}" in done.stderr, done.stderr


def test_its_own_environment_reaches_nothing_it_does_not_mean_to(tmp_path: Path) -> None:
    """The stand-in PATH is all the script sees: the real machine's tools are not used."""
    machine = fresh_debian(tmp_path)
    assert os.pathsep not in machine.env["PATH"]
    assert shutil.which("node", path=machine.env["PATH"]) is None
