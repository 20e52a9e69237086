#!/bin/sh
# .deb post-remove: stop the helper (it undoes every change it made) and remove what after-install added.
set -e
if [ -d /run/systemd/system ]; then
  systemctl disable --now 4over6-helper.service 2>/dev/null || true
fi
rm -f /lib/systemd/system/4over6-helper.service /usr/share/polkit-1/actions/org.fourover6.helper.policy
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
