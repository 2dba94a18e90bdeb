// Command gentree writes a benchmark workspace: N files totalling about
// SIZE bytes in nested directories, half random and half repetitive text so
// that it compresses roughly like source trees and build outputs do.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "directory to fill")
	files := flag.Int("files", 10000, "number of files")
	size := flag.Int64("bytes", 1<<30, "total bytes")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "gentree: -dir is required")
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	per := int(*size / int64(*files))
	text := []byte("func handle(w http.ResponseWriter, r *http.Request) { log.Printf(\"%s %s\", r.Method, r.URL) }\n")
	buf := make([]byte, per)
	for i := range *files {
		half := per / 2
		for j := 0; j < half; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < half; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		for j := half; j < per; j++ {
			buf[j] = text[(j-half)%len(text)]
		}
		p := filepath.Join(*dir, fmt.Sprintf("pkg%03d", i%100), fmt.Sprintf("mod%d", i%7), fmt.Sprintf("file%05d.dat", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
