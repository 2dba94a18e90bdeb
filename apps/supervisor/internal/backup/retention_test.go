package backup

import (
	"slices"
	"testing"
)

func TestSelect(t *testing.T) {
	ids := []string{
		"20260101T100000Z-aaaaaa", "20260101T110000.000000001Z-aaaaaa",
		"20260102T100000Z-aaaaaa", "20260102T230000Z-aaaaaa",
		"20260103T080000Z-aaaaaa", "20260103T090000Z-aaaaaa",
	}
	tests := []struct {
		name      string
		last      int
		daily     int
		protect   []string
		wantDrops []string
	}{
		{"keep all", 10, 0, nil, nil},
		{"last two", 2, 0, nil, []string{"20260102T230000Z-aaaaaa", "20260102T100000Z-aaaaaa", "20260101T110000.000000001Z-aaaaaa", "20260101T100000Z-aaaaaa"}},
		{"last one and daily", 1, 3, nil, []string{"20260103T080000Z-aaaaaa", "20260102T100000Z-aaaaaa", "20260101T100000Z-aaaaaa"}},
		{"protected base", 1, 0, []string{"20260101T100000Z-aaaaaa"}, []string{"20260103T080000Z-aaaaaa", "20260102T230000Z-aaaaaa", "20260102T100000Z-aaaaaa", "20260101T110000.000000001Z-aaaaaa"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Select(ids, tc.last, tc.daily, tc.protect...)
			if !slices.Equal(got, tc.wantDrops) {
				t.Fatalf("drops = %v, want %v", got, tc.wantDrops)
			}
		})
	}
}

func TestSelectKeepsForeignIDs(t *testing.T) {
	got := Select([]string{"20260102T100000Z-aaaaaa", "manual-copy", "20260101T100000Z-aaaaaa"}, 1, 0)
	if slices.Contains(got, "manual-copy") {
		t.Fatalf("unparseable IDs must be kept, dropped %v", got)
	}
}
