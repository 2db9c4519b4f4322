package policy_test

import (
	"errors"
	"testing"

	"ota-agent/agent/policy"
)

// unord marks an expected ErrUnorderable.
const unord = 99

type cmpCase struct {
	name       string
	a, b       string
	auto, date int // expected under auto and date
}

// akasoCases cover every version_name and min_version_name of the AKASO
// sample (seed-apis.md §1.5), each against a neighbour of the same style.
var akasoCases = []cmpCase{
	{name: "uid10 Brave7 newer than uid5", a: "Brave7_20231124_V3.2.5", b: "Brave7_20230823_V3.1.5", auto: 1, date: 1},
	{name: "uid5 min hyphens vs underscores", a: "Brave7-20211223-V1.0", b: "Brave7_20230823_V3.1.5", auto: -1, date: -1},
	{name: "uid5 current below min", a: "Brave7_20200101_V1.0", b: "Brave7-20211223-V1.0", auto: -1, date: -1},
	{name: "uid11 vs uid12 V50 Elite", a: "V50 Elite 20230425-V3.0", b: "V50 Elite 20230525-V3.0", auto: -1, date: -1},
	{name: "uid13 missing part", a: "V50 Elite 20221107-V3", b: "V50 Elite 20221107-V3.0", auto: 0, date: 0},
	{name: "uid13 same date newer build", a: "V50 Elite 20221107-V3", b: "V50 Elite 20221107-V3.1", auto: -1, date: -1},
	{name: "uid15 six-digit date", a: "SN-39-230620-V2.0", b: "SN-39-230701-V1.0", auto: -1, date: -1},
	{name: "uid15 same date trailing", a: "SN-39-230620-V2.0", b: "SN-39-230620-V2.1", auto: -1, date: -1},
	{name: "uid15 six vs eight digits", a: "SN-39-230620-V2.0", b: "20230620 V2.0", auto: 0, date: 0},
	{name: "uid16 V glued to date", a: "SN-AX-20230807V1", b: "SN-AX-20230807V2", auto: -1, date: -1},
	{name: "uid16 later date", a: "SN-AX-20230907V1", b: "SN-AX-20230807V9", auto: 1, date: 1},
	{name: "uid17 no date", a: "SnapX_V16.45.47", b: "SnapX_V16.45.48", auto: unord, date: unord},
	{name: "uid17 equal", a: "SnapX_V16.45.47", b: "SnapX_V16.45.47", auto: 0, date: 0},
	{name: "uid2 trailing newline", a: "Brave 8_20231107_Vx.2.4\n", b: "Brave 8_20231107_Vx.2.4", auto: 0, date: 0},
	{name: "uid2 literal x newer", a: "Brave 8_20231107_Vx.2.4\n", b: "Brave 8_20231201_Vx.2.5", auto: -1, date: -1},
	{name: "uid2 literal x same date", a: "Brave 8_20231107_Vx.2.4", b: "Brave 8_20231107_Vx.2.5", auto: -1, date: -1},
	{name: "uid2 x against number", a: "Brave 8_20231107_Vx.2.4", b: "Brave 8_20231107_V1.2.4", auto: unord, date: unord},
	{name: "uid6 date inside a word", a: "AKASO_SNH8_UNQS20230301V1.7", b: "AKASO_SNH8_UNQS20230301V1.10", auto: -1, date: -1},
	{name: "uid6 older date", a: "AKASO_SNH8_UNQS20230301V1.7", b: "AKASO_SNH8_UNQS20221201V1.9", auto: 1, date: 1},
	{name: "uid7 B8Lite", a: "B8Lite_20240103_Vx.4.0", b: "B8Lite_20231001_Vx.3.9", auto: 1, date: 1},
	{name: "uid8 min equals version", a: "20230217 V2.0", b: "20230217 V2.0", auto: 0, date: 0},
	{name: "uid8 newer", a: "20230217 V2.0", b: "20230301 V1.0", auto: -1, date: -1},
	{name: "uid9 plain semver", a: "V11.31.32", b: "V11.31.4", auto: 1, date: unord},
	{name: "uid9 equal", a: "V11.31.32", b: "V11.31.32", auto: 0, date: 0},
	{name: "uid9 vs dated", a: "V11.31.32", b: "Brave7_20231124_V3.2.5", auto: unord, date: unord},
	{name: "empty current vs dated", a: "", b: "Brave7-20211223-V1.0", auto: unord, date: unord},
}

func TestCompareAkaso(t *testing.T) {
	for _, tt := range akasoCases {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "auto", tt.a, tt.b, tt.auto)
			check(t, "date", tt.a, tt.b, tt.date)
		})
	}
}

func TestCompareSemver(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1.2", "1.10", -1},
		{"v1.2.3", "1.2.3", 0},
		{"V1.2.3", "v1.2.4", -1},
		{"1.2", "1.2.0", 0},
		{"1", "1.0.1", -1},
		{"2", "10", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "0.9.9", 1},
		{"1.0.0+build.5", "1.0.0", 0},
		{"1.2.3.4", "1.2.3", 1},
		{"99999999999999999999.0", "1.0", 1},
		{" 1.0.0\n", "1.0.0", 0},
		{"1.2.x", "1.2.3", unord},
		{"1.2.3", "release", unord},
		{"1..2", "1.2", unord},
		{"1.0.0-", "1.0.0", unord},
		{"", "1.0", unord},
	} {
		check(t, "semver", tt.a, tt.b, tt.want)
		if tt.want != unord {
			check(t, "auto", tt.a, tt.b, tt.want)
		}
	}
}

func TestCompareNumericOpaque(t *testing.T) {
	for _, tt := range []struct {
		scheme, a, b string
		want         int
	}{
		{"numeric", "9", "10", -1}, // UpgradeLink versionCode
		{"numeric", "2", "1", 1},
		{"numeric", "00010", "10", 0},
		{"numeric", "12345678901234567890123", "2", 1},
		{"numeric", "1.0", "2", unord},
		{"numeric", "-1", "2", unord},
		{"numeric", "", "2", unord},
		{"opaque", "abc", "abc", 0},
		{"opaque", " abc\n", "abc", 0},
		{"opaque", "1.0", "2.0", unord},
	} {
		check(t, tt.scheme, tt.a, tt.b, tt.want)
	}
}

func TestCompareUnknownScheme(t *testing.T) {
	_, err := policy.Compare("lexical", "1", "2")
	if err == nil || errors.Is(err, policy.ErrUnorderable) || !errors.Is(err, policy.ErrUnknownScheme) {
		t.Errorf("Compare(lexical) error = %v, want ErrUnknownScheme", err)
	}
}

// check asserts Compare(scheme, a, b) and the properties every pair must
// have: reversed arguments give the opposite result, each side equals
// itself, and Less agrees with Compare.
func check(t *testing.T, scheme, a, b string, want int) {
	t.Helper()
	got, err := policy.Compare(scheme, a, b)
	if want == unord {
		if !errors.Is(err, policy.ErrUnorderable) {
			t.Errorf("Compare(%q, %q, %q) = %d, %v, want ErrUnorderable", scheme, a, b, got, err)
		}
		if _, err := policy.Compare(scheme, b, a); !errors.Is(err, policy.ErrUnorderable) {
			t.Errorf("Compare(%q, %q, %q) error = %v, want ErrUnorderable (reversed)", scheme, b, a, err)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d", scheme, a, b, got, err, want)
		return
	}
	if rev, err := policy.Compare(scheme, b, a); err != nil || rev != -want {
		t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d (reversed)", scheme, b, a, rev, err, -want)
	}
	for _, s := range []string{a, b} {
		if c, err := policy.Compare(scheme, s, s); err != nil || c != 0 {
			t.Errorf("Compare(%q, %q, itself) = %d, %v, want 0", scheme, s, c, err)
		}
	}
	if l := policy.Less(scheme, a, b); l != (want < 0) {
		t.Errorf("Less(%q, %q, %q) = %v, want %v", scheme, a, b, l, want < 0)
	}
}

func FuzzCompare(f *testing.F) {
	for _, tt := range akasoCases {
		f.Add("auto", tt.a, tt.b)
		f.Add("date", tt.a, tt.b)
	}
	f.Add("semver", "1.0.0-rc.1", "1.0.0")
	f.Add("numeric", "9", "10")
	f.Add("opaque", "a", "b")
	f.Fuzz(func(t *testing.T, scheme, a, b string) {
		ab, errAB := policy.Compare(scheme, a, b)
		ba, errBA := policy.Compare(scheme, b, a)
		if (errAB == nil) != (errBA == nil) {
			t.Fatalf("Compare(%q, %q, %q) error %v but reversed error %v", scheme, a, b, errAB, errBA)
		}
		if errAB == nil && ab != -ba {
			t.Fatalf("Compare(%q, %q, %q) = %d, reversed = %d", scheme, a, b, ab, ba)
		}
		if ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q, %q) = %d, want -1, 0 or 1", scheme, a, b, ab)
		}
	})
}
