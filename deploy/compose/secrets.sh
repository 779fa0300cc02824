#!/bin/sh
# Makes every secret file the stack reads that does not exist yet, with fresh random
# passwords, and never touches one that does: edit them (or put your own there first) to
# use an external database. The files are world-readable inside a directory only its owner
# may enter, because the containers read them as their own unprivileged users.
#
#   deploy/compose/secrets.sh [DIR]       (default: deploy/compose/secrets)
set -eu
dir=${1:-$(dirname "$0")/secrets}
mkdir -p "$dir"
chmod 700 "$dir"
random() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
put() {
  [ -e "$dir/$1.txt" ] && return 0
  printf '%s\n' "$2" > "$dir/$1.txt"
  chmod 644 "$dir/$1.txt"
  echo "made $dir/$1.txt"
}
db_password=$(cat "$dir/db_password.txt" 2>/dev/null || random)
redis_password=$(cat "$dir/redis_password.txt" 2>/dev/null || random)
put db_password "$db_password"
put redis_password "$redis_password"
put redis_url "redis://:$redis_password@redis:6379/0"
for db in app fingerprint ingest musicbrainz; do
  put "${db}_database_url" "postgresql+asyncpg://acoustid:$db_password@postgres:5432/acoustid_$db"
done
put cluster_secret "$(random)"
put website_secret "$(random)"
