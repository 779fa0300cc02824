#!/bin/sh
# Builds every image of the stack (the project's six targets and the five servers).
#
#   deploy/compose/images.sh            debian:bookworm-slim when Docker Hub answers, else a
#                                       local/debian:bookworm made by base-image.sh
#   BASE_IMAGE=my/debian:12 deploy/compose/images.sh    any Debian bookworm image you have
#
# Layers are cached: a code change rebuilds only the project's install step and the copy
# into the final stage.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
compose=${COMPOSE:-docker-compose}
if [ -z "${BASE_IMAGE:-}" ]; then
  if docker image inspect debian:bookworm-slim >/dev/null 2>&1 \
    || timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    BASE_IMAGE=debian:bookworm-slim
  else
    echo "debian:bookworm-slim cannot be pulled: building local/debian:bookworm from Debian's mirror"
    "$here/base-image.sh" local/debian:bookworm
    BASE_IMAGE=local/debian:bookworm
  fi
fi
export BASE_IMAGE
# pip in the build trusts what this host trusts beyond Debian's bundle (an egress proxy).
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] && cp "$crt" "$here/extra-ca/"
done
echo "building the stack's images FROM $BASE_IMAGE"
# Secrets need not exist to build, but compose reads the file: make them if missing.
"$here/secrets.sh" >/dev/null
$compose -f "$here/docker-compose.yml" \
  --profile frontend --profile backend --profile monitoring --profile tools build
docker image ls 'acoustid-py/*' --format '{{.Repository}}:{{.Tag}}  {{.Size}}'
