#!/bin/sh
# Installs this CaseLog bundle for every user of a Linux computer (run as root from the unpacked folder), or
# for the current user with --user. Copies nothing outside the places named below; no network access.
#   system-wide: /opt/caselog, /usr/local/bin/caselog and caselog-desktop, the menu entry and its icon
#   --user:      ~/.local/opt/caselog, ~/.local/bin, ~/.local/share/applications and icons
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--user" ]; then
    prefix="$HOME/.local"; target="$prefix/opt/caselog"; share="${XDG_DATA_HOME:-$HOME/.local/share}"
else
    prefix=/usr/local; target=/opt/caselog; share=/usr/share
fi
if [ "$here" != "$target" ]; then
    rm -rf "$target.new"
    mkdir -p "$(dirname "$target")"
    cp -a "$here" "$target.new"
    rm -rf "$target"
    mv "$target.new" "$target"
fi
mkdir -p "$prefix/bin" "$share/applications" "$share/icons/hicolor/scalable/apps"
ln -sf "$target/caselog" "$prefix/bin/caselog"
ln -sf "$target/caselog-desktop" "$prefix/bin/caselog-desktop"
sed "s|^Exec=.*|Exec=$target/caselog-desktop|" "$target/caselog.desktop" > "$share/applications/caselog.desktop"
cp "$target/caselog.svg" "$share/icons/hicolor/scalable/apps/caselog.svg"
echo "CaseLog installed in $target; start it from the applications menu or with $prefix/bin/caselog-desktop."
