#!/bin/sh
# Rebuild the Paragon styles of the Studio pages (openedx_microcred/static/openedx_microcred/paragon/)
# from the npm registry: Paragon's compiled CSS (core and the light theme) and the Open edX brand
# package's, at the versions below, checked against the registry's integrity hashes. `make paragon-css`.
set -eu
PARAGON_VERSION=24.0.0
BRAND_VERSION=2.0.4
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/openedx_microcred/static/openedx_microcred/paragon"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for spec in "@openedx/paragon@$PARAGON_VERSION" "@openedx/brand-openedx@$BRAND_VERSION"; do
  expected=$(npm view "$spec" dist.integrity)
  file=$(npm pack --silent "$spec")
  actual="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  [ "$expected" = "$actual" ] || { echo "integrity mismatch for $spec" >&2; exit 1; }
  mkdir -p "${spec%@*}" && tar xzf "$file" -C "${spec%@*}"
done
mkdir -p "$OUT"
cp @openedx/paragon/package/dist/core.min.css "$OUT/paragon-core.min.css"
cp @openedx/paragon/package/dist/light.min.css "$OUT/paragon-light.min.css"
cp @openedx/brand-openedx/package/dist/core.min.css "$OUT/brand-core.min.css"
cp @openedx/brand-openedx/package/dist/light.min.css "$OUT/brand-light.min.css"
cp @openedx/brand-openedx/package/dist/logo.svg "$OUT/logo.svg"
cp @openedx/paragon/package/LICENSE "$OUT/LICENSE-paragon"
cat > "$OUT/VERSION" <<NOTE
Built by scripts/build_paragon_css.sh (make paragon-css) from the npm registry:
@openedx/paragon $PARAGON_VERSION (dist/core.min.css, dist/light.min.css; Apache-2.0, LICENSE-paragon)
@openedx/brand-openedx $BRAND_VERSION (dist/core.min.css, dist/light.min.css, dist/logo.svg)
NOTE
echo "Paragon $PARAGON_VERSION and brand-openedx $BRAND_VERSION written to $OUT"
