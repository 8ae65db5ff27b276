# Shared by run.sh and test.sh: system packages and the .venv in the repository root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

apt_install() {  # install the listed Debian packages that are missing (needs root or sudo)
    command -v dpkg-query >/dev/null || { echo "not a Debian-like system: install the packages of packaging/system-packages.txt by hand" >&2; return 0; }
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages listed in packaging/NAME (one a line, # comments).
package_list() { grep -v '^#' "$ROOT/packaging/$1" | grep -v '^$'; }

# .venv with trayapp installed in editable mode and the given pip extras ($1, e.g. "gtk,test"; "" for
# none).  pip runs only when pyproject.toml changed or an extra is missing: .venv/.installed/ holds a
# stamp (pyproject.toml's checksum) per extra installed, "base" for the package itself.  The code is
# installed editable, so a `git pull` of code alone needs no reinstall.
make_venv() {
    local extras="$1" want stamps=(base) name
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    [ -n "$extras" ] && IFS=, read -r -a more <<<"$extras" && stamps+=("${more[@]}")
    local stale=0
    for name in "${stamps[@]}"; do
        [ "$(cat ".venv/.installed/$name" 2>/dev/null)" = "$want" ] || stale=1
    done
    [ -x .venv/bin/python ] && [ "$stale" -eq 0 ] && return 0
    [ -x .venv/bin/python ] || python3 -m venv .venv
    echo "installing trayapp${extras:+ with $extras} into .venv/ (pip)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    # pip shows a build backend's output only when it fails: -q keeps setuptools' notes out, and
    # the log is kept for when it does fail.
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}" \
            >.venv/pip-install.log 2>&1; then
        cat .venv/pip-install.log >&2
        return 1
    fi
    mkdir -p .venv/.installed
    for name in "${stamps[@]}"; do echo "$want" >".venv/.installed/$name"; done
}
