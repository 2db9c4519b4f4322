# benchpeers.awk turns bench-peers.sh's runs (tab-separated: row, source, run,
# wall s, peak RSS KiB, service VmHWM KiB, ok, note) into one table of the
# timed runs (warm-ups, run "w…", left out) and writes it as JSON to `json`.
# Variables: bytes (image size), meta (date and machine), order (row names),
# versions (peer package versions).
{
	if ($3 ~ /^w/) next
	row = $1; src[row] = $2
	n[row]++; wall[row, n[row]] = $4
	if ($7 == 1) ok[row]++
	k = $5 + $6
	if (k > rss[row]) rss[row] = k
	if ($6 > svc[row]) svc[row] = $6
	if ($8 != "-") note[row] = note[row] $8
}

# median sorts wall[row, 1..m] in place and returns the middle value.
function median(row, m,    i, j, t) {
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && wall[row, j - 1] > wall[row, j]; j--) {
			t = wall[row, j]; wall[row, j] = wall[row, j - 1]; wall[row, j - 1] = t
		}
	return m % 2 ? wall[row, (m + 1) / 2] : (wall[row, m / 2] + wall[row, m / 2 + 1]) / 2
}

function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }

END {
	printf "bench-peers: %.0f MiB ext4 into slot B (loop, --direct-io=on), %s\n", bytes / 1048576, meta
	printf "%s\n", versions
	printf "%-19s %-5s %5s %8s %7s %7s %6s %9s %6s %8s\n", "row", "from", "ok/n", "median s", "min s", "max s", "MiB/s", "RSS MiB", "×dd", "×curl|dd"
	m = split(order, rows, " ")
	for (r = 1; r <= m; r++) if (n[rows[r]]) med[rows[r]] = median(rows[r], n[rows[r]])
	printf "{\"meta\": \"%s\", \"versions\": \"%s\", \"image_bytes\": %d, \"rows\": [", meta, versions, bytes > json
	sep = ""
	for (r = 1; r <= m; r++) {
		row = rows[r]
		if (!n[row]) continue
		mb = bytes / 1048576 / med[row]
		rs = sprintf("%.1f", rss[row] / 1024)
		if (svc[row]) rs = rs sprintf(" (svc %.0f)", svc[row] / 1024)
		hd = src[row] == "http" ? ratio(med[row], med["curl-dd"]) : "-"
		printf "%-19s %-5s %2d/%-2d %8.3f %7.3f %7.3f %6.0f %9s %6s %8s\n", row, src[row], ok[row], n[row], med[row],
			wall[row, 1], wall[row, n[row]], mb, rs, ratio(med[row], med["dd"]), hd
		rd = med["dd"] > 0 ? sprintf("%.3f", med[row] / med["dd"]) : "null"
		printf "%s\n  {\"row\": \"%s\", \"source\": \"%s\", \"ok\": %d, \"n\": %d, \"median_s\": %s, \"min_s\": %s, \"max_s\": %s, \"mib_s\": %.1f, \"peak_rss_kib\": %d, \"service_hwm_kib\": %d, \"ratio_dd\": %s, \"note\": \"%s\"}", \
			sep, row, src[row], ok[row], n[row], med[row], wall[row, 1], wall[row, n[row]], mb, rss[row], svc[row], \
			rd, note[row] > json
		sep = ","
	}
	printf "\n]}\n" > json
	for (r = 1; r <= m; r++) if (note[rows[r]] != "") printf "FAILED runs of %s: %s\n", rows[r], note[rows[r]]
}
