#!/usr/bin/env bash
# Remove what install-desktop.sh installed: GradLab's menu entry, icon and .gradlab file type.
exec "$(dirname "$0")/install-desktop.sh" --uninstall "$@"
