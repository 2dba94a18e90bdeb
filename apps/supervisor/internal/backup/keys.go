package backup

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

const (
	archivePrefix  = "archives/"
	archiveSuffix  = ".tar.zst"
	manifestPrefix = "snapshots/"
	manifestSuffix = ".json.zst"
)

func archiveKey(id string) string  { return archivePrefix + id + archiveSuffix }
func manifestKey(id string) string { return manifestPrefix + id + manifestSuffix }

// newID returns a snapshot ID that sorts by creation time.
func newID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// idsFromKeys extracts the IDs of keys with the given prefix and suffix,
// sorted oldest first. Other keys (temporary files, foreign objects) are ignored.
func idsFromKeys(keys []string, prefix, suffix string) []string {
	var ids []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(k, prefix), suffix))
		}
	}
	sort.Strings(ids)
	return ids
}
