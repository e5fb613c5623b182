#!/bin/sh
# Backups of the cronsvc database: a pg_dump (custom format) into BACKUP_DIR every
# BACKUP_EVERY_SECONDS, keeping the newest BACKUP_KEEP. docker-compose's `backup` service
# runs it in the postgres image; `backup.sh --once` takes one backup and exits.
# The connection comes from libpq's variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE).
# docs/OPERATIONS.md ("Backups and restore") has the restore procedure.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_EVERY_SECONDS=${BACKUP_EVERY_SECONDS:-3600}
BACKUP_KEEP=${BACKUP_KEEP:-48}

backup() {
    file="$BACKUP_DIR/cronsvc-$(date -u +%Y%m%dT%H%M%SZ).dump"
    # Written under another name and renamed once complete: a dump cut short (the
    # container stopped, the disk filled) is never taken for a backup, nor kept.
    if ! pg_dump --format=custom --file="$file.partial"; then
        rm -f "$file.partial"
        return 1
    fi
    mv "$file.partial" "$file"
    echo "backup: $file"
    # The names sort by time: everything after the newest BACKUP_KEEP goes.
    ls -1 "$BACKUP_DIR"/cronsvc-*.dump | sort -r | tail -n "+$((BACKUP_KEEP + 1))" | xargs -r rm -f
}

mkdir -p "$BACKUP_DIR"
rm -f "$BACKUP_DIR"/*.partial  # left by a run that was stopped mid-dump
if [ "${1:-}" = "--once" ]; then
    backup
    exit
fi
# As the container's pid 1, sh ignores SIGTERM unless told: stop at once, not after
# docker's 10 s. The sleep runs in the background so the trap is not held up by it.
trap 'exit 0' TERM INT
while true; do
    backup || echo "backup failed; the next try is in $BACKUP_EVERY_SECONDS s" >&2
    sleep "$BACKUP_EVERY_SECONDS" &
    wait $!
done
