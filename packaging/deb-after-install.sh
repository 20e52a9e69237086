#!/bin/sh
# .deb post-install: polkit policy, systemd unit, the 4over6 group; start the helper service.
set -e
RES=/opt/4over6/resources
install -m 0644 "$RES/org.fourover6.helper.policy" /usr/share/polkit-1/actions/org.fourover6.helper.policy
install -m 0644 "$RES/4over6-helper.service" /lib/systemd/system/4over6-helper.service
chmod 0755 "$RES/4over6-helper" "$RES/4over6-cli" "$RES/4over6-server"
# The command-line client and the gateway on PATH, as the user guide names them.
ln -sf "$RES/4over6-cli" /usr/bin/4over6
ln -sf "$RES/4over6-server" /usr/bin/4over6-server
getent group 4over6 >/dev/null || groupadd --system 4over6
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now 4over6-helper.service || true
fi
echo "4over6: add users to group 4over6 to use the VPN without a password prompt (usermod -aG 4over6 USER)"
