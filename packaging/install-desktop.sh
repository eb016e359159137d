#!/usr/bin/env bash
# Put GradLab in your desktop's application menu and make it open .gradlab files (your own
# account only, no root): a .desktop entry, the icon, and the application/x-gradlab file type.
#
#   install-desktop.sh [--exec PATH]     install (PATH: the gradlab to run; found by default)
#   install-desktop.sh --uninstall       remove all of it again (as uninstall-desktop.sh does)
#
# Files go to $XDG_DATA_HOME (default ~/.local/share): applications/gradlab.desktop,
# icons/hicolor/scalable/{apps/gradlab.svg,mimetypes/application-x-gradlab.svg} and
# mime/packages/gradlab.xml. Then update-mime-database, update-desktop-database,
# gtk-update-icon-cache and xdg-mime run where they are installed; where one is missing, the
# desktop picks the change up at the next login instead.
# The gradlab it runs: --exec PATH, else the frozen app beside this script, else gradlab on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
config=${XDG_CONFIG_HOME:-$HOME/.config}
type=application/x-gradlab
app_file=$data/applications/gradlab.desktop
icon_file=$data/icons/hicolor/scalable/apps/gradlab.svg
mime_icon_file=$data/icons/hicolor/scalable/mimetypes/application-x-gradlab.svg
mime_file=$data/mime/packages/gradlab.xml

say() { echo "gradlab desktop: $*"; }
fail() { echo "gradlab desktop: $*" >&2; exit 2; }

# a file shipped beside this script: the frozen app's desktop/ folder, or the repository
shipped() {
  local d
  for d in "$here/desktop" "$here" "$here/../resources/icons"; do
    [ -f "$d/$1" ] && { echo "$d/$1"; return; }
  done
  fail "$1 is missing beside $0"
}

# the desktop databases, each where it is installed
refresh() {
  if command -v update-mime-database >/dev/null; then
    update-mime-database "$data/mime" && say "file types updated (update-mime-database)"
  else
    say "update-mime-database not found: the file type takes effect at the next login"
  fi
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database "$data/applications" && say "menu updated (update-desktop-database)"
  else
    say "update-desktop-database not found: the menu entry shows at the next login"
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -d "$data/icons/hicolor" ]; then
    gtk-update-icon-cache -q -t -f "$data/icons/hicolor" || true
  fi
}

# a path as one argument of a desktop entry's Exec key (quoted and escaped when it must be)
exec_arg() {
  if [[ $1 =~ ^[A-Za-z0-9/._+-]+$ ]]; then
    printf '%s' "$1"
  else
    local q=$1
    q=${q//\\/\\\\}; q=${q//\"/\\\"}; q=${q//\`/\\\`}; q=${q//\$/\\\$}
    q=${q//\\/\\\\}   # the key's own string escaping doubles every backslash
    printf '"%s"' "$q"
  fi
}

uninstall() {
  rm -f "$app_file" "$icon_file" "$mime_icon_file" "$mime_file"
  # the default-application line install wrote through xdg-mime, and nothing else
  if [ -f "$config/mimeapps.list" ]; then
    sed -i "\\#^$type=gradlab\\.desktop;\\?\$#d" "$config/mimeapps.list"
  fi
  refresh
  say "removed GradLab's menu entry, icon and file type from $data"
}

install() {
  local exe=$1
  if [ -z "$exe" ]; then
    if [ -x "$here/gradlab" ] && [ -f "$here/gradlab" ]; then
      exe=$here/gradlab
    else
      exe=$(command -v gradlab || true)
    fi
    [ -n "$exe" ] || fail "no gradlab found on PATH; give its path: $0 --exec /path/to/gradlab"
  fi
  [ -f "$exe" ] && [ -x "$exe" ] || fail "$exe is not an executable file"
  exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")

  mkdir -p "$(dirname "$app_file")" "$(dirname "$icon_file")" "$(dirname "$mime_icon_file")" \
           "$(dirname "$mime_file")"
  local arg
  arg=$(exec_arg "$exe")
  # the shipped entry, run through this gradlab
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      Exec=*) printf 'Exec=%s %%f\n' "$arg";;
      TryExec=*) printf 'TryExec=%s\n' "${exe//\\/\\\\}";;
      *) printf '%s\n' "$line";;
    esac
  done < "$(shipped gradlab.desktop)" > "$app_file.tmp"
  mv "$app_file.tmp" "$app_file"
  cp "$(shipped gradlab.svg)" "$icon_file"
  cp "$(shipped gradlab.svg)" "$mime_icon_file"
  cp "$(shipped gradlab-mime.xml)" "$mime_file"
  refresh
  if command -v xdg-mime >/dev/null; then
    xdg-mime default gradlab.desktop "$type" && say ".gradlab files open in GradLab (xdg-mime)"
  fi
  say "installed in $data: GradLab in the application menu, .gradlab files ($type), running $exe"
}

exe=""
action=install
while [ $# -gt 0 ]; do
  case $1 in
    --exec) [ $# -ge 2 ] || fail "--exec needs a path"; exe=$2; shift 2;;
    --uninstall) action=uninstall; shift;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) fail "unknown option $1 (see $0 --help)";;
  esac
done
if [ "$action" = uninstall ]; then uninstall; else install "$exe"; fi
