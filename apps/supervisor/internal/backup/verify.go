package backup

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/xio"
)

// verifyArchive reads archive id back from t. damage says how it differs
// from info; err is a failure to read it at all.
func verifyArchive(ctx context.Context, t store.Store, id string, info snapshot.ArchiveInfo) (damage, err error) {
	rc, err := t.Get(ctx, archiveKey(id))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	src := &xio.Source{R: xio.CtxReader{Ctx: ctx, R: rc}}
	h := xxhash.New()
	if info.XXH64 != "" {
		_, damage = io.Copy(h, src)
	} else {
		damage = decodeAll(src) // a version 1 archive: zstd's frame checksum is the check
	}
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case src.Err != nil:
		return nil, src.Err
	case damage != nil:
		return damage, nil
	case src.N != info.Size:
		return fmt.Errorf("%d bytes, the manifest says %d", src.N, info.Size), nil
	case info.XXH64 != "" && hex.EncodeToString(h.Sum(nil)) != info.XXH64:
		return fmt.Errorf("xxhash64 %x, the manifest says %s", h.Sum(nil), info.XXH64), nil
	}
	return nil, nil
}

// decodeAll decompresses all of r, then reads what follows.
func decodeAll(r io.Reader) error {
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	if _, err := io.Copy(io.Discard, dec); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return err
}
