#!/bin/sh
# build.sh ARCH VERSION BINARY OUTDIR: build OUTDIR/ota-agent_<version>_<ARCH>.deb
# from a static ota-agent BINARY built for ARCH (amd64, arm64, armhf) with
# dpkg-deb alone (no network, no debhelper). VERSION is the program's
# (git describe): a leading "v" is dropped, "-" becomes "+" (a native
# package has no Debian revision) and one that starts with no digit gets
# "0~git" in front, e.g. v1.2.0-3-gabc -> 1.2.0+3+gabc, 523fd44 -> 0~git523fd44.
set -eu
arch=$1 version=$2 bin=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

debversion() {
	v=${1#v}
	v=$(printf %s "$v" | tr -- '-_' '++' | tr -cd 'A-Za-z0-9.+~')
	case $v in [0-9]*) ;; *) v="0~git$v" ;; esac
	printf %s "$v"
}
dv=$(debversion "$version")

stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
umask 022
install -D -m 0755 "$bin" "$stage/usr/bin/ota-agent"
install -D -m 0644 "$here/ota-agent.service" "$stage/lib/systemd/system/ota-agent.service"
install -D -m 0644 "$repo/testdata/config/agent.toml" "$stage/etc/ota-agent/agent.toml.example"
install -d -m 0750 "$stage/var/lib/ota-agent"
install -D -m 0644 "$here/copyright" "$stage/usr/share/doc/ota-agent/copyright"
install -D -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/ota-agent"
install -d -m 0755 "$stage/usr/share/man/man8"
gzip -9n < "$here/ota-agent.8" > "$stage/usr/share/man/man8/ota-agent.8.gz"
when=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
{
	printf 'ota-agent (%s) unstable; urgency=medium\n\n' "$dv"
	printf '  * Built from ota-agent %s.\n\n' "$version"
	printf ' -- ota-agent maintainers <ota-agent@example.com>  %s\n' "$(date -u -R -d "@$when")"
} | gzip -9n > "$stage/usr/share/doc/ota-agent/changelog.gz"
chmod 0644 "$stage/usr/share/man/man8/ota-agent.8.gz" "$stage/usr/share/doc/ota-agent/changelog.gz"

install -d -m 0755 "$stage/DEBIAN"
(cd "$stage" && find . -type f ! -path './DEBIAN/*' | sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$dv/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/control.in" > "$stage/DEBIAN/control"
install -m 0644 "$here/conffiles" "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$stage/DEBIAN/$s"; done

mkdir -p "$out"
deb="$out/ota-agent_${dv}_${arch}.deb"
SOURCE_DATE_EPOCH=$when dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
