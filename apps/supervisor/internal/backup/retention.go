package backup

import (
	"sort"
	"strings"
	"time"
)

// idTimeLayout is the time prefix of snapshot IDs, to the nanosecond so
// that IDs sort by time.
const idTimeLayout = "20060102T150405.000000000Z"

// snapshotTime parses the time prefix of a snapshot ID (fractional seconds
// are optional when parsing).
func snapshotTime(id string) (time.Time, bool) {
	i := strings.IndexByte(id, 'Z')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", id[:i+1])
	return t, err == nil
}

// Select applies the retention policy to snapshot IDs: the newest keepLast,
// plus the newest snapshot of each of the keepDaily most recent days that
// have one, plus every ID in protect. It returns the IDs to delete.
func Select(ids []string, keepLast, keepDaily int, protect ...string) (drop []string) {
	sorted := append([]string(nil), ids...)
	sort.Sort(sort.Reverse(sort.StringSlice(sorted)))
	keep := map[string]bool{}
	for _, id := range protect {
		keep[id] = true
	}
	for i, id := range sorted {
		if i < keepLast {
			keep[id] = true
		}
	}
	days := map[string]bool{}
	for _, id := range sorted {
		t, ok := snapshotTime(id)
		if !ok {
			keep[id] = true // not ours to judge
			continue
		}
		day := t.Format("2006-01-02")
		if !days[day] && len(days) < keepDaily {
			days[day] = true
			keep[id] = true
		}
	}
	for _, id := range sorted {
		if !keep[id] {
			drop = append(drop, id)
		}
	}
	return drop
}
