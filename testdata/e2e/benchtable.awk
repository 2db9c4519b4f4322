# benchtable.awk turns `go test -bench` output into the one table `make bench`
# prints: for each benchmark, the figures that matter (custom metrics with
# these units), with the package it came from.
BEGIN {
	want["agent_s"] = want["dd_s"] = want["ratio"] = want["peak_RSS_MiB"] = 1
	want["idle_RSS_MiB"] = want["idle_cpu_%"] = want["arm64_MiB"] = 1
	want["efficiency_%"] = want["efficiency_noverify_%"] = want["ours_s"] = want["stm32flash_s"] = want["sb_s"] = 1
	want["fetch/copy_time"] = want["KiB/s"] = want["MiB/s"] = 1
	want["ours-eff-%"] = want["ours-s"] = want["sb-eff-%"] = want["sb-s"] = want["limit-s"] = 1
	printf "%-22s %-44s %-22s %12s\n", "package", "benchmark", "figure", "value"
}
/^pkg: / { pkg = $2; sub(/^ota-agent\//, "", pkg) }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 5; i < NF; i += 2) {
		if ($(i + 1) in want) printf "%-22s %-44s %-22s %12s\n", pkg, name, $(i + 1), $i
	}
}
