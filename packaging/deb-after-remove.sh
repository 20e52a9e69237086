#!/bin/sh
# .deb post-remove: stop the helper (it undoes every change it made) and remove what after-install added.
set -e
if [ -d /run/systemd/system ]; then
  systemctl disable --now 4over6-helper.service 2>/dev/null || true
fi
# Only our own links: a 4over6 on PATH that is not ours stays.
for cmd in 4over6 4over6-server; do
  case "$(readlink "/usr/bin/$cmd" 2>/dev/null)" in /opt/4over6/resources/*) rm -f "/usr/bin/$cmd" ;; esac
done
# Removed for good (not upgraded): nothing of 4over6 is left to lift a lockdown block, so lift it
# now, and forget the mode the helper kept (an upgrade's new helper sets it again instead).
case "$1" in
  remove|purge)
    if command -v nft >/dev/null 2>&1; then nft delete table inet fourover6-guard 2>/dev/null || true; fi
    rm -f /var/lib/4over6/kill-switch.json
    ;;
esac
rm -f /lib/systemd/system/4over6-helper.service /usr/share/polkit-1/actions/org.fourover6.helper.policy
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
