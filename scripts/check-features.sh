#!/usr/bin/env bash
# Fails when building one package would compile a dependency with other features than the
# whole workspace build does (which makes `cargo run -p strata-cli` after `scripts/test.sh`
# rebuild DataFusion). The fix is to add the dependency, with the workspace's features, to
# workspace-hack/Cargo.toml. Reads `cargo tree` only: nothing is compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
tree() { cargo tree "$@" -e normal,build,dev -f '{p} {f}' --prefix none 2>/dev/null | sort -u; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
tree --workspace > "$dir/workspace"
members="strata-catalog strata-engine strata-cluster strata-flight strata-cli strata-benches"
for m in $members; do tree -p "$m" > "$dir/$m"; done
python3 - "$dir" $members <<'PY'
import sys
def load(path):
    out = {}
    for line in open(path):
        parts = line.split()
        if len(parts) < 2:
            continue
        feats = set(parts[2].split(",")) if len(parts) > 2 and not parts[2].startswith("(") else set()
        out.setdefault(f"{parts[0]} {parts[1]}", set()).update(feats)
    return out
whole = load(f"{sys.argv[1]}/workspace")
bad = []
for member in sys.argv[2:]:
    for pkg, feats in load(f"{sys.argv[1]}/{member}").items():
        if pkg in whole and feats != whole[pkg]:
            bad.append(f"  {member}: {pkg} lacks {sorted(whole[pkg] - feats)}")
if bad:
    print("building one package alone would compile these dependencies with other features than the workspace:")
    print("\n".join(bad))
    print("add them, with the workspace's features, to workspace-hack/Cargo.toml")
    sys.exit(1)
print("dependency features: every member builds them as the workspace does")
PY
